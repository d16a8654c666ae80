"""Property-based fuzzing of the Python/JavaScript twins, hostile input included.

Four pairs must behave identically on anything at all: the tokenizer
(tokenizer.py / tokenizer.js), the calculator and the tool-call parse of the
agent (agent.py / agent-tools.js), and constrained decoding (schema, grammar
and constrain, .py / .js). Hypothesis makes batches of inputs; each batch goes to one node
process through the bridges in tests/js/ (starting node costs about 50 ms, far
more than the work). Derandomized, so every run tries the same inputs; no
shrinking, which would start node hundreds of times (the assertion messages
name the failing input instead).

Constrained decoding is checked beyond parity: a schema either compiles or
raises SchemaError (in both languages alike, quickly, for hostile schemas
too), and a random walk through the allowed tokens never dead-ends and always
ends in a document that parses and validates.

Run with `-s` to see how many inputs each test tried.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_export import agent  # noqa: E402
from model_export.constrain import ConstrainedDecoder  # noqa: E402
from model_export.grammar import compile_schema  # noqa: E402
from model_export.schema import MAX_READINGS, MAX_SCHEMA_DEPTH, TYPE_NAMES, SchemaError, validate  # noqa: E402
from model_export.tokenizer import SPECIAL_TOKENS, Tokenizer  # noqa: E402
from test_constrain_js import python_masks  # noqa: E402  (the masks Python gives along a sequence)

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")
SMALL_PATH = ROOT / "tests/data/tokenizer_small.json"
SMALL = Tokenizer.load(SMALL_PATH)

fuzz = settings(max_examples=4, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])
TRIED: dict = {}  # test -> {what: how many}, printed at the end of each test


def count(name: str, **numbers) -> None:
    for what, n in numbers.items():
        TRIED.setdefault(name, {})[what] = TRIED.get(name, {}).get(what, 0) + n


@pytest.fixture(autouse=True)
def report_counts(request, capsys):
    yield
    name = request.node.originalname
    if name in TRIED:
        with capsys.disabled():
            print(f"\n{name}: tried " + ", ".join(f"{n} {what}" for what, n in TRIED[name].items()))


def run_node(bridge: str, payload: dict, timeout=120) -> dict:
    proc = subprocess.run([NODE, "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", str(ROOT / "tests/js" / bridge)],
                          input=json.dumps(payload, allow_nan=False).encode(), capture_output=True, cwd=ROOT,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout.decode("utf-8"))


def as_js_sees_it(text: str) -> str:
    """The string JavaScript gets through JSON (a Python surrogate pair becomes one character)."""
    return json.loads(json.dumps(text))


def lone_surrogates_replaced(text: str) -> str:
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


any_char = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])
ATOMS = [*"ab Z09.,!?\"'\\{}[]:", "\t", "\n", "\r\n", "\v", "\f", "\x00", "\x1c", "\x1f", "\x7f", "\x85", "\xa0",
         "\u2028", "\u3000", "\ufeff", "\ufffd", "é", "e\u0301", "日本", "😀", "👨\u200d👩\u200d👧",
         "🇫🇷",
         "\ud800", "\udfff", "\ud83d", "\ude00", *SPECIAL_TOKENS, "<|", "|>"]
odd_text = st.one_of(st.text(alphabet=any_char, max_size=40),
                     st.lists(st.sampled_from(ATOMS), max_size=25).map("".join))


# ---------------------------------------------------------------------------
# Tokenizer

@fuzz
@given(texts=st.lists(odd_text, min_size=100, max_size=150), allow_special=st.booleans())
def test_tokenizer_twins_encode_decode_and_agree(texts, allow_special):
    texts = [as_js_sees_it(t) for t in texts]
    js = run_node("encode.mjs", {"tokenizer": str(SMALL_PATH), "texts": texts, "allowSpecial": allow_special})
    for text, js_ids, js_back in zip(texts, js["ids"], js["roundtrip"]):
        ids = SMALL.encode(text, allow_special=allow_special)
        assert js_ids == ids, text
        assert SMALL.decode(ids) == lone_surrogates_replaced(text) == js_back, text
    count("test_tokenizer_twins_encode_decode_and_agree", texts=len(texts))


# ---------------------------------------------------------------------------
# Calculator and the agent's tool-call parse

CALC_ATOMS = [*"0123456789", ".", "+", "-", "*", "/", "^", "**", "(", ")", " ", "\t", "sqrt(", "abs(", "round(",
              "e", "x", "1e5", "9^9", ",", "😀", "\x00", "\n", "\ud800", "999999999999999", "0.125", "\xa0", "٣"]
expressions = st.one_of(
    st.lists(st.sampled_from(CALC_ATOMS), max_size=60).map("".join),
    st.text(alphabet=any_char, max_size=40),
    st.integers(1, 400).map(lambda n: "(" * n + "2" + ")" * n),
    st.integers(0, 250).map(lambda n: "1+" * n + "1"),
    st.tuples(st.floats(-1e16, 1e16, allow_nan=False), st.sampled_from("+-*/^"), st.floats(-40, 40, allow_nan=False))
    .map(lambda t: f"{t[0]!r} {t[1]} {t[2]!r}".replace("e+", "")),
)


@fuzz
@given(exprs=st.lists(expressions, min_size=150, max_size=200))
def test_calculator_twins_agree(exprs):
    exprs = [as_js_sees_it(e) for e in exprs]
    js = run_node("agent_tools_bridge.mjs", {"calculator": exprs})
    for e, got in zip(exprs, js["calculator"]):
        assert got == agent.calculator(e), e
    count("test_calculator_twins_agree", expressions=len(exprs))


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(alphabet=any_char, max_size=8))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=3)
                           | st.dictionaries(st.sampled_from(["tool", "query", "expression", "__proto__", "x"]), kids,
                                             max_size=3), max_leaves=8)
SPACES = ["", " ", "\t", "\n", "\r", "\xa0", "\ufeff", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u3000"]


def dumps_some_way(value, sep, indent) -> str:
    return json.dumps(value, ensure_ascii=indent is None, separators=(sep, ": "), indent=indent)


action_texts = st.one_of(
    st.builds(agent.tool_call, st.sampled_from(["search", "calculator"]), st.text(alphabet=any_char, max_size=20)),
    st.builds(dumps_some_way, json_values, st.sampled_from([",", ", "]), st.sampled_from([None, 1])),
    st.tuples(st.sampled_from(SPACES), st.builds(agent.tool_call, st.sampled_from(["search", "calculator"]),
                                                 st.text(max_size=10)), st.sampled_from(SPACES)).map("".join),
    st.sampled_from(['{"tool": "search", "query": NaN}', '{"tool": "search", "query": Infinity}',
                     '{"tool": "calculator", "expression": -Infinity}', "NaN", "[NaN]", "-Infinity", "Infinity",
                     '{"tool": "search", "query": "x", "__proto__": 1}', '{"__proto__": {"tool": "search"}}',
                     '{"tool": "search", "tool": "calculator", "expression": "1", "query": "q"}',
                     '{"tool": "search", "query": "\\ud800"}', '{"tool": "search", "query": "a\\u0000b"}',
                     '{"tool": "search", "query": "a\tb"}', '{"tool": "search", "query": 1e400}',
                     '{"tool": "search", "query": "x"} trailing', "{'tool': 'search'}", "", "{", "}", "[]", "-0",
                     "1" * 5000, "-" + "9" * 4500, "0." + "1" * 5000, '"\\"', "[" * 33 + "]" * 33, "{" * 40]),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 2000).map(lambda n: '{"a": ' * n + "1" + "}" * n),
    st.integers(25, 40).map(lambda n: '{"tool": "search", "query": "x", "y": ' + "[" * n + "]" * n + "}"),
    st.text(alphabet=any_char, max_size=30),
)


@fuzz
@given(texts=st.lists(action_texts, min_size=150, max_size=200),
       answers=st.lists(st.tuples(st.sampled_from(SPACES), odd_text, st.sampled_from(SPACES)).map("".join),
                        min_size=50, max_size=60))
def test_agent_parse_twins_agree(texts, answers):
    """Same call or same error message for any action text; the same whitespace stripped."""
    texts = [as_js_sees_it(t) for t in texts]
    answers = [as_js_sees_it(a) for a in answers]
    js = run_node("agent_tools_bridge.mjs", {"parse": texts, "strip": answers})
    for text, got in zip(texts, js["parse"]):
        try:
            want = {"call": list(agent.parse_call(text))}
        except ValueError as e:
            want = {"error": str(e)}
        assert got == want, text
    assert js["strip"] == [agent.strip_ws(a) for a in answers]
    count("test_agent_parse_twins_agree", actions=len(texts), answers=len(answers))


def test_agent_parse_edge_cases():
    """The cases the twins used to disagree on, or on which Python crashed."""
    not_json = "Error: the action is not valid JSON"
    too_deep = "Error: the action is nested too deeply"
    cases = {'{"tool": "search", "query": NaN}': not_json, "[Infinity]": not_json, "-Infinity": not_json,
             "[" * 100000 + "]" * 100000: too_deep, '{"a": ' * 5000 + "1" + "}" * 5000: too_deep,
             "1" * 5000: "Error: the action does not match the tool schema",
             '{"tool": "search", "query": "x", "__proto__": 1}': "Error: the action does not match the tool schema"}
    js = run_node("agent_tools_bridge.mjs", {"parse": list(cases), "strip": ["\x1c a \x85", "\ufeff a \t"]})
    for (text, message), got in zip(cases.items(), js["parse"]):
        with pytest.raises(ValueError, match=message):
            agent.parse_call(text)
        assert got == {"error": message}, text[:50]
    assert agent.strip_ws("\x1c a \x85") == js["strip"][0] == "\x1c a \x85"  # only ASCII whitespace goes
    assert agent.strip_ws("\ufeff a \t") == js["strip"][1] == "\ufeff a"
    assert agent.parse_call(' {"tool": "calculator", "expression": "1"}\n') == ("calculator", "1")


# ---------------------------------------------------------------------------
# Constrained decoding

def nested_type_lists(levels=9, k=4):
    """475 characters of nested type lists: before sharing equal sub-schemas this compiled to 699k nodes."""
    s = {"enum": [1, 2, 3]}
    for _ in range(levels):
        s = {"type": ["array"] * k, "items": s}
    return s


def ambiguity_bomb(levels=9):
    """Alternatives that differ (maxItems), nested: 2**levels readings of "[[[[...", refused at compile time
    from 9 levels on (594 characters)."""
    s = "integer"
    for _ in range(levels):
        s = {"items": s, "anyOf": [{"type": "array", "maxItems": 1}, {"type": "array", "maxItems": 2}]}
    return s


def deep(levels):
    s = "string"
    for _ in range(levels):
        s = [s]
    return s


HOSTILE = [
    (nested_type_lists(), "compiles"),
    ({"type": ["array", "object", "string", "null"], "items": nested_type_lists(4, 3),
      "properties": {"a": nested_type_lists(3, 4)}}, "compiles"),
    (ambiguity_bomb(), "too ambiguous"),
    (ambiguity_bomb(8), "compiles"),  # 256 readings: the most a schema may have
    ({"anyOf": [{"const": i} for i in range(MAX_READINGS + 1)]}, "too ambiguous"),
    ({"enum": list(range(MAX_READINGS + 1))}, "compiles"),  # one literal set: one reading
    (deep(MAX_SCHEMA_DEPTH + 5), "nested more than"),
    (deep(MAX_SCHEMA_DEPTH - 1), "compiles"),
    ({"type": "object", "properties": {f"p{i}": "integer" for i in range(600)}}, "too large"),  # optional: n^2/2 keys
    ({f"p{i}": "integer" for i in range(600)}, "compiles"),  # all required: one key each
    ({"type": "string", "minLength": 10**6}, "shortest value"),
    ({"type": "string", "maxLength": None}, "maxLength must be"),
    ({"type": "array", "items": "string", "maxItems": None}, "maxItems must be"),
    ({"type": "array", "items": "string", "minItems": 2.0}, "compiles"),
    ({"type": "array", "items": "string", "minItems": 2.5}, "minItems must be"),
    ({"type": "string", "minLength": True}, "minLength must be"),
    ({"type": "string", "maxLength": 10**7}, "maxLength must be"),
    ({"type": None, "items": "string"}, "type must be"),
    ({"type": [], "items": "string"}, "type must be"),
    ({"type": "object", "properties": {"a": "string"}, "required": None}, "required must be"),
    ({"type": "object", "properties": {"a": "string"}, "required": [["a"]]}, "required must be"),
    ({"type": "object", "properties": {"a": "string"}, "required": ["b"]}, "required must list"),
    ({"__proto__": "string", "constructor": "integer", "toString": "boolean"}, "compiles"),
    ({"type": "object", "properties": {"__proto__": {"type": "string", "maxLength": 1}}}, "compiles"),
    ({"enum": [[1], {"a": 1}]}, "must be scalars"),
    ({"const": None}, "compiles"),
    ({"anyOf": [{"const": 1}], "const": True}, "conflicts"),
    ({"anyOf": [{"const": 1}], "const": 1.0}, "compiles"),
    ({"anyOf": [{"type": "object", "properties": {"a": "string", "b": "integer"}}],
      "properties": {"b": "integer", "a": "string"}}, "compiles"),
]


def leaf_schemas():
    counts = st.one_of(st.integers(0, 3), st.integers(0, 3), st.sampled_from([None, 2.0, -1, True, "2", 1.5, 10**7]))
    strings = st.builds(lambda lo, hi, keep: {"type": "string", **({"minLength": lo} if keep & 1 else {}),
                                              **({"maxLength": hi} if keep & 2 else {})}, counts, counts,
                        st.integers(0, 3))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**16, 10**16),
                        st.sampled_from([0.5, -2.25, 1e-5, 1e20]),
                        st.sampled_from(["a", "", 'q"', "é", "line\n", "😀", "\x7f", "\ud800"]))
    names = st.sampled_from(TYPE_NAMES)
    return st.one_of(
        names, names,
        st.builds(lambda t: {"type": t}, names | st.lists(names, min_size=1, max_size=4)),
        strings,
        st.builds(lambda v: {"enum": v}, st.lists(scalars, max_size=5)),
        st.builds(lambda v: {"const": v}, scalars),
        st.sampled_from([{"type": None}, {"type": "string", "maxLength": None}, {"enum": None}, {"type": "str"},
                         {"type": "integer", "minimum": 1}, {"type": ["string", "nul"]}]),
    )


PROPERTY_NAMES = st.sampled_from(["a", "b", "ab", "0", "12", "__proto__", "constructor", "", "é", "😀", 'q"',
                                  "type"])


def bigger_schemas(kids):
    counts = st.one_of(st.integers(0, 3), st.sampled_from([None, 2.0, -1]))
    return st.one_of(
        st.builds(lambda item, mn, mx, keep: {"type": "array", "items": item, **({"minItems": mn} if keep & 1 else {}),
                                              **({"maxItems": mx} if keep & 2 else {})}, kids, counts, counts,
                  st.integers(0, 3)),
        st.builds(lambda props, req: {"type": "object", "properties": props,
                                      "required": [k for k, r in zip(props, req) if r]},
                  st.dictionaries(PROPERTY_NAMES, kids, max_size=3), st.lists(st.booleans(), min_size=3, max_size=3)),
        st.dictionaries(PROPERTY_NAMES, kids, min_size=1, max_size=3),  # shorthand object
        st.builds(lambda alts, extra: {"anyOf": alts, **extra}, st.lists(kids, min_size=1, max_size=3),
                  st.sampled_from([{}, {}, {"type": "string"}, {"maxLength": 2}, {"type": ["string", "null"]}])),
        st.builds(lambda types, item: {"type": types, "items": item},
                  st.lists(st.sampled_from(["array", "array", "string", "null", "object"]), min_size=1, max_size=4),
                  kids),
        kids.map(lambda item: [item]),  # shorthand array
    )


schemas = st.recursive(leaf_schemas(), bigger_schemas, max_leaves=10)


def walk(decoder, rng, max_tokens, limit):
    """Random allowed tokens for `limit` steps, then the fastest way to finish: the ids (no end-of-text).

    Fails if any state has no allowed token (a dead end) or the document is not finished in time."""
    state = decoder.start(max_tokens)
    readings = decoder.grammar.nodes[decoder.grammar.root].readings  # the compile-time bound on stacks
    ids = []
    for step in range(limit + 10_000):
        assert len(state.stacks) <= readings <= MAX_READINGS
        mask = decoder.allowed(state)
        choices = np.flatnonzero(mask)
        assert len(choices), f"dead end after {decoder.text(ids)!r}"
        _, need = decoder.masks(state.stacks)
        shortest = need[choices] == need[choices].min()
        if step >= limit:  # finish: only the tokens that leave the fewest bytes to write
            choices = choices[shortest]
        elif not shortest.all() and rng.random() < 0.7:  # mostly go deeper rather than close ("[" before "]")
            choices = choices[~shortest]
        tok = int(rng.choice(choices))
        if tok == decoder.eot_id:
            return ids
        state = decoder.advance(state, tok)
        ids.append(tok)
    raise AssertionError(f"no end after {decoder.text(ids)!r}")


# Messages that quote a value: Python writes its repr, JavaScript its JSON.
REPR_MESSAGES = ("unknown type", "unsupported keyword", "a schema must be", "schema needs a type", "enum/const values "
                 "must be scalars, not")


def check_schemas(cases, seed):
    """cases: [(schema, layout, max_tokens)]. Python compiles, walks and validates; JS must agree step by step."""
    rng = np.random.default_rng(seed)
    payload, expected, to_validate = [], [], []
    for schema, layout, max_tokens in cases:
        t0 = time.perf_counter()
        try:
            decoder = ConstrainedDecoder(compile_schema(schema, layout), SMALL)
            decoder.start(max_tokens)
        except SchemaError as e:
            assert time.perf_counter() - t0 < 2, f"slow refusal of {schema}"
            payload.append({"schema": schema, "layout": layout, "sequences": []})
            expected.append(str(e))
            continue
        except ValueError:  # no document of this schema fits in max_tokens
            max_tokens = None
        sequences = [walk(decoder, rng, max_tokens, limit) for limit in (0, 12, 40)]
        for ids in sequences:
            text = decoder.text(ids)
            assert validate(json.loads(text), schema) == [], (schema, text)
            if max_tokens is not None:
                assert len(ids) <= max_tokens, (schema, text)
            to_validate.append([text, schema])
        payload.append({"schema": schema, "layout": layout, "max_tokens": max_tokens, "sequences": sequences})
        expected.append([python_masks(decoder, max_tokens, s) for s in sequences])
    js = run_node("constrain_bridge.mjs", {"tokenizer": str(SMALL_PATH), "cases": payload,
                                           "validate": to_validate})
    for case, want, got in zip(payload, expected, js["cases"]):
        if isinstance(want, str):
            assert "error" in got, (case["schema"], want)
            if not want.startswith(REPR_MESSAGES):  # the rest read the same in both languages
                assert got["error"] == want, case["schema"]
            continue
        assert "error" not in got, (case["schema"], got)
        for seq, (masks, complete), js_masks, js_complete in zip(case["sequences"], want, got["masks"],
                                                                 got["complete"]):
            assert js_masks == masks, (case["schema"], seq)
            assert js_complete == complete is True
    assert js["validate"] == [[]] * len(to_validate)
    return payload, expected


@settings(fuzz, max_examples=6)
@given(batch=st.lists(st.tuples(schemas, st.sampled_from(["spaced", "compact", "flexible"]),
                                st.sampled_from([None, None, 8, 24])), min_size=20, max_size=25),
       seed=st.integers(0, 2**32 - 1))
def test_constrained_decoding_twins_on_random_schemas(batch, seed):
    batch = [(json.loads(json.dumps(s)), layout, n) for s, layout, n in batch]  # as JS receives it
    payload, expected = check_schemas(batch, seed)
    refused = sum(isinstance(w, str) for w in expected)
    count("test_constrained_decoding_twins_on_random_schemas", schemas=len(batch), refused=refused,
          walks=3 * (len(batch) - refused), tokens=sum(len(s) for c in payload for s in c["sequences"]))


def test_hostile_schemas_are_refused_or_decoded_quickly_in_both():
    cases = [(schema, "spaced", None) for schema, _ in HOSTILE]
    t0 = time.perf_counter()
    payload, expected = check_schemas(cases, 7)
    for (schema, outcome), want in zip(HOSTILE, expected):
        if outcome == "compiles":
            assert not isinstance(want, str), (schema, want)
        else:
            assert isinstance(want, str) and outcome in want, (str(schema)[:80], want)
    assert time.perf_counter() - t0 < 60
    refused = sum(isinstance(w, str) for w in expected)
    count("test_hostile_schemas_are_refused_or_decoded_quickly_in_both", schemas=len(cases), refused=refused)


def test_json_number_rules_in_both():
    """A leading zero may not be followed by more digits; 0, 0.5, -0 and 0e5 are numbers."""
    texts = {"0": True, "0.5": True, "-0": True, "0e5": True, "0E+05": True, "-0.0": True, "10": True,
             "01": False, "-01": False, "00": False, "0.": False, ".5": False, "+1": False, "1e": False}
    js = run_node("constrain_bridge.mjs", {"tokenizer": str(SMALL_PATH), "cases": [
        {"schema": {"type": "number"}, "sequences": [], "texts": list(texts)},
        {"schema": {"type": "integer"}, "sequences": [], "texts": list(texts)}]})
    for schema, got in zip(["number", "integer"], js["cases"]):
        g = compile_schema({"type": schema})
        for (text, ok), js_result in zip(texts.items(), got["texts"]):
            stacks = g.advance_bytes(g.initial(), text.encode())
            want_ok = ok and (schema == "number" or text.lstrip("-").isdigit())
            assert g.accepting(stacks) == want_ok == js_result[1], (schema, text)
            assert [bool(stacks), g.accepting(stacks)] == js_result, (schema, text)
