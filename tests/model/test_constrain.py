"""Schema-constrained decoding (model_export/schema.py, grammar.py, constrain.py)."""

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from model_export.constrain import ConstrainedDecoder, generate
from model_export.grammar import compile_schema
from model_export.schema import SchemaError, normalize_schema, validate
from model_export.decoding import XorShift
from model_export.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
SMALL = Tokenizer.load(ROOT / "tests/data/tokenizer_small.json")

TOOL_SCHEMA = {"anyOf": [
    {"type": "object", "properties": {"tool": {"const": "search"}, "query": {"type": "string"}},
     "required": ["tool", "query"]},
    {"type": "object", "properties": {"tool": {"const": "calculator"}, "expression": {"type": "string"}},
     "required": ["tool", "expression"]},
]}


def custom_tokenizer(pieces) -> Tokenizer:
    """A tokenizer whose vocabulary holds the given byte strings (and their prefixes)."""
    ids = {bytes([b]): b for b in range(256)}
    merges = []
    for p in pieces:
        p = p.encode() if isinstance(p, str) else p
        for i in range(1, len(p)):
            if p[:i + 1] not in ids:
                merges.append((ids[p[:i]], p[i]))
                ids[p[:i + 1]] = 255 + len(merges)
    return Tokenizer(merges)


STRUCTURAL = custom_tokenizer(['{"', '":', '": "', '":"', '",', '", "', '"}', '"]', '["', '", ',
                               '\\"', '\\\\', '\\u00e9', 'é', 'é"', ' "', '0,', '0.5', '1e-3', '12]',
                               'true,', 'false}', 'null]', '1, ', '}, {', '] ', ' \n', '"a"', 'ab', 'name'])


def alive(schema, text, layout="spaced") -> bool:
    g = compile_schema(schema, layout)
    data = text.encode() if isinstance(text, str) else text
    return bool(g.advance_bytes(g.initial(), data))


def accepts(schema, text, layout="spaced") -> bool:
    g = compile_schema(schema, layout)
    data = text.encode() if isinstance(text, str) else text
    return g.accepting(g.advance_bytes(g.initial(), data))


def ids_of(tok, *pieces):
    table = {tok.token_bytes(i): i for i in range(tok.vocab_size)}
    return [table[p.encode() if isinstance(p, str) else p] for p in pieces]


def walk(decoder, pieces, max_tokens=None):
    """State after feeding the given token byte strings (each must be allowed)."""
    state = decoder.start(max_tokens)
    table = {decoder.token_bytes[i]: i for i in range(decoder.vocab_size)}
    for p in pieces:
        state = decoder.advance(state, table[p.encode() if isinstance(p, str) else p])
    return state


def allowed_bytes(decoder, state):
    return {decoder.token_bytes[i] for i in np.flatnonzero(decoder.allowed(state))}


# ---------------------------------------------------------------------------
# Schemas and shorthand

