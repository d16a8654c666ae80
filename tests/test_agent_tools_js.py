"""The JavaScript agent tools and loop (docs/javascripts/agent-tools.js) agree with model_export/agent.py.

Python is the reference. Each check sends a whole batch to one node process
(tests/js/agent_tools_bridge.mjs): hypothesis-generated hostile expressions
and queries, numbers to format, and scripted agent runs; every observation
must be identical.
"""

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_export import agent  # noqa: E402
from model_export.agent import (calculator, format_number, knowledge_base, make_tools, run_agent,  # noqa: E402
                                search, tool_call)
from model_export.world import make_world  # noqa: E402

NODE = shutil.which("node")
BRIDGE = ROOT / "tests/js/agent_tools_bridge.mjs"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

WORLD = make_world(0)
KB = knowledge_base(WORLD)
TOOLS = make_tools(kb=KB)


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("kb") / "knowledge.json"
    path.write_text(json.dumps(KB))
    return path


def run_js(payload: dict) -> dict:
    proc = subprocess.run([NODE, str(BRIDGE)], input=json.dumps(payload).encode(), capture_output=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout.decode("utf-8"))


def as_js_sees_it(text: str) -> str:
    """The string JavaScript gets after JSON (a Python surrogate pair becomes one character)."""
    return json.loads(json.dumps(text))


any_char = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])
CALC_ATOMS = [*"0123456789", ".", "+", "-", "*", "/", "^", "**", "(", ")", " ", "\t", "sqrt(", "abs(", "round(",
              "sqrt", "e", "x", "1e5", "9^9", ",", "$", "😀", "\x00", "\n", "\ud800", "999999999999999", "0.125"]
calc_text = st.lists(st.sampled_from(CALC_ATOMS), max_size=60).map("".join)
hostile = st.one_of(
    st.text(alphabet=any_char, max_size=60), calc_text, calc_text, calc_text,
    st.integers(1, 300).map(lambda n: "(" * n + "1" + ")" * n),
    st.integers(1, 40).map(lambda n: "^".join(["9"] * n)),
    st.integers(1, 3000).map(lambda n: "1" * n),
    st.tuples(st.integers(-10**6, 10**6), st.sampled_from(["+", "-", "*", "/", "^"]), st.integers(-30, 10**4)).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.tuples(st.integers(0, 10**4), st.integers(0, 999)).map(lambda t: f"sqrt({t[0]}.{t[1]:03d}) / 7"),
    st.integers(-400, 400).map(lambda k: f"round({k / 4}) + abs(-{k / 8})"),
)
QUERY_WORDS = ["Lionel", "Messi", "goals", "goal", "2023", "2019", "1999", "capital", "France", "New", "Zealand",
               "Guinea", "cat", "orange", "color", "of", "the", "club", "Marco", "Silva", "😀", "\n", "?", ",", ""]
queries = st.one_of(st.text(alphabet=any_char, max_size=60),
                    st.lists(st.sampled_from(QUERY_WORDS + [p.name for p in WORLD.players[:20]]),
                             max_size=12).map(" ".join))
batches = dict(min_size=100, max_size=200)
fast = settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@fast
@given(expressions=st.lists(hostile, **batches), qs=st.lists(queries, **batches))
def test_tools_match_python(kb_path, expressions, qs):
    expressions = [as_js_sees_it(e) for e in expressions]
    qs = [as_js_sees_it(q) for q in qs]
    js = run_js({"calculator": expressions, "search": {"kb": str(kb_path), "queries": qs}})
    for e, got in zip(expressions, js["calculator"]):
        assert got == calculator(e), e
    for q, got in zip(qs, js["search"]):
        assert got == search(q, KB), q


def test_fixed_cases_and_speed(kb_path, capsys):
    rng = random.Random("agent-js")
    expressions = ["sqrt(11)", "17 * 23", "9^9^9^9", "1/0", "sqrt(-1)", "foo(2)", "-2^2", "0.1+0.2", "round(-2.5)",
                   "(" * 100, "-" * 60 + "1", "1+" * 150, "x" * 10**6, "😀" * 150, "😀" * 250, "\ud83d" * 250,
                   "2^-1000", "0.5^1000", "0.00001^-1000", "10^15", "999999999999999.999"]
    expressions += [f"{rng.randint(0, 99)} {rng.choice('+-*/^')} {rng.randint(1, 12)}" for _ in range(300)]
    expressions += [f"sqrt({rng.randint(0, 10**6)})" for _ in range(300)]
    expressions += [f"{rng.randint(0, 10**5)}/{rng.choice([8, 16, 40, 400, 1024, 3, 7])}" for _ in range(500)]
    queries = [f"{p.name} goals {y}" for p in WORLD.players for y in WORLD.years]
    queries += [f"{c.name} {rel}" for c in WORLD.countries for rel in ("capital", "language", "currency")]
    queries += ["", "goals " * 10**5, "Messi 2023", "what does the cat say", "\x00\x7f", "New capital"]
    js = run_js({"calculator": expressions, "search": {"kb": str(kb_path), "queries": queries}})
    assert js["calculator"] == [calculator(e) for e in expressions]
    assert js["search"] == [search(q, KB) for q in queries]
    assert js["calculator"][0] == "3.32"
    assert js["search"][queries.index("Messi 2023")] == "Lionel Messi scored 11 goals in 2023."
    with capsys.disabled():
        print(f"\nJS tools: calculator {js['ms']['calculator'] * 1000:.1f} us/call, "
              f"search {js['ms']['search'] * 1000:.1f} us/call over {len(KB)} entries")
    assert js["ms"]["search"] < 200  # a hang guard, not a benchmark (the figure is printed above)


