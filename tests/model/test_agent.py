"""The agent's tools, transcripts, evaluation questions and loop (model_export/agent.py)."""

import collections
import json
import random
import re
import statistics
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_export import agent
from model_export.agent import (TOOL_SCHEMA, Transcript, agent_transcripts, calculator, constrained_json_fn,
                                encode_transcript, eval_questions, format_number, held_out, knowledge_base,
                                make_tools, run_agent, search, token_generate_fn)
from model_export.constrain import ConstrainedDecoder
from model_export.decoding import XorShift
from model_export.grammar import compile_schema
from model_export.schema import validate
from model_export.tokenizer import train_bpe
from model_export.world import make_world, pretrain_documents

WORLD = make_world(0)
KB = knowledge_base(WORLD)
TOOLS = make_tools(kb=KB)
MESSI_Q = "How many goals did Lionel Messi score in 2023, and what is its square root?"
MESSI = agent.goals_transcript("goals_sqrt", "Lionel Messi", 2023, 11)
fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def tokenizer():
    """A 512-token BPE trained as the build should: pre-training documents plus agent transcripts."""
    from model_export.agent import bpe_texts
    return train_bpe(pretrain_documents(WORLD, "train") + bpe_texts(WORLD, 3000), 512)


# ---------------------------------------------------------------------------
# Calculator

@pytest.mark.parametrize("expression, expected", [
    ("sqrt(11)", "3.32"), ("17 * 23", "391"), ("11^2", "121"), ("7^3", "343"), ("11 + 5", "16"),
    ("84 / 7", "12"), ("7/2", "3.5"), ("0.1+0.2", "0.3"), ("1/3", "0.33"), ("2/3", "0.67"),
    ("-2^2", "-4"), ("(-2)^2", "4"), ("2^3^2", "512"), ("2**-2", "0.25"), ("2 ** 10", "1024"),
    ("-(3 - 5) * 4", "8"), ("--3", "3"), ("+3", "3"), (".5 + 1.25", "1.75"), ("0.125", "0.13"),
    ("-0.125", "-0.13"), ("-0.001", "0"), ("-0", "0"), ("abs(-4.5)", "4.5"), ("round(2.5)", "3"),
    ("round(-2.5)", "-3"), ("round(2.49)", "2"), ("sqrt(0)", "0"), ("0^0", "1"), ("10^15", "1000000000000000"),
    ("1/0", "Error: division by zero"), ("5 / (2 - 2)", "Error: division by zero"),
    ("0^-1", "Error: division by zero"), ("sqrt(-1)", "Error: square root of a negative number"),
    ("foo(2)", "Error: unknown name 'foo'"), ("x + 1", "Error: unknown name 'x'"),
    ("10^16", "Error: number too large"), ("9^9^9^9", "Error: exponent too large"),
    ("99999999999^2", "Error: number too large"), ("2^0.5", "Error: exponent must be a whole number"),
    ("1e5", "Error: unexpected 'e5'"), ("", "Error: empty expression"), ("  ", "Error: empty expression"),
    ("3 +", "Error: unexpected end of expression"), ("(1))", "Error: unexpected ')'"),
    ("sqrt 4", "Error: expected '(' but found '4'"), ("3 $ 4", "Error: unexpected character '$'"),
    ("3 😀 4", "Error: unexpected character"), ("\x00", "Error: unexpected character"),
    ("(" * 40 + "1" + ")" * 40, "Error: too deeply nested"), ("-" * 50 + "1", "Error: too deeply nested"),
    ("1+" * 100 + "1", "Error: expression too long"), (None, "Error: expression must be text"),
])
def test_calculator(expression, expected):
    assert calculator(expression) == expected


NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]?[1-9])?")


def check_observation(expression, out, seconds):
    assert isinstance(out, str) and out
    assert out.startswith("Error: ") or NUMBER.fullmatch(out), (expression, out)
    assert seconds < 1.0, (expression, seconds)  # "never hangs": generous, so a loaded CI machine cannot flake it


