// The grammar of constrained decoding: a byte-level recogniser of the JSON
// documents a schema allows.
//
// A port of model_export/grammar.py (read its docstring for the canonical
// layout and how the recogniser works), with the same names for the same
// constants, node kinds, frames and phases; the tests check that both agree.
// compileSchema turns a schema (schema.js) into a Grammar that reads the output
// one byte at a time, knows whether the bytes so far can still become a valid
// document, and how many more bytes that takes at least. constrain.js builds
// the token masks on it.
//
//   const grammar = compileSchema({name: "string", age: "integer"}, "spaced");
//   let stacks = grammar.initial();
//   stacks = grammar.advance(stacks, byte);           // [] when the byte is impossible
//   stacks = grammar.advanceBytes(stacks, bytes);
//   grammar.accepting(stacks);                        // the bytes so far are a whole document
//   grammar.minComplete(stacks);                      // fewest bytes that finish it
//
// An ES module whose only import is schema.js: it runs in the browser and in Node.

import {
  encodeLiteral, encodeString, errorsOf, has, jsonEqual, MAX_CANDIDATES, MAX_MIN_LEN, MAX_NODES, MAX_READINGS,
  normalizeSchema, SchemaError,
} from "./schema.js";

export const LAYOUTS = ["spaced", "compact", "flexible"];
export const MAX_INT_DIGITS = 15;
export const MAX_EXP_DIGITS = 2;
export const BIG = 1 << 30; // "no way to finish": larger than any real byte count

// The bytes of JSON's syntax
const code = (c) => c.charCodeAt(0);
const QUOTE = code('"'), BACKSLASH = code("\\"), SPACE = code(" "), COLON = code(":"), COMMA = code(",");
const OPEN_BRACE = code("{"), CLOSE_BRACE = code("}"), OPEN_BRACKET = code("["), CLOSE_BRACKET = code("]");
const MINUS = code("-"), PLUS = code("+"), DOT = code("."), LOWER_E = code("e"), UPPER_E = code("E");
const DIGIT_0 = code("0"), DIGIT_1 = code("1"), DIGIT_9 = code("9");
const LOWER_A = code("a"), LOWER_F = code("f"), UPPER_A = code("A"), UPPER_F = code("F"), LOWER_U = code("u");
const ESCAPES = new Set([...'"\\/bfnrt'].map(code)); // the one-letter escapes after a backslash
const FIRST_NON_ASCII = 0x80; // bytes from here on belong to multi-byte UTF-8 characters

// node kinds
const K_OBJ = 0, K_ARR = 1, K_STR = 2, K_INT = 3, K_NUM = 4, K_LIT = 5, K_ANY = 6;
// frame kinds: a frame is an array of ints whose first is its kind
const F_VAL = 0, F_OBJ = 1, F_ARR = 2, F_STR = 3, F_NUM = 4, F_LIT = 5;
// object phases
const O_OPEN = 0, O_KEYWAIT = 1, O_COLON = 2, O_AFTER_COLON = 3, O_AFTER_VALUE = 4, O_AFTER_COMMA = 5, O_KEYSTART = 6;
// array phases
const A_OPEN = 0, A_AFTER_VALUE = 1, A_AFTER_COMMA = 2;
// layouts
const L_SPACED = 0, L_COMPACT = 1, L_FLEX = 2;

// An array indexed by state, from an object that names every state.
function table(byState) {
  const states = Object.keys(byState).map(Number).sort((a, b) => a - b);
  if (!states.every((s, i) => s === i)) throw new Error("a state table must name every state once");
  return states.map((s) => byState[s]);
}

// Number phases: what the number's bytes so far are.
const N_SIGN = 0, N_ZERO = 1, N_INT = 2, N_FRAC0 = 3, N_FRAC = 4, N_EXP0 = 5, N_EXPSIGN = 6, N_EXP = 7;
//   N_SIGN "-"   N_ZERO "0"   N_INT "12"   N_FRAC0 "1."   N_FRAC "1.5"
//   N_EXP0 "1e"  N_EXPSIGN "1e-"  N_EXP "1e5"
const NUM_CAN_END = table({ [N_SIGN]: false, [N_ZERO]: true, [N_INT]: true, [N_FRAC0]: false, [N_FRAC]: true,
  [N_EXP0]: false, [N_EXPSIGN]: false, [N_EXP]: true });