def test_shorthand_is_an_object_with_every_property_required_in_order():
    assert normalize_schema({"name": "string", "age": "integer"}) == {
        "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"]}
    assert normalize_schema({"tags": ["string"]})["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert accepts({"name": "string", "age": "integer"}, '{"name": "Ann", "age": 31}')
    assert not alive({"name": "string", "age": "integer"}, '{"age"')
    assert not accepts({"name": "string", "age": "integer"}, '{"name": "Ann"}')


def test_array_index_property_names_come_first_as_in_javascript():
    s = normalize_schema({"b": "string", "10": "integer", "2": "integer"})
    assert list(s["properties"]) == ["2", "10", "b"]
    assert accepts({"b": "string", "10": "integer", "2": "integer"}, '{"2": 1, "10": 2, "b": ""}')


@pytest.mark.parametrize("bad", [
    {"type": "string", "pattern": "x"}, {"type": "integer", "minimum": 0}, "str", ["string", "integer"],
    {"type": "array"}, {"type": "string", "minLength": 3, "maxLength": 2}, {"enum": []},
    {"enum": [[1]]}, {"enum": [1e20]}, {"type": "object", "properties": {}, "required": ["x"]},
    {"type": "object", "additionalProperties": True}, {"type": "integer", "enum": ["a"]},
])
def test_unsupported_schemas_are_rejected(bad):
    with pytest.raises(SchemaError):
        compile_schema(bad)


def test_equal_sub_schemas_compile_once():
    """Nested type lists repeat their items in every entry: 475 characters once made 699,049 nodes."""
    s = {"enum": [1, 2, 3]}
    for _ in range(9):
        s = {"type": ["array"] * 4, "items": s}
    g = compile_schema(s)
    assert len(g.nodes) < 30
    assert accepts(s, "[[[[[[[[[1, 2]]]]]]]]]") and not accepts(s, "[[[[[[[[[4]]]]]]]]]")


@pytest.mark.parametrize("bad, message", [
    ({"type": "string", "maxLength": None}, "maxLength must be an integer"),
    ({"type": "array", "items": "string", "maxItems": None}, "maxItems must be an integer"),
    ({"type": "string", "minLength": True}, "minLength must be an integer"),
    ({"type": "string", "minLength": 2.5}, "minLength must be an integer"),
    ({"type": None, "items": "string"}, "type must be"),
    ({"type": [], "items": "string"}, "type must be"),
    ({"type": "object", "properties": {"a": "string"}, "required": None}, "required must be a list"),
    ({"type": "object", "properties": {"a": "string"}, "required": [["a"]]}, "required must be a list"),
    ({"const": [1]}, "must be scalars"),
    ({1: "string"}, "property names must be strings"),
    ({"anyOf": [{"const": 1}], "const": True}, "conflicts"),
    ({"type": "string", "minLength": 10**6}, "shortest value"),
    ({"type": "object", "properties": {f"p{i}": "integer" for i in range(600)}}, "too large"),
])
def test_bad_keyword_values_raise_schema_errors(bad, message):
    with pytest.raises(SchemaError, match=message):
        compile_schema(bad)


def test_validate_refuses_a_null_count_instead_of_crashing():
    with pytest.raises(SchemaError):
        validate("abc", {"type": "string", "maxLength": None})


def test_hostile_schemas_are_refused_at_compile_time():
    s = "integer"
    for _ in range(10):  # alternatives that differ: 2**10 readings of "[[[[[[[[[["
        s = {"anyOf": [{"type": "array", "items": s, "maxItems": 1}, {"type": "array", "items": s, "maxItems": 2}]}
    with pytest.raises(SchemaError, match="too ambiguous"):
        compile_schema(s)
    deep = "string"
    for _ in range(40):
        deep = [deep]
    with pytest.raises(SchemaError, match="nested more than"):
        compile_schema(deep)


def test_count_given_as_a_whole_float_and_proto_property():
    assert accepts({"type": "array", "items": "integer", "minItems": 2.0}, "[1, 2]")
    assert not accepts({"type": "array", "items": "integer", "minItems": 2.0}, "[1]")
    assert accepts({"__proto__": "string"}, '{"__proto__": "x"}')
    assert accepts({"anyOf": [{"const": 1}], "const": 1.0}, "1")


# ---------------------------------------------------------------------------
# The recogniser on text

@pytest.mark.parametrize("text", [
    r'"a\"b"', r'"\\"', r'"\u00e9"', r'"\u00E9x"', r'"\/\b\f\n\r\t"', r'"\ud83d\ude00"', '"é東😀"',
    '""', '"\x7f"', r'"\u0000"',
])
def test_strings_accepted(text):
    assert accepts("string", text)
    assert json.loads(text) is not None


@pytest.mark.parametrize("text", [
    '"\\x"', r'"\u00g0"', r'"\udc00"', r'"\ud83d"', r'"\ud83dx"', r'"\ud83d\u0041"', '"\n"', '"\x1f"',
    b'"\xc0\x80"', b'"\xed\xa0\x80"', b'"\xf5\x80\x80\x80"', b'"\xe9"', '"a" ', ' "a"', '"a""',
])
def test_strings_rejected(text):
    assert not accepts("string", text)


def test_dead_ends_are_rejected_at_the_first_byte():
    assert not alive("string", r'"\udc')  # a lone low surrogate can never be completed
    assert alive("string", r'"\udb')
    assert not alive("string", b'"\xe0\x80')  # overlong
    assert alive("string", b'"\xe0\xa0')


@pytest.mark.parametrize("text", ["0", "-0", "0.5", "1e-3", "1E+2", "-12.5e10", "123456789012345", "3.25e07"])
def test_numbers_accepted(text):
    assert accepts("number", text)


@pytest.mark.parametrize("text", ["01", "-", "1.", ".5", "+1", "1e", "1e+", "1e123", "1234567890123456", "--1",
                                  "1.e3", "0x1", "1 ", "NaN", "Infinity", "-01"])
def test_numbers_rejected(text):
    assert not accepts("number", text)


def test_integers():
    for text in ["0", "-0", "7", "-42", "100"]:
        assert accepts("integer", text)
    for text in ["0.5", "1e3", "1.0", "01", "-"]:
        assert not accepts("integer", text)


def test_enums_booleans_null_const():
    s = {"enum": ["a", 'q"x', 1, 12, 1.5, True, None]}
    for text in ['"a"', r'"q\"x"', "1", "12", "1.5", "true", "null"]:
        assert accepts(s, text), text
    for text in ['"b"', "2", "1.", "false", "tru", '"a'] + ['"A"', "10"]:
        assert not accepts(s, text), text
    assert alive(s, "1") and accepts(s, "1") and alive(s, "12")
    assert accepts({"type": "boolean"}, "false") and not accepts({"type": "boolean"}, "False")
    assert accepts({"const": "é"}, '"é"') and not accepts({"const": "é"}, r'"\u00e9"')
    assert accepts({"type": "integer", "enum": [1, 2.0, 2.5]}, "2") and not alive({"type": "integer", "enum": [1, 2.5]}, "2")


def test_nested_arrays_and_item_counts():
    s = {"type": "array", "items": {"type": "array", "items": {"enum": [1, "x"]}, "maxItems": 2}, "minItems": 1}
    assert accepts(s, '[[1, "x"], [], ["x"]]')
    assert not accepts(s, "[]")
    assert not alive(s, '[[1, 1, ')
    assert not accepts(s, "[[1,1]]") and accepts(s, "[[1,1]]", "compact") and not accepts(s, "[[1, 1]]", "compact")
    assert not alive(s, "[ [")
    assert accepts({"type": "array", "items": "boolean", "maxItems": 0}, "[]")
    assert not alive({"type": "array", "items": "boolean", "maxItems": 0}, "[t")


def test_whitespace_layouts():
    s = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "array", "items": "number"}},
         "required": ["a"]}
    spaced, compact = '{"a": 1, "b": [1, 2]}', '{"a":1,"b":[1,2]}'
    assert accepts(s, spaced) and not accepts(s, compact)
    assert accepts(s, compact, "compact") and not accepts(s, spaced, "compact")
    assert accepts(s, spaced, "flexible") and accepts(s, compact, "flexible") and accepts(s, '{"a":1, "b": [1,2]}', "flexible")
    for layout in ("spaced", "compact", "flexible"):
        for bad in ['{ "a": 1}', '{"a" : 1}', '{"a":  1}', '{"a": 1 }', '{"a": 1}\n', ' {"a": 1}', '{"a":\n1}',
                    '{"a": 1, "b": [ 1]}', '{"a": 1, "b": [1 ]}']:
            assert not accepts(s, bad, layout), (layout, bad)


