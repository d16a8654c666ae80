"""Make `import model_export` work however pytest is started, and the small
fixtures several stage tests share (a test module may define its own instead)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from model_export import model  # noqa: E402
from model_export import world as W  # noqa: E402
from model_export.tokenizer import train_bpe  # noqa: E402


@pytest.fixture(scope="module")
def world():
    return W.make_world(0)


@pytest.fixture(scope="module")
def tok(world):
    """A 300-token BPE trained on part of the validation documents: quick, and enough for tiny models."""
    return train_bpe(W.pretrain_documents(world, "val", 0)[:400], vocab_size=300)


@pytest.fixture(scope="module")
def tiny(tok):
    return model.GPTConfig(vocab_size=tok.vocab_size, n_layer=1, n_embd=32, n_head=2, block_size=64)
