"""Schema-constrained decoding: make a language model's output valid JSON for a schema.

At every step of generation the decoder masks out each token whose bytes would
make the output impossible to complete into a document that parses and
validates. Sampling from the remaining tokens, at any temperature, therefore
always ends in valid output. The same algorithm runs in the browser
(`docs/javascripts/constrain.js`); the tests check that both give the same masks.

Supported schemas
-----------------
A JSON Schema subset: "type" object / array / string / integer / number /
boolean / null (or a list of those), "properties", "required", "items",
"minItems", "maxItems", "minLength", "maxLength", "enum" and "const" (scalar
values), "anyOf", "additionalProperties": false; "title", "description",
"$schema", "$id", "default", "examples" are ignored. Anything else raises
SchemaError. Objects are closed: only the listed properties may appear.
Keyword values are checked as JavaScript would read the same JSON: counts are
integers from 0 to MAX_COUNT (2.0 counts as 2; null, true, 2.5 are errors),
"type" is a type name or a non-empty list of them, "required" a list of
property names, enum/const values scalars; property names are strings, and a
property called "__proto__" is a property like any other.

Limits: a hostile schema gets a SchemaError that says which limit it broke,
never a long wait. Equal sub-schemas compile to one node (type lists and anyOf
copy the keywords next to them into each alternative, which without sharing
multiplies nodes at each level), and the compiler refuses schemas nested more
than MAX_SCHEMA_DEPTH deep, with more than MAX_NODES nodes or MAX_CANDIDATES
literal candidates, a value whose shortest form exceeds MAX_MIN_LEN bytes, or
more than MAX_READINGS stacks that could be alive at once (each alternative of
an anyOf or type list is one reading; nested alternatives multiply), so every
mask costs at most that many stacks' work.

Shorthand (the playground's form): a dict that is not a schema, such as
{"name": "string", "age": "integer"}, is an object whose listed properties are
all required, in the listed order. Values are type names, nested shorthand or
schemas, or a one-element list [item] for an array of item. A dict counts as a
schema when it has "type" (a type name or a list of them) or any of
"properties", "items", "enum", "const", "anyOf"; so a shorthand object with a
property called "type" must be written as a full schema.

The grammar: canonical JSON, one layout
---------------------------------------
The decoder accepts a subset of JSON text, so that every position has few
choices and a small model can learn the layout:

* Properties appear in the schema's order (optional ones may be left out, not
  reordered). Like JavaScript objects, property names that are array indices
  ("0", "1", ..., "4294967294") come first in increasing order, then the others
  in the order given; Python follows the same rule so both sides agree.
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
* Property names and enum/const values are emitted exactly as the canonical
  encoding below: raw Unicode (like json.dumps(..., ensure_ascii=False)),
  escaping only '"', '\\\\', and control characters (\\b \\f \\n \\r \\t, else \\u00xx).
  Enum/const numbers must be integers with |v| < 1e15 (written without a
  fraction: 1.0 -> 1) or other finite numbers with 1e-4 <= |v| < 1e15 (written
  as Python's repr, which then equals JavaScript's String(v)).
* integer: -?(0|[1-9][0-9]*) with at most 15 digits (always exact in a
  JavaScript double). number: the JSON number grammar with at most 15 digits
  before the point, any number after it, and an exponent of at most 2 digits
  (so the value is always finite). "-0" is accepted.
* The document is a single value followed by the end-of-text token.

How it works
------------
A pushdown recogniser reads the output byte by byte (the tokenizer's tokens are
byte strings, some of them half a UTF-8 character). Its state is a set of
stacks (a set only because "anyOf" may leave several readings alive), each
stack a tuple of frames, each frame a tuple of small integers: a value about
to start, an object/array and where in it we are, a string (length so far,
escape or UTF-8 continuation in progress), a number (which part), or a literal
being matched (a property name or enum value, as a range of the sorted
candidates). A byte either moves the state or kills every stack.

Every state the recogniser can be in can still be completed, by construction
(maxLength and maxItems stop adding characters and items at the limit; a
surrogate escape is rejected at its second hex digit if it is a lone low one).
The decoder walks a trie of all token byte strings from the current state, so a
token is allowed iff walking its bytes leaves a stack alive. End-of-text is
allowed iff the document is complete. Special tokens are never allowed.

Token budget: `start(max_tokens=n)` also guarantees the document ends within n
tokens (plus the end-of-text token). Each state knows the exact minimum number
of bytes needed to complete it; every byte is a token (ids 0-255), so a token
is allowed only if what remains can still be finished in the tokens left.

API
---
    grammar = compile_schema(schema, layout="spaced")
    decoder = ConstrainedDecoder(grammar, tokenizer)
    state = decoder.start(max_tokens=None)
    mask = decoder.allowed(state)      # np.ndarray[bool], vocab_size
    state = decoder.advance(state, token_id)
    decoder.is_complete(state)         # the output so far is a valid document
    validate(value, schema) -> list[str]    # [] when valid
    generate(logits_fn, decoder, rng, temperature, max_tokens) -> dict
"""

