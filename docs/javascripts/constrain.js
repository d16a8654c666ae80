// Schema-constrained decoding: make the model's output valid JSON for a schema.
//
// A port of model_export/constrain.py (read its docstring for the supported
// schemas, the canonical layout and how the algorithm works); the tests check
// that both give the same token masks. At every step the decoder masks out
// each token whose bytes would make the output impossible to complete into a
// document that parses and validates, so sampling from what is left, at any
// temperature, always ends in valid output.
//
//   const tokenizer = loadTokenizer(tokenizerJson);   // the tokenizer's JSON
//   const grammar = compileSchema({name: "string", age: "integer"});
//   const decoder = new ConstrainedDecoder(grammar, tokenizer);
//   let state = decoder.start(maxTokens);              // maxTokens optional
//   const mask = decoder.allowed(state);               // Uint8Array, 1 = allowed
//   state = decoder.advance(state, tokenId);
//   decoder.isComplete(state);
//   validate(value, schema);                           // [] when valid
//   generate(logitsFn, decoder, rng, temperature, maxTokens);
//
// An ES module with no imports: it runs in the browser and in Node.

export const LAYOUTS = ["spaced", "compact", "flexible"];
export const MAX_INT_DIGITS = 15;
export const MAX_EXP_DIGITS = 2;
const TYPE_NAMES = ["object", "array", "string", "integer", "number", "boolean", "null"];
const KEYWORDS = new Set(["type", "properties", "required", "items", "enum", "const", "anyOf",
  "minItems", "maxItems", "minLength", "maxLength", "additionalProperties",
  "title", "description", "$schema", "$id", "default", "examples"]);
const IGNORED = new Set(["title", "description", "$schema", "$id", "default", "examples"]);
const SCHEMA_MARKERS = ["properties", "items", "enum", "const", "anyOf"];
const COUNTS = ["minItems", "maxItems", "minLength", "maxLength"];
const BIG = 1 << 30;
// Limits that keep a hostile schema from exhausting memory or time (same in constrain.py):
export const MAX_SCHEMA_DEPTH = 32; // schemas nested inside schemas
export const MAX_COUNT = 1000000; // minItems, maxItems, minLength, maxLength
export const MAX_NODES = 10000; // compiled nodes
export const MAX_CANDIDATES = 100000; // property names and enum values, summed over every place they can start
export const MAX_MIN_LEN = 1000000; // bytes of the shortest value of any node
export const MAX_READINGS = 256; // stacks alive at once (anyOf and type lists multiply them)

export class SchemaError extends Error {}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isTypeName = (t) => typeof t === "string" && TYPE_NAMES.includes(t);

// ---------------------------------------------------------------------------
// Tokenizer bytes (from the tokenizer JSON written by model_export/tokenizer.py)

export function loadTokenizer(json) {
  const d = typeof json === "string" ? JSON.parse(json) : json;
  const vocab = [];
  for (let b = 0; b < 256; b++) vocab.push(Uint8Array.of(b));
  for (const [a, b] of d.merges) {
    const x = vocab[a], y = vocab[b];
    const t = new Uint8Array(x.length + y.length);
    t.set(x, 0);
    t.set(y, x.length);
    vocab.push(t);
  }
  const enc = new TextEncoder();
  const specialIds = {};
  for (const [name, id] of Object.entries(d.special_tokens).sort((p, q) => p[1] - q[1])) {
    if (id !== vocab.length) throw new Error("special token ids must follow the merges");
    specialIds[name] = id;
    vocab.push(enc.encode(name));
  }
  return {
    vocabSize: vocab.length, eotId: specialIds["<|endoftext|>"], specialIds,
    tokenBytes: (id) => vocab[id],
  };
}

// ---------------------------------------------------------------------------
// Schema normalisation (shorthand -> JSON Schema)

function isSchema(d) {
  const t = d.type;
  if (isTypeName(t) || (Array.isArray(t) && t.length && t.every(isTypeName))) return true;
  return SCHEMA_MARKERS.some((k) => has(d, k));
}

function checkCount(v, key) {
  if (!Number.isInteger(v) || v < 0 || v > MAX_COUNT) {
    throw new SchemaError(`${key} must be an integer from 0 to ${MAX_COUNT}`);
  }
  return v;
}

const isScalar = (v) => v === null || ["boolean", "number", "string"].includes(typeof v);

