"""The JavaScript constrained decoder (docs/javascripts/{schema,grammar,constrain}.js) agrees with the Python one.

Random schemas and random walks of allowed tokens are made in Python; one Node
process (tests/js/constrain_bridge.mjs) per batch computes the JavaScript masks
at every step, which must equal Python's.
"""

import ast
import json
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_export import grammar as py_grammar  # noqa: E402
from model_export import schema as py_schema  # noqa: E402
from model_export.constrain import ConstrainedDecoder  # noqa: E402
from model_export.grammar import compile_schema  # noqa: E402
from model_export.schema import SchemaError  # noqa: E402
from model_export.tokenizer import Tokenizer, train_bpe  # noqa: E402

BRIDGE = ROOT / "tests/js/constrain_bridge.mjs"
SMALL_PATH = ROOT / "tests/data/tokenizer_small.json"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

TOOL_SCHEMA = {"anyOf": [
    {"type": "object", "properties": {"tool": {"const": "search"}, "query": {"type": "string"}},
     "required": ["tool", "query"]},
    {"type": "object", "properties": {"tool": {"const": "calculator"}, "expression": {"type": "string"}},
     "required": ["tool", "expression"]},
]}
TOOL_CALL = '{"tool": "search", "query": "Lionel Messi goals 2023"}'
FIXED_SCHEMAS = [
    TOOL_SCHEMA,
    {"name": "string", "age": "integer"},
    {"b": "string", "10": "integer", "2": ["number"]},
    {"enum": [1, 12, 1.5, 0.25, -3, "é", 'a"b', "line\n", True, None]},
    {"type": "array", "items": {"type": "array", "items": {"type": ["string", "null"], "maxLength": 2}}, "maxItems": 3},
    {"type": "object", "properties": {"a": "integer", "b": {"type": "string", "minLength": 2}, "c": "boolean"},
     "required": ["b"]},
    {"type": "string", "pattern": "x"},  # unsupported: both sides must refuse it
]

NAMES = ["a", "ab", "b", 'q"', "é", "", "0", "12", "x y", "😀"]
ENUM_VALUES = ["a", "", 'q"', "é", "line\n", "😀", 0, 7, -3, 12, 1.5, 0.25, -2.5e-3, 123456.5, True, False, None]


