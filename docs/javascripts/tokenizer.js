// Byte-level BPE tokenizer: the JavaScript port of model_export/tokenizer.py.
//
// The Python module's docstring is the specification; this file follows it step
// by step and must give the same ids for any text (tests/test_tokenizer_js.py
// checks that against Python on random Unicode). No dependencies: it runs as an
// ES module in the browser and in Node 20.
//
//   const tok = Tokenizer.fromJSON(await (await fetch(url)).json());
//   tok.encode("The capital of France is Paris.")   // -> [84, 104, ...]
//   tok.decode(ids)                                  // -> the text again
//   tok.pieces("Hi 😀")   // -> [{id, bytes, text, start, end, partial}, ...]

// The special tokens, in id order after the merges: the twin of
// model_export/tokenizer.py's (tests/test_shared_definitions.py keeps them equal).
export const EOT = "<|endoftext|>", USER = "<|user|>", ASSISTANT = "<|assistant|>", TOOL = "<|tool|>";
export const SPECIAL_TOKENS = [EOT, USER, ASSISTANT, TOOL];

export const PATTERN = "[ ]?[A-Za-z]+|[0-9]|[ ]?[^A-Za-z0-9\\t\\n\\v\\f\\r ]+|[\\t\\n\\v\\f\\r ]+";

// TextEncoder turns a lone surrogate into U+FFFD, as the Python side does by hand.
const encoder = new TextEncoder();
// Python's bytes.decode("utf-8", errors="replace") and the WHATWG decoder both
// follow Unicode's "maximal subpart" rule, so they produce the same number of
// U+FFFD. ignoreBOM: a leading EF BB BF is kept as U+FEFF, as Python keeps it
// (by default TextDecoder would silently drop it).
const replacingDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const strictDecoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

const CACHE_LIMIT = 50000; // distinct chunks remembered; the cache is emptied when full

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Step 3's inner operation: replace every occurrence of (a, b), left to right,
// without overlaps, by newId.
function merge(ids, a, b, newId) {
  const out = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(newId);
      i++;
    } else {
      out.push(ids[i]);
    }
  }
  return out;
}