def test_objects_keep_schema_order_and_may_omit_optional_properties():
    s = {"type": "object", "properties": {"a": "integer", "b": "integer", "c": "integer"}, "required": ["b"]}
    assert accepts(s, '{"b": 2}') and accepts(s, '{"a": 1, "b": 2}') and accepts(s, '{"b": 2, "c": 3}')
    assert not alive(s, '{"c"') and not alive(s, '{"b": 2, "a"') and not alive(s, '{"a": 1}')
    assert not alive(s, '{"d"') and alive(s, '{"b": 2, ') and not alive(s, '{"b": 2, }')
    assert not alive(s, '{"b": 2, "b"')
    assert accepts({"type": "object"}, "{}") and accepts({}, "{}") and not alive({}, '{"')


def test_key_names_with_escapes_and_prefixes():
    s = {"type": "object", "properties": {"a": "integer", 'a"b': "integer", "ab": "integer", "é\n": "integer"},
         "required": []}
    assert accepts(s, r'{"a": 1, "a\"b": 2, "ab": 3, "é\n": 4}')
    assert accepts(s, '{"ab": 3}') and not alive(s, '{"ab": 3, "a"')
    assert not alive(s, r'{"\u00e9')


# ---------------------------------------------------------------------------
# Token masks

def test_multi_character_tokens_spanning_structure():
    s = {"name": "string", "n": "integer"}
    d = ConstrainedDecoder(compile_schema(s), STRUCTURAL)
    state = walk(d, ['{"', "name", '": "', "ab"])
    ok = allowed_bytes(d, state)
    assert '", "'.encode() in ok and '",'.encode() in ok and b'"' in ok and 'é'.encode() in ok
    assert b'"}' not in ok and b'"]' not in ok and b'"a"' not in ok  # n is still required
    assert b"\xc3" in ok  # the first byte of a two-byte character
    state = walk(d, ['{"', "name", '": "', "ab", '", "', "n", '":', " "])
    ok = allowed_bytes(d, state)
    assert b"0" in ok and b"0," not in ok and b"0.5" not in ok and b"1e-3" not in ok and b"12]" not in ok
    assert b" " not in ok and b' "' not in ok
    state = walk(d, ['{"', "name", '": "', "é", '\\"', "\\\\", "\\u00e9", '", "', "n", '": ', "0"])
    assert allowed_bytes(d, state) == {b"}"}
    state = d.advance(state, ids_of(STRUCTURAL, "}")[0])
    assert np.flatnonzero(d.allowed(state)).tolist() == [STRUCTURAL.eot_id]