def random_schema(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth >= 3 or r < 0.45:
        kind = rng.randrange(9)
        if kind == 0:
            s = {"type": "string"}
            if rng.random() < 0.4:
                s["minLength"] = rng.randrange(3)
            if rng.random() < 0.4:
                s["maxLength"] = s.get("minLength", 0) + rng.randrange(4)
            return s
        if kind == 1:
            return rng.choice(["string", "integer", "number", "boolean"])
        if kind == 2:
            return {"type": rng.choice(["integer", "number", "boolean", "null"])}
        if kind == 3:
            return {"enum": rng.sample(ENUM_VALUES, rng.randrange(1, 5))}
        if kind == 4:
            return {"const": rng.choice(ENUM_VALUES)}
        if kind == 5:
            return {"type": ["string", "null"]}
        return rng.choice(["string", {"type": "integer"}, {"type": "number"}])
    if r < 0.65:
        s = {"type": "array", "items": random_schema(rng, depth + 1), "minItems": rng.randrange(3)}
        if rng.random() < 0.5:
            s["maxItems"] = s["minItems"] + rng.randrange(3)
        return s
    if r < 0.85:
        names = rng.sample(NAMES, rng.randrange(0, 4))
        return {"type": "object", "properties": {k: random_schema(rng, depth + 1) for k in names},
                "required": [k for k in names if rng.random() < 0.6]}
    if r < 0.93:
        return {k: random_schema(rng, depth + 1) for k in rng.sample(["name", "age", "x"], rng.randrange(1, 3))}
    return {"anyOf": [random_schema(rng, depth + 1) for _ in range(rng.randrange(1, 4))]}


def random_walk(decoder, rng: np.random.Generator, max_tokens, bias, limit=60):
    state = decoder.start(max_tokens)
    ids = []
    for _ in range(limit):
        mask = decoder.allowed(state)
        choices = np.flatnonzero(mask)
        if rng.random() < bias:
            _, need = decoder.masks(state.stacks)
            choices = choices[need[choices] == need[choices].min()]
        tok = int(rng.choice(choices))
        if tok == decoder.eot_id:
            break
        state = decoder.advance(state, tok)
        ids.append(tok)
    return ids


def python_masks(decoder, max_tokens, seq):
    state = decoder.start(max_tokens)
    out = [np.flatnonzero(decoder.allowed(state)).tolist()]
    for t in seq:
        state = decoder.advance(state, t)
        out.append(np.flatnonzero(decoder.allowed(state)).tolist())
    return out, decoder.is_complete(state)


def run_bridge(payload: dict) -> dict:
    proc = subprocess.run([NODE, "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", str(BRIDGE)],
                          input=json.dumps(payload), capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def custom_tokenizer(pieces) -> Tokenizer:
    ids = {bytes([b]): b for b in range(256)}
    merges = []
    for p in pieces:
        p = p.encode()
        for i in range(1, len(p)):
            if p[:i + 1] not in ids:
                merges.append((ids[p[:i]], p[i]))
                ids[p[:i + 1]] = 255 + len(merges)
    return Tokenizer(merges)


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    """name -> (path, Tokenizer): the small test tokenizer, one full of JSON punctuation, a 1024-token one."""
    from model_export.world import make_world, pretrain_documents
    tmp = tmp_path_factory.mktemp("tok")
    structural = custom_tokenizer(['{"', '":', '": "', '",', '", "', '"}', '"]', '["', '\\"', '\\\\', '\\u00e9',
                                   'é"', ' "', '0,', '0.5', '1e-3', '12]', 'true,', 'null]', '1, ', '}, {', '😀'])
    big = train_bpe(pretrain_documents(make_world(), "train")[:3000], vocab_size=1024)
    out = {"small": (SMALL_PATH, Tokenizer.load(SMALL_PATH))}
    for name, tok in [("structural", structural), ("bpe1024", big)]:
        tok.save(tmp / f"{name}.json")
        out[name] = (tmp / f"{name}.json", tok)
    return out


@pytest.mark.parametrize("name", ["small", "structural", "bpe1024"])
def test_js_masks_equal_python_masks(tokenizers, name):
    path, tok = tokenizers[name]
    rng = random.Random(f"constrain-{name}")
    nprng = np.random.default_rng(rng.randrange(2**32))
    n_random = {"small": 60, "structural": 60, "bpe1024": 25}[name]
    schemas = FIXED_SCHEMAS + [random_schema(rng) for _ in range(n_random)]
    cases, expected = [], []
    for schema in schemas:
        layout = rng.choice(["spaced", "compact", "flexible"])
        max_tokens = rng.choice([None, None, 12, 30])
        if schema is TOOL_SCHEMA:  # the fixed tool call below is spaced and 20-odd tokens
            layout, max_tokens = "spaced", None
        try:
            decoder = ConstrainedDecoder(compile_schema(schema, layout), tok)
            decoder.start(max_tokens)
        except SchemaError as e:
            cases.append({"schema": schema, "layout": layout, "max_tokens": None, "sequences": []})
            expected.append(("error", str(e)))
            continue
        except ValueError:  # no document fits in max_tokens
            max_tokens = None
        sequences = [random_walk(decoder, nprng, max_tokens, bias) for bias in (0.0, 0.0, 0.5)]
        if schema is TOOL_SCHEMA:
            sequences.append(tok.encode(TOOL_CALL))
        cases.append({"schema": schema, "layout": layout, "max_tokens": max_tokens, "sequences": sequences})
        expected.append([python_masks(decoder, max_tokens, s) for s in sequences])
    result = run_bridge({"tokenizer": str(path), "cases": cases})
    steps = 0
    for case, want, got in zip(cases, expected, result["cases"]):
        if isinstance(want, tuple):
            assert "error" in got, case["schema"]
            continue
        assert "error" not in got, (case["schema"], got)
        for seq, (masks, complete), js_masks, js_complete in zip(case["sequences"], want, got["masks"], got["complete"]):
            assert js_masks == masks, (case, seq)
            assert js_complete == complete
            steps += len(masks)
    assert steps > 200


def js_int_constants(path: Path) -> dict:
    """NAME -> value for each integer constant a module declares: 12, 0x80, 1 << 30 or code("x")."""
    value = r"0x[0-9a-f]+|\d+ << \d+|\d+|code\((?:'[^']+'|\"[^\"]+\")\)"
    consts = {}
    for name, text in re.findall(rf"\b([A-Z][A-Z0-9_]*) = ({value})[,;]", path.read_text()):
        if text.startswith("code("):
            consts[name] = ord(ast.literal_eval(text[5:-1]))
        elif "<<" in text:
            a, b = text.split("<<")
            consts[name] = int(a) << int(b)
        else:
            consts[name] = int(text, 0)
    return consts


@pytest.mark.parametrize("module", [py_schema, py_grammar], ids=["schema", "grammar"])
def test_js_names_the_same_constants(module):
    """Every integer constant (limits, bytes, node kinds, frames, phases, string
    sub-states) has the same name and value in the Python module and its twin."""
    own = {k: v for k, v in vars(module).items()
           if k.isupper() and type(v) is int and (module is py_schema or k not in vars(py_schema))}
    js = js_int_constants(ROOT / f"docs/javascripts/{module.__name__.rsplit('.', 1)[1]}.js")
    assert len(own) > 5 and js == own


def test_js_validates_and_generates_like_python(tmp_path):
    """validate(), shorthand and sampling in JS, on the tool-call schema."""
    script = tmp_path / "gen.mjs"
    module = {name: (ROOT / f"docs/javascripts/{name}.js").as_uri() for name in ("schema", "grammar", "constrain")}
    script.write_text(f"""
import {{ readFileSync }} from "node:fs";
import {{ ConstrainedDecoder, loadTokenizer, generate }} from "{module['constrain']}";
import {{ compileSchema }} from "{module['grammar']}";
import {{ normalizeSchema, validate }} from "{module['schema']}";
const tok = loadTokenizer(readFileSync({json.dumps(str(SMALL_PATH))}, "utf-8"));
const schema = {json.dumps(TOOL_SCHEMA)};
const decoder = new ConstrainedDecoder(compileSchema(schema), tok);
let seed = 1;
const rng = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const bias = Array.from({{length: tok.vocabSize}}, () => 4 * rng() - 2);
const out = {{bad: [], n: 0, tools: new Set()}};
for (let k = 0; k < 300; k++) {{
  const g = generate(() => bias.map((b) => b + 6 * rng() - 3), decoder, rng, 0.7 + (k % 9) / 10, 40);
  if (validate(g.value, schema).length || g.ids.length > 40) out.bad.push(g.text);
  out.tools.add(g.value.tool);
  out.n++;
}}
const shorthand = normalizeSchema({{name: "string", age: "integer"}});
console.log(JSON.stringify({{bad: out.bad, n: out.n, tools: [...out.tools].sort(), shorthand,
  errors: validate({{name: 1, age: 3.5, extra: true}}, {{name: "string", age: "integer"}}).length}}));
""")
    proc = subprocess.run([NODE, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["n"] == 300 and got["bad"] == [] and got["tools"] == ["calculator", "search"]
    assert got["shorthand"] == {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                                "required": ["name", "age"]}
    assert got["errors"] == 3


def test_mask_speed(tokenizers, capsys):
    """ms per mask (uncached) in JS and Python along a tool call; printed for the record."""
    report = []
    for name in ("small", "bpe1024"):
        path, tok = tokenizers[name]
        seq = tok.encode(TOOL_CALL)
        d = ConstrainedDecoder(compile_schema(TOOL_SCHEMA), tok)
        states = [d.start()]
        for t in seq:
            states.append(d.advance(states[-1], t))
        t0 = time.perf_counter()
        for s in states:
            d._cache.clear()
            d.masks(s.stacks)
        py_ms = (time.perf_counter() - t0) * 1000 / len(states)
        js = run_bridge({"tokenizer": str(path), "bench": [{"schema": TOOL_SCHEMA, "sequence": seq}]})["bench"][0]
        report.append(f"{name} ({tok.vocab_size} tokens, {len(states)} steps): JS {js['ms_per_mask']:.3f} ms/mask "
                      f"uncached, {js['ms_per_step']:.3f} ms/step cached; Python {py_ms:.2f} ms/mask uncached")
        assert js["ms_per_mask"] < 10
    with capsys.disabled():
        print("\n" + "\n".join(report))
