// Schema-constrained decoding: make the model's output valid JSON for a schema.
//
// A port of model_export/constrain.py (read its docstring for how the masks
// and the token budget work); the tests check that both give the same token
// masks. At every step the decoder masks out each token whose bytes would make
// the output impossible to complete into a document that parses and
// validates, so sampling from what is left, at any temperature, always ends in
// valid output. Three modules share the work, as in Python: schema.js (what a
// schema may say, validation, canonical names), grammar.js (the byte-level
// recogniser) and this one (token masks and generation).
//
//   const tokenizer = loadTokenizer(tokenizerJson);   // the tokenizer's JSON
//   const grammar = compileSchema({name: "string", age: "integer"}); // grammar.js
//   const decoder = new ConstrainedDecoder(grammar, tokenizer);
//   let state = decoder.start(maxTokens);              // maxTokens optional
//   const mask = decoder.allowed(state);               // Uint8Array, 1 = allowed
//   state = decoder.advance(state, tokenId);
//   decoder.isComplete(state);
//   generate(logitsFn, decoder, rng, temperature, maxTokens);
//
// An ES module that imports grammar.js and the special tokens' names: it runs
// in the browser and in Node.

import { BIG, stateKey } from "./grammar.js";
import { choose, distribution } from "./sampling.js";
import { EOT } from "./tokenizer.js";

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
    vocabSize: vocab.length, eotId: specialIds[EOT], specialIds,
    tokenBytes: (id) => vocab[id],
  };
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
// -> uniform [0, 1) (sampling.js's xorShift). The tokens the decoder forbids get
// logit -Infinity (probability 0), then sampling.js chooses, as decoding.py's
// sample does in Python; temperature <= 0 is greedy. Always ends with
// end-of-text within maxTokens tokens. Returns {ids, text, value}.
export function generate(logitsFn, decoder, rng, temperature = 1.0, maxTokens = 256) {
  let state = decoder.start(maxTokens);
  const ids = [];
  for (;;) {
    const mask = decoder.allowed(state);
    const logits = Float64Array.from(logitsFn(ids), (v, i) => (mask[i] ? v : -Infinity));
    const tok = choose(distribution(logits, { temperature }), rng).id;
    if (tok === decoder.eotId) break;
    state = decoder.advance(state, tok);
    ids.push(tok);
  }
  const text = decoder.text(ids);
  return { ids, text, value: JSON.parse(text) };
}