def test_partial_utf8_tokens():
    d = ConstrainedDecoder(compile_schema("string"), STRUCTURAL)
    state = walk(d, ['"', b"\xc3"])
    ok = allowed_bytes(d, state)
    assert ok and all(0x80 <= t[0] <= 0xBF for t in ok)
    assert b"\xa9" in ok and b'"' not in ok
    state = walk(d, ['"', b"\xe6"])
    assert all(0x80 <= t[0] <= 0xBF for t in allowed_bytes(d, state))
    start = allowed_bytes(d, d.start())
    assert {b'"', b'"a"', b'"}', b'": "'} <= start and b"\xc3" not in start and b"a" not in start


def test_numbers_in_arrays_with_multi_character_tokens():
    d = ConstrainedDecoder(compile_schema({"type": "array", "items": "number"}, "compact"), STRUCTURAL)
    state = walk(d, ["[", "0,", "0.5", ",", "1e-3", ",", "12]"])
    assert d.is_complete(state)
    state = walk(d, ["["])
    ok = allowed_bytes(d, state)
    assert {b"0,", b"0.5", b"1e-3", b"12]", b"]", b"0"} <= ok and b"] " not in ok


def test_max_length_and_special_tokens():
    d = ConstrainedDecoder(compile_schema({"type": "string", "maxLength": 2, "minLength": 1}), SMALL)
    state = d.start()
    table = {SMALL.token_bytes(i): i for i in range(SMALL.vocab_size)}
    state = d.advance(state, table[b'"'])
    assert not d.allowed(state)[table[b'"']]  # minLength 1
    state = d.advance(state, table[b"a"])
    state = d.advance(state, table["é".encode()[:1]])
    ok = allowed_bytes(d, state)
    # finish the character (any continuation byte); after it, at maxLength, nothing but '"'
    assert b"\xa9" in ok and all(0x80 <= t[0] <= 0xBF and t[1:] in (b"", b'"') for t in ok)
    state = d.advance(state, table["é".encode()[1:]])
    ok = allowed_bytes(d, state)
    assert ok and all(t.startswith(b'"') for t in ok) and b'"' in ok
    for s in SMALL.special_ids.values():
        assert not d.allowed(state)[s]
    state = d.advance(state, table[b'"'])
    assert d.is_complete(state)
    assert np.flatnonzero(d.allowed(state)).tolist() == [SMALL.eot_id]