const NUM_REM = NUM_CAN_END.map((canEnd) => (canEnd ? 0 : 1)); // one digit finishes any other

// String sub-states: a string frame is [F_STR, node, characters so far, sub-state, aux].
const STR_CHAR = 0; // between characters: a character, a backslash or the closing quote
const STR_ESCAPE = 1; // after a backslash
const STR_HEX_1 = 2, STR_HEX_2 = 3, STR_HEX_3 = 4, STR_HEX_4 = 5; // \u read, the n-th hex digit next (aux: value so far)
const STR_LOW_BACKSLASH = 6; // a high surrogate's \uXXXX read: the low surrogate's backslash must follow
const STR_LOW_U = 7; // ... then its "u"
const STR_LOW_HEX_1 = 8, STR_LOW_HEX_2 = 9, STR_LOW_HEX_3 = 10, STR_LOW_HEX_4 = 11; // ... then its hex digits
const STR_UTF8 = 12; // inside a multi-byte UTF-8 character (aux: what may follow, see UTF8_LEAD)
// The fewest bytes that finish the escape in progress, by sub-state (STR_UTF8's come from aux).
const STR_REM = table({ [STR_CHAR]: 0, [STR_ESCAPE]: 1, [STR_HEX_1]: 4, [STR_HEX_2]: 3, [STR_HEX_3]: 2, [STR_HEX_4]: 1,
  [STR_LOW_BACKSLASH]: 6, [STR_LOW_U]: 5, [STR_LOW_HEX_1]: 4, [STR_LOW_HEX_2]: 3, [STR_LOW_HEX_3]: 2,
  [STR_LOW_HEX_4]: 1, [STR_UTF8]: 0 });
// A high surrogate is d800-dbff, a low one dc00-dfff.
const HIGH_SURROGATE_MIN = 0xd800, HIGH_SURROGATE_MAX = 0xdbff;
const LOW_SURROGATE_MIN = 0xdc00, LOW_SURROGATE_MAX = 0xdfff;

// Well-formed UTF-8. A continuation byte is 10xxxxxx (CONT_MIN..CONT_MAX). A
// lead byte says how many continuation bytes follow and the range the first of
// them must fall in, packed as need << 16 | lowest << 8 | highest in a string
// frame's aux. The narrower ranges after E0, ED, F0 and F4 reject overlong
// forms, surrogates and code points above U+10FFFF; C0, C1 and F5-FF never lead.
const CONT_MIN = 0x80, CONT_MAX = 0xbf;
const expect = (need, lowest = CONT_MIN, highest = CONT_MAX) => (need << 16) | (lowest << 8) | highest;
const UTF8_LEAD = Int32Array.from({ length: 256 }, (_, b) => { // aux after each lead byte; 0 if it cannot lead
  if (b >= 0xc2 && b <= 0xdf) return expect(1);
  if (b === 0xe0) return expect(2, 0xa0);
  if (b === 0xed) return expect(2, CONT_MIN, 0x9f);
  if (b >= 0xe1 && b <= 0xef) return expect(2);
  if (b === 0xf0) return expect(3, 0x90);
  if (b === 0xf4) return expect(3, CONT_MIN, 0x8f);
  if (b >= 0xf1 && b <= 0xf3) return expect(3);
  return 0;
});

