"""What Python and the page both define is defined the same way in both.

Python is the reference: the special tokens (model_export/tokenizer.py), the
chat template (model_export/chat.py) and the checkpoint list
(model_export/checkpoints.py). Their JavaScript twins are tokenizer.js, chat.js
and checkpoints.js under docs/javascripts; one node process reports them
(tests/js/shared_definitions_bridge.mjs).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_export import tokenizer  # noqa: E402
from model_export.chat import chat_prompt  # noqa: E402
from model_export.checkpoints import CHECKPOINTS  # noqa: E402

NODE = shutil.which("node")
BRIDGE = ROOT / "tests" / "js" / "shared_definitions_bridge.mjs"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run the page's modules")

QUESTIONS = [
    "",
    "What is the capital of France?",
    "  spaces around, and a\nnewline\t ",
    "Ünïcödé: 東京, emoji 🍕, a lone surrogate \ud800 and a combining e\u0301",
    "typed markers <|user|> <|assistant|> <|tool|> <|endoftext|> inside",
    "<|assistant|>",
    "$& $1 ${x} `backticks` \\ backslash",  # replacement patterns: a template must not expand them
]


@pytest.fixture(scope="module")
def js():
    # A lone surrogate travels as the escape \ud800 both ways (json.dumps, JSON.stringify).
    request = json.dumps({"questions": QUESTIONS}).encode()
    proc = subprocess.run([NODE, str(BRIDGE)], input=request, capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout.decode("utf-8"))


def test_special_tokens_and_their_order(js):
    assert js["specialTokens"] == tokenizer.SPECIAL_TOKENS
    want = {"EOT": tokenizer.EOT, "USER": tokenizer.USER, "ASSISTANT": tokenizer.ASSISTANT, "TOOL": tokenizer.TOOL}
    assert js["markers"] == want
    assert js["chatMarkers"] == want


def test_tokenizer_default_special_ids(js):
    """A tokenizer built without naming its special tokens numbers them as Python's does."""
    assert js["defaultSpecialIds"] == tokenizer.Tokenizer([]).special_ids


def test_chat_prompt(js):
    assert js["prompts"] == [chat_prompt(q) for q in QUESTIONS]


def test_checkpoints(js):
    assert js["checkpoints"] == [{k: c[k] for k in ("name", "file", "label")} for c in CHECKPOINTS]