def expressions():
    """Random well-formed and half-formed expressions from the grammar's pieces."""
    atom = st.one_of(st.integers(-10**6, 10**16).map(str), st.floats(0, 1e6).map(lambda f: f"{f:.3f}"),
                     st.sampled_from(["0", "1", "2", ".5", "9", "99", "0.0"]))

    def combine(children):
        return st.one_of(
            st.tuples(children, st.sampled_from(["+", "-", "*", "/", "^", "**", " + ", " ^ "]), children).map("".join),
            children.map(lambda e: f"({e})"), children.map(lambda e: f"-{e}"),
            st.tuples(st.sampled_from(["sqrt", "abs", "round", "sin", "_"]), children).map(lambda t: f"{t[0]}({t[1]})"))
    return st.recursive(atom, combine, max_leaves=40)


hostile = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789+-*/^().sqrt ", max_size=250),
    st.integers(1, 400).map(lambda n: "(" * n + "1" + ")" * n),
    st.integers(1, 60).map(lambda n: "^".join(["9"] * n)),
    st.integers(1, 60).map(lambda n: "sqrt(" * n + "2" + ")" * n),
    st.integers(1, 10**5).map(lambda n: "1" * n),
)


@fuzz
@given(expression=st.one_of(expressions(), hostile))
def test_calculator_fuzz(expression):
    t0 = time.perf_counter()
    out = calculator(expression)
    check_observation(expression, out, time.perf_counter() - t0)


@fuzz
@given(v=st.floats(-1e15, 1e15, allow_nan=False))
def test_format_number(v):
    s = format_number(v)
    assert NUMBER.fullmatch(s), (v, s)
    assert abs(float(s) - v) <= 0.005 + 1e-9 * abs(v)


# ---------------------------------------------------------------------------
# Search

def test_knowledge_base_is_json_and_complete():
    assert json.loads(json.dumps(KB)) == KB
    assert len(KB) == len(WORLD.facts())
    assert all(set(e) == {"text", "names", "words", "year"} for e in KB)


def test_search_finds_every_fact():
    assert search("Lionel Messi goals 2023", KB) == "Lionel Messi scored 11 goals in 2023."
    assert search("messi, 2023?", KB) == "Lionel Messi scored 11 goals in 2023."
    for p in WORLD.players:
        for year, n in p.goals:
            assert search(f"{p.name} goals {year}", KB) == agent.goals_sentence(p.name, n, year)
        assert search(f"{p.name} club", KB) == f"{p.name} plays for {p.club}."
    for c in WORLD.countries:
        for rel in ("capital", "language", "currency", "continent"):
            assert search(f"{c.name} {rel}", KB) == agent.country_sentence(rel, c.name, getattr(c, rel))
    assert search("What does the cat say?", KB) == "The cat says meow."
    assert search("the orange color", KB) == "The orange is orange."


@pytest.mark.parametrize("query", ["", "France", "Lionel Messi goals 2010", "goals 2023", "xyzzy capital",
                                   "😀", "\x00\x01", " " * 10000])
def test_search_no_results(query):
    assert search(query, KB) == "No results."


@fuzz
@given(query=st.one_of(st.text(max_size=200), st.lists(st.sampled_from(
    ["Lionel", "Messi", "goals", "2023", "2019", "capital", "France", "New", "Zealand", "😀", "\n", "cat", "of"]),
    max_size=30).map(" ".join), st.integers(1, 10**5).map(lambda n: "goals " * n)))
def test_search_fuzz(query):
    t0 = time.perf_counter()
    out = search(query, KB)
    assert out == "No results." or out in {e["text"] for e in KB}
    assert time.perf_counter() - t0 < 2.0


# ---------------------------------------------------------------------------
# Transcripts

