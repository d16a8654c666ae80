"""The grammar of constrained decoding: a byte-level recogniser of the JSON documents a schema allows.

compile_schema turns a schema (schema.py) into a Grammar: an automaton that
reads the output one byte at a time and knows, after each byte, whether the
bytes so far can still be completed into a document that parses and
validates, and how many more bytes that takes at least. The decoder
(constrain.py) builds its token masks on it. The same automaton runs in the
browser (`docs/javascripts/grammar.js`); the tests check that both agree.

Canonical JSON, one layout
--------------------------
The grammar accepts a subset of JSON text, so that every position has few
choices and a small model can learn the layout:

* Properties appear in the schema's order (optional ones may be left out, not
  reordered); the order is JavaScript's, as schema.py describes.
* Layout "spaced" (the default) is Python's `json.dumps` default: exactly one
  space after each ':' and ',' and no other whitespace:
  {"tool": "search", "query": "x"}, [1, 2]. "compact" is no whitespace at all
  (JSON.stringify); "flexible" allows either (at most one space) at each of
  those places. Whitespace anywhere else (before ':', after '{', around the
  document, newlines) is rejected.
* Strings: any Unicode text except raw control characters U+0000-U+001F, with
  the escapes \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX. A \\u escape of a surrogate must
  be a high surrogate followed by a low one (\\ud83d\\ude00); lone surrogates are
  rejected. Raw UTF-8 must be well formed (no overlongs, no surrogates).
  minLength/maxLength count code points; an escape counts as one.
* Property names and enum/const values are matched exactly as their canonical
  encoding (schema.encode_literal): one spelling each.
* integer: -?(0|[1-9][0-9]*) with at most MAX_INT_DIGITS digits (always exact
  in a JavaScript double). number: the JSON number grammar with at most
  MAX_INT_DIGITS digits before the point, any number after it, and an exponent
  of at most MAX_EXP_DIGITS digits (so the value is always finite). "-0" is
  accepted.
* The document is a single value.

How it works
------------
A pushdown recogniser reads the output byte by byte (the tokenizer's tokens are
byte strings, some of them half a UTF-8 character). Its state is a set of
stacks (a set only because "anyOf" may leave several readings alive), each
stack a tuple of frames, each frame a tuple of small integers whose first is
its kind (F_*): a value about to start, an object/array and where in it we are
(O_*, A_*), a string (length so far, and a sub-state STR_* for an escape or a
UTF-8 character in progress), a number (which part: N_*), or a literal being
matched (a property name or enum value, as a range of the sorted candidates).
A byte either moves the state or kills every stack.

Every state the recogniser can be in can still be completed, by construction
(maxLength and maxItems stop adding characters and items at the limit; a
surrogate escape is rejected at its second hex digit if it is a lone low one).
Each state also knows the exact minimum number of bytes needed to complete it
(min_complete), which is what lets the decoder promise a token budget.

    grammar = compile_schema(schema, layout="spaced")
    stacks = grammar.initial()
    stacks = grammar.advance(stacks, byte)          # () when the byte is impossible
    stacks = grammar.advance_bytes(stacks, data)
    grammar.accepting(stacks)                       # the bytes so far are a whole document
    grammar.min_complete(stacks)                    # fewest bytes that finish it
"""

from __future__ import annotations

import json

from model_export.schema import (MAX_CANDIDATES, MAX_MIN_LEN, MAX_NODES, MAX_READINGS, SchemaError, encode_literal,
                                 encode_string, errors_of, json_equal, normalize_schema)

LAYOUTS = ("spaced", "compact", "flexible")
MAX_INT_DIGITS = 15
MAX_EXP_DIGITS = 2
BIG = 1 << 30  # "no way to finish": larger than any real byte count

