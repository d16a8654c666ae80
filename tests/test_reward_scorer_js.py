"""The reward scorer's inputs (docs/javascripts/reward-scorer.js) are reward.reward_batch's.

The widget builds each conversation in JavaScript (conversation(), after
pyStrip() of question and answer); Python's reference is reward.reward_batch on
the stripped strings: the same token ids, and the same answer_start as
export.reward_parity derives from the batch (the first position whose weight is
non-zero, plus one). One node process checks the whole batch
(tests/js/reward_bridge.mjs), including conversations longer than the context
and special-token strings typed into a question or an answer. It also checks
parsePresets, the reading of data-presets: a valid list comes back (answers cut
to the widget's maximum), anything else is null, so the widget falls back to
data-question and data-answers.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_export import export, reward  # noqa: E402
from model_export.tokenizer import Tokenizer  # noqa: E402

NODE = shutil.which("node")
BRIDGE = ROOT / "tests" / "js" / "reward_bridge.mjs"
TOKENIZER = ROOT / "tests" / "data" / "tokenizer_small.json"
BLOCK_SIZE = 64

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run the JavaScript side")

LONG_QUESTION = "Tell me everything you know about the capital of France, its rivers and its bridges, " * 2
CASES = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("  What is the capital of France?\n", "\tParis.  "),
    ("Who are you?", "I don't know a country called Zorvania."),
    ("Ünïcödé? 😀", "Ça va, 日本語 ok."),
    ("<|user|>typed<|assistant|> tokens", "an answer with <|endoftext|> inside"),  # special in the question only
    (LONG_QUESTION, "Paris."),  # the question is cut
    ("Hi", "Paris is big. " * 40),  # the whole question and part of the answer are cut
    ("", "x"),
]
STRIPS = [" a ", "\x1c\x1db\x1e\x1f", "\x85c\xa0", "\ufeffd\ufeff", "\u3000e\u2028", "  ", "f"]


def run_js(cases, strips, presets=()):
    request = {"tokenizer": str(TOKENIZER), "blockSize": BLOCK_SIZE,
               "cases": [{"question": q, "answer": a} for q, a in cases], "strip": strips, "presets": list(presets)}
    proc = subprocess.run([NODE, str(BRIDGE)], input=json.dumps(request).encode(), capture_output=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout.decode("utf-8"))


def test_inputs_match_reward_batch():
    tok = Tokenizer.load(TOKENIZER)
    config = SimpleNamespace(block_size=BLOCK_SIZE)
    js = run_js(CASES, STRIPS)
    cuts = []
    for (q, a), got in zip(CASES, js["cases"]):
        batch = reward.reward_batch(tok, config, [q.strip()], [a.strip()])
        x, last, start = batch[0], batch[3], int(export.reward_feed(batch)["answer_start"][0])
        assert got["ids"] == x[0].tolist(), (q, a)
        assert got["answerStart"] == start, (q, a)
        assert len(got["ids"]) <= BLOCK_SIZE and last[0] == len(got["ids"]) - 1
        cuts.append(got["cut"])
    assert cuts[-3] > 0 and cuts[-2] > 0 and cuts[0] == 0  # the long cases were cut, the short one not
    assert js["strip"] == [s.strip() for s in STRIPS]


MAX_ANSWERS = 8  # reward-scorer.js's limit on answer rows


def test_parse_presets():
    capital = {"label": "A capital", "question": "What is the capital of Spain?", "answers": ["Madrid.", "Rome."]}
    many = {"label": "Many", "question": "Q?", "answers": [f"A{i}." for i in range(MAX_ANSWERS + 2)]}
    valid = [[capital], [capital, many]]
    invalid = [
        None,  # no data-presets
        "",
        json.dumps([capital])[:-2],  # a typo: not JSON
        json.dumps(capital),  # not a list
        "[]",
        json.dumps([capital, {**capital, "answers": "Madrid."}]),  # answers not a list
        json.dumps([{**capital, "answers": []}]),
        json.dumps([{**capital, "answers": ["Madrid.", 3]}]),
        json.dumps([{**capital, "answers": ["Madrid.", "  "]}]),  # a blank answer could never be scored
        json.dumps([{k: v for k, v in capital.items() if k != "label"}]),
        json.dumps([{**capital, "question": " "}]),
        json.dumps([capital, None]),
    ]
    got = run_js([], [], [json.dumps(v) for v in valid] + invalid)["presets"]
    assert got[:2] == [[capital], [capital, {**many, "answers": many["answers"][:MAX_ANSWERS]}]]
    assert got[2:] == [None] * len(invalid)