def test_messi_transcript():
    assert MESSI.text == (
        f"<|user|>{MESSI_Q}<|assistant|>"
        '{"tool": "search", "query": "Lionel Messi goals 2023"}<|tool|>Lionel Messi scored 11 goals in 2023.'
        '<|assistant|>{"tool": "calculator", "expression": "sqrt(11)"}<|tool|>3.32'
        "<|assistant|>Final Answer: 3.32<|endoftext|>")
    trained = "".join(t for t, trains in MESSI.segments if trains)
    assert trained == ('{"tool": "search", "query": "Lionel Messi goals 2023"}<|tool|>'
                       '{"tool": "calculator", "expression": "sqrt(11)"}<|tool|>Final Answer: 3.32<|endoftext|>')


def test_transcripts_fit_the_context(tokenizer, capsys):
    lengths = collections.defaultdict(list)
    for random_values in (True, False):
        for t in agent_transcripts(WORLD, 2000, random.Random(f"len-{random_values}"), random_values):
            ids, mask = encode_transcript(tokenizer, t)
            assert ids == tokenizer.encode(t.text, allow_special=True)  # segment boundaries are token boundaries
            assert len(mask) == len(ids) and mask[-1] and not mask[0]
            lengths[t.shape].append(len(ids))
    messi = len(encode_transcript(tokenizer, MESSI)[0])
    everything = [n for v in lengths.values() for n in v]
    with capsys.disabled():
        print(f"\ntranscript tokens (512-token BPE, world text + 3000 transcripts): Messi example {messi}, "
              f"all mean {statistics.mean(everything):.1f} max {max(everything)}")
        for shape, v in sorted(lengths.items()):
            print(f"  {shape:15s} n={len(v):4d} mean {statistics.mean(v):6.1f} p95 {np.percentile(v, 95):5.0f} "
                  f"max {max(v)}")
    # A transcript longer than the context is never trained on in part: the packer
    # (sft.pack_rows) drops it. Long names make a few goals_sqrt transcripts too long.
    assert np.mean([n <= 129 for n in everything]) >= 0.97
    assert messi <= 120


def test_held_out_entities_and_shapes_never_in_training():
    split = held_out(WORLD)
    assert "Lionel Messi" in split.players and len(split.players) >= 10 and len(split.countries) >= 10
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, split.players + split.countries)) + r")\b")
    for random_values in (True, False):
        ts = agent_transcripts(WORLD, 3000, random.Random(f"held-{random_values}"), random_values)
        assert {t.shape for t in ts} == set(agent.TRAIN_SHAPES)
        for t in ts:
            assert not pattern.search(t.text), t.text
            assert t.shape not in agent.HELD_OUT_SHAPES
            assert "cubed" not in t.text or t.shape == "calc_only"


def steps_of(t: Transcript):
    """(call text, observation) pairs of a transcript (a thought line before a call is dropped)."""
    segs = [s for s, _ in t.segments]
    return [(segs[i - 1].split("\n")[-1], segs[i + 1]) for i in range(len(segs)) if segs[i] == "<|tool|>"]


def test_actions_are_canonical_and_valid(tokenizer):
    decoder = ConstrainedDecoder(compile_schema(TOOL_SCHEMA), tokenizer)
    n_checked = 0
    for random_values in (True, False):
        for t in agent_transcripts(WORLD, 1000, random.Random(f"act-{random_values}"), random_values):
            steps = steps_of(t)
            for call, observation in steps:
                value = json.loads(call)
                assert validate(value, TOOL_SCHEMA) == []
                assert json.dumps(value, ensure_ascii=False) == call
                if n_checked < 300:  # the constrained decoder accepts exactly these tokens
                    state = decoder.start()
                    for tok in tokenizer.encode(call):
                        state = decoder.advance(state, tok)
                    assert decoder.is_complete(state)
                    n_checked += 1
                if value["tool"] == "calculator":
                    assert observation == calculator(value["expression"])
                elif not random_values:
                    assert observation == search(value["query"], KB)
            if t.shape in agent.TWO_STEP or t.shape == "calc_only":
                assert t.answer == steps[-1][1]
            elif steps:
                assert t.answer in steps[-1][1]
    assert n_checked == 300


