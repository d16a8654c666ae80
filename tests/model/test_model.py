"""Gradient checks of every hand-written backward against central finite
differences (float64, tiny sizes), and KV-cache forward == full forward."""

import numpy as np
import pytest

from model_export import model as M

TINY = M.GPTConfig(vocab_size=11, n_layer=2, n_embd=8, n_head=2, block_size=6)


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of x (perturbed in place)."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def assert_close(a, b, tol=1e-6):
    err = np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a)) + np.max(np.abs(b)))
    assert err < tol, f"relative error {err}"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_layernorm_grad(rng):
    x, g, b = rng.normal(size=(2, 3, 5)), rng.normal(size=5), rng.normal(size=5)
    w = rng.normal(size=(2, 3, 5))  # loss = sum(w * y): dy = w
    loss = lambda: np.sum(w * M.layernorm_forward(x, g, b)[0])
    _, cache = M.layernorm_forward(x, g, b)
    dg, db = np.zeros(5), np.zeros(5)
    dx = M.layernorm_backward(w, cache, g, dg, db)
    assert_close(dx, numeric_grad(loss, x))
    assert_close(dg, numeric_grad(loss, g))
    assert_close(db, numeric_grad(loss, b))


def test_linear_grad(rng):
    x, W, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)
    w = rng.normal(size=(2, 3, 5))
    loss = lambda: np.sum(w * M.linear_forward(x, W, b))
    dW, db = np.zeros_like(W), np.zeros_like(b)
    dx = M.linear_backward(w, x, W, dW, db)
    assert_close(dx, numeric_grad(loss, x))
    assert_close(dW, numeric_grad(loss, W))
    assert_close(db, numeric_grad(loss, b))


def test_gelu_grad_and_value(rng):
    x = rng.normal(size=(3, 7)) * 3
    x[0, 0] = -60.0  # exp overflow branch
    y, s = M.gelu_forward(x)
    ref = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(y, ref, atol=1e-12)
    w = rng.normal(size=x.shape)
    dx = M.gelu_backward(w, x, s)
    assert_close(dx, numeric_grad(lambda: np.sum(w * M.gelu_forward(x)[0]), x))


def test_attention_grad(rng):
    B, T, C, H = 2, 4, 6, 2
    qkv = rng.normal(size=(B, T, 3 * C))
    w = rng.normal(size=(B, T, C))
    loss = lambda: np.sum(w * M.attention_forward(qkv, H)[0])
    _, cache = M.attention_forward(qkv, H)
    dqkv = M.attention_backward(w, cache)
    assert_close(dqkv, numeric_grad(loss, qkv))


def test_attention_is_causal(rng):
    qkv = rng.normal(size=(1, 5, 12))
    y1, cache = M.attention_forward(qkv, 2)
    qkv2 = qkv.copy()
    qkv2[0, 3:] = rng.normal(size=(2, 12))  # changing the future leaves the past unchanged
    y2, _ = M.attention_forward(qkv2, 2)
    np.testing.assert_allclose(y1[0, :3], y2[0, :3])
    att = cache[3]
    np.testing.assert_allclose(att.sum(-1), 1.0)
    assert np.all(np.triu(att[0, 0], 1) == 0)


def test_embedding_grad(rng):
    V, T, C = 7, 4, 3
    wte, wpe = rng.normal(size=(V, C)), rng.normal(size=(T + 2, C))
    idx = np.array([[1, 3, 1, 6], [3, 3, 0, 1]])
    w = rng.normal(size=(2, T, C))
    loss = lambda: np.sum(w * M.embedding_forward(wte, wpe, idx))
    dwte, dwpe = np.zeros_like(wte), np.zeros_like(wpe)
    M.embedding_backward(w, idx, dwte, dwpe)
    assert_close(dwte, numeric_grad(loss, wte))
    assert_close(dwpe, numeric_grad(loss, wpe))


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_grad(rng, weighted):
    logits = rng.normal(size=(2, 3, 5))
    targets = rng.integers(0, 5, size=(2, 3))
    weights = rng.normal(size=(2, 3)) if weighted else None  # negative weights too (policy gradient)
    loss = lambda: M.cross_entropy_forward(logits, targets, weights)[0]
    value, nll, cache = M.cross_entropy_forward(logits, targets, weights)
    lse = np.log(np.exp(logits).sum(-1))
    ref_nll = lse - np.take_along_axis(logits, targets[..., None], -1)[..., 0]
    np.testing.assert_allclose(nll, ref_nll)
    dlogits = M.cross_entropy_backward(cache, logits.shape)
    assert_close(dlogits, numeric_grad(loss, logits))