def test_trie_masks_equal_checking_every_token_alone():
    rng = np.random.default_rng(1)
    for schema in [TOOL_SCHEMA, {"type": "array", "items": {"anyOf": ["number", "string", "boolean"]}}]:
        d = ConstrainedDecoder(compile_schema(schema, "flexible"), STRUCTURAL)
        g = d.grammar
        state = d.start()
        for _ in range(40):
            mask = d.allowed(state)
            naive = np.array([i not in d.special and bool(g.advance_bytes(state.stacks, d.token_bytes[i]))
                              for i in range(d.vocab_size)])
            naive[d.eot_id] = d.is_complete(state)
            assert (mask == naive).all()
            choices = np.flatnonzero(mask)
            tok = int(rng.choice(choices))
            if tok == d.eot_id:
                break
            state = d.advance(state, tok)


def test_budget_forces_the_shortest_document():
    d = ConstrainedDecoder(compile_schema({"a": "string", "b": {"enum": ["xyz", "q"]}}), SMALL)
    shortest = '{"a": "", "b": "q"}'
    state = d.start(max_tokens=len(shortest))
    out = []
    for _ in range(len(shortest)):
        ids = np.flatnonzero(d.allowed(state))
        assert len(ids) == 1, [SMALL.token_bytes(i) for i in ids]
        out.append(int(ids[0]))
        state = d.advance(state, int(ids[0]))
    assert d.text(out) == shortest and d.is_complete(state)
    with pytest.raises(ValueError):
        d.start(max_tokens=len(shortest) - 1)


def test_min_complete_is_exact_on_random_states():
    """Following a byte that lowers min_complete always finishes in exactly that many bytes."""
    rng = np.random.default_rng(2)
    schema = {"type": "array", "items": {"p": {"type": "string", "minLength": 2}, "q": ["integer"],
                                         "r": {"type": "object", "properties": {"x": "null", "yy": "number"}}},
              "minItems": 2}
    g = compile_schema(schema)
    for _ in range(15):
        stacks = g.initial()
        for _ in range(int(rng.integers(0, 40))):
            options = [b for b in range(256) if g.advance(stacks, b)]
            stacks = g.advance(stacks, int(rng.choice(options)))
        need = g.min_complete(stacks)
        for _ in range(need):
            nxt = [g.advance(stacks, b) for b in range(256)]
            stacks = next(s for s in nxt if s and g.min_complete(s) == need - 1)
            need -= 1
        assert g.accepting(stacks)


# ---------------------------------------------------------------------------
# Property tests: random schemas, random walks

NAMES = st.text(alphabet=list('ab"\\é 0\n😀'), max_size=3)
ENUM_VALUES = st.sampled_from(["a", "", 'q"', "é", "line\n", "😀", 0, 7, -3, 12, 1.5, 0.25, -2.5e-3, True, False, None])


def string_schema():
    return st.builds(lambda lo, hi: {"type": "string", **({"minLength": lo} if lo else {}),
                                     **({"maxLength": lo + hi} if hi is not None else {})},
                     st.integers(0, 3), st.none() | st.integers(0, 4))


