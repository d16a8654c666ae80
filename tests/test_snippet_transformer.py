"""The transformer chapter's plain numpy GPT computes exactly what the site's model computes."""

from pathlib import Path

import numpy as np

from model_export import model
from sitebuild import cellrun

ROOT = Path(__file__).resolve().parent.parent


def chapter_namespace():
    namespace = cellrun.new_namespace()
    for name in ("block.py", "gpt.py"):
        items = cellrun.run_cell((ROOT / "snippets" / "transformer" / name).read_text(), namespace)
        assert not any(i["type"] == "error" for i in items), items
    return namespace


def test_page_gpt_matches_model_export_forward():
    gpt = chapter_namespace()["gpt"]
    config = model.GPTConfig(vocab_size=40, n_layer=2, n_embd=24, n_head=3, block_size=16)
    params = model.init_params(config, seed=3, dtype=np.float64)
    rng = np.random.default_rng(1)
    for name in params:  # move LayerNorm/bias params off their init values, so they matter
        params[name][...] += rng.normal(0, 0.05, params[name].shape)
    ids = rng.integers(0, config.vocab_size, size=11)
    logits, attention = gpt(params, ids, n_layer=config.n_layer, n_head=config.n_head)
    ref = model.forward(params, config, ids[None, :], return_attn=True)
    np.testing.assert_allclose(logits, ref["logits"][0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.stack(attention), ref["attn"][:, 0], rtol=1e-9, atol=1e-12)