# The bytes of JSON's syntax
QUOTE, BACKSLASH, SPACE, COLON, COMMA = (ord(c) for c in '"\\ :,')
OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET = (ord(c) for c in "{}[]")
MINUS, PLUS, DOT, LOWER_E, UPPER_E = (ord(c) for c in "-+.eE")
DIGIT_0, DIGIT_1, DIGIT_9 = (ord(c) for c in "019")
LOWER_A, LOWER_F, UPPER_A, UPPER_F, LOWER_U = (ord(c) for c in "afAFu")
ESCAPES = frozenset(b'"\\/bfnrt')  # the one-letter escapes after a backslash
FIRST_NON_ASCII = 0x80  # bytes from here on belong to multi-byte UTF-8 characters

# node kinds
K_OBJ, K_ARR, K_STR, K_INT, K_NUM, K_LIT, K_ANY = range(7)
# frame kinds: a frame is a tuple of ints whose first is its kind
F_VAL, F_OBJ, F_ARR, F_STR, F_NUM, F_LIT = range(6)
# object phases
O_OPEN, O_KEYWAIT, O_COLON, O_AFTER_COLON, O_AFTER_VALUE, O_AFTER_COMMA, O_KEYSTART = range(7)
# array phases
A_OPEN, A_AFTER_VALUE, A_AFTER_COMMA = range(3)
# layouts
L_SPACED, L_COMPACT, L_FLEX = range(3)

# Number phases: what the number's bytes so far are.
N_SIGN, N_ZERO, N_INT, N_FRAC0, N_FRAC, N_EXP0, N_EXPSIGN, N_EXP = range(8)
#   N_SIGN "-"   N_ZERO "0"   N_INT "12"   N_FRAC0 "1."   N_FRAC "1.5"
#   N_EXP0 "1e"  N_EXPSIGN "1e-"  N_EXP "1e5"


def _table(by_state: dict) -> tuple:
    """A tuple indexed by state, from a dict that names every state."""
    if sorted(by_state) != list(range(len(by_state))):
        raise ValueError("a state table must name every state once")
    return tuple(by_state[s] for s in range(len(by_state)))


NUM_CAN_END = _table({N_SIGN: False, N_ZERO: True, N_INT: True, N_FRAC0: False, N_FRAC: True,
                      N_EXP0: False, N_EXPSIGN: False, N_EXP: True})
NUM_REM = tuple(0 if can_end else 1 for can_end in NUM_CAN_END)  # one digit finishes any other

# String sub-states: a string frame is (F_STR, node, characters so far, sub-state, aux).
STR_CHAR = 0           # between characters: a character, a backslash or the closing quote
STR_ESCAPE = 1         # after a backslash
STR_HEX_1, STR_HEX_2, STR_HEX_3, STR_HEX_4 = 2, 3, 4, 5  # \u read, the n-th hex digit next (aux: value so far)
STR_LOW_BACKSLASH = 6  # a high surrogate's \uXXXX read: the low surrogate's backslash must follow
STR_LOW_U = 7          # ... then its "u"
STR_LOW_HEX_1, STR_LOW_HEX_2, STR_LOW_HEX_3, STR_LOW_HEX_4 = 8, 9, 10, 11  # ... then its hex digits
STR_UTF8 = 12          # inside a multi-byte UTF-8 character (aux: what may follow, see UTF8_LEAD)
# The fewest bytes that finish the escape in progress, by sub-state (STR_UTF8's come from aux).
STR_REM = _table({STR_CHAR: 0, STR_ESCAPE: 1, STR_HEX_1: 4, STR_HEX_2: 3, STR_HEX_3: 2, STR_HEX_4: 1,
                  STR_LOW_BACKSLASH: 6, STR_LOW_U: 5, STR_LOW_HEX_1: 4, STR_LOW_HEX_2: 3,
                  STR_LOW_HEX_3: 2, STR_LOW_HEX_4: 1, STR_UTF8: 0})
# A high surrogate is d800-dbff, a low one dc00-dfff.
HIGH_SURROGATE_MIN, HIGH_SURROGATE_MAX = 0xD800, 0xDBFF
LOW_SURROGATE_MIN, LOW_SURROGATE_MAX = 0xDC00, 0xDFFF