LEAVES = st.one_of(
    string_schema(), st.sampled_from([{"type": "integer"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
                                      "string", "integer", {"type": ["string", "null"]}]),
    st.lists(ENUM_VALUES, min_size=1, max_size=4).map(lambda v: {"enum": v}),
    ENUM_VALUES.map(lambda v: {"const": v}),
)


def containers(children):
    arrays = st.builds(lambda item, lo, extra: {"type": "array", "items": item, "minItems": lo,
                                                **({"maxItems": lo + extra} if extra is not None else {})},
                       children, st.integers(0, 2), st.none() | st.integers(0, 3))
    objects = st.dictionaries(NAMES, children, max_size=4).flatmap(
        lambda props: st.lists(st.booleans(), min_size=len(props), max_size=len(props)).map(
            lambda req: {"type": "object", "properties": props,
                         "required": [k for k, r in zip(props, req) if r]}))
    shorthand = st.dictionaries(st.sampled_from(["name", "age", "x"]), children, min_size=1, max_size=3)
    any_of = st.lists(children, min_size=1, max_size=3).map(lambda alts: {"anyOf": alts})
    return st.one_of(arrays, objects, shorthand, any_of)


SCHEMAS = st.recursive(LEAVES, containers, max_leaves=6)
TOKENIZERS = st.sampled_from([SMALL, STRUCTURAL])


def random_walk(decoder, rng, max_tokens=None, bias=0.0, limit=150):
    """Pick allowed tokens at random (with probability `bias` one that moves toward the end)."""
    state = decoder.start(max_tokens)
    ids = []
    for _ in range(limit):
        mask = decoder.allowed(state)
        assert mask.any(), "the decoder reached a state with no allowed token"
        choices = np.flatnonzero(mask)
        if rng.random() < bias:
            if mask[decoder.eot_id]:
                return ids, True
            _, need = decoder.masks(state.stacks)
            choices = choices[need[choices] == need[choices].min()]
        tok = int(rng.choice(choices))
        if tok == decoder.eot_id:
            return ids, True
        state = decoder.advance(state, tok)
        ids.append(tok)
    return ids, False


def check_document(text, schema):
    value = json.loads(text)
    assert validate(value, schema) == [], (text, schema)
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.validate(value, closed(normalize_schema(schema)))


def closed(s):
    """The same schema for the jsonschema library: objects closed, as ours are."""
    if isinstance(s, dict):
        out = {k: closed(v) for k, v in s.items()}
        if "properties" in s:
            out["properties"] = {k: closed(v) for k, v in s["properties"].items()}
            out["additionalProperties"] = False
        return out
    if isinstance(s, list):
        return [closed(x) for x in s]
    return s


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS, tok=TOKENIZERS, layout=st.sampled_from(["spaced", "compact", "flexible"]),
       seed=st.integers(0, 2**32 - 1))
def test_random_walks_never_get_stuck_and_always_validate(schema, tok, layout, seed):
    try:
        grammar = compile_schema(schema, layout)
    except SchemaError:
        assume(False)
    d = ConstrainedDecoder(grammar, tok)
    rng = np.random.default_rng(seed)
    root_min = grammar.nodes[grammar.root].min_len
    for bias, budget in [(0.0, None), (0.3, None), (0.0, root_min + int(rng.integers(0, 12))), (0.7, root_min)]:
        ids, done = random_walk(d, rng, budget, bias)
        if budget is not None:
            assert done and len(ids) <= budget
        if done:
            check_document(d.text(ids), schema)


# ---------------------------------------------------------------------------
# Brute force: on finite schemas, a token is allowed iff it leads to a prefix of
# some document in the set of all canonical documents (made with json.dumps).

FINITE_LEAVES = st.one_of(
    st.sampled_from([{"type": "boolean"}, {"type": "null"}, {"enum": [1, 12, "a"]}, {"enum": [0.5, 'a"b', "é"]}]),
    st.lists(st.sampled_from([1, 12, 123, "", "ab", True, None, -1.5]), min_size=1, max_size=3).map(lambda v: {"enum": v}),
)