def test_random_values_differ_per_call():
    a = agent_transcripts(WORLD, 50, random.Random(1))
    b = agent_transcripts(WORLD, 50, random.Random(2))
    assert [t.text for t in a] != [t.text for t in b]
    assert [t.text for t in a] == [t.text for t in agent_transcripts(WORLD, 50, random.Random(1))]
    world_players = {p.name for p in WORLD.players}
    for t in agent_transcripts(WORLD, 500, random.Random(3)):
        m = re.search(r"did (.+) score in (\d+)", t.text)
        if m:
            assert m.group(1) not in world_players


def test_thoughts_option():
    t = agent_transcripts(WORLD, 20, random.Random(5), thoughts=True)
    assert all("Thought: " in x.text for x in t)
    assert all(all("Thought" not in s or trains for s, trains in x.segments) for x in t)


def test_eval_questions():
    items = eval_questions(WORLD)
    assert items[0] == (MESSI_Q, "3.32", "goals_sqrt", "held_out_entity")
    split = held_out(WORLD)
    kinds = collections.Counter(i.split for i in items)
    assert kinds["held_out_shape"] == len(split.players) and kinds["train_entity"] == 10
    for item in items:
        assert item.answer and not item.answer.startswith("Error") and item.answer != "No results."
        if item.split != "train_entity":
            assert any(name in item.question for name in split.players + split.countries)


# ---------------------------------------------------------------------------
# The agent loop

def scripted(transcript_text: str):
    """A fake model that writes a canned transcript: it continues any prefix of it."""
    def generate(text):
        assert transcript_text.startswith(text), (text, transcript_text)
        return transcript_text[len(text):]
    return generate


def test_loop_solves_the_messi_example():
    result = run_agent(scripted(MESSI.text), MESSI_Q, TOOLS)
    assert result["answer"] == "3.32" and result["stopped"] == "final answer"
    assert result["transcript"] == MESSI.text
    kinds = [s["kind"] for s in result["steps"]]
    assert kinds == ["action", "observation", "action", "observation", "answer"]
    assert result["steps"][1]["text"] == "Lionel Messi scored 11 goals in 2023."
    assert result["steps"][2]["argument"] == "sqrt(11)"


def test_loop_with_thoughts_and_constrained_json():
    t = agent.goals_transcript("goals_sqrt", "Lionel Messi", 2023, 11, thoughts=True)
    calls = [c for c, _ in steps_of(t)]
    # Constrained: the model's own call line is replaced by json_fn's output.
    gen = scripted(t.text)
    result = run_agent(gen, MESSI_Q, TOOLS, json_fn=lambda text: calls[text.count("<|tool|>")])
    assert result["answer"] == "3.32" and result["transcript"] == t.text
    assert [s["kind"] for s in result["steps"]][:2] == ["thought", "action"]


@pytest.mark.parametrize("outputs, stopped, observation", [
    (['{"tool": "search", "query": "Lionel Messi goals 2023"'], "did not end", "not valid JSON"),
    (['{"tool": "search", "q": "x"}<|tool|>', ""], "did not end", "does not match the tool schema"),
    (['{"tool": "weather", "query": "x"}\n', "Final Answer: ?<|endoftext|>"], "final answer", "does not match"),
    (["I think it is 3.", "x"], "did not end", None),
    (["I think it is 3.<|endoftext|>"], "ended its turn without", None),
    (["Thought: hmm\n"] * 10, "4 lines without", None),
    (['{"tool": "calculator", "expression": "1/0"}<|tool|>'] * 10, "more than 4 tool calls", "division by zero"),
    (["<|user|>hi"], "ended its turn", None),
    ([""], "did not end", None),
])
def test_loop_survives_bad_models(outputs, stopped, observation):
    queue = list(outputs)

    def generate(text):
        return queue.pop(0) if queue else ""
    result = run_agent(generate, MESSI_Q, TOOLS)
    assert stopped in result["stopped"]
    if observation:
        assert observation in result["steps"][1]["text"]
        assert "<|tool|>" + result["steps"][1]["text"] + "<|assistant|>" in result["transcript"]