from __future__ import annotations

import json
import math
import re
from collections import namedtuple

import numpy as np

LAYOUTS = ("spaced", "compact", "flexible")
MAX_INT_DIGITS = 15
MAX_EXP_DIGITS = 2
TYPE_NAMES = ("object", "array", "string", "integer", "number", "boolean", "null")
KEYWORDS = {"type", "properties", "required", "items", "enum", "const", "anyOf",
            "minItems", "maxItems", "minLength", "maxLength", "additionalProperties",
            "title", "description", "$schema", "$id", "default", "examples"}
SCHEMA_MARKERS = ("properties", "items", "enum", "const", "anyOf")
COUNTS = ("minItems", "maxItems", "minLength", "maxLength")
BIG = 1 << 30
# Limits that keep a hostile schema from exhausting memory or time (same in constrain.js):
MAX_SCHEMA_DEPTH = 32      # schemas nested inside schemas
MAX_COUNT = 1_000_000      # minItems, maxItems, minLength, maxLength
MAX_NODES = 10_000         # compiled nodes
MAX_CANDIDATES = 100_000   # property names and enum values, summed over every place they can start
MAX_MIN_LEN = 1_000_000    # bytes of the shortest value of any node
MAX_READINGS = 256         # stacks alive at once (anyOf and type lists multiply them)


class SchemaError(ValueError):
    pass


# ---------------------------------------------------------------------------
# Schema normalisation (shorthand -> JSON Schema)

ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


def _is_array_index(key: str) -> bool:
    return ARRAY_INDEX.fullmatch(key) is not None and int(key) < 2**32 - 1


def ordered_keys(d: dict) -> list:
    """The keys of `d` in JavaScript's property order (array indices first)."""
    keys = list(d)
    return sorted((k for k in keys if _is_array_index(k)), key=int) + [k for k in keys if not _is_array_index(k)]


def _is_type_name(t) -> bool:
    return isinstance(t, str) and t in TYPE_NAMES


def _is_schema(d: dict) -> bool:
    t = d.get("type")
    if _is_type_name(t) or (isinstance(t, list) and t and all(_is_type_name(x) for x in t)):
        return True
    return any(k in d for k in SCHEMA_MARKERS)