# Well-formed UTF-8. A continuation byte is 10xxxxxx (CONT_MIN..CONT_MAX). A
# lead byte says how many continuation bytes follow and the range the first of
# them must fall in, packed as need << 16 | lowest << 8 | highest in a string
# frame's aux. The narrower ranges after E0, ED, F0 and F4 reject overlong
# forms, surrogates and code points above U+10FFFF; C0, C1 and F5-FF never lead.
CONT_MIN, CONT_MAX = 0x80, 0xBF


def _expect(need: int, lowest: int = CONT_MIN, highest: int = CONT_MAX) -> int:
    return need << 16 | lowest << 8 | highest


UTF8_LEAD = tuple(  # aux after each lead byte; 0 for a byte that cannot lead
    _expect(1) if 0xC2 <= b <= 0xDF else
    _expect(2, lowest=0xA0) if b == 0xE0 else
    _expect(2, highest=0x9F) if b == 0xED else
    _expect(2) if 0xE1 <= b <= 0xEF else
    _expect(3, lowest=0x90) if b == 0xF0 else
    _expect(3, highest=0x8F) if b == 0xF4 else
    _expect(3) if 0xF1 <= b <= 0xF3 else 0
    for b in range(256))


def _hex(b: int) -> int:
    """The value of a hex digit's byte; -1 if it is not one."""
    if DIGIT_0 <= b <= DIGIT_9:
        return b - DIGIT_0
    if LOWER_A <= b <= LOWER_F:
        return b - LOWER_A + 10
    if UPPER_A <= b <= UPPER_F:
        return b - UPPER_A + 10
    return -1


class Node:
    """One schema node. Fields depend on kind (see Grammar._compile)."""

    def __init__(self, kind: int):
        self.kind = kind
        self.min_len = 0
        self.alts = None  # concrete node ids this node stands for (anyOf flattened)
        self.readings = 1  # most stacks a value of this node can keep alive at once


class LitSet:
    """Sorted candidate byte strings: (bytes, tag, tail). tag = property index for keys."""

    def __init__(self, cands, is_key: bool):
        self.cands = sorted(cands)
        self.is_key = is_key