// The value of a hex digit's byte; -1 if it is not one.
function hexVal(b) {
  if (b >= DIGIT_0 && b <= DIGIT_9) return b - DIGIT_0;
  if (b >= LOWER_A && b <= LOWER_F) return b - LOWER_A + 10;
  if (b >= UPPER_A && b <= UPPER_F) return b - UPPER_A + 10;
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
    // ones multiply the nodes at every level.
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
        if (b === QUOTE) out.push([...prefix, [F_STR, nid, 0, STR_CHAR, 0]]);
        return;
      case K_LIT:
        return this._litStep(prefix, node.litset, 0, 0, this.litsets[node.litset].cands.length, b, out);
      case K_INT:
      case K_NUM:
        if (b === MINUS) out.push([...prefix, [F_NUM, nid, N_SIGN, 0]]);
        else if (b === DIGIT_0) out.push([...prefix, [F_NUM, nid, N_ZERO, 0]]);
        else if (b >= DIGIT_1 && b <= DIGIT_9) out.push([...prefix, [F_NUM, nid, N_INT, 1]]);
        return;
      case K_OBJ:
        if (b === OPEN_BRACE) out.push([...prefix, [F_OBJ, nid, O_OPEN, 0]]);
        return;
      case K_ARR:
        if (b === OPEN_BRACKET) out.push([...prefix, [F_ARR, nid, A_OPEN, 0]]);
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
    const digit = b >= DIGIT_0 && b <= DIGIT_9;
    let np = -1, nn = 0;
    switch (ph) {
      case N_SIGN:
        if (b === DIGIT_0) np = N_ZERO;
        else if (digit) { np = N_INT; nn = 1; }
        break;
      case N_ZERO:
      case N_INT:
        if (ph === N_INT && digit && nd < MAX_INT_DIGITS) { np = N_INT; nn = nd + 1; }
        else if (isNum && b === DOT) np = N_FRAC0;
        else if (isNum && (b === LOWER_E || b === UPPER_E)) np = N_EXP0;
        break;
      case N_FRAC0:
        if (digit) np = N_FRAC;
        break;
      case N_FRAC:
        if (digit) np = N_FRAC;
        else if (b === LOWER_E || b === UPPER_E) np = N_EXP0;
        break;
      case N_EXP0:
        if (b === PLUS || b === MINUS) np = N_EXPSIGN;
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
    const [, nid, ln, sub, aux] = top;
    if (sub === STR_CHAR) {
      const node = this.nodes[nid];
      if (b === QUOTE) {
        if (ln >= node.lo) out.push(rest);
        return;
      }
      if (b < SPACE || (node.hi >= 0 && ln >= node.hi)) return; // a raw control character, or no room for one more
      const nl = ln < node.cap ? ln + 1 : ln;
      if (b === BACKSLASH) out.push([...rest, [F_STR, nid, nl, STR_ESCAPE, 0]]);
      else if (b < FIRST_NON_ASCII) out.push([...rest, [F_STR, nid, nl, STR_CHAR, 0]]);
      else if (UTF8_LEAD[b]) out.push([...rest, [F_STR, nid, nl, STR_UTF8, UTF8_LEAD[b]]]);
    } else if (sub === STR_UTF8) {
      if (((aux >> 8) & 255) <= b && b <= (aux & 255)) {
        const need = (aux >> 16) - 1;
        out.push([...rest, need === 0 ? [F_STR, nid, ln, STR_CHAR, 0] : [F_STR, nid, ln, STR_UTF8, expect(need)]]);
      }
    } else if (sub === STR_ESCAPE) {
      if (ESCAPES.has(b)) out.push([...rest, [F_STR, nid, ln, STR_CHAR, 0]]);
      else if (b === LOWER_U) out.push([...rest, [F_STR, nid, ln, STR_HEX_1, 0]]);
    } else if (sub <= STR_HEX_4) { // STR_HEX_1 .. STR_HEX_4
      const h = hexVal(b);
      if (h < 0) return;
      const v = aux * 16 + h;
      if (sub === STR_HEX_2 && v >= LOW_SURROGATE_MIN >> 8 && v <= LOW_SURROGATE_MAX >> 8) return; // a lone low surrogate
      if (sub === STR_HEX_4) {
        const high = v >= HIGH_SURROGATE_MIN && v <= HIGH_SURROGATE_MAX;
        out.push([...rest, [F_STR, nid, ln, high ? STR_LOW_BACKSLASH : STR_CHAR, 0]]);
      } else out.push([...rest, [F_STR, nid, ln, sub + 1, v]]);
    } else if (sub === STR_LOW_BACKSLASH) {
      if (b === BACKSLASH) out.push([...rest, [F_STR, nid, ln, STR_LOW_U, 0]]);
    } else if (sub === STR_LOW_U) {
      if (b === LOWER_U) out.push([...rest, [F_STR, nid, ln, STR_LOW_HEX_1, 0]]);
    } else { // STR_LOW_HEX_1 .. STR_LOW_HEX_4: a low surrogate is dc00-dfff
      const h = hexVal(b);
      if (h < 0 || (sub === STR_LOW_HEX_1 && h !== 0xd) || (sub === STR_LOW_HEX_2 && h < 0xc)) return;
      out.push([...rest, [F_STR, nid, ln, sub === STR_LOW_HEX_4 ? STR_CHAR : sub + 1, 0]]);
    }
  }

  _obj(rest, nid, ph, idx, b, out) {
    const node = this.nodes[nid];
    const n = node.props.length;
    if (ph === O_OPEN || ph === O_KEYSTART) {
      if (b === QUOTE && idx < n) {
        const ls = node.keysets[idx];
        this._litStep([...rest, [F_OBJ, nid, O_KEYWAIT, idx]], ls, 0, 0, this.litsets[ls].cands.length, b, out);
      } else if (b === CLOSE_BRACE && ph === O_OPEN && node.allopt[idx]) out.push(rest);
    } else if (ph === O_COLON) {
      if (b === COLON) {
        if (this.layout === L_COMPACT) this._push([...rest, [F_OBJ, nid, O_AFTER_VALUE, idx]], node.props[idx - 1], out);
        else out.push([...rest, [F_OBJ, nid, O_AFTER_COLON, idx]]);
      }
    } else if (ph === O_AFTER_COLON) {
      const prefix = [...rest, [F_OBJ, nid, O_AFTER_VALUE, idx]];
      if (b === SPACE) this._push(prefix, node.props[idx - 1], out);
      else if (this.layout === L_FLEX) this._pushStep(prefix, node.props[idx - 1], b, out);
    } else if (ph === O_AFTER_VALUE) {
      if (b === COMMA && idx < n) out.push([...rest, [F_OBJ, nid, this.layout === L_COMPACT ? O_KEYSTART : O_AFTER_COMMA, idx]]);
      else if (b === CLOSE_BRACE && node.allopt[idx]) out.push(rest);
    } else if (ph === O_AFTER_COMMA) {
      if (b === SPACE) out.push([...rest, [F_OBJ, nid, O_KEYSTART, idx]]);
      else if (this.layout === L_FLEX) this._obj(rest, nid, O_KEYSTART, idx, b, out);
    }
  }

  _arr(rest, nid, ph, cnt, b, out) {
    const node = this.nodes[nid];
    const below = (c) => node.mx < 0 || c < node.mx;
    if (ph === A_OPEN) {
      if (b === CLOSE_BRACKET) {
        if (node.mn === 0) out.push(rest);
      } else if (below(0)) {
        this._pushStep([...rest, [F_ARR, nid, A_AFTER_VALUE, Math.min(1, node.cap)]], node.item, b, out);
      }
    } else if (ph === A_AFTER_VALUE) {
      if (b === COMMA && below(cnt)) {
        if (this.layout === L_COMPACT) this._push([...rest, [F_ARR, nid, A_AFTER_VALUE, Math.min(cnt + 1, node.cap)]], node.item, out);
        else out.push([...rest, [F_ARR, nid, A_AFTER_COMMA, cnt]]);
      } else if (b === CLOSE_BRACKET && cnt >= node.mn) out.push(rest);
    } else {
      const prefix = [...rest, [F_ARR, nid, A_AFTER_VALUE, Math.min(cnt + 1, node.cap)]];
      if (b === SPACE) this._push(prefix, node.item, out);
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
      return (sub === STR_UTF8 ? f[4] >> 16 : STR_REM[sub]) + base;
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