def _model_setup(seed=0):
    params = M.init_params(TINY, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    flat = M.flat_of(params)
    flat += rng.normal(size=flat.shape) * 0.3  # break the init's symmetry (zero biases, unit gains)
    idx = rng.integers(0, TINY.vocab_size, size=(2, 5))
    targets = rng.integers(0, TINY.vocab_size, size=(2, 5))
    return params, flat, idx, targets


@pytest.mark.parametrize("weighted", [False, True])
def test_whole_model_grad(weighted):
    params, flat, idx, targets = _model_setup()
    weights = None
    if weighted:  # SFT-style mask: loss only on the last tokens
        mask = np.zeros(targets.shape)
        mask[:, 3:] = 1
        weights = mask / mask.sum()
    loss = lambda: M.forward(params, TINY, idx, targets, weights)["loss"]
    out = M.forward(params, TINY, idx, targets, weights)
    gflat = np.zeros_like(flat)
    M.backward(params, TINY, out["cache"], M.views(gflat, TINY))
    assert_close(gflat, numeric_grad(loss, flat), tol=1e-5)


def test_grad_from_hidden_head():
    """A scalar head on the last position's hidden state (the reward model's shape)."""
    params, flat, idx, _ = _model_setup(3)
    head = np.random.default_rng(5).normal(size=TINY.n_embd)
    loss = lambda: float(np.sum(M.forward(params, TINY, idx)["hidden"][:, -1] @ head))
    out = M.forward(params, TINY, idx)
    dhidden = np.zeros_like(out["hidden"])
    dhidden[:, -1] = head
    gflat = np.zeros_like(flat)
    M.backward(params, TINY, out["cache"], M.views(gflat, TINY), dhidden=dhidden)
    assert_close(gflat, numeric_grad(loss, flat), tol=1e-5)


def test_kv_cache_equals_full_forward():
    params, _, idx, _ = _model_setup()
    full = M.forward(params, TINY, idx, return_attn=True)
    # whole sequence in one prefill
    logits, kv, attn = M.forward_step(params, TINY, idx, M.empty_kv(TINY, 2, np.float64), return_attn=True)
    np.testing.assert_allclose(logits, full["logits"], atol=1e-12)
    np.testing.assert_allclose(attn, full["attn"], atol=1e-12)
    # prefill 2 tokens then one at a time
    logits, kv = M.forward_step(params, TINY, idx[:, :2], M.empty_kv(TINY, 2, np.float64))
    steps = [logits]
    for t in range(2, idx.shape[1]):
        logits, kv = M.forward_step(params, TINY, idx[:, t:t + 1], kv)
        steps.append(logits)
    assert kv.shape == (TINY.n_layer, 2, 2, TINY.n_head, 5, TINY.head_dim)
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full["logits"], atol=1e-12)


def test_params_are_views_of_one_buffer():
    params = M.init_params(TINY, seed=0)
    flat = M.flat_of(params)
    assert flat.size == M.num_params(TINY)
    flat[:] = 0
    assert all(np.all(p == 0) for p in params.values())
    mask = M.decay_mask(TINY)
    assert M.views(mask, TINY)["h0.attn.w_qkv"].min() == 1 and M.views(mask, TINY)["h0.ln1.g"].max() == 0
