"""The schemas that constrained decoding accepts: normalisation, validation, canonical literals, limits.

A schema says what JSON document the model must write. This module reads one
(in full JSON Schema form or the playground's shorthand), checks a parsed value
against it, and writes property names and enum values in the one canonical
form the grammar (grammar.py) matches byte for byte. The same rules run in the
browser (`docs/javascripts/schema.js`); the tests check that both agree.

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
never a long wait. The grammar compiler shares equal sub-schemas (type lists
and anyOf copy the keywords next to them into each alternative, which without
sharing multiplies nodes at each level), and refuses schemas nested more than
MAX_SCHEMA_DEPTH deep, with more than MAX_NODES nodes or MAX_CANDIDATES
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

Property order: like JavaScript objects, property names that are array indices
("0", "1", ..., "4294967294") come first in increasing order, then the others
in the order given; Python follows the same rule so both sides agree.

Canonical literals: property names and enum/const values are written as raw
Unicode (like json.dumps(..., ensure_ascii=False)), escaping only '"', '\\\\',
and control characters (\\b \\f \\n \\r \\t, else \\u00xx). Enum/const numbers
must be integers with |v| < 1e15 (written without a fraction: 1.0 -> 1) or
other finite numbers with 1e-4 <= |v| < 1e15 (written as Python's repr, which
then equals JavaScript's String(v)).

    normalize_schema(schema) -> dict        # shorthand expanded, keywords checked
    validate(value, schema) -> list[str]    # [] when valid
    encode_literal(value) -> str            # canonical JSON text of a scalar
"""

from __future__ import annotations

import math
import re

TYPE_NAMES = ("object", "array", "string", "integer", "number", "boolean", "null")
KEYWORDS = {"type", "properties", "required", "items", "enum", "const", "anyOf",
            "minItems", "maxItems", "minLength", "maxLength", "additionalProperties",
            "title", "description", "$schema", "$id", "default", "examples"}
SCHEMA_MARKERS = ("properties", "items", "enum", "const", "anyOf")
COUNTS = ("minItems", "maxItems", "minLength", "maxLength")
# Limits that keep a hostile schema from exhausting memory or time (same in schema.js):
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
# Validation (of a parsed value; used by the grammar, the agent, tests and evaluation)

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


def errors_of(v, s: dict) -> list:
    """Errors of `v` against `s`, a schema normalize_schema has already expanded."""
    errors: list = []
    _validate(v, s, "$", errors)
    return errors


def _validate(v, s: dict, path: str, errors: list) -> None:
    if "anyOf" in s:
        if not any(not errors_of(v, alt) for alt in s["anyOf"]):
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
    """Canonical JSON text of a property name or string enum value (same in Python and JS)."""
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