def _check_count(v, key: str) -> int:
    """A count keyword's value as an int; JSON's 2.0 counts as 2 (JavaScript cannot tell them apart)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v <= MAX_COUNT) or v != int(v):
        raise SchemaError(f"{key} must be an integer from 0 to {MAX_COUNT}")
    return int(v)


def _check_keys(d: dict) -> None:
    if not all(isinstance(k, str) for k in d):
        raise SchemaError("property names must be strings")


def normalize_schema(schema, depth: int = 0):
    """Expand shorthand into the JSON Schema subset (see the module docstring)."""
    if depth > MAX_SCHEMA_DEPTH:
        raise SchemaError(f"the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep")
    depth += 1
    if isinstance(schema, str):
        if not _is_type_name(schema):
            raise SchemaError(f"unknown type name {schema!r}")
        return {"type": schema}
    if isinstance(schema, list):
        if len(schema) != 1:
            raise SchemaError("shorthand for an array is a one-element list [item]")
        return {"type": "array", "items": normalize_schema(schema[0], depth)}
    if not isinstance(schema, dict):
        raise SchemaError(f"a schema must be a dict, a type name or [item], not {schema!r}")
    _check_keys(schema)
    if not _is_schema(schema):
        props = {k: normalize_schema(schema[k], depth) for k in ordered_keys(schema)}
        return {"type": "object", "properties": props, "required": list(props)}
    out = {}
    for k, v in schema.items():
        if k not in KEYWORDS:
            raise SchemaError(f"unsupported keyword {k!r}")
        if k == "properties":
            if not isinstance(v, dict):
                raise SchemaError("properties must be an object")
            _check_keys(v)
            out[k] = {name: normalize_schema(v[name], depth) for name in ordered_keys(v)}
        elif k == "items":
            out[k] = normalize_schema(v, depth)
        elif k == "anyOf":
            if not isinstance(v, list) or not v:
                raise SchemaError("anyOf must be a non-empty list")
            out[k] = [normalize_schema(s, depth) for s in v]
        elif k == "type":
            if not (_is_type_name(v) or (isinstance(v, list) and v and all(_is_type_name(x) for x in v))):
                raise SchemaError("type must be a type name or a non-empty list of them")
            out[k] = v
        elif k == "required":
            if not isinstance(v, list) or not all(isinstance(r, str) for r in v):
                raise SchemaError("required must be a list of property names")
            out[k] = v
        elif k in COUNTS:
            out[k] = _check_count(v, k)
        elif k in ("enum", "const"):
            values = v if k == "enum" else [v]
            if not isinstance(values, list) or not values:
                raise SchemaError("enum must be a non-empty list")
            if not all(x is None or isinstance(x, (bool, int, float, str)) for x in values):
                raise SchemaError("enum/const values must be scalars (string, number, boolean or null)")
            out[k] = v
        elif k == "additionalProperties":
            if v is not False:
                raise SchemaError("only additionalProperties: false is supported (objects are closed)")
        elif k in ("title", "description", "$schema", "$id", "default", "examples"):
            continue
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------
# Validation (of a parsed value; used by tests and evaluation)

def _json_type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _has_type(v, t: str) -> bool:
    jt = _json_type(v)
    if t == "number":
        return jt in ("integer", "number")
    if t == "integer":
        return jt == "integer" or (jt == "number" and math.isfinite(v) and v == int(v))
    return jt == t


def json_equal(a, b) -> bool:
    ta, tb = _json_type(a), _json_type(b)
    if ta in ("integer", "number") and tb in ("integer", "number"):
        return a == b
    if ta != tb:
        return False
    if ta == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if ta == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return a == b


def validate(value, schema) -> list[str]:
    """Errors of `value` (a parsed JSON value) against `schema`; [] if valid."""
    errors: list[str] = []
    _validate(value, normalize_schema(schema), "$", errors)
    return errors


def _errors(v, s: dict) -> list:
    errors: list = []
    _validate(v, s, "$", errors)
    return errors


def _validate(v, s: dict, path: str, errors: list) -> None:
    if "anyOf" in s:
        if not any(not _errors(v, alt) for alt in s["anyOf"]):
            errors.append(f"{path}: matches none of anyOf")
    if "const" in s and not json_equal(v, s["const"]):
        errors.append(f"{path}: is not the const {s['const']!r}")
    if "enum" in s and not any(json_equal(v, e) for e in s["enum"]):
        errors.append(f"{path}: {v!r} is not one of {s['enum']!r}")
    if "type" in s:
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(_has_type(v, t) for t in types):
            errors.append(f"{path}: expected {'/'.join(types)}, got {_json_type(v)}")
            return
    if isinstance(v, float) and not math.isfinite(v):
        errors.append(f"{path}: number is not finite")
    if isinstance(v, str):
        if len(v) < s.get("minLength", 0):
            errors.append(f"{path}: shorter than minLength {s['minLength']}")
        if "maxLength" in s and len(v) > s["maxLength"]:
            errors.append(f"{path}: longer than maxLength {s['maxLength']}")
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0):
            errors.append(f"{path}: fewer than minItems {s['minItems']}")
        if "maxItems" in s and len(v) > s["maxItems"]:
            errors.append(f"{path}: more than maxItems {s['maxItems']}")
        if "items" in s:
            for i, x in enumerate(v):
                _validate(x, s["items"], f"{path}[{i}]", errors)
    if isinstance(v, dict) and ("properties" in s or s.get("type") == "object"):
        props = s.get("properties", {})
        for name in s.get("required", []):
            if name not in v:
                errors.append(f"{path}: missing required property {name!r}")
        for name, x in v.items():
            if name in props:
                _validate(x, props[name], f"{path}.{name}", errors)
            else:
                errors.append(f"{path}: unexpected property {name!r}")


# ---------------------------------------------------------------------------
# Canonical encoding of property names and enum values

def encode_string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(o, f"\\u{o:04x}"))
        elif 0xD800 <= o <= 0xDFFF:
            raise SchemaError("lone surrogates are not supported in names or enum values")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def encode_literal(v) -> str:
    """Canonical JSON text of a scalar enum/const value (same in Python and JS)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return encode_string(v)
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise SchemaError("enum numbers must be finite")
        if v == int(v):
            if abs(v) >= 1e15:
                raise SchemaError("enum integers must have |v| < 1e15")
            return str(int(v))
        if not 1e-4 <= abs(v) < 1e15:
            raise SchemaError("enum numbers must have 1e-4 <= |v| < 1e15")
        return repr(float(v))
    raise SchemaError(f"enum/const values must be scalars, not {v!r}")