function concatBytes(arrays) {
  let length = 0;
  for (const a of arrays) length += a.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

function hexByte(b) {
  return `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}

// Bytes as text, but every byte that is not part of a valid UTF-8 character
// shown as "<0xE2>": the readable form of a token that cuts a character.
function readableBytes(bytes) {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const length = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (length > 0 && i + length <= bytes.length) {
      try {
        out += strictDecoder.decode(bytes.subarray(i, i + length));
        i += length;
        continue;
      } catch {
        // not a valid character: fall through and show the lead byte
      }
    }
    out += hexByte(b);
    i += 1;
  }
  return out;
}

// How many UTF-8 bytes a code point becomes (a lone surrogate becomes U+FFFD: 3).
function utf8Length(codePoint) {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

export class Tokenizer {
  // merges: [[a, b], ...] in rank order; specialTokens: names in id order.
  constructor(merges, specialTokens = SPECIAL_TOKENS) {
    this.merges = merges.map(([a, b]) => [a, b]);
    this.ranks = new Map(); // pair key -> rank
    this.vocab = []; // id -> Uint8Array of the bytes it stands for
    for (let b = 0; b < 256; b++) this.vocab.push(Uint8Array.of(b));
    this.merges.forEach(([a, b], rank) => {
      this.ranks.set(this.pairKey(a, b), rank);
      this.vocab.push(concatBytes([this.vocab[a], this.vocab[b]]));
    });
    this.specialIds = {}; // name -> id
    this.specialNames = new Map(); // id -> name
    for (const name of specialTokens) {
      const id = this.vocab.length;
      this.specialIds[name] = id;
      this.specialNames.set(id, name);
      this.vocab.push(encoder.encode(name));
    }
    this.vocabSize = this.vocab.length;
    this.eotId = this.specialIds[EOT];
    // Longest first, so that at one position the longest special token wins.
    const names = [...specialTokens].sort((x, y) => y.length - x.length);
    this.specialSplit = names.length ? new RegExp(`(${names.map(escapeRegExp).join("|")})`, "u") : null;
    this.chunkPattern = new RegExp(PATTERN, "gu");
    this.cache = new Map(); // chunk -> ids
  }

  static fromJSON(obj) {
    if (obj.version !== 1 || obj.pattern !== PATTERN) {
      throw new Error("tokenizer JSON was made by an incompatible version");
    }
    const special = obj.special_tokens;
    const names = Object.keys(special).sort((x, y) => special[x] - special[y]);
    const tok = new Tokenizer(obj.merges, names);
    for (const name of names) {
      if (tok.specialIds[name] !== special[name]) throw new Error("special token ids must follow the merges");
    }
    if (obj.vocab_size !== undefined && obj.vocab_size !== tok.vocabSize) {
      throw new Error(`vocab_size is ${obj.vocab_size} but the merges and special tokens make ${tok.vocabSize}`);
    }
    return tok;
  }

  pairKey(a, b) {
    return a * 0x1000000 + b; // exact: ids are far below 2^24
  }

  // Step 3 for one chunk: its UTF-8 bytes, then the merges, lowest rank first.
  encodeChunk(chunk) {
    let ids = this.cache.get(chunk);
    if (ids !== undefined) return ids;
    ids = Array.from(encoder.encode(chunk));
    while (ids.length >= 2) {
      let best = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const rank = this.ranks.get(this.pairKey(ids[i], ids[i + 1]));
        if (rank !== undefined && rank < best) best = rank;
      }
      if (best === Infinity) break; // no adjacent pair was ever merged in training
      const [a, b] = this.merges[best];
      ids = merge(ids, a, b, 256 + best);
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(chunk, ids);
    return ids;
  }

  // Steps 1 and 2: yields {special: id} or {chunk: string}, with each one's
  // start offset (UTF-16 code units) in text.
  *segments(text, allowSpecial) {
    if (typeof text !== "string") throw new TypeError("text must be a string");
    // split() with a capturing group keeps the special tokens at odd positions.
    const parts = allowSpecial && this.specialSplit ? text.split(this.specialSplit) : [text];
    let offset = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i % 2 === 1) {
        yield { special: this.specialIds[part], start: offset };
      } else {
        for (const m of part.matchAll(this.chunkPattern)) {
          yield { chunk: m[0], start: offset + m.index };
        }
      }
      offset += part.length;
    }
  }

  encode(text, { allowSpecial = false } = {}) {
    const ids = [];
    for (const seg of this.segments(text, allowSpecial)) {
      if (seg.chunk === undefined) ids.push(seg.special);
      else for (const id of this.encodeChunk(seg.chunk)) ids.push(id);
    }
    return ids;
  }

  checkId(id) {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`token id ${id} is not in 0..${this.vocabSize - 1}`);
    }
  }

  tokenBytes(id) {
    this.checkId(id);
    return this.vocab[id];
  }

  // Concatenate the ids' bytes, then decode; invalid UTF-8 (a character cut
  // between ids, or a lone piece of one) becomes U+FFFD exactly as in Python.
  decode(ids) {
    return replacingDecoder.decode(concatBytes(Array.from(ids, (id) => this.tokenBytes(id))));
  }

  // For display: the token's text, with bytes that are not a whole character
  // on their own written as "<0xE2>".
  tokenText(id) {
    this.checkId(id);
    if (this.specialNames.has(id)) return this.specialNames.get(id);
    return readableBytes(this.vocab[id]);
  }

  // Which characters of text each token covers: start/end are offsets in the
  // JavaScript string (UTF-16 code units, so text.slice(start, end) works). A
  // token holding only some bytes of a character gets the whole character's
  // range and partial: true; the other tokens of that character get it too.
  // limit: stop after that many pieces (a display needs only the first few thousand).
  pieces(text, { allowSpecial = false, limit = Infinity } = {}) {
    const out = [];
    for (const seg of this.segments(text, allowSpecial)) {
      if (out.length >= limit) break;
      if (seg.chunk === undefined) {
        const name = this.specialNames.get(seg.special);
        out.push({ id: seg.special, bytes: this.vocab[seg.special], text: name,
                   start: seg.start, end: seg.start + name.length, partial: false });
        continue;
      }
      // For every byte of the chunk's UTF-8: the range of the character it belongs to.
      const charStart = [];
      const charEnd = [];
      let pos = seg.start;
      for (const ch of seg.chunk) {
        const n = utf8Length(ch.codePointAt(0));
        for (let k = 0; k < n; k++) {
          charStart.push(pos);
          charEnd.push(pos + ch.length);
        }
        pos += ch.length;
      }
      let at = 0; // byte offset in the chunk
      for (const id of this.encodeChunk(seg.chunk)) {
        const bytes = this.vocab[id];
        const last = at + bytes.length - 1;
        out.push({
          id, bytes, text: readableBytes(bytes),
          start: charStart[at], end: charEnd[last],
          partial: (at > 0 && charStart[at - 1] === charStart[at]) ||
                   (last + 1 < charStart.length && charStart[last + 1] === charStart[last]),
        });
        at += bytes.length;
      }
    }
    out.length = Math.min(out.length, limit);
    return out;
  }
}