class Grammar:
    def __init__(self, schema, layout: str = "spaced"):
        if layout not in LAYOUTS:
            raise SchemaError(f"layout must be one of {LAYOUTS}")
        self.layout = LAYOUTS.index(layout)
        self.space = 1 if self.layout == L_SPACED else 0  # bytes of a mandatory space
        self.schema = normalize_schema(schema)
        self.nodes: list[Node] = []
        self.litsets: list[LitSet] = []
        self.n_candidates = 0
        # Equal sub-schemas compile to one node: a type list or anyOf repeats the
        # keywords next to it in every alternative, and without sharing, nested
        # ones multiply the nodes at every level.
        self._memo: dict[str, int] = {}
        self.root = self._compile(self.schema)

    # -- compilation -------------------------------------------------------
    def _add(self, node: Node) -> int:
        if node.min_len > MAX_MIN_LEN:
            raise SchemaError(f"the schema's shortest value is longer than {MAX_MIN_LEN} bytes")
        if len(self.nodes) >= MAX_NODES:
            raise SchemaError(f"the schema is too large: it compiles to more than {MAX_NODES} nodes")
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _litset(self, cands, is_key) -> int:
        self.n_candidates += len(cands)
        if self.n_candidates > MAX_CANDIDATES:
            raise SchemaError(f"the schema is too large: more than {MAX_CANDIDATES} property names and "
                              "enum values to match")
        self.litsets.append(LitSet(cands, is_key))
        return len(self.litsets) - 1

    def _compile(self, s: dict) -> int:
        key = json.dumps(s, default=repr)
        nid = self._memo.get(key)
        if nid is None:
            nid = self._memo[key] = self._compile_new(s)
        return nid

    def _compile_new(self, s: dict) -> int:
        s = dict(s)
        if "anyOf" in s:
            alts = s.pop("anyOf")
            if s:  # keywords next to anyOf are merged into each alternative
                for a in alts:
                    if any(k in a and not json_equal(a[k], v) for k, v in s.items()):
                        raise SchemaError("a keyword next to anyOf conflicts with an alternative")
                alts = [{**s, **a} for a in alts]
            return self._any([self._compile(a) for a in alts])
        if isinstance(s.get("type"), list):
            types = s["type"]
            return self._any([self._compile({**s, "type": t}) for t in types])
        if "const" in s or "enum" in s:
            values = [s["const"]] if "const" in s else s["enum"]
            if not isinstance(values, list) or not values:
                raise SchemaError("enum must be a non-empty list")
            texts = set()
            for v in values:
                lit = encode_literal(v)  # also rejects unsupported values
                if not errors_of(v, s):  # the other keywords (type, const...) must hold too
                    texts.add(lit.encode("utf-8"))
            if not texts:
                raise SchemaError("no enum/const value satisfies the rest of the schema")
            return self._lit([(t, -1, 0) for t in sorted(texts)])
        t = s.get("type")
        if "type" not in s:
            if "properties" in s:
                t = "object"
            elif "items" in s:
                t = "array"
            else:
                raise SchemaError(f"schema needs a type: {s!r}")
        if t == "boolean":
            return self._lit([(b"false", -1, 0), (b"true", -1, 0)])
        if t == "null":
            return self._lit([(b"null", -1, 0)])
        if t in ("integer", "number"):
            node = Node(K_INT if t == "integer" else K_NUM)
            node.min_len = 1
            return self._concrete(node)
        if t == "string":
            node = Node(K_STR)
            node.lo = s.get("minLength", 0)
            node.hi = s.get("maxLength")
            if node.hi is not None and node.hi < node.lo:
                raise SchemaError("maxLength < minLength")
            node.cap = node.hi if node.hi is not None else node.lo
            node.min_len = 2 + node.lo
            return self._concrete(node)
        if t == "array":
            if "items" not in s:
                raise SchemaError("arrays need items")
            node = Node(K_ARR)
            node.item = self._compile(s["items"])
            node.mn = s.get("minItems", 0)
            node.mx = s.get("maxItems")
            if node.mx is not None and node.mx < node.mn:
                raise SchemaError("maxItems < minItems")
            node.cap = node.mx if node.mx is not None else node.mn
            m, sp = self.nodes[node.item].min_len, self.space
            node.m = m
            node.open_rem = 1 if node.mn == 0 else m + (node.mn - 1) * (1 + sp + m) + 1
            node.min_len = 1 + node.open_rem
            node.readings = self.nodes[node.item].readings
            return self._concrete(node)
        if t == "object":
            return self._object(s)
        raise SchemaError(f"unknown type {t!r}")

    def _concrete(self, node: Node) -> int:
        nid = self._add(node)
        node.alts = (nid,)
        return nid

    def _lit(self, cands) -> int:
        node = Node(K_LIT)
        node.litset = self._litset(cands, False)
        node.min_len = min(len(c[0]) for c in cands)
        return self._concrete(node)

    def _any(self, ids) -> int:
        node = Node(K_ANY)
        alts = []
        for i in ids:
            for a in self.nodes[i].alts:
                if a not in alts:
                    alts.append(a)
        node.alts = tuple(alts)
        node.min_len = min(self.nodes[a].min_len for a in alts)
        # Each alternative keeps its own stacks alive: a bound checked here, at
        # compile time, so that no mask ever has to track more stacks than this.
        node.readings = sum(self.nodes[a].readings for a in alts)
        if node.readings > MAX_READINGS:
            raise SchemaError(f"the schema is too ambiguous: its anyOf and type lists leave up to "
                              f"{node.readings} ways to read the output at once (the limit is {MAX_READINGS})")
        return self._add(node)

    def _object(self, s: dict) -> int:
        props = s.get("properties", {})
        required = s.get("required", [])
        if any(r not in props for r in required):
            raise SchemaError("required must list properties that are defined")
        names = list(props)
        n, sp = len(names), self.space
        node = Node(K_OBJ)
        node.props = [self._compile(props[k]) for k in names]
        node.readings = max((self.nodes[p].readings for p in node.props), default=1)
        node.keys = [encode_string(k).encode("utf-8") for k in names]
        req = [k in required for k in names]
        node.allopt = [not any(req[i:]) for i in range(n + 1)]
        m = [self.nodes[p].min_len for p in node.props]
        R, K, T = [0] * (n + 1), [0] * (n + 1), [0] * n
        R[n], K[n] = 1, BIG
        for i in range(n - 1, -1, -1):
            T[i] = len(node.keys[i]) + 1 + sp + m[i] + R[i + 1]
            # eligible keys from i: i, i+1, ... up to and including the first required one
            K[i] = T[i] if req[i] else min(T[i], K[i + 1])
            R[i] = min(1 if node.allopt[i] else BIG, 1 + sp + K[i])
        node.R, node.K, node.T, node.m = R, K, T, m
        node.open_rem = 1 if node.allopt[0] else K[0]
        node.min_len = 1 + node.open_rem
        node.keysets = []
        for i in range(n):
            cands, j = [], i
            while j < n:
                cands.append((node.keys[j], j, T[j] - len(node.keys[j])))
                if req[j]:
                    break
                j += 1
            node.keysets.append(self._litset(cands, True))
        return self._concrete(node)

    # -- the recogniser ------------------------------------------------------
    def initial(self) -> tuple:
        return tuple(((F_VAL, a),) for a in self.nodes[self.root].alts)

    def advance(self, stacks: tuple, b: int) -> tuple:
        out: list = []
        for st in stacks:
            if st:
                self._step(st, b, out)
        if len(out) > 1:
            out = list(dict.fromkeys(out))
        return tuple(out)

    def advance_bytes(self, stacks: tuple, data: bytes) -> tuple:
        for b in data:
            stacks = self.advance(stacks, b)
            if not stacks:
                break
        return stacks

    def _step(self, st: tuple, b: int, out: list) -> None:
        top = st[-1]
        rest = st[:-1]
        k = top[0]
        if k == F_STR:
            self._str(rest, top, b, out)
        elif k == F_LIT:
            self._lit_step(rest, top[1], top[2], top[3], top[4], b, out)
        elif k == F_NUM:
            self._num(rest, top, b, out)
        elif k == F_VAL:
            self._start(rest, top[1], b, out)
        elif k == F_OBJ:
            self._obj(rest, top[1], top[2], top[3], b, out)
        else:
            self._arr(rest, top[1], top[2], top[3], b, out)

    def _after(self, rest: tuple, b: int, out: list) -> None:
        """A value that could end has ended; `b` belongs to the enclosing container."""
        if rest:
            self._step(rest, b, out)

    def _push(self, prefix: tuple, nid: int, out: list) -> None:
        for a in self.nodes[nid].alts:
            out.append(prefix + ((F_VAL, a),))

    def _push_step(self, prefix: tuple, nid: int, b: int, out: list) -> None:
        for a in self.nodes[nid].alts:
            self._start(prefix, a, b, out)

    def _start(self, prefix: tuple, nid: int, b: int, out: list) -> None:
        node = self.nodes[nid]
        kind = node.kind
        if kind == K_STR:
            if b == QUOTE:
                out.append(prefix + ((F_STR, nid, 0, STR_CHAR, 0),))
        elif kind == K_LIT:
            self._lit_step(prefix, node.litset, 0, 0, len(self.litsets[node.litset].cands), b, out)
        elif kind == K_INT or kind == K_NUM:
            if b == MINUS:
                out.append(prefix + ((F_NUM, nid, N_SIGN, 0),))
            elif b == DIGIT_0:
                out.append(prefix + ((F_NUM, nid, N_ZERO, 0),))
            elif DIGIT_1 <= b <= DIGIT_9:
                out.append(prefix + ((F_NUM, nid, N_INT, 1),))
        elif kind == K_OBJ:
            if b == OPEN_BRACE:
                out.append(prefix + ((F_OBJ, nid, O_OPEN, 0),))
        elif kind == K_ARR:
            if b == OPEN_BRACKET:
                out.append(prefix + ((F_ARR, nid, A_OPEN, 0),))

    def _lit_step(self, rest, ls, pos, lo, hi, b, out) -> None:
        litset = self.litsets[ls]
        cands = litset.cands
        nlo = nhi = -1
        for i in range(lo, hi):
            c = cands[i][0]
            if len(c) > pos and c[pos] == b:
                if nlo < 0:
                    nlo = i
                nhi = i + 1
            elif nlo >= 0:
                break
        if nlo < 0:
            if len(cands[lo][0]) == pos:  # a complete candidate: the value ends here
                self._after(rest, b, out)
            return
        if nhi - nlo == 1 and len(cands[nlo][0]) == pos + 1:
            if litset.is_key:  # rest[-1] is the object waiting for its key
                obj = rest[-1]
                out.append(rest[:-1] + ((F_OBJ, obj[1], O_COLON, cands[nlo][1] + 1),))
            else:
                out.append(rest)
        else:
            out.append(rest + ((F_LIT, ls, pos + 1, nlo, nhi),))

    def _num(self, rest, top, b, out) -> None:
        _, nid, ph, nd = top
        is_num = self.nodes[nid].kind == K_NUM
        digit = DIGIT_0 <= b <= DIGIT_9
        new = None
        if ph == N_SIGN:
            if b == DIGIT_0:
                new = (N_ZERO, 0)
            elif digit:
                new = (N_INT, 1)
        elif ph == N_ZERO or ph == N_INT:
            if ph == N_INT and digit and nd < MAX_INT_DIGITS:
                new = (N_INT, nd + 1)
            elif is_num and b == DOT:
                new = (N_FRAC0, 0)
            elif is_num and (b == LOWER_E or b == UPPER_E):
                new = (N_EXP0, 0)
        elif ph == N_FRAC0:
            if digit:
                new = (N_FRAC, 0)
        elif ph == N_FRAC:
            if digit:
                new = (N_FRAC, 0)
            elif b == LOWER_E or b == UPPER_E:
                new = (N_EXP0, 0)
        elif ph == N_EXP0:
            if b == PLUS or b == MINUS:
                new = (N_EXPSIGN, 0)
            elif digit:
                new = (N_EXP, 1)
        elif ph == N_EXPSIGN:
            if digit:
                new = (N_EXP, 1)
        elif ph == N_EXP:
            if digit and nd < MAX_EXP_DIGITS:
                new = (N_EXP, nd + 1)
        if new is not None:
            out.append(rest + ((F_NUM, nid, new[0], new[1]),))
        elif NUM_CAN_END[ph]:
            self._after(rest, b, out)

    def _str(self, rest, top, b, out) -> None:
        _, nid, ln, sub, aux = top
        if sub == STR_CHAR:
            node = self.nodes[nid]
            if b == QUOTE:
                if ln >= node.lo:
                    out.append(rest)
                return
            if b < SPACE or (node.hi is not None and ln >= node.hi):
                return  # a raw control character, or no room for one more character
            nl = ln + 1 if ln < node.cap else ln
            if b == BACKSLASH:
                out.append(rest + ((F_STR, nid, nl, STR_ESCAPE, 0),))
            elif b < FIRST_NON_ASCII:
                out.append(rest + ((F_STR, nid, nl, STR_CHAR, 0),))
            elif UTF8_LEAD[b]:
                out.append(rest + ((F_STR, nid, nl, STR_UTF8, UTF8_LEAD[b]),))
        elif sub == STR_UTF8:
            if (aux >> 8) & 255 <= b <= aux & 255:
                need = (aux >> 16) - 1
                if need == 0:
                    out.append(rest + ((F_STR, nid, ln, STR_CHAR, 0),))
                else:
                    out.append(rest + ((F_STR, nid, ln, STR_UTF8, _expect(need)),))
        elif sub == STR_ESCAPE:
            if b in ESCAPES:
                out.append(rest + ((F_STR, nid, ln, STR_CHAR, 0),))
            elif b == LOWER_U:
                out.append(rest + ((F_STR, nid, ln, STR_HEX_1, 0),))
        elif sub <= STR_HEX_4:  # STR_HEX_1 .. STR_HEX_4
            h = _hex(b)
            if h < 0:
                return
            v = aux * 16 + h
            if sub == STR_HEX_2 and LOW_SURROGATE_MIN >> 8 <= v <= LOW_SURROGATE_MAX >> 8:
                return  # a lone low surrogate
            if sub == STR_HEX_4:
                high = HIGH_SURROGATE_MIN <= v <= HIGH_SURROGATE_MAX
                out.append(rest + ((F_STR, nid, ln, STR_LOW_BACKSLASH if high else STR_CHAR, 0),))
            else:
                out.append(rest + ((F_STR, nid, ln, sub + 1, v),))
        elif sub == STR_LOW_BACKSLASH:
            if b == BACKSLASH:
                out.append(rest + ((F_STR, nid, ln, STR_LOW_U, 0),))
        elif sub == STR_LOW_U:
            if b == LOWER_U:
                out.append(rest + ((F_STR, nid, ln, STR_LOW_HEX_1, 0),))
        else:  # STR_LOW_HEX_1 .. STR_LOW_HEX_4: a low surrogate is dc00-dfff
            h = _hex(b)
            if h < 0 or (sub == STR_LOW_HEX_1 and h != 0xD) or (sub == STR_LOW_HEX_2 and h < 0xC):
                return
            out.append(rest + ((F_STR, nid, ln, STR_CHAR if sub == STR_LOW_HEX_4 else sub + 1, 0),))

    def _obj(self, rest, nid, ph, idx, b, out) -> None:
        node = self.nodes[nid]
        if ph == O_OPEN or ph == O_KEYSTART:
            if b == QUOTE and idx < len(node.props):
                ls = node.keysets[idx]
                prefix = rest + ((F_OBJ, nid, O_KEYWAIT, idx),)
                self._lit_step(prefix, ls, 0, 0, len(self.litsets[ls].cands), b, out)
            elif b == CLOSE_BRACE and ph == O_OPEN and node.allopt[idx]:
                out.append(rest)
        elif ph == O_COLON:
            if b == COLON:
                if self.layout == L_COMPACT:
                    self._push(rest + ((F_OBJ, nid, O_AFTER_VALUE, idx),), node.props[idx - 1], out)
                else:
                    out.append(rest + ((F_OBJ, nid, O_AFTER_COLON, idx),))
        elif ph == O_AFTER_COLON:
            prefix = rest + ((F_OBJ, nid, O_AFTER_VALUE, idx),)
            if b == SPACE:
                self._push(prefix, node.props[idx - 1], out)
            elif self.layout == L_FLEX:
                self._push_step(prefix, node.props[idx - 1], b, out)
        elif ph == O_AFTER_VALUE:
            if b == COMMA and idx < len(node.props):
                out.append(rest + ((F_OBJ, nid, O_KEYSTART if self.layout == L_COMPACT else O_AFTER_COMMA, idx),))
            elif b == CLOSE_BRACE and node.allopt[idx]:
                out.append(rest)
        elif ph == O_AFTER_COMMA:
            if b == SPACE:
                out.append(rest + ((F_OBJ, nid, O_KEYSTART, idx),))
            elif self.layout == L_FLEX:
                self._obj(rest, nid, O_KEYSTART, idx, b, out)

    def _arr(self, rest, nid, ph, cnt, b, out) -> None:
        node = self.nodes[nid]
        if ph == A_OPEN:
            if b == CLOSE_BRACKET:
                if node.mn == 0:
                    out.append(rest)
            elif node.mx is None or node.mx > 0:
                self._push_step(rest + ((F_ARR, nid, A_AFTER_VALUE, min(1, node.cap)),), node.item, b, out)
        elif ph == A_AFTER_VALUE:
            if b == COMMA and (node.mx is None or cnt < node.mx):
                if self.layout == L_COMPACT:
                    self._push(rest + ((F_ARR, nid, A_AFTER_VALUE, min(cnt + 1, node.cap)),), node.item, out)
                else:
                    out.append(rest + ((F_ARR, nid, A_AFTER_COMMA, cnt),))
            elif b == CLOSE_BRACKET and cnt >= node.mn:
                out.append(rest)
        else:  # A_AFTER_COMMA
            prefix = rest + ((F_ARR, nid, A_AFTER_VALUE, min(cnt + 1, node.cap)),)
            if b == SPACE:
                self._push(prefix, node.item, out)
            elif self.layout == L_FLEX:
                self._push_step(prefix, node.item, b, out)

    # -- completion ------------------------------------------------------------
    def _can_end(self, f: tuple) -> bool:
        if f[0] == F_NUM:
            return NUM_CAN_END[f[2]]
        if f[0] == F_LIT:
            return len(self.litsets[f[1]].cands[f[3]][0]) == f[2]
        return False

    def accepting(self, stacks: tuple) -> bool:
        return any(len(st) == 0 or (len(st) == 1 and self._can_end(st[0])) for st in stacks)

    def _rem(self, f: tuple) -> int:
        """Fewest bytes that finish frame f, once the frames above it are finished."""
        k = f[0]
        if k == F_STR:
            node = self.nodes[f[1]]
            base = 1 + max(0, node.lo - f[2])
            sub = f[3]
            return (f[4] >> 16 if sub == STR_UTF8 else STR_REM[sub]) + base
        if k == F_LIT:
            cands = self.litsets[f[1]].cands
            pos = f[2]
            return min(len(cands[i][0]) - pos + cands[i][2] for i in range(f[3], f[4]))
        if k == F_NUM:
            return NUM_REM[f[2]]
        node = self.nodes[f[1]]
        if k == F_VAL:
            return node.min_len
        sp = self.space
        if k == F_OBJ:
            ph, idx = f[2], f[3]
            if ph == O_OPEN:
                return node.open_rem
            if ph == O_KEYWAIT:
                return 0  # counted in the key literal's tail
            if ph == O_COLON:
                return node.T[idx - 1] - len(node.keys[idx - 1])
            if ph == O_AFTER_COLON:
                return sp + node.m[idx - 1] + node.R[idx]
            if ph == O_AFTER_VALUE:
                return node.R[idx]
            if ph == O_AFTER_COMMA:
                return sp + node.K[idx]
            return node.K[idx]
        # F_ARR
        ph, cnt = f[2], f[3]
        if ph == A_OPEN:
            return node.open_rem
        if ph == A_AFTER_VALUE:
            return 1 + max(0, node.mn - cnt) * (1 + sp + node.m)
        return sp + node.m + 1 + max(0, node.mn - cnt - 1) * (1 + sp + node.m)

    def min_complete(self, stacks: tuple) -> int:
        """Fewest bytes that turn the output so far into a complete document."""
        best = BIG
        for st in stacks:
            total = 0
            for f in st:
                total += self._rem(f)
            best = min(best, total)
        return best


def compile_schema(schema, layout: str = "spaced") -> Grammar:
    """Compile a schema (JSON Schema subset or shorthand) into a Grammar."""
    return Grammar(schema, layout)