def finite_containers(children):
    arrays = st.builds(lambda item, lo, extra: {"type": "array", "items": item, "minItems": lo, "maxItems": lo + extra},
                       children, st.integers(0, 1), st.integers(0, 2))
    objects = st.dictionaries(st.sampled_from(["a", "ab", "b", 'q"', "é"]), children, max_size=3).flatmap(
        lambda props: st.lists(st.booleans(), min_size=len(props), max_size=len(props)).map(
            lambda req: {"type": "object", "properties": props, "required": [k for k, r in zip(props, req) if r]}))
    return st.one_of(arrays, objects, st.lists(children, min_size=2, max_size=2).map(lambda a: {"anyOf": a}))


FINITE = st.recursive(FINITE_LEAVES, finite_containers, max_leaves=4)


def all_values(s, limit=3000):
    """Every value of a finite schema, as Python values in canonical (schema) order."""
    if "anyOf" in s:
        return [v for alt in s["anyOf"] for v in all_values(alt)]
    if "enum" in s:
        return [v for _, v in dict.fromkeys((type(v), v) for v in s["enum"])]
    if s.get("type") == "boolean":
        return [False, True]
    if s.get("type") == "null":
        return [None]
    if s.get("type") == "array":
        items = all_values(s["items"])
        out = []
        for n in range(s["minItems"], s["maxItems"] + 1):
            out += [list(c) for c in itertools.product(items, repeat=n)]
            assume(len(out) <= limit)
        return out
    props = s["properties"]
    options = []
    for k, sub in props.items():
        vals = [("set", v) for v in all_values(sub)]
        options.append(vals if k in s["required"] else [("absent", None)] + vals)
        assume(np.prod([len(o) for o in options]) <= limit)
    return [{k: v for k, (how, v) in zip(props, combo) if how == "set"} for combo in itertools.product(*options)]


def canonical(v, layout):
    seps = {"spaced": (", ", ": "), "compact": (",", ":")}[layout]
    return json.dumps(v, ensure_ascii=False, separators=seps).encode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(schema=FINITE, tok=TOKENIZERS, layout=st.sampled_from(["spaced", "compact"]), seed=st.integers(0, 2**32 - 1))
def test_masks_match_brute_force_on_finite_schemas(schema, tok, layout, seed):
    norm = normalize_schema(schema)
    docs = {canonical(v, layout) for v in all_values(norm)}
    prefixes = {d[:i] for d in docs for i in range(len(d) + 1)}
    d = ConstrainedDecoder(compile_schema(schema, layout), tok)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        state, text = d.start(), b""
        while True:
            mask = d.allowed(state)
            expect = np.array([i not in d.special and text + d.token_bytes[i] in prefixes for i in range(d.vocab_size)])
            expect[d.eot_id] = text in docs
            assert (mask == expect).all(), (text, [d.token_bytes[i] for i in np.flatnonzero(mask != expect)])
            tok_id = int(rng.choice(np.flatnonzero(mask)))
            if tok_id == d.eot_id:
                break
            state = d.advance(state, tok_id)
            text += d.token_bytes[tok_id]


# ---------------------------------------------------------------------------
# Brute force for strings and numbers: an independent text-level check of
# "can this prefix still be completed?" built on json.loads and a regex.

NUMBER = re.compile(rb"-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?([eE][+-]?[0-9]{1,2})?")
INTEGER = re.compile(rb"-?(0|[1-9][0-9]{0,14})")
PENDING = sorted({s[i:] for s in [b"\\ud800\\udc00", b"\\u0000", b"\\n"] for i in range(len(s) + 1)}
                 | {lead + b"\x80" * k for lead in (b"\x80", b"\x90", b"\xa0") for k in range(3)})


def string_ok(text: bytes, max_len) -> bool:
    if not (text[:1] == b'"' and text[-1:] == b'"'):  # json.loads would allow whitespace around
        return False
    try:
        value = json.loads(text.decode("utf-8"))
        value.encode("utf-8")  # no lone surrogates
    except (ValueError, UnicodeError):
        return False
    return isinstance(value, str) and (max_len is None or len(value) <= max_len)


