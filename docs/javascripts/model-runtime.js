// The tiny GPT in the page: onnxruntime-web (wasm only), the model, its tokenizer.
//
// Nothing loads until a demo asks for it (the reader's first click): then
//
//   const model = await loadModel("model", { onProgress });   // a Model
//   const tok = model.tokenizer;
//   let { logits } = await model.prefill(tok.encode("The capital of France is"));
//   ({ logits } = await model.step(id));                     // one more token, KV cache reused
//
// The graph (model_export/export.py) takes input_ids [1, T] and the stacked
// past keys/values [n_layer, 2, 1, n_head, P, head_dim] and returns logits
// [1, T, vocab], present keys/values (P + T) and attention probabilities
// [n_layer, 1, n_head, T, P + T]. Its metadata_props (vocab_size, n_layer,
// n_head, block_size, eot_id, ...) and its token embedding table are read
// straight from the .onnx bytes (onnxruntime-web exposes neither), so the
// embedding demos need no extra file.
//
// Window: Generation mirrors generate() in the run file (model_export/run.py)
// step for step, so greedy output in the page equals `python run.py`.

import { fetchBytes, formatBytes, LoadError, MODEL_DIR, modelFile, modelJSON, runtimeEntry, verify } from "./assets.js";
import { Tokenizer } from "./tokenizer.js";

// Downloads live in assets.js (timeouts, the manifest's checks); re-exported for the demos.
export { fetchBytes, formatBytes, LoadError, MODEL_DIR, modelFile, modelJSON };
export const ORT_DIR = new URL("../vendor/onnxruntime-web/", import.meta.url);
const ORT_ENTRY = "ort.wasm.min.mjs"; // the wasm-only build: no 28 MB JSEP/WebGPU binary
const ORT_WASM = "ort-wasm-simd-threaded.wasm";

// Checkpoints the build may ship. model.onnx always; the others once report.json lists them.
export const CHECKPOINTS = [
  { name: "model", file: "model.onnx", label: "pre-trained (base)" },
  { name: "sft", file: "model_sft.onnx", label: "instruction-tuned (SFT)" },
  { name: "rlhf", file: "model_rlhf.onnx", label: "preference-tuned (RLHF)" },
  { name: "agent", file: "model_agent.onnx", label: "agent (tool use)" },
];

// ---------------------------------------------------------------------------
// Reading the .onnx file: just enough protobuf for metadata and two initializers.
// The bytes may be anything (a damaged download, a wrong file): every read is
// checked against the end of its message, so garbage ends in an error, never in
// an endless loop or a read past the end.

class ProtobufError extends Error {}

// A varint at bytes[pos] (before `end`): [value, next position].
function readVarint(bytes, pos, end) {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) { // protobuf's longest varint (a negative int64)
    if (pos >= end) throw new ProtobufError(`a number runs past the end of its message at byte ${pos}`);
    const b = bytes[pos++];
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, pos];
    mul *= 128;
  }
  throw new ProtobufError(`a number at byte ${pos - 10} is too long`);
}

// Yields [field, wireType, start, end] (end only for length-delimited; start = value for varints).
function* fields(bytes, start, end) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = readVarint(bytes, pos, end);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new ProtobufError(`field number 0 at byte ${pos}`);
    let next;
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(bytes, pos, end);
      yield [field, wire, v, pos];
      continue;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(bytes, pos, end);
      next = pos + len;
    } else if (wire === 1) {
      next = pos + 8;
    } else if (wire === 5) {
      next = pos + 4;
    } else {
      throw new ProtobufError(`unsupported protobuf wire type ${wire} at byte ${pos}`);
    }
    if (next > end) throw new ProtobufError(`a field of ${next - pos} bytes at byte ${pos} runs past the end of its message`);
    yield [field, wire, pos, next];
    pos = next;
  }
}

const utf8 = new TextDecoder();