# ---------------------------------------------------------------------------
# Compiled grammar

# node kinds
K_OBJ, K_ARR, K_STR, K_INT, K_NUM, K_LIT, K_ANY = range(7)
# frame kinds: a frame is a tuple of ints whose first is its kind
F_VAL, F_OBJ, F_ARR, F_STR, F_NUM, F_LIT = range(6)
# object phases
O_OPEN, O_KEYWAIT, O_COLON, O_AFTER_COLON, O_AFTER_VALUE, O_AFTER_COMMA, O_KEYSTART = range(7)
# array phases
A_OPEN, A_AFTER_VALUE, A_AFTER_COMMA = range(3)
# number phases
N_SIGN, N_ZERO, N_INT, N_FRAC0, N_FRAC, N_EXP0, N_EXPSIGN, N_EXP = range(8)
NUM_CAN_END = (False, True, True, False, True, False, False, True)
NUM_REM = (1, 0, 0, 1, 0, 1, 1, 0)
# layouts
L_SPACED, L_COMPACT, L_FLEX = range(3)

ESCAPES = frozenset(b'"\\/bfnrt')


def _hex(b: int) -> int:
    if 48 <= b <= 57:
        return b - 48
    if 97 <= b <= 102:
        return b - 87
    if 65 <= b <= 70:
        return b - 55
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


