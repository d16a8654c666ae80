"""The optimizer, schedule and loop: correct, deterministic, and it learns."""

import json
import math

import numpy as np
import pytest

from model_export import model, train

TINY = model.GPTConfig(vocab_size=32, n_layer=1, n_embd=16, n_head=2, block_size=16)


def test_lr_schedule():
    tc = train.TrainConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    lrs = [train.lr_at(s, tc) for s in range(tc.steps)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)     # linear warm-up
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))                      # then only down
    assert lrs[-1] == pytest.approx(0.1, abs=1e-3)                             # to lr * min_lr_ratio


def test_clip_grad_norm():
    g = np.array([3.0, 4.0])
    assert train.clip_grad_norm_(g, 1.0) == pytest.approx(5.0)
    assert np.linalg.norm(g) == pytest.approx(1.0, rel=1e-5)
    g = np.array([0.3, 0.4])
    train.clip_grad_norm_(g, 1.0)
    np.testing.assert_array_equal(g, [0.3, 0.4])


def test_adamw_matches_textbook():
    tc = train.TrainConfig(weight_decay=0.1, beta1=0.9, beta2=0.99, eps=1e-8)
    rng = np.random.default_rng(0)
    p = rng.normal(size=6)
    mask = np.array([1, 1, 1, 0, 0, 0.0])
    opt = train.AdamW(p, mask, tc)
    ref, m, v = p.copy(), np.zeros(6), np.zeros(6)
    for t in range(1, 4):
        g = rng.normal(size=6)
        opt.step(g.copy(), lr=0.01)
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        ref = ref - 0.01 * 0.1 * mask * ref - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-8)
        np.testing.assert_allclose(p, ref, rtol=1e-12)


def _train_tiny(steps=40, seed=0):
    tc = train.TrainConfig(steps=steps, batch_size=8, lr=1e-2, warmup_steps=5, eval_every=20, eval_batches=2, seed=seed)
    # a learnable stream: a repeating pattern with some noise
    rng = np.random.default_rng(123)
    tokens = np.tile(np.arange(TINY.vocab_size), 300)
    noise = rng.random(tokens.size) < 0.1
    tokens[noise] = rng.integers(0, TINY.vocab_size, noise.sum())
    return train.pretrain(TINY, tc, tokens, tokens[:2000], log=None)


def test_training_is_bit_identical():
    a, ha = _train_tiny()
    b, hb = _train_tiny()
    assert model.flat_of(a).tobytes() == model.flat_of(b).tobytes()
    assert ha.train_loss == hb.train_loss
    c, _ = _train_tiny(seed=1)
    assert model.flat_of(a).tobytes() != model.flat_of(c).tobytes()


def test_training_learns():
    _, hist = _train_tiny(steps=60)
    assert hist.eval[-1]["val"] < 0.5 * math.log(TINY.vocab_size)
    assert hist.eval[-1]["val"] < hist.eval[0]["val"]


def test_weighted_loss_trains_only_masked_positions():
    """SFT-style: a loss mask that is zero everywhere but one position gives
    gradients only from that position's prediction."""
    params = model.init_params(TINY, seed=0, dtype=np.float64)
    x = np.arange(6)[None, :] % TINY.vocab_size
    y = (x + 1) % TINY.vocab_size
    grads_flat = np.zeros_like(model.flat_of(params))
    w = np.zeros((1, 6))
    w[0, 2] = 1.0
    loss = train.lm_loss_and_grads(params, TINY, model.views(grads_flat, TINY), (x, y, w))
    full = model.forward(params, TINY, x, y)
    assert loss == pytest.approx(full["nll"][0, 2])
    # positions after 2 cannot influence the prediction at 2: their position embeddings get no gradient
    assert np.all(model.views(grads_flat, TINY)["wpe"][3:] == 0)


@pytest.fixture(scope="module")
def smoke_dir():
    from model_export.build import ensure_artifacts
    return ensure_artifacts("smoke", log=None)


def test_smoke_build_learned(smoke_dir):
    report = json.loads((smoke_dir / "report.json").read_text())
    uniform = math.log(report["model"]["vocab_size"])
    assert report["final"]["val_loss"] < 0.6 * uniform
    assert report["final"]["train_loss"] < 0.6 * uniform
    assert report["loss_curve"]["train_loss"][-1] < report["loss_curve"]["train_loss"][0]


def test_data_parallel_matches_single_worker():
    """Two threads on two halves of the batch give the same gradient as one pass."""
    params = model.init_params(TINY, seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, TINY.vocab_size, (6, 8)), rng.integers(0, TINY.vocab_size, (6, 8))
    one = np.zeros_like(model.flat_of(params))
    loss1 = train.lm_loss_and_grads(params, TINY, model.views(one, TINY), (x, y))
    batch = (x, y, train.mean_weights(y, np.float64))
    two = np.zeros_like(one)
    dp = train.DataParallel(2, two, TINY)
    loss2 = dp(train.lm_loss_and_grads, params, two, batch)
    dp.close()
    assert loss2 == pytest.approx(loss1, rel=1e-12)
    np.testing.assert_allclose(two, one, rtol=1e-10, atol=1e-14)


def test_data_parallel_training_is_bit_identical():
    def run():
        tc = train.TrainConfig(steps=10, batch_size=8, lr=1e-2, warmup_steps=2, eval_every=5, eval_batches=1, workers=2)
        tokens = np.random.default_rng(0).integers(0, TINY.vocab_size, 5000)
        return train.pretrain(TINY, tc, tokens, tokens, log=None)[0]
    assert model.flat_of(run()).tobytes() == model.flat_of(run()).tobytes()