function readTensor(bytes, start, end) {
  const t = { name: "", dims: [], dataType: 0, raw: null, floats: null };
  for (const [f, w, a, b] of fields(bytes, start, end)) {
    if (f === 1 && w === 0) t.dims.push(a);
    else if (f === 1 && w === 2) for (let p = a; p < b; ) { let d; [d, p] = readVarint(bytes, p, b); t.dims.push(d); }
    else if (f === 2 && w === 0) t.dataType = a;
    else if (f === 8 && w === 2) t.name = utf8.decode(bytes.subarray(a, b));
    else if (f === 9 && w === 2) t.raw = [a, b];
    else if (f === 4 && w === 2) t.floats = [a, b];
  }
  return t;
}

function tensorFloats(bytes, t) {
  const [a, b] = t.raw || t.floats || [0, 0];
  const count = t.dims.reduce((n, d) => n * d, 1);
  if (b - a !== count * 4) {
    throw new ProtobufError(`tensor ${t.name} has ${b - a} bytes of data for ${t.dims.join("x")} floats`);
  }
  return new Float32Array(bytes.slice(a, b).buffer); // copy: aligned, and independent of the file
}

// Returns {metadata: {key: value}, tensors: {name: {dims, data: Float32Array}}} for the wanted
// initializers. Bytes that are not such a file throw a LoadError naming `file`.
export function readOnnx(buffer, wanted = ["wte", "wpe"], file = "model.onnx") {
  const bytes = new Uint8Array(buffer);
  const metadata = {};
  const tensors = {};
  try {
    for (const [f, w, a, b] of fields(bytes, 0, bytes.length)) {
      if (w !== 2) continue;
      if (f === 14) {
        let key = "";
        let value = "";
        for (const [g, , c, d] of fields(bytes, a, b)) {
          if (g === 1) key = utf8.decode(bytes.subarray(c, d));
          else if (g === 2) value = utf8.decode(bytes.subarray(c, d));
        }
        metadata[key] = value;
      } else if (f === 7) {
        for (const [g, gw, c, d] of fields(bytes, a, b)) {
          if (g !== 5 || gw !== 2) continue;
          const t = readTensor(bytes, c, d);
          if (wanted.includes(t.name) && t.dataType === 1) tensors[t.name] = { dims: t.dims, data: tensorFloats(bytes, t) };
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ProtobufError)) throw err;
    throw new LoadError(file, `it is not a readable ONNX file (${err.message})`);
  }
  if (!Object.keys(metadata).length) throw new LoadError(file, "it is not an ONNX file of this site (it has no metadata)");
  return { metadata, tensors };
}

// ---------------------------------------------------------------------------
// Loading: one runtime, one tokenizer, one session per checkpoint, each at most once

let ortPromise = null;
let tokenizerPromise = null;
let reportPromise = null;
const modelPromises = new Map();

// Loads ORT's wasm-only entry and its 14 MB binary (fetched here, so its bytes can be shown).
export function loadOrt(onProgress) {
  if (!ortPromise) {
    ortPromise = (async () => {
      // Checked like the model files: a damaged runtime would fail later, blamed on the model.
      const wasm = fetchBytes(new URL(ORT_WASM, ORT_DIR), ORT_WASM, { onProgress }).then(async (bytes) => {
        const entry = runtimeEntry(ORT_WASM);
        if (entry) await verify(bytes, ORT_WASM, entry);
        return bytes;
      });
      wasm.catch(() => {}); // handled where it is awaited, below; not "unhandled" while the import runs
      let ort;
      try {
        ort = await import(new URL(ORT_ENTRY, ORT_DIR).href);
      } catch (err) {
        throw new LoadError(ORT_ENTRY, `${err.message || err}; are you offline?`);
      }
      ort.env.wasm.wasmPaths = ORT_DIR.href;
      ort.env.wasm.numThreads = 1; // GitHub Pages is not cross-origin isolated: no threads
      ort.env.wasm.proxy = false;
      ort.env.logLevel = "error";
      ort.env.wasm.wasmBinary = await wasm;
      return ort;
    })();
    ortPromise.catch(() => { ortPromise = null; }); // a retry may succeed
  }
  return ortPromise;
}

export function loadTokenizer() {
  if (!tokenizerPromise) {
    tokenizerPromise = modelJSON("tokenizer.json").then((obj) => {
      try {
        return Tokenizer.fromJSON(obj);
      } catch (err) {
        throw new LoadError("tokenizer.json", err.message);
      }
    });
    tokenizerPromise.catch(() => { tokenizerPromise = null; });
  }
  return tokenizerPromise;
}

// report.json (small): which checkpoints the build shipped, if it says.
export function loadReport() {
  if (!reportPromise) {
    reportPromise = modelJSON("report.json");
    reportPromise.catch(() => { reportPromise = null; });
  }
  return reportPromise;
}

// The checkpoints this site has: model.onnx, plus those report.json lists
// (key "checkpoints": names or {name, file, label}). No probing for files that
// may be missing: a 404 would be logged as an error in the reader's console.
export async function availableCheckpoints() {
  let listed = [];
  try {
    const report = await loadReport();
    listed = Array.isArray(report.checkpoints) ? report.checkpoints : [];
  } catch {
    listed = [];
  }
  const out = [CHECKPOINTS[0]];
  for (const entry of listed) {
    const name = typeof entry === "string" ? entry.replace(/\.onnx$/, "").replace(/^model_/, "") : entry.name;
    const known = CHECKPOINTS.find((c) => c.name === name || c.file === name || c.file === entry.file);
    const item = known ? { ...known } : { name, file: entry.file || `model_${name}.onnx`, label: entry.label || name };
    if (typeof entry === "object" && entry.label) item.label = entry.label;
    if (!out.some((c) => c.name === item.name)) out.push(item);
  }
  return out;
}

// Session options. onnxruntime-web leaves the CPU memory arena and the memory
// pattern off unless asked; onnxruntime in Python (the run file) has both on, and
// with them each run reuses one planned block instead of a malloc and free per
// intermediate tensor. Everything else as in Python.
export const SESSION_OPTIONS = {
  executionProviders: ["wasm"],
  graphOptimizationLevel: "all",
  enableCpuMemArena: true,
  enableMemPattern: true,
  executionMode: "sequential",
  logSeverityLevel: 3,
};

// The Model for checkpoint `name` ("model", "sft", "rlhf"); onProgress({file, loaded, total, done}).
// sessionOptions (optional) are merged over SESSION_OPTIONS; the first load of a checkpoint decides.
export function loadModel(name = "model", { onProgress, sessionOptions } = {}) {
  if (!modelPromises.has(name)) {
    const promise = (async () => {
      const entry = CHECKPOINTS.find((c) => c.name === name) || { name, file: `${name}.onnx`, label: name };
      const [ort, tokenizer, bytes] = await Promise.all([
        loadOrt(onProgress),
        loadTokenizer(),
        modelFile(entry.file, { onProgress }),
      ]);
      const parsed = readOnnx(bytes, ["wte", "wpe"], entry.file);
      checkTokenizer(tokenizer, parsed, entry.file);
      let session;
      try {
        session = await ort.InferenceSession.create(new Uint8Array(bytes), { ...SESSION_OPTIONS, ...sessionOptions });
      } catch (err) {
        throw new LoadError(entry.file, `onnxruntime could not open it (${err.message || err})`);
      }
      return new Model(ort, session, parsed, tokenizer, entry);
    })();
    promise.catch(() => modelPromises.delete(name));
    modelPromises.set(name, promise);
  }
  return modelPromises.get(name);
}

// The tokenizer and a model must agree on the vocabulary, or every id means
// another token: after a partial redeploy, say. Checked once both are loaded.
export function checkTokenizer(tokenizer, { metadata, tensors }, file) {
  const mismatch = (what) => new LoadError("tokenizer.json", `it does not match ${file} (${what}); reload the page`);
  const vocab = Number(metadata.vocab_size);
  if ("vocab_size" in metadata && vocab !== tokenizer.vocabSize) {
    throw mismatch(`a vocabulary of ${tokenizer.vocabSize} tokens, the model's has ${vocab}`);
  }
  const rows = tensors.wte?.dims[0];
  if (rows !== undefined && rows !== tokenizer.vocabSize) {
    throw mismatch(`a vocabulary of ${tokenizer.vocabSize} tokens, the model's embedding table has ${rows} rows`);
  }
  if ("eot_id" in metadata && Number(metadata.eot_id) !== tokenizer.eotId) {
    throw mismatch(`<|endoftext|> is token ${tokenizer.eotId}, the model's is ${metadata.eot_id}`);
  }
}

// ---------------------------------------------------------------------------
// The model

export class Model {
  constructor(ort, session, parsed, tokenizer, entry) {
    this.ort = ort;
    this.session = session;
    this.tokenizer = tokenizer;
    this.checkpoint = entry;
    const m = parsed.metadata;
    const need = (k) => {
      if (!(k in m)) throw new LoadError(entry.file, `its metadata lacks ${k}`);
      return Number(m[k]);
    };
    this.vocabSize = need("vocab_size");
    this.nLayer = need("n_layer");
    this.nHead = need("n_head");
    this.nEmbd = need("n_embd");
    this.blockSize = need("block_size");
    this.headDim = this.nEmbd / this.nHead;
    this.eotId = "eot_id" in m ? Number(m.eot_id) : tokenizer.eotId;
    this.metadata = m;
    this.wte = parsed.tensors.wte?.data || null; // [vocab, n_embd], row i = token i's vector
    this.wpe = parsed.tensors.wpe?.data || null; // [block_size, n_embd], row p = position p's vector
    this.past = this.emptyPast();
    this.length = 0; // tokens in the KV cache
    this.lastRunMs = 0;
    this.queue = Promise.resolve(); // one run at a time
  }

  emptyPast() {
    return new this.ort.Tensor("float32", new Float32Array(0), [this.nLayer, 2, 1, this.nHead, 0, this.headDim]);
  }

  // Token id's embedding row (a view into the table), or null if the table was not found.
  embedding(id) {
    return this.wte ? this.wte.subarray(id * this.nEmbd, (id + 1) * this.nEmbd) : null;
  }

  positionEmbedding(p) {
    return this.wpe ? this.wpe.subarray(p * this.nEmbd, (p + 1) * this.nEmbd) : null;
  }

  reset() {
    this.past = this.emptyPast();
    this.length = 0;
  }

  // One forward pass: new tokens `ids` after the cached `past` (a Tensor; emptyPast() for none).
  // Returns {logits (last position), present (the cache to pass next), ms, attentions?}.
  // Calls are queued: one session, one run at a time, whoever asks (several demos share a Model).
  run(ids, past, attention = false) {
    return this.serial(() => this.runNow(ids, past, attention));
  }

  async runNow(ids, past, attention) {
    if (ids.length === 0) throw new Error("no tokens to run");
    const P = past.dims[4];
    if (P + ids.length > this.blockSize) {
      throw new RangeError(`${P + ids.length} tokens exceed the context window of ${this.blockSize}`);
    }
    const idData = new BigInt64Array(ids.length);
    for (let i = 0; i < ids.length; i++) idData[i] = BigInt(ids[i]);
    const input = new this.ort.Tensor("int64", idData, [1, ids.length]);
    const fetches = attention ? ["logits", "present_key_values", "attentions"] : ["logits", "present_key_values"];
    const t0 = performance.now();
    const out = await this.session.run({ input_ids: input, past_key_values: past }, fetches);
    this.lastRunMs = performance.now() - t0;
    const T = ids.length;
    const V = this.vocabSize;
    const rows = out.logits.dims[1]; // T (a graph may also return the last position only)
    const result = {
      // next-token scores after the last new token (a copy: the output buffer is reused)
      logits: out.logits.data.slice((rows - 1) * V, rows * V),
      present: out.present_key_values,
      ms: this.lastRunMs,
    };
    if (attention) {
      // [n_layer, 1, n_head, T, P + T]
      result.attentions = { data: out.attentions.data, layers: this.nLayer, heads: this.nHead, queries: T, keys: P + T, past: P };
    }
    return result;
  }

  serial(fn) {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  // The simple, stateful interface (the Model keeps one cache; demos sharing a
  // Model should call run() with their own cache, as Generation does).
  // Forget the cache and read `ids` (at most block_size of them) in one pass.
  async prefill(ids, { attention = false } = {}) {
    const r = await this.run(ids, this.emptyPast(), attention);
    this.past = r.present;
    this.length = ids.length;
    return r;
  }

  // One more token, reusing the cached keys and values of the ones before it.
  async step(id, { attention = false } = {}) {
    const r = await this.run([id], this.past, attention);
    this.past = r.present;
    this.length += 1;
    return r;
  }
}

// Attention weight of query row q (0-based among the new tokens) on key k, for
// layer l and head h (h = -1: the average over heads).
export function attentionWeight(att, l, h, q, k) {
  const { data, heads, queries, keys } = att;
  const at = (hh) => data[(((l * heads + hh) * queries) + q) * keys + k];
  if (h >= 0) return at(h);
  let s = 0;
  for (let hh = 0; hh < heads; hh++) s += at(hh);
  return s / heads;
}

// ---------------------------------------------------------------------------
// Generation with a sliding context window: the run file's generate(), one step at a time

export class Generation {
  // window: how many tokens the model may see (default and maximum: block_size).
  constructor(model, promptIds, { window } = {}) {
    this.model = model;
    this.window = Math.max(2, Math.min(window || model.blockSize, model.blockSize));
    this.emptyPrompt = promptIds.length === 0;
    // An empty prompt starts where every training document starts: after <|endoftext|>.
    const prompt = this.emptyPrompt ? [model.eotId] : [...promptIds];
    this.prompt = prompt;
    const keep = this.window - 1; // room for one generated token before the first slide
    this.truncated = prompt.length > keep ? prompt.slice(0, prompt.length - keep) : [];
    this.context = prompt.slice(this.truncated.length);
    this.dropped = [...this.truncated]; // every token the model no longer sees, oldest first
    this.generated = [];
    this.logits = null;
  }

  // All tokens so far (prompt + generated), and how many of the first ones are out of view.
  get all() {
    return [...this.prompt, ...this.generated];
  }

  get hidden() {
    return this.dropped.length;
  }

  async prefill(opts = {}) {
    const r = await this.model.run(this.context, this.model.emptyPast(), opts.attention);
    this.past = r.present;
    return r;
  }

  async start(opts) {
    const r = await this.prefill(opts);
    this.logits = r.logits;
    this.lastPass = { kind: "prefill", tokens: this.context.length, ms: r.ms };
    return r;
  }

  // Append the chosen token; returns the forward pass's result, with slid = the tokens
  // that fell out of the window at this step ([] if none).
  async append(id, opts) {
    this.generated.push(id);
    this.context.push(id);
    let slid = [];
    let r;
    if (this.context.length > this.window) {
      const keep = this.window - 1;
      slid = this.context.slice(0, this.context.length - keep);
      this.context = this.context.slice(this.context.length - keep);
      this.dropped.push(...slid);
      r = await this.prefill(opts); // re-read the window from scratch
      this.lastPass = { kind: "prefill", tokens: this.context.length, ms: r.ms };
    } else {
      r = await this.model.run([id], this.past, opts?.attention);
      this.past = r.present;
      this.lastPass = { kind: "step", tokens: 1, ms: r.ms };
    }
    this.logits = r.logits;
    r.slid = slid;
    return r;
  }
}

// ---------------------------------------------------------------------------
// Choosing the next token: the run file's sample(), with everything it did kept for display

// mulberry32: a tiny seeded PRNG (Tommy Ettinger, public domain). Same seed, same draws.
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function softmax(values, temperature = 1) {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.exp((values[i] - max) / temperature);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

// Token ids 0..V-1 ordered by values[id], highest first, ties by the lower id
// (numpy's stable argsort of -values). `keys` must rank the ids as values does
// (values a non-decreasing function of keys: logits for their softmax). When keys
// is a Float32Array (the model's logits) the ids are radix-sorted on the floats'
// bits (stable, so equal keys stay in id order), then runs of equal values
// (probabilities that rounded to 0) are put in id order, and a last pass with the
// exact comparison leaves nothing to chance. For V = 512 this is several times
// faster than Array.sort with a comparator, with the same result.
export function rankIds(values, keys = values) {
  const V = values.length;
  const exact = (a, b) => values[b] - values[a] || a - b;
  if (!(keys instanceof Float32Array) || keys.length !== V) {
    return Array.from({ length: V }, (_, i) => i).sort(exact);
  }
  const bits = new Uint32Array(keys.buffer, keys.byteOffset, V);
  let k = new Uint32Array(V);
  let ids = new Int32Array(V);
  let k2 = new Uint32Array(V);
  let ids2 = new Int32Array(V);
  for (let i = 0; i < V; i++) {
    const u = bits[i];
    k[i] = ~(u & 0x80000000 ? ~u : u | 0x80000000); // descending float order, as unsigned integers
    ids[i] = i;
  }
  const count = new Int32Array(256);
  for (let shift = 0; shift < 32; shift += 8) { // least significant byte first
    count.fill(0);
    for (let i = 0; i < V; i++) count[(k[i] >>> shift) & 255]++;
    if (count[(k[0] >>> shift) & 255] === V) continue; // all keys share this byte
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < V; i++) {
      const at = count[(k[i] >>> shift) & 255]++;
      k2[at] = k[i];
      ids2[at] = ids[i];
    }
    [k, k2] = [k2, k];
    [ids, ids2] = [ids2, ids];
  }
  for (let i = 0; i < V;) { // equal values (different keys): id order
    let j = i + 1;
    while (j < V && values[ids[j]] === values[ids[i]]) j++;
    if (j - i > 1) ids.subarray(i, j).sort();
    i = j;
  }
  const order = new Array(V);
  for (let i = 0; i < V; i++) order[i] = ids[i];
  for (let i = 1; i < V; i++) { // insertion pass: a no-op unless the keys misranked something
    const id = order[i];
    let j = i - 1;
    while (j >= 0 && exact(order[j], id) > 0) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = id;
  }
  return order;
}

// Everything about one choice. temperature 0 = greedy. Returns
// {order (ids, most probable first), probs (softmax of the raw logits),
//  scaled (softmax of logits / temperature), kept (Set of ids still allowed),
//  final (Map id -> renormalised probability), cutBy (Map id -> "top-k" | "top-p")}.
export function distribution(logits, { temperature = 1, topK = 0, topP = 1 } = {}) {
  const V = logits.length;
  const greedy = !(temperature > 0);
  if (greedy) {
    // The choice needs only the argmax; the rest is computed if a display asks for it.
    let best = 0; // np.argmax: the first maximum
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    const final = new Map([[best, 1]]);
    const cutBy = new Map();
    let probs = null;
    let order = null;
    return {
      get probs() { return probs || (probs = softmax(logits, 1)); },
      get scaled() { return this.probs; },
      get order() { return order || (order = rankIds(logits)); },
      kept: new Set([best]), final, cutBy, greedy, chosenByArgmax: best,
    };
  }
  const probs = softmax(logits, 1);
  const scaled = temperature === 1 ? probs : softmax(logits, temperature);
  const order = rankIds(scaled, logits); // most probable first; ties keep the lower id first
  const nCand = topK > 0 && topK < V ? topK : V; // top-k keeps order[0 .. nCand)
  let keptSum = 0;
  for (let i = 0; i < nCand; i++) keptSum += scaled[order[i]];
  // the smallest prefix whose share of the kept probability reaches top_p
  let cum = 0;
  let n = nCand;
  for (let i = 0; i < nCand; i++) {
    cum += scaled[order[i]] / keptSum;
    if (cum >= topP) {
      n = i + 1;
      break;
    }
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += scaled[order[i]];
  const final = new Map();
  for (let i = 0; i < n; i++) final.set(order[i], scaled[order[i]] / sum);
  let cutBy = null; // which rule cut each other id: built if a display asks
  return {
    order, probs, scaled, kept: new Set(final.keys()), final, greedy,
    get cutBy() {
      if (!cutBy) {
        cutBy = new Map();
        for (let i = nCand; i < V; i++) cutBy.set(order[i], "top-k");
        for (let i = n; i < nCand; i++) cutBy.set(order[i], "top-p");
      }
      return cutBy;
    },
  };
}

// Pick from a distribution(); rng() in [0, 1). Returns {id, draw, lo, hi} where the
// draw fell in [lo, hi), the chosen token's slice of the cumulative probabilities.
export function choose(dist, rng) {
  if (dist.greedy) return { id: dist.chosenByArgmax, draw: null };
  const u = rng();
  let lo = 0;
  let last = null;
  for (const [id, p] of dist.final) {
    const hi = lo + p;
    if (u < hi) return { id, draw: u, lo, hi };
    lo = hi;
    last = id;
  }
  return { id: last, draw: u, lo: lo - dist.final.get(last), hi: 1 }; // rounding: the last one
}

// ---------------------------------------------------------------------------
// Small DOM helpers shared by the demos

// el("button", {class: "x", onclick: f, type: "button"}, "text", childNode, ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style" && typeof v === "object") {
      for (const [prop, val] of Object.entries(v)) {
        if (prop.startsWith("--")) node.style.setProperty(prop, String(val)); // custom properties need setProperty
        else node.style[prop] = val;
      }
    }
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Loads checkpoint `name` while writing what is downloading into statusEl
// (bytes of model.onnx and of the runtime); on failure, says which file and why.
export async function loadModelWithStatus(name, statusEl) {
  const t0 = performance.now();
  const model = await loadWithStatus(statusEl, "the model", (onProgress) => loadModel(name, { onProgress }));
  return { model, ms: performance.now() - t0 };
}

// load(onProgress) with its progress written into statusEl ("Loading the
// model: model.onnx 1.2 MB of 2.7 MB, …"), and on failure a message naming the
// file (LoadError) or the reason, with statusEl marked as an error and a Retry
// button after it. Resolves to what load resolves to; rethrows its error. The
// loaders forget a failed attempt, so Retry downloads again: by default it
// re-runs load here; `retry` (a function) replaces that, e.g. a demo's own action.
export async function loadWithStatus(statusEl, what, load, { retry } = {}) {
  const progress = new Map();
  let settled = false; // after success or failure, late progress (another file still arriving) must not overwrite the message
  const show = () => {
    if (settled) return;
    const parts = [];
    for (const [file, p] of progress) {
      parts.push(p.done ? `${file} ${formatBytes(p.loaded)} ✓` : `${file} ${formatBytes(p.loaded)} of ${formatBytes(p.total)}`);
    }
    statusEl.textContent = `Loading ${what}: ${parts.join(", ") || "starting"}…`;
  };
  statusEl.classList.remove("lab-error");
  statusEl.textContent = `Loading ${what}…`;
  offerRetry(statusEl, null);
  try {
    const loaded = await load((p) => {
      progress.set(p.file, p);
      show();
    });
    settled = true;
    return loaded;
  } catch (err) {
    settled = true;
    statusEl.classList.add("lab-error");
    statusEl.textContent = err instanceof LoadError ? `${err.message}.` : `Could not start ${what}: ${err.message || err}.`;
    offerRetry(statusEl, retry || (() => loadWithStatus(statusEl, what, load).then(
      () => { statusEl.textContent = `Loaded ${what}: ready, try again.`; },
      () => {}, // the failure is on screen again, with its own Retry
    )));
    throw err;
  }
}

// A Retry button right after statusEl that calls retry() once (null: remove it).
// Outside the status, so a demo that rewrites its status keeps the button.
const retryButtons = new WeakMap();
export function offerRetry(statusEl, retry) {
  retryButtons.get(statusEl)?.remove();
  retryButtons.delete(statusEl);
  if (!retry || !statusEl.parentNode) return;
  const button = el("button", { type: "button", class: "lab-button lab-retry" }, "Retry");
  button.addEventListener("click", () => {
    offerRetry(statusEl, null);
    retry();
  }, { once: true });
  statusEl.after(button);
  retryButtons.set(statusEl, button);
}

// A demo's run failed: its state and status say so. A failed load has already
// written its message (loadWithStatus); anything else gets one here.
export function showFailure(root, statusEl, err) {
  root.dataset.state = "error";
  statusEl.classList.add("lab-error");
  if (!(err instanceof LoadError)) statusEl.textContent = `Something went wrong: ${err.message || err}`;
}

// A colour per token position (alternating hues, readable in light and dark).
export function pieceHue(i) {
  return (i * 67) % 360;
}

// A stable, reader-visible form of a token's text: spaces as "␣", newlines as "↵".
export function showToken(text) {
  return text.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

// Yield to the browser (input, Stop clicks, painting) without setTimeout's 4 ms clamp.
export function yieldToBrowser() {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(0);
  });
}