def scalar_viable(kind, text: bytes, max_len=None) -> bool:
    if kind == "string":
        return string_ok(text, max_len) or any(string_ok(text + p + b'"', max_len) for p in PENDING)
    pattern = NUMBER if kind == "number" else INTEGER
    return bool(pattern.fullmatch(text) or pattern.fullmatch(text + b"0"))


def scalar_complete(kind, text, max_len=None) -> bool:
    return string_ok(text, max_len) if kind == "string" else bool((NUMBER if kind == "number" else INTEGER).fullmatch(text))


@pytest.mark.parametrize("kind,max_len", [("string", None), ("string", 3), ("number", None), ("integer", None)])
def test_scalar_masks_match_text_level_check(kind, max_len):
    schema = {"type": kind, **({"maxLength": max_len} if max_len is not None else {})}
    tok = custom_tokenizer(['"', '\\u', '\\ud83d', '\\ude00', '\\udc', "\\", "é", "😀", '""', "1e", "-0", "0.", "e+"]
                           + [SMALL.token_bytes(i) for i in range(256, 380)])
    d = ConstrainedDecoder(compile_schema(schema), tok)
    rng = np.random.default_rng(3)
    vocab = [None if i in d.special else d.token_bytes[i] for i in range(d.vocab_size)]
    for _ in range(6):
        state, text = d.start(), b""
        for _ in range(25):
            mask = d.allowed(state)
            expect = np.array([t is not None and scalar_viable(kind, text + t, max_len) for t in vocab])
            expect[d.eot_id] = scalar_complete(kind, text, max_len)
            assert (mask == expect).all(), (text, [d.token_bytes[i] for i in np.flatnonzero(mask != expect)])
            # prefer escapes and odd bytes so the walk visits them
            choices = np.flatnonzero(mask)
            odd = [c for c in choices if c != d.eot_id and (d.token_bytes[c][:1] in (b"\\", b"\xf0", b"\xe0", b"\xed", b"e")
                                                             or text.endswith(b"\\"))]
            tok_id = int(rng.choice(odd if odd and rng.random() < 0.6 else choices))
            if tok_id == d.eot_id:
                break
            state = d.advance(state, tok_id)
            text += d.token_bytes[tok_id]


# ---------------------------------------------------------------------------
# Sampling with a fake model

def test_a_thousand_sampled_tool_calls_parse_and_validate():
    d = ConstrainedDecoder(compile_schema(TOOL_SCHEMA), SMALL)
    rng = np.random.default_rng(0)
    bias = rng.normal(size=SMALL.vocab_size) * 2  # a "model" with favourite tokens
    tools = set()
    for k in range(1000):
        temperature = 0.7 + 0.8 * (k % 9) / 8

        def logits_fn(ids):
            return bias + rng.normal(size=SMALL.vocab_size) * 3

        out = generate(logits_fn, d, XorShift(k), temperature, max_tokens=40)
        assert len(out["ids"]) <= 40
        assert validate(out["value"], TOOL_SCHEMA) == [], out["text"]
        assert out["text"].startswith('{"tool": "')
        tools.add(out["value"]["tool"])
    assert tools == {"search", "calculator"}


def test_greedy_generation_and_the_playground_example():
    schema = {"name": "string", "age": "integer"}
    d = ConstrainedDecoder(compile_schema(schema), SMALL)
    logits = np.zeros(SMALL.vocab_size)
    logits[ord("7")] = 5.0  # a model that loves the digit 7 and nothing else
    out = generate(lambda ids: logits, d, XorShift(0), 0.0, max_tokens=30)
    assert validate(out["value"], schema) == [] and len(out["ids"]) <= 30
    assert "77" in out["text"]


def test_validate_reports_errors():
    s = {"name": "string", "age": "integer", "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 1}}
    assert validate({"name": "x", "age": 3, "tags": ["a"]}, s) == []
    errors = validate({"name": 1, "age": 3.5, "tags": ["c", "a"], "extra": True}, s)
    assert len(errors) == 5, errors
    assert validate(True, "integer") and validate(1.0, "integer") == [] and validate(1, "number") == []
    assert validate([], {"anyOf": ["string", "null"]})
