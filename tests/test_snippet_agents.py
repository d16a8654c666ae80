"""The agents chapter's small cell versions agree with the project's real agent and decoder.

* the transcript the page prints is, byte for byte, the format model_export/agent.py
  trains on (its docstring's example, built by agent.build_transcript);
* the page's tiny calculator gives the real calculator's results on the
  expressions both understand, and its search finds the real search's fact;
* the page's character-level mask for {"name": "string", "age": "integer"} allows
  exactly the characters model_export/grammar.py allows (outside the escapes the toy
  leaves out), at every prefix of the guide's example.
"""

import string
from pathlib import Path

import pytest

from model_export import agent
from model_export.grammar import compile_schema
from model_export.world import make_world
from sitebuild import cellrun

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "snippets" / "agents"


def run(names):
    namespace = cellrun.new_namespace()
    for name in names:
        items = cellrun.run_cell((SNIPPETS / name).read_text(), namespace)
        assert not any(i["type"] == "error" for i in items), items
    return namespace


@pytest.fixture(scope="module")
def agents_page(tmp_path_factory):
    # format.py reads report.json's block_size; any report will do here.
    folder = tmp_path_factory.mktemp("artifacts")
    (folder / "report.json").write_text('{"model": {"block_size": 128}}')
    mp = pytest.MonkeyPatch()
    mp.setenv("GUIDE_ARTIFACTS", str(folder))
    try:
        yield run(["tools.py", "loop.py", "format.py"])
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def mask_page():
    return run(["char_mask.py"])


def test_transcript_is_the_agent_training_format(agents_page):
    ns = agents_page
    want = agent.build_transcript(
        ns["QUESTION"],
        [("search", "Lionel Messi goals 2023", "Lionel Messi scored 11 goals in 2023."),
         ("calculator", "sqrt(11)", "3.32")],
        "3.32",
    ).text
    assert ns["full_text"] == want
    assert ns["answer"] == "3.32" == agent.calculator("sqrt(11)")


def test_page_tools_agree_with_the_real_tools(agents_page):
    calc = agents_page["calculator"]
    for expr in ["2 + 3 * 4", "(2 + 3) * 4", "sqrt(11)", "7 / 2", "6 / 3", "-2 * 3", "0.1 + 0.2",
                 "sqrt(2) * sqrt(2)", "10 - 4 - 3", "100 / 7", "sqrt(16) + 1.5"]:
        assert calc(expr) == agent.calculator(expr), expr
    for expr in ["1 / 0", "sqrt(-1)", "2 +", "(1", "foo(2)", '__import__("os")', "1" * 101]:
        assert calc(expr).startswith("Error: "), expr
    world = make_world()
    real = agent.search("Lionel Messi goals 2023", agent.knowledge_base(world))
    assert agents_page["search"]("Lionel Messi goals 2023") == real


def test_character_mask_matches_the_real_grammar(mask_page):
    can_complete, is_complete = mask_page["can_complete"], mask_page["is_complete"]
    grammar = compile_schema({"name": "string", "age": "integer"})
    doc = '{"name": "John Doe", "age": 34}'
    prefixes = [doc[:i] for i in range(len(doc) + 1)] + ['{"name": "John Doe", "age": -', '{"name": "", "age": 0']
    for prefix in prefixes:
        stacks = grammar.advance_bytes(grammar.initial(), prefix.encode())
        assert bool(stacks) == can_complete(prefix), prefix
        assert grammar.accepting(stacks) == is_complete(prefix), prefix
        in_string = prefix.count('"') == 3  # inside the name's value
        for c in string.printable:
            if c == "\\" and in_string:
                continue  # the toy leaves escapes out; the real grammar accepts them
            real = bool(grammar.advance_bytes(stacks, c.encode())) if stacks else False
            assert real == can_complete(prefix + c), (prefix, c)