// Objects are built with Object.fromEntries, never by assignment: a property
// named "__proto__" must stay a property (assigning it would set the prototype).
export function normalizeSchema(schema, depth = 0) {
  if (depth > MAX_SCHEMA_DEPTH) throw new SchemaError(`the schema is nested more than ${MAX_SCHEMA_DEPTH} levels deep`);
  depth += 1;
  if (typeof schema === "string") {
    if (!isTypeName(schema)) throw new SchemaError(`unknown type name ${JSON.stringify(schema)}`);
    return { type: schema };
  }
  if (Array.isArray(schema)) {
    if (schema.length !== 1) throw new SchemaError("shorthand for an array is a one-element list [item]");
    return { type: "array", items: normalizeSchema(schema[0], depth) };
  }
  if (!isObj(schema)) throw new SchemaError(`a schema must be an object, a type name or [item]`);
  const normalizeProps = (d) => Object.fromEntries(Object.keys(d).map((k) => [k, normalizeSchema(d[k], depth)]));
  if (!isSchema(schema)) {
    const props = normalizeProps(schema);
    return { type: "object", properties: props, required: Object.keys(props) };
  }
  const out = [];
  for (const [k, v] of Object.entries(schema)) {
    if (!KEYWORDS.has(k)) throw new SchemaError(`unsupported keyword ${JSON.stringify(k)}`);
    if (k === "properties") {
      if (!isObj(v)) throw new SchemaError("properties must be an object");
      out.push([k, normalizeProps(v)]);
    } else if (k === "items") {
      out.push([k, normalizeSchema(v, depth)]);
    } else if (k === "anyOf") {
      if (!Array.isArray(v) || !v.length) throw new SchemaError("anyOf must be a non-empty list");
      out.push([k, v.map((s) => normalizeSchema(s, depth))]);
    } else if (k === "additionalProperties") {
      if (v !== false) throw new SchemaError("only additionalProperties: false is supported (objects are closed)");
    } else if (k === "type") {
      if (!(isTypeName(v) || (Array.isArray(v) && v.length && v.every(isTypeName)))) {
        throw new SchemaError("type must be a type name or a non-empty list of them");
      }
      out.push([k, v]);
    } else if (k === "required") {
      if (!Array.isArray(v) || !v.every((r) => typeof r === "string")) {
        throw new SchemaError("required must be a list of property names");
      }
      out.push([k, v]);
    } else if (COUNTS.includes(k)) {
      out.push([k, checkCount(v, k)]);
    } else if (k === "enum" || k === "const") {
      const values = k === "enum" ? v : [v];
      if (!Array.isArray(values) || !values.length) throw new SchemaError("enum must be a non-empty list");
      if (!values.every(isScalar)) {
        throw new SchemaError("enum/const values must be scalars (string, number, boolean or null)");
      }
      out.push([k, v]);
    } else if (!IGNORED.has(k)) {
      out.push([k, v]);
    }
  }
  return Object.fromEntries(out);
}

// ---------------------------------------------------------------------------
// Validation (of a parsed value)

function jsonType(v) {
  if (v === null) return "null";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  if (typeof v === "string") return "string";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  return typeof v;
}

function hasType(v, t) {
  const jt = jsonType(v);
  if (t === "number") return jt === "integer" || jt === "number";
  return jt === t;
}

