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
// straight from the .onnx bytes (onnx-reader.js), so the embedding demos need
// no extra file. Downloads live in assets.js, generation step by step in
// generation.js, choosing a token in sampling.js.

import { fetchBytes, LoadError, modelFile, modelJSON, runtimeEntry, verify } from "./assets.js";
import { CHECKPOINTS } from "./checkpoints.js";
import { readOnnx } from "./onnx-reader.js";
import { EOT, Tokenizer } from "./tokenizer.js";

const ORT_DIR = new URL("../vendor/onnxruntime-web/", import.meta.url);
const ORT_ENTRY = "ort.wasm.min.mjs"; // the wasm-only build: no 28 MB JSEP/WebGPU binary
const ORT_WASM = "ort-wasm-simd-threaded.wasm";

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
  let listed;
  try {
    const report = await loadReport();
    listed = Array.isArray(report.checkpoints) ? report.checkpoints : [];
  } catch {
    listed = []; // no report: the base model alone
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
    throw mismatch(`${EOT} is token ${tokenizer.eotId}, the model's is ${metadata.eot_id}`);
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