State = namedtuple("State", "stacks remaining finished")


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
        # ones multiply the nodes (9 levels of 4-entry type lists, 475 characters, made 699,049).
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
                errors: list = []
                _validate(v, s, "$", errors)  # the other keywords (type, const...) must hold too
                if not errors:
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
            if b == 34:
                out.append(prefix + ((F_STR, nid, 0, 0, 0),))
        elif kind == K_LIT:
            self._lit_step(prefix, node.litset, 0, 0, len(self.litsets[node.litset].cands), b, out)
        elif kind == K_INT or kind == K_NUM:
            if b == 45:
                out.append(prefix + ((F_NUM, nid, N_SIGN, 0),))
            elif b == 48:
                out.append(prefix + ((F_NUM, nid, N_ZERO, 0),))
            elif 49 <= b <= 57:
                out.append(prefix + ((F_NUM, nid, N_INT, 1),))
        elif kind == K_OBJ:
            if b == 123:
                out.append(prefix + ((F_OBJ, nid, O_OPEN, 0),))
        elif kind == K_ARR:
            if b == 91:
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
        digit = 48 <= b <= 57
        new = None
        if ph == N_SIGN:
            if b == 48:
                new = (N_ZERO, 0)
            elif digit:
                new = (N_INT, 1)
        elif ph == N_ZERO or ph == N_INT:
            if ph == N_INT and digit and nd < MAX_INT_DIGITS:
                new = (N_INT, nd + 1)
            elif is_num and b == 46:
                new = (N_FRAC0, 0)
            elif is_num and (b == 101 or b == 69):
                new = (N_EXP0, 0)
        elif ph == N_FRAC0:
            if digit:
                new = (N_FRAC, 0)
        elif ph == N_FRAC:
            if digit:
                new = (N_FRAC, 0)
            elif b == 101 or b == 69:
                new = (N_EXP0, 0)
        elif ph == N_EXP0:
            if b == 43 or b == 45:
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
        if sub == 0:
            node = self.nodes[nid]
            if b == 34:
                if ln >= node.lo:
                    out.append(rest)
                return
            if b < 0x20 or (node.hi is not None and ln >= node.hi):
                return
            nl = ln + 1 if ln < node.cap else ln
            if b == 92:
                out.append(rest + ((F_STR, nid, nl, 1, 0),))
            elif b < 0x80:
                out.append(rest + ((F_STR, nid, nl, 0, 0),))
            else:
                if 0xC2 <= b <= 0xDF:
                    aux = (1 << 16) | 0x80BF
                elif b == 0xE0:
                    aux = (2 << 16) | 0xA0BF
                elif 0xE1 <= b <= 0xEC or b == 0xEE or b == 0xEF:
                    aux = (2 << 16) | 0x80BF
                elif b == 0xED:
                    aux = (2 << 16) | 0x809F
                elif b == 0xF0:
                    aux = (3 << 16) | 0x90BF
                elif 0xF1 <= b <= 0xF3:
                    aux = (3 << 16) | 0x80BF
                elif b == 0xF4:
                    aux = (3 << 16) | 0x808F
                else:
                    return
                out.append(rest + ((F_STR, nid, nl, 12, aux),))
        elif sub == 12:  # inside a multi-byte UTF-8 character
            if (aux >> 8) & 255 <= b <= aux & 255:
                need = (aux >> 16) - 1
                if need == 0:
                    out.append(rest + ((F_STR, nid, ln, 0, 0),))
                else:
                    out.append(rest + ((F_STR, nid, ln, 12, (need << 16) | 0x80BF),))
        elif sub == 1:  # after a backslash
            if b in ESCAPES:
                out.append(rest + ((F_STR, nid, ln, 0, 0),))
            elif b == 117:
                out.append(rest + ((F_STR, nid, ln, 2, 0),))
        elif sub <= 5:  # \u and sub-2 hex digits read (value aux)
            h = _hex(b)
            if h < 0:
                return
            v = aux * 16 + h
            if sub == 3 and 0xDC <= v <= 0xDF:
                return  # a lone low surrogate
            if sub == 5:
                out.append(rest + ((F_STR, nid, ln, 6 if 0xD800 <= v <= 0xDBFF else 0, 0),))
            else:
                out.append(rest + ((F_STR, nid, ln, sub + 1, v),))
        elif sub == 6:  # after a high surrogate: its low surrogate must follow
            if b == 92:
                out.append(rest + ((F_STR, nid, ln, 7, 0),))
        elif sub == 7:
            if b == 117:
                out.append(rest + ((F_STR, nid, ln, 8, 0),))
        else:  # 8..11: hex digits of the low surrogate
            h = _hex(b)
            if (sub == 8 and h != 13) or (sub == 9 and h < 12) or h < 0:
                return
            out.append(rest + ((F_STR, nid, ln, 0 if sub == 11 else sub + 1, 0),))

    def _obj(self, rest, nid, ph, idx, b, out) -> None:
        node = self.nodes[nid]
        if ph == O_OPEN or ph == O_KEYSTART:
            if b == 34 and idx < len(node.props):
                ls = node.keysets[idx]
                prefix = rest + ((F_OBJ, nid, O_KEYWAIT, idx),)
                self._lit_step(prefix, ls, 0, 0, len(self.litsets[ls].cands), b, out)
            elif b == 125 and ph == O_OPEN and node.allopt[idx]:
                out.append(rest)
        elif ph == O_COLON:
            if b == 58:
                if self.layout == L_COMPACT:
                    self._push(rest + ((F_OBJ, nid, O_AFTER_VALUE, idx),), node.props[idx - 1], out)
                else:
                    out.append(rest + ((F_OBJ, nid, O_AFTER_COLON, idx),))
        elif ph == O_AFTER_COLON:
            prefix = rest + ((F_OBJ, nid, O_AFTER_VALUE, idx),)
            if b == 32:
                self._push(prefix, node.props[idx - 1], out)
            elif self.layout == L_FLEX:
                self._push_step(prefix, node.props[idx - 1], b, out)
        elif ph == O_AFTER_VALUE:
            if b == 44 and idx < len(node.props):
                out.append(rest + ((F_OBJ, nid, O_KEYSTART if self.layout == L_COMPACT else O_AFTER_COMMA, idx),))
            elif b == 125 and node.allopt[idx]:
                out.append(rest)
        elif ph == O_AFTER_COMMA:
            if b == 32:
                out.append(rest + ((F_OBJ, nid, O_KEYSTART, idx),))
            elif self.layout == L_FLEX:
                self._obj(rest, nid, O_KEYSTART, idx, b, out)

    def _arr(self, rest, nid, ph, cnt, b, out) -> None:
        node = self.nodes[nid]
        if ph == A_OPEN:
            if b == 93:
                if node.mn == 0:
                    out.append(rest)
            elif node.mx is None or node.mx > 0:
                self._push_step(rest + ((F_ARR, nid, A_AFTER_VALUE, min(1, node.cap)),), node.item, b, out)
        elif ph == A_AFTER_VALUE:
            if b == 44 and (node.mx is None or cnt < node.mx):
                if self.layout == L_COMPACT:
                    self._push(rest + ((F_ARR, nid, A_AFTER_VALUE, min(cnt + 1, node.cap)),), node.item, out)
                else:
                    out.append(rest + ((F_ARR, nid, A_AFTER_COMMA, cnt),))
            elif b == 93 and cnt >= node.mn:
                out.append(rest)
        else:  # A_AFTER_COMMA
            prefix = rest + ((F_ARR, nid, A_AFTER_VALUE, min(cnt + 1, node.cap)),)
            if b == 32:
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
            if sub == 0:
                return base
            if sub == 1:
                return 1 + base
            if sub <= 5:
                return 6 - sub + base
            if sub == 6:
                return 6 + base
            if sub == 7:
                return 5 + base
            if sub <= 11:
                return 12 - sub + base
            return (f[4] >> 16) + base
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