export function jsonEqual(a, b) {
  const ta = jsonType(a), tb = jsonType(b);
  const num = (t) => t === "integer" || t === "number";
  if (num(ta) && num(tb)) return a === b;
  if (ta !== tb) return false;
  if (ta === "array") return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (ta === "object") {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => has(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

export function validate(value, schema) {
  const errors = [];
  validateInto(value, normalizeSchema(schema), "$", errors);
  return errors;
}

function errorsOf(v, s) {
  const errors = [];
  validateInto(v, s, "$", errors);
  return errors;
}

function validateInto(v, s, path, errors) {
  if (has(s, "anyOf") && !s.anyOf.some((alt) => errorsOf(v, alt).length === 0)) {
    errors.push(`${path}: matches none of anyOf`);
  }
  if (has(s, "const") && !jsonEqual(v, s.const)) errors.push(`${path}: is not the const ${JSON.stringify(s.const)}`);
  if (has(s, "enum") && !s.enum.some((e) => jsonEqual(v, e))) {
    errors.push(`${path}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
  }
  if (has(s, "type")) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => hasType(v, t))) {
      errors.push(`${path}: expected ${types.join("/")}, got ${jsonType(v)}`);
      return;
    }
  }
  if (typeof v === "number" && !Number.isFinite(v)) errors.push(`${path}: number is not finite`);
  if (typeof v === "string") {
    const n = [...v].length;
    if (n < (s.minLength ?? 0)) errors.push(`${path}: shorter than minLength ${s.minLength}`);
    if (has(s, "maxLength") && n > s.maxLength) errors.push(`${path}: longer than maxLength ${s.maxLength}`);
  }
  if (Array.isArray(v)) {
    if (v.length < (s.minItems ?? 0)) errors.push(`${path}: fewer than minItems ${s.minItems}`);
    if (has(s, "maxItems") && v.length > s.maxItems) errors.push(`${path}: more than maxItems ${s.maxItems}`);
    if (has(s, "items")) v.forEach((x, i) => validateInto(x, s.items, `${path}[${i}]`, errors));
  }
  if (isObj(v) && (has(s, "properties") || s.type === "object")) {
    const props = s.properties ?? {};
    for (const name of s.required ?? []) {
      if (!has(v, name)) errors.push(`${path}: missing required property ${JSON.stringify(name)}`);
    }
    for (const [name, x] of Object.entries(v)) {
      if (has(props, name)) validateInto(x, props[name], `${path}.${name}`, errors);
      else errors.push(`${path}: unexpected property ${JSON.stringify(name)}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Canonical encoding of property names and enum values

const SHORT_ESCAPES = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };

export function encodeString(s) {
  let out = '"';
  for (const ch of s) {
    const o = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (o < 0x20) out += SHORT_ESCAPES[o] ?? "\\u" + o.toString(16).padStart(4, "0");
    else if (o >= 0xd800 && o <= 0xdfff) throw new SchemaError("lone surrogates are not supported in names or enum values");
    else out += ch;
  }
  return out + '"';
}

export function encodeLiteral(v) {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "string") return encodeString(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new SchemaError("enum numbers must be finite");
    if (Number.isInteger(v)) {
      if (Math.abs(v) >= 1e15) throw new SchemaError("enum integers must have |v| < 1e15");
      return String(v);
    }
    if (!(Math.abs(v) >= 1e-4 && Math.abs(v) < 1e15)) throw new SchemaError("enum numbers must have 1e-4 <= |v| < 1e15");
    return String(v);
  }
  throw new SchemaError(`enum/const values must be scalars, not ${JSON.stringify(v)}`);
}

// ---------------------------------------------------------------------------
// Compiled grammar (same node kinds, frames and phases as the Python)

const K_OBJ = 0, K_ARR = 1, K_STR = 2, K_INT = 3, K_NUM = 4, K_LIT = 5, K_ANY = 6;
const F_VAL = 0, F_OBJ = 1, F_ARR = 2, F_STR = 3, F_NUM = 4, F_LIT = 5;
const O_OPEN = 0, O_KEYWAIT = 1, O_COLON = 2, O_AFTER_COLON = 3, O_AFTER_VALUE = 4, O_AFTER_COMMA = 5, O_KEYSTART = 6;
const A_OPEN = 0, A_AFTER_VALUE = 1, A_AFTER_COMMA = 2;
const N_SIGN = 0, N_ZERO = 1, N_INT = 2, N_FRAC0 = 3, N_FRAC = 4, N_EXP0 = 5, N_EXPSIGN = 6, N_EXP = 7;
const NUM_CAN_END = [false, true, true, false, true, false, false, true];
const NUM_REM = [1, 0, 0, 1, 0, 1, 1, 0];
const L_SPACED = 0, L_COMPACT = 1, L_FLEX = 2;
const ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));

function hexVal(b) {
  if (b >= 48 && b <= 57) return b - 48;
  if (b >= 97 && b <= 102) return b - 87;
  if (b >= 65 && b <= 70) return b - 55;
  return -1;
}

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const count = (s, key, dflt) => (has(s, key) ? s[key] : dflt);

const utf8 = new TextEncoder();

export class Grammar {
  constructor(schema, layout = "spaced") {
    if (!LAYOUTS.includes(layout)) throw new SchemaError(`layout must be one of ${LAYOUTS}`);
    this.layout = LAYOUTS.indexOf(layout);
    this.space = this.layout === L_SPACED ? 1 : 0;
    this.schema = normalizeSchema(schema);
    this.nodes = [];
    this.litsets = [];
    this.nCandidates = 0;
    // Equal sub-schemas compile to one node: a type list or anyOf repeats the
    // keywords next to it in every alternative, and without sharing, nested
    // ones multiply the nodes (9 levels of 4-entry type lists, 475 characters, made 699,049).
    this.memo = new Map();
    this.root = this._compile(this.schema);
  }

  // -- compilation -----------------------------------------------------------
  _add(node) {
    node.readings ??= 1; // most stacks a value of this node can keep alive at once
    if (node.minLen > MAX_MIN_LEN) {
      throw new SchemaError(`the schema's shortest value is longer than ${MAX_MIN_LEN} bytes`);
    }
    if (this.nodes.length >= MAX_NODES) {
      throw new SchemaError(`the schema is too large: it compiles to more than ${MAX_NODES} nodes`);
    }
    this.nodes.push(node);
    return this.nodes.length - 1;
  }

  _litset(cands, isKey) {
    this.nCandidates += cands.length;
    if (this.nCandidates > MAX_CANDIDATES) {
      throw new SchemaError(`the schema is too large: more than ${MAX_CANDIDATES} property names and `
        + "enum values to match");
    }
    cands.sort((p, q) => compareBytes(p[0], q[0]));
    this.litsets.push({ cands, isKey });
    return this.litsets.length - 1;
  }

  _concrete(node) {
    const id = this._add(node);
    node.alts = [id];
    return id;
  }

  _compile(s) {
    const key = JSON.stringify(s);
    let nid = this.memo.get(key);
    if (nid === undefined) {
      nid = this._compileNew(s);
      this.memo.set(key, nid);
    }
    return nid;
  }

  _compileNew(s0) {
    const s = { ...s0 };
    if (has(s, "anyOf")) {
      let alts = s.anyOf;
      delete s.anyOf;
      if (Object.keys(s).length) {
        for (const a of alts) {
          if (Object.entries(s).some(([k, v]) => has(a, k) && !jsonEqual(a[k], v))) {
            throw new SchemaError("a keyword next to anyOf conflicts with an alternative");
          }
        }
        alts = alts.map((a) => ({ ...s, ...a }));
      }
      return this._any(alts.map((a) => this._compile(a)));
    }
    if (Array.isArray(s.type)) return this._any(s.type.map((t) => this._compile({ ...s, type: t })));
    if (has(s, "const") || has(s, "enum")) {
      const values = has(s, "const") ? [s.const] : s.enum;
      if (!Array.isArray(values) || !values.length) throw new SchemaError("enum must be a non-empty list");
      const texts = new Map();
      for (const v of values) {
        const lit = encodeLiteral(v);
        if (errorsOf(v, s).length === 0) texts.set(lit, utf8.encode(lit));
      }
      if (!texts.size) throw new SchemaError("no enum/const value satisfies the rest of the schema");
      return this._lit([...texts.values()].map((t) => [t, -1, 0]));
    }
    let t = s.type;
    if (!has(s, "type")) {
      if (has(s, "properties")) t = "object";
      else if (has(s, "items")) t = "array";
      else throw new SchemaError(`schema needs a type: ${JSON.stringify(s)}`);
    }
    if (t === "boolean") return this._lit([[utf8.encode("false"), -1, 0], [utf8.encode("true"), -1, 0]]);
    if (t === "null") return this._lit([[utf8.encode("null"), -1, 0]]);
    if (t === "integer" || t === "number") return this._concrete({ kind: t === "integer" ? K_INT : K_NUM, minLen: 1 });
    if (t === "string") {
      const lo = count(s, "minLength", 0), hi = count(s, "maxLength", -1);
      if (hi >= 0 && hi < lo) throw new SchemaError("maxLength < minLength");
      return this._concrete({ kind: K_STR, lo, hi, cap: hi >= 0 ? hi : lo, minLen: 2 + lo });
    }
    if (t === "array") {
      if (!has(s, "items")) throw new SchemaError("arrays need items");
      const item = this._compile(s.items);
      const mn = count(s, "minItems", 0), mx = count(s, "maxItems", -1);
      if (mx >= 0 && mx < mn) throw new SchemaError("maxItems < minItems");
      const m = this.nodes[item].minLen, sp = this.space;
      const openRem = mn === 0 ? 1 : m + (mn - 1) * (1 + sp + m) + 1;
      return this._concrete({ kind: K_ARR, item, mn, mx, cap: mx >= 0 ? mx : mn, m, openRem, minLen: 1 + openRem,
        readings: this.nodes[item].readings });
    }
    if (t === "object") return this._object(s);
    throw new SchemaError(`unknown type ${JSON.stringify(t)}`);
  }

  _lit(cands) {
    const litset = this._litset(cands, false);
    return this._concrete({ kind: K_LIT, litset, minLen: Math.min(...cands.map((c) => c[0].length)) });
  }

  _any(ids) {
    const alts = [];
    for (const i of ids) for (const a of this.nodes[i].alts) if (!alts.includes(a)) alts.push(a);
    // Each alternative keeps its own stacks alive: a bound checked here, at
    // compile time, so that no mask ever has to track more stacks than this.
    const readings = alts.reduce((n, a) => n + this.nodes[a].readings, 0);
    if (readings > MAX_READINGS) {
      throw new SchemaError(`the schema is too ambiguous: its anyOf and type lists leave up to ${readings} ways `
        + `to read the output at once (the limit is ${MAX_READINGS})`);
    }
    return this._add({ kind: K_ANY, alts, readings, minLen: Math.min(...alts.map((a) => this.nodes[a].minLen)) });
  }

  _object(s) {
    const props = s.properties ?? {};
    const required = has(s, "required") ? s.required : [];
    if (required.some((r) => !has(props, r))) throw new SchemaError("required must list properties that are defined");
    const names = Object.keys(props);
    const n = names.length, sp = this.space;
    const node = { kind: K_OBJ };
    node.props = names.map((k) => this._compile(props[k]));
    node.readings = Math.max(1, ...node.props.map((p) => this.nodes[p].readings));
    node.keys = names.map((k) => utf8.encode(encodeString(k)));
    const req = names.map((k) => required.includes(k));
    node.allopt = [];
    for (let i = 0; i <= n; i++) node.allopt.push(!req.slice(i).some(Boolean));
    const m = node.props.map((p) => this.nodes[p].minLen);
    const R = new Array(n + 1).fill(0), K = new Array(n + 1).fill(0), T = new Array(n).fill(0);
    R[n] = 1;
    K[n] = BIG;
    for (let i = n - 1; i >= 0; i--) {
      T[i] = node.keys[i].length + 1 + sp + m[i] + R[i + 1];
      K[i] = req[i] ? T[i] : Math.min(T[i], K[i + 1]);
      R[i] = Math.min(node.allopt[i] ? 1 : BIG, 1 + sp + K[i]);
    }
    Object.assign(node, { R, K, T, m });
    node.openRem = node.allopt[0] ? 1 : K[0];
    node.minLen = 1 + node.openRem;
    node.keysets = [];
    for (let i = 0; i < n; i++) {
      const cands = [];
      for (let j = i; j < n; j++) {
        cands.push([node.keys[j], j, T[j] - node.keys[j].length]);
        if (req[j]) break;
      }
      node.keysets.push(this._litset(cands, true));
    }
    return this._concrete(node);
  }

  // -- the recogniser ----------------------------------------------------------
  // A state is an array of stacks, a stack an array of frames, a frame an array
  // of small integers whose first is its kind. States are never mutated.
  initial() {
    return this.nodes[this.root].alts.map((a) => [[F_VAL, a]]);
  }

  advance(stacks, b) {
    let out = [];
    for (const st of stacks) if (st.length) this._step(st, b, out);
    if (out.length > 1) {
      const seen = new Set();
      out = out.filter((st) => {
        const k = stackKey(st);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
    return out;
  }

  advanceBytes(stacks, data) {
    for (const b of data) {
      stacks = this.advance(stacks, b);
      if (!stacks.length) break;
    }
    return stacks;
  }

  _step(st, b, out) {
    const top = st[st.length - 1];
    const rest = st.slice(0, -1);
    switch (top[0]) {
      case F_STR: return this._str(rest, top, b, out);
      case F_LIT: return this._litStep(rest, top[1], top[2], top[3], top[4], b, out);
      case F_NUM: return this._num(rest, top, b, out);
      case F_VAL: return this._start(rest, top[1], b, out);
      case F_OBJ: return this._obj(rest, top[1], top[2], top[3], b, out);
      default: return this._arr(rest, top[1], top[2], top[3], b, out);
    }
  }

  _after(rest, b, out) {
    if (rest.length) this._step(rest, b, out);
  }

  _push(prefix, nid, out) {
    for (const a of this.nodes[nid].alts) out.push([...prefix, [F_VAL, a]]);
  }

  _pushStep(prefix, nid, b, out) {
    for (const a of this.nodes[nid].alts) this._start(prefix, a, b, out);
  }

  _start(prefix, nid, b, out) {
    const node = this.nodes[nid];
    switch (node.kind) {
      case K_STR:
        if (b === 34) out.push([...prefix, [F_STR, nid, 0, 0, 0]]);
        return;
      case K_LIT:
        return this._litStep(prefix, node.litset, 0, 0, this.litsets[node.litset].cands.length, b, out);
      case K_INT:
      case K_NUM:
        if (b === 45) out.push([...prefix, [F_NUM, nid, N_SIGN, 0]]);
        else if (b === 48) out.push([...prefix, [F_NUM, nid, N_ZERO, 0]]);
        else if (b >= 49 && b <= 57) out.push([...prefix, [F_NUM, nid, N_INT, 1]]);
        return;
      case K_OBJ:
        if (b === 123) out.push([...prefix, [F_OBJ, nid, O_OPEN, 0]]);
        return;
      case K_ARR:
        if (b === 91) out.push([...prefix, [F_ARR, nid, A_OPEN, 0]]);
        return;
    }
  }

  _litStep(rest, ls, pos, lo, hi, b, out) {
    const litset = this.litsets[ls];
    const cands = litset.cands;
    let nlo = -1, nhi = -1;
    for (let i = lo; i < hi; i++) {
      const c = cands[i][0];
      if (c.length > pos && c[pos] === b) {
        if (nlo < 0) nlo = i;
        nhi = i + 1;
      } else if (nlo >= 0) break;
    }
    if (nlo < 0) {
      if (cands[lo][0].length === pos) this._after(rest, b, out); // a complete candidate ends here
      return;
    }
    if (nhi - nlo === 1 && cands[nlo][0].length === pos + 1) {
      if (litset.isKey) {
        const obj = rest[rest.length - 1];
        out.push([...rest.slice(0, -1), [F_OBJ, obj[1], O_COLON, cands[nlo][1] + 1]]);
      } else {
        out.push(rest);
      }
    } else {
      out.push([...rest, [F_LIT, ls, pos + 1, nlo, nhi]]);
    }
  }

  _num(rest, top, b, out) {
    const [, nid, ph, nd] = top;
    const isNum = this.nodes[nid].kind === K_NUM;
    const digit = b >= 48 && b <= 57;
    let np = -1, nn = 0;
    switch (ph) {
      case N_SIGN:
        if (b === 48) np = N_ZERO;
        else if (digit) { np = N_INT; nn = 1; }
        break;
      case N_ZERO:
      case N_INT:
        if (ph === N_INT && digit && nd < MAX_INT_DIGITS) { np = N_INT; nn = nd + 1; }
        else if (isNum && b === 46) np = N_FRAC0;
        else if (isNum && (b === 101 || b === 69)) np = N_EXP0;
        break;
      case N_FRAC0:
        if (digit) np = N_FRAC;
        break;
      case N_FRAC:
        if (digit) np = N_FRAC;
        else if (b === 101 || b === 69) np = N_EXP0;
        break;
      case N_EXP0:
        if (b === 43 || b === 45) np = N_EXPSIGN;
        else if (digit) { np = N_EXP; nn = 1; }
        break;
      case N_EXPSIGN:
        if (digit) { np = N_EXP; nn = 1; }
        break;
      case N_EXP:
        if (digit && nd < MAX_EXP_DIGITS) { np = N_EXP; nn = nd + 1; }
        break;
    }
    if (np >= 0) out.push([...rest, [F_NUM, nid, np, nn]]);
    else if (NUM_CAN_END[ph]) this._after(rest, b, out);
  }

  _str(rest, top, b, out) {
    const [, nid, ln, sub] = top;
    let aux = top[4];
    if (sub === 0) {
      const node = this.nodes[nid];
      if (b === 34) {
        if (ln >= node.lo) out.push(rest);
        return;
      }
      if (b < 0x20 || (node.hi >= 0 && ln >= node.hi)) return;
      const nl = ln < node.cap ? ln + 1 : ln;
      if (b === 92) out.push([...rest, [F_STR, nid, nl, 1, 0]]);
      else if (b < 0x80) out.push([...rest, [F_STR, nid, nl, 0, 0]]);
      else {
        if (b >= 0xc2 && b <= 0xdf) aux = (1 << 16) | 0x80bf;
        else if (b === 0xe0) aux = (2 << 16) | 0xa0bf;
        else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) aux = (2 << 16) | 0x80bf;
        else if (b === 0xed) aux = (2 << 16) | 0x809f;
        else if (b === 0xf0) aux = (3 << 16) | 0x90bf;
        else if (b >= 0xf1 && b <= 0xf3) aux = (3 << 16) | 0x80bf;
        else if (b === 0xf4) aux = (3 << 16) | 0x808f;
        else return;
        out.push([...rest, [F_STR, nid, nl, 12, aux]]);
      }
    } else if (sub === 12) { // inside a multi-byte UTF-8 character
      if (((aux >> 8) & 255) <= b && b <= (aux & 255)) {
        const need = (aux >> 16) - 1;
        out.push([...rest, need === 0 ? [F_STR, nid, ln, 0, 0] : [F_STR, nid, ln, 12, (need << 16) | 0x80bf]]);
      }
    } else if (sub === 1) { // after a backslash
      if (ESCAPES.has(b)) out.push([...rest, [F_STR, nid, ln, 0, 0]]);
      else if (b === 117) out.push([...rest, [F_STR, nid, ln, 2, 0]]);
    } else if (sub <= 5) { // \u and sub-2 hex digits read (value aux)
      const h = hexVal(b);
      if (h < 0) return;
      const v = aux * 16 + h;
      if (sub === 3 && v >= 0xdc && v <= 0xdf) return; // a lone low surrogate
      if (sub === 5) out.push([...rest, [F_STR, nid, ln, v >= 0xd800 && v <= 0xdbff ? 6 : 0, 0]]);
      else out.push([...rest, [F_STR, nid, ln, sub + 1, v]]);
    } else if (sub === 6) { // after a high surrogate: its low surrogate must follow
      if (b === 92) out.push([...rest, [F_STR, nid, ln, 7, 0]]);
    } else if (sub === 7) {
      if (b === 117) out.push([...rest, [F_STR, nid, ln, 8, 0]]);
    } else { // 8..11: hex digits of the low surrogate
      const h = hexVal(b);
      if ((sub === 8 && h !== 13) || (sub === 9 && h < 12) || h < 0) return;
      out.push([...rest, [F_STR, nid, ln, sub === 11 ? 0 : sub + 1, 0]]);
    }
  }

  _obj(rest, nid, ph, idx, b, out) {
    const node = this.nodes[nid];
    const n = node.props.length;
    if (ph === O_OPEN || ph === O_KEYSTART) {
      if (b === 34 && idx < n) {
        const ls = node.keysets[idx];
        this._litStep([...rest, [F_OBJ, nid, O_KEYWAIT, idx]], ls, 0, 0, this.litsets[ls].cands.length, b, out);
      } else if (b === 125 && ph === O_OPEN && node.allopt[idx]) out.push(rest);
    } else if (ph === O_COLON) {
      if (b === 58) {
        if (this.layout === L_COMPACT) this._push([...rest, [F_OBJ, nid, O_AFTER_VALUE, idx]], node.props[idx - 1], out);
        else out.push([...rest, [F_OBJ, nid, O_AFTER_COLON, idx]]);
      }
    } else if (ph === O_AFTER_COLON) {
      const prefix = [...rest, [F_OBJ, nid, O_AFTER_VALUE, idx]];
      if (b === 32) this._push(prefix, node.props[idx - 1], out);
      else if (this.layout === L_FLEX) this._pushStep(prefix, node.props[idx - 1], b, out);
    } else if (ph === O_AFTER_VALUE) {
      if (b === 44 && idx < n) out.push([...rest, [F_OBJ, nid, this.layout === L_COMPACT ? O_KEYSTART : O_AFTER_COMMA, idx]]);
      else if (b === 125 && node.allopt[idx]) out.push(rest);
    } else if (ph === O_AFTER_COMMA) {
      if (b === 32) out.push([...rest, [F_OBJ, nid, O_KEYSTART, idx]]);
      else if (this.layout === L_FLEX) this._obj(rest, nid, O_KEYSTART, idx, b, out);
    }
  }

  _arr(rest, nid, ph, cnt, b, out) {
    const node = this.nodes[nid];
    const below = (c) => node.mx < 0 || c < node.mx;
    if (ph === A_OPEN) {
      if (b === 93) {
        if (node.mn === 0) out.push(rest);
      } else if (below(0)) {
        this._pushStep([...rest, [F_ARR, nid, A_AFTER_VALUE, Math.min(1, node.cap)]], node.item, b, out);
      }
    } else if (ph === A_AFTER_VALUE) {
      if (b === 44 && below(cnt)) {
        if (this.layout === L_COMPACT) this._push([...rest, [F_ARR, nid, A_AFTER_VALUE, Math.min(cnt + 1, node.cap)]], node.item, out);
        else out.push([...rest, [F_ARR, nid, A_AFTER_COMMA, cnt]]);
      } else if (b === 93 && cnt >= node.mn) out.push(rest);
    } else {
      const prefix = [...rest, [F_ARR, nid, A_AFTER_VALUE, Math.min(cnt + 1, node.cap)]];
      if (b === 32) this._push(prefix, node.item, out);
      else if (this.layout === L_FLEX) this._pushStep(prefix, node.item, b, out);
    }
  }

  // -- completion ------------------------------------------------------------
  _canEnd(f) {
    if (f[0] === F_NUM) return NUM_CAN_END[f[2]];
    if (f[0] === F_LIT) return this.litsets[f[1]].cands[f[3]][0].length === f[2];
    return false;
  }

  accepting(stacks) {
    return stacks.some((st) => st.length === 0 || (st.length === 1 && this._canEnd(st[0])));
  }

  _rem(f) {
    const k = f[0];
    if (k === F_STR) {
      const node = this.nodes[f[1]];
      const base = 1 + Math.max(0, node.lo - f[2]);
      const sub = f[3];
      if (sub === 0) return base;
      if (sub === 1) return 1 + base;
      if (sub <= 5) return 6 - sub + base;
      if (sub === 6) return 6 + base;
      if (sub === 7) return 5 + base;
      if (sub <= 11) return 12 - sub + base;
      return (f[4] >> 16) + base;
    }
    if (k === F_LIT) {
      const cands = this.litsets[f[1]].cands;
      let best = BIG;
      for (let i = f[3]; i < f[4]; i++) best = Math.min(best, cands[i][0].length - f[2] + cands[i][2]);
      return best;
    }
    if (k === F_NUM) return NUM_REM[f[2]];
    const node = this.nodes[f[1]];
    if (k === F_VAL) return node.minLen;
    const sp = this.space;
    if (k === F_OBJ) {
      const ph = f[2], idx = f[3];
      switch (ph) {
        case O_OPEN: return node.openRem;
        case O_KEYWAIT: return 0; // counted in the key literal's tail
        case O_COLON: return node.T[idx - 1] - node.keys[idx - 1].length;
        case O_AFTER_COLON: return sp + node.m[idx - 1] + node.R[idx];
        case O_AFTER_VALUE: return node.R[idx];
        case O_AFTER_COMMA: return sp + node.K[idx];
        default: return node.K[idx];
      }
    }
    const ph = f[2], cnt = f[3];
    if (ph === A_OPEN) return node.openRem;
    if (ph === A_AFTER_VALUE) return 1 + Math.max(0, node.mn - cnt) * (1 + sp + node.m);
    return sp + node.m + 1 + Math.max(0, node.mn - cnt - 1) * (1 + sp + node.m);
  }

  minComplete(stacks) {
    let best = BIG;
    for (const st of stacks) {
      let total = 0;
      for (const f of st) total += this._rem(f);
      if (total < best) best = total;
    }
    return best;
  }
}

function stackKey(st) {
  let k = "";
  for (const f of st) k += f.join(",") + ";";
  return k;
}

export function stateKey(stacks) {
  return stacks.map(stackKey).join("|");
}

export function compileSchema(schema, layout = "spaced") {
  return new Grammar(schema, layout);
}

// ---------------------------------------------------------------------------
// Token masks

export class ConstrainedDecoder {
  constructor(grammar, tokenizer, { cacheSize = 20000 } = {}) {
    this.grammar = grammar;
    this.vocabSize = tokenizer.vocabSize;
    this.eotId = tokenizer.eotId;
    this.special = new Set(Object.values(tokenizer.specialIds));
    this.tokenBytes = [];
    for (let i = 0; i < this.vocabSize; i++) this.tokenBytes.push(tokenizer.tokenBytes(i));
    // Trie of the non-special tokens' bytes, flattened: each node lists its
    // children as parallel arrays of bytes and node ids.
    const kids = [new Map()], ends = [[]];
    for (let i = 0; i < this.vocabSize; i++) {
      const data = this.tokenBytes[i];
      if (this.special.has(i) || !data.length) continue;
      let node = 0;
      for (const b of data) {
        let nxt = kids[node].get(b);
        if (nxt === undefined) {
          nxt = kids.length;
          kids[node].set(b, nxt);
          kids.push(new Map());
          ends.push([]);
        }
        node = nxt;
      }
      ends[node].push(i);
    }
    this.childBytes = kids.map((m) => Int32Array.from(m.keys()));
    this.childNodes = kids.map((m) => Int32Array.from(m.values()));
    this.ends = ends;
    this.cache = new Map();
    this.cacheSize = cacheSize;
  }

  start(maxTokens = null) {
    const g = this.grammar;
    if (maxTokens !== null && maxTokens !== undefined && g.nodes[g.root].minLen > maxTokens) {
      throw new Error(`no document of this schema fits in ${maxTokens} tokens`);
    }
    return { stacks: g.initial(), remaining: maxTokens ?? null, finished: false, key: null };
  }

  // {allowed: Uint8Array, need: Int32Array} for a state's stacks (cached).
  masks(stacks, useCache = true) {
    const key = stateKey(stacks);
    if (useCache) {
      const hit = this.cache.get(key);
      if (hit) return hit;
    }
    const g = this.grammar;
    const allowed = new Uint8Array(this.vocabSize);
    const need = new Int32Array(this.vocabSize).fill(BIG);
    const { childBytes, childNodes, ends } = this;
    const todo = [[0, stacks]];
    while (todo.length) {
      const [node, st] = todo.pop();
      const bytes = childBytes[node], nodes = childNodes[node];
      for (let j = 0; j < bytes.length; j++) {
        const ns = g.advance(st, bytes[j]);
        if (!ns.length) continue;
        const child = nodes[j];
        const ids = ends[child];
        if (ids.length) {
          const mc = g.minComplete(ns);
          for (const i of ids) { allowed[i] = 1; need[i] = mc; }
        }
        if (childBytes[child].length) todo.push([child, ns]);
      }
    }
    if (g.accepting(stacks)) { allowed[this.eotId] = 1; need[this.eotId] = 0; }
    const entry = { allowed, need };
    if (useCache) {
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(key, entry);
    }
    return entry;
  }

  allowed(state) {
    if (state.finished) return new Uint8Array(this.vocabSize);
    const { allowed, need } = this.masks(state.stacks);
    const mask = allowed.slice();
    if (state.remaining !== null) {
      for (let i = 0; i < mask.length; i++) if (need[i] > state.remaining - 1) mask[i] = 0;
      mask[this.eotId] = allowed[this.eotId];
    }
    return mask;
  }

  advance(state, tokenId) {
    if (!this.allowed(state)[tokenId]) throw new Error(`token ${tokenId} is not allowed here`);
    if (tokenId === this.eotId) return { ...state, finished: true };
    const stacks = this.grammar.advanceBytes(state.stacks, this.tokenBytes[tokenId]);
    return { stacks, remaining: state.remaining === null ? null : state.remaining - 1, finished: false };
  }

  isComplete(state) {
    return this.grammar.accepting(state.stacks);
  }

  text(ids) {
    const parts = ids.filter((i) => i !== this.eotId).map((i) => this.tokenBytes[i]);
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    return new TextDecoder().decode(all);
  }
}

// Sample a document. logitsFn(ids) -> logits (array) over the vocabulary; rng()
// -> uniform [0, 1); temperature <= 0 is greedy. Always ends with end-of-text
// within maxTokens tokens. Returns {ids, text, value}.
export function generate(logitsFn, decoder, rng, temperature = 1.0, maxTokens = 256) {
  let state = decoder.start(maxTokens);
  const ids = [];
  for (;;) {
    const mask = decoder.allowed(state);
    const logits = logitsFn(ids);
    let tok = -1;
    if (temperature <= 0) {
      let best = -Infinity;
      for (let i = 0; i < mask.length; i++) if (mask[i] && logits[i] > best) { best = logits[i]; tok = i; }
    } else {
      let mx = -Infinity;
      for (let i = 0; i < mask.length; i++) if (mask[i] && logits[i] > mx) mx = logits[i];
      const p = new Float64Array(mask.length);
      let total = 0;
      for (let i = 0; i < mask.length; i++) if (mask[i]) { p[i] = Math.exp((logits[i] - mx) / temperature); total += p[i]; }
      let r = rng() * total;
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i]) continue;
        tok = i;
        r -= p[i];
        if (r < 0) break;
      }
    }
    if (tok === decoder.eotId) break;
    state = decoder.advance(state, tok);
    ids.push(tok);
  }
  const text = decoder.text(ids);
  return { ids, text, value: JSON.parse(text) };
}
