"""The tokens chapter's 25-line encoder gives exactly the real tokenizer's ids."""

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from model_export.tokenizer import Tokenizer
from sitebuild import cellrun

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "tokenizer_small.json"
VECTORS = json.loads((ROOT / "tests" / "data" / "tokenizer_vectors.json").read_text())
# The page's short encoder skips one rule of the real one: a lone UTF-16
# surrogate (not a character; Python strings can hold one) becomes U+FFFD.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@pytest.fixture(scope="module")
def cell_encode(tmp_path_factory):
    folder = tmp_path_factory.mktemp("artifacts")
    shutil.copy(SMALL, folder / "tokenizer.json")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GUIDE_ARTIFACTS", str(folder))
        namespace = cellrun.new_namespace()
        items = cellrun.run_cell((ROOT / "snippets" / "tokens" / "site_tokenizer.py").read_text(), namespace)
    assert not any(i["type"] == "error" for i in items), items
    return namespace["encode"]


def test_cell_encoder_matches_vectors(cell_encode):
    cases = [c for c in VECTORS if not c["allow_special"] and not LONE_SURROGATE.search(c["text"])]
    assert len(cases) > 10
    for case in cases:
        assert cell_encode(case["text"]) == case["ids"], case["text"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_cell_encoder_matches_tokenizer_on_any_text(cell_encode, text):
    assert cell_encode(text) == Tokenizer.load(SMALL).encode(text)