# ---------------------------------------------------------------------------
# Token masks

class ConstrainedDecoder:
    """Token masks for a grammar over a tokenizer's vocabulary (see the module docstring)."""

    CACHE_SIZE = 20000

    def __init__(self, grammar: Grammar, tokenizer):
        self.grammar = grammar
        self.vocab_size = tokenizer.vocab_size
        self.eot_id = tokenizer.eot_id
        self.special = set(tokenizer.special_ids.values())
        self.token_bytes = [tokenizer.token_bytes(i) for i in range(self.vocab_size)]
        # Trie of the non-special tokens' bytes: children[node] = {byte: child}, ends[node] = ids.
        self.children: list[dict] = [{}]
        self.ends: list[list] = [[]]
        for i, data in enumerate(self.token_bytes):
            if i in self.special or not data:
                continue
            node = 0
            for b in data:
                nxt = self.children[node].get(b)
                if nxt is None:
                    nxt = len(self.children)
                    self.children[node][b] = nxt
                    self.children.append({})
                    self.ends.append([])
                node = nxt
            self.ends[node].append(i)
        self._cache: dict = {}

    def start(self, max_tokens: int | None = None) -> State:
        """The state before the first token; with max_tokens, the document ends within it."""
        if max_tokens is not None and self.grammar.nodes[self.grammar.root].min_len > max_tokens:
            raise ValueError(f"no document of this schema fits in {max_tokens} tokens")
        return State(self.grammar.initial(), max_tokens, False)

    def masks(self, stacks: tuple):
        """(allowed, need): need[i] = fewest bytes to finish after token i (cached per state)."""
        hit = self._cache.get(stacks)
        if hit is not None:
            return hit
        g = self.grammar
        allowed = np.zeros(self.vocab_size, dtype=bool)
        need = np.full(self.vocab_size, BIG, dtype=np.int64)
        children, ends = self.children, self.ends
        todo = [(0, stacks)]
        while todo:
            node, st = todo.pop()
            for b, child in children[node].items():
                ns = g.advance(st, b)
                if not ns:
                    continue
                ids = ends[child]
                if ids:
                    mc = g.min_complete(ns)
                    for i in ids:
                        allowed[i] = True
                        need[i] = mc
                if children[child]:
                    todo.append((child, ns))
        if g.accepting(stacks):
            allowed[self.eot_id] = True
            need[self.eot_id] = 0
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()
        self._cache[stacks] = (allowed, need)
        return allowed, need

    def allowed(self, state: State) -> np.ndarray:
        """Boolean mask over the vocabulary: the tokens that keep the output completable."""
        if state.finished:
            return np.zeros(self.vocab_size, dtype=bool)
        allowed, need = self.masks(state.stacks)
        if state.remaining is None:
            return allowed.copy()
        mask = allowed & (need <= state.remaining - 1)
        mask[self.eot_id] = allowed[self.eot_id]
        return mask

    def advance(self, state: State, token_id: int) -> State:
        """The state after token_id; raises ValueError if the token is not allowed."""
        if not self.allowed(state)[token_id]:
            raise ValueError(f"token {token_id} ({self.token_bytes[token_id]!r}) is not allowed here")
        if token_id == self.eot_id:
            return State(state.stacks, state.remaining, True)
        stacks = self.grammar.advance_bytes(state.stacks, self.token_bytes[token_id])
        remaining = None if state.remaining is None else state.remaining - 1
        return State(stacks, remaining, False)

    def is_complete(self, state: State) -> bool:
        """True if the output so far is a complete, valid document."""
        return self.grammar.accepting(state.stacks)

    def text(self, ids) -> str:
        return b"".join(self.token_bytes[i] for i in ids if i != self.eot_id).decode("utf-8", errors="replace")


def generate(logits_fn, decoder: ConstrainedDecoder, rng, temperature: float = 1.0,
             max_tokens: int | None = 256) -> dict:
    """Sample a document: logits_fn(ids) -> logits over the vocabulary, masked by the decoder.

    rng is a numpy Generator. temperature <= 0 means greedy. The output always
    ends with end-of-text within max_tokens tokens (not counting end-of-text).
    Returns {"ids": generated ids without end-of-text, "text": str, "value": parsed JSON}.
    """
    state = decoder.start(max_tokens)
    ids: list[int] = []
    while True:
        mask = decoder.allowed(state)
        logits = np.asarray(logits_fn(ids), dtype=np.float64)
        z = np.where(mask, logits, -np.inf)
        if temperature > 0:  # Gumbel-max: argmax(z/T + Gumbel noise) samples softmax(z/T)
            z = z / temperature - np.log(-np.log(rng.random(len(z))))
        tok = int(np.argmax(z))
        if tok == decoder.eot_id:
            break
        state = decoder.advance(state, tok)
        ids.append(tok)
    text = decoder.text(ids)
    return {"ids": ids, "text": text, "value": json.loads(text)}