def test_parse_call_follows_json_parse():
    """No NaN or Infinity (json.loads takes them, JSON.parse does not); deep nesting is an
    observation, not a RecursionError; huge integers parse as JSON.parse reads them."""
    for text in ['{"tool": "search", "query": NaN}', "[Infinity]", "-Infinity"]:
        with pytest.raises(ValueError, match="not valid JSON"):
            agent.parse_call(text)
    for text in ["[" * 100000 + "]" * 100000, '{"a": ' * 33 + "1" + "}" * 33]:
        with pytest.raises(ValueError, match="nested too deeply"):
            agent.parse_call(text)
    with pytest.raises(ValueError, match="does not match"):
        agent.parse_call("1" * 5000)
    assert agent.json_depth('{"a": "[[[{", "b": [[1]]}') == 3
    assert agent.parse_call('{"tool": "search", "query": "[[["}') == ("search", "[[[")


def test_final_answer_strips_only_ascii_whitespace():
    result = run_agent(lambda text: "Final Answer: \t3.32 \x85<|endoftext|>", MESSI_Q, TOOLS)
    assert result["answer"] == "3.32 \x85"  # Python's strip() would also remove U+0085, JavaScript's trim() not
    assert agent.strip_ws("\ufeff x \x0b") == "\ufeff x"


@settings(max_examples=100, deadline=None)
@given(outputs=st.lists(st.one_of(st.text(max_size=80), st.sampled_from(
    ["{", "{}", '{"tool": "search", "query": "Messi 2023"}', "Final Answer: 1", "\n", "<|tool|>", "Thought: x\n"])),
    max_size=12))
def test_loop_fuzz(outputs):
    queue = list(outputs)
    result = run_agent(lambda text: queue.pop(0) if queue else "", MESSI_Q, TOOLS)
    assert result["stopped"] and result["transcript"].startswith("<|user|>" + MESSI_Q)
    assert sum(s["kind"] == "action" for s in result["steps"]) <= 4


def test_token_level_wrappers(tokenizer):
    """token_generate_fn and constrained_json_fn with a 'model' that knows the Messi transcript."""
    canned = tokenizer.encode(MESSI.text, allow_special=True)

    def perfect(ids):
        logits = np.zeros(tokenizer.vocab_size)
        if ids == canned[:len(ids)] and len(ids) < len(canned):
            logits[canned[len(ids)]] = 10.0
        return logits
    rng = XorShift(0)
    gen = token_generate_fn(perfect, tokenizer, rng)
    for json_fn in (None, constrained_json_fn(perfect, tokenizer, rng)):
        result = run_agent(gen, MESSI_Q, TOOLS, json_fn=json_fn)
        assert result["answer"] == "3.32" and result["transcript"] == MESSI.text

    # A random model under the constraint still writes valid calls every time.
    noise = np.random.default_rng(1)
    json_fn = constrained_json_fn(lambda ids: noise.normal(0, 3, tokenizer.vocab_size), tokenizer, XorShift(1), 1.0, 40)
    queue = ["{x\n"] * 4 + ["Final Answer: done"]
    result = run_agent(lambda text: queue.pop(0), MESSI_Q, TOOLS, json_fn=json_fn)
    actions = [s for s in result["steps"] if s["kind"] == "action"]
    assert len(actions) == 4 and all(a["tool"] in ("search", "calculator") for a in actions)
    assert result["answer"] == "done"