@fast
@given(values=st.lists(st.one_of(st.floats(-1e15, 1e15, allow_nan=False),
                                 st.integers(-10**9, 10**9).map(lambda k: k / 8),
                                 st.integers(-10**6, 10**6).map(lambda k: k / 1000 + 0.005),
                                 st.integers(-10**5, 10**5).map(lambda k: k * 0.01)), **batches))
def test_format_number_matches_python(values):
    js = run_js({"format": values})
    assert js["format"] == [format_number(v) for v in values]


def test_tool_call_text_matches_python():
    args = ["Lionel Messi goals 2023", "sqrt(11)", 'a "quoted" \\ back', "tab\there\nnew", "é 東京 😀", "\x01\x1f\x7f"]
    calls = [[tool, a] for a in args for tool in ("search", "calculator")]
    js = run_js({"calls": calls})
    assert js["calls"] == [tool_call(t, a) for t, a in calls]


def test_run_agent_matches_python(kb_path):
    messi = agent.goals_transcript("goals_sqrt", "Lionel Messi", 2023, 11)
    runs = [
        # A scripted model that writes the Messi transcript, turn by turn.
        {"question": "How many goals did Lionel Messi score in 2023, and what is its square root?",
         "outputs": ['{"tool": "search", "query": "Lionel Messi goals 2023"}<|tool|>',
                     '{"tool": "calculator", "expression": "sqrt(11)"}<|tool|>', "Final Answer: 3.32<|endoftext|>"],
         "json": None},
        # The same with constrained calls replacing whatever the model started.
        {"question": "q", "outputs": ["Thought: search\n", "{garbage", "{", "Final Answer: x"],
         "json": ['{"tool": "search", "query": "Messi 2023"}', '{"tool": "calculator", "expression": "1/0"}']},
        # Garbage.
        {"question": "q", "outputs": ['{"tool": "search"}<|tool|>', "{oops\n", '{"tool": "nope", "query": 1}<|tool|>',
                                     "Thought: a\n", "Thought: b\n", "hmm"], "json": None},
        {"question": "q", "outputs": ["{}<|tool|>"] * 6, "json": None, "max_steps": 3},
        {"question": "q", "outputs": ["Thought: x\n"] * 6, "json": None},
        {"question": "q", "outputs": ["no stop"], "json": None},
        {"question": "q", "outputs": ["<|user|>x"], "json": None},
    ]
    js = run_js({"search": {"kb": str(kb_path), "queries": []}, "agents": runs})
    for run, got in zip(runs, js["agents"]):
        outputs, calls = list(run["outputs"]), list(run["json"] or [])
        json_fn = (lambda text: calls.pop(0) if calls else "{}") if run["json"] else None
        want = run_agent(lambda text: outputs.pop(0) if outputs else "", run["question"], TOOLS,
                         max_steps=run.get("max_steps", 4), json_fn=json_fn)
        assert got == want, run
    assert js["agents"][0]["transcript"] == messi.text and js["agents"][0]["answer"] == "3.32"


def test_context_full_stop_matches_run_question(kb_path, monkeypatch):
    """runQuestion stops as agent_train.run_question does when the model's context is full.

    Python's run_question runs a real model; here its generator and call writer
    are replaced by scripted ones that raise ContextFull once their outputs run
    out (at the first turn, after an action, inside a constrained call), and the
    JavaScript bridge scripts runQuestion the same way."""
    from model_export import agent_train

    runs = [
        {"question": "q", "outputs": [], "json": None, "context_full": 64},
        {"question": "q", "outputs": ['{"tool": "calculator", "expression": "sqrt(11)"}<|tool|>'], "json": None,
         "context_full": 128},
        {"question": "q", "outputs": ["{"], "json": [], "context_full": 128},
        {"question": "q", "outputs": ["Final Answer: 3.32<|endoftext|>"], "json": None, "context_full": 128},
    ]
    js = run_js({"search": {"kb": str(kb_path), "queries": []}, "agents": runs})
    for run, got in zip(runs, js["agents"]):
        outputs, calls = list(run["outputs"]), list(run["json"] or [])

        def scripted(queue, dflt):
            def fn(text):
                if queue:
                    return queue.pop(0)
                raise agent_train.ContextFull(f"the transcript is longer than the {run['context_full']}-token context")
            return fn

        monkeypatch.setattr(agent_train, "CachedLogits", lambda params, config: None)
        monkeypatch.setattr(agent, "token_generate_fn", lambda *a, **k: scripted(outputs, ""))
        monkeypatch.setattr(agent, "constrained_json_fn", lambda *a, **k: scripted(calls, "{}"))
        ac = agent_train.AgentConfig(max_steps=4)
        want = agent_train.run_question(None, None, None, run["question"], TOOLS, run["json"] is not None, ac)
        assert got == want, run
    assert js["agents"][0]["stopped"] == "stopped: the transcript is longer than the 64-token context"
    assert js["agents"][3]["answer"] == "3.32"  # no ContextFull: the run ends as runAgent's
