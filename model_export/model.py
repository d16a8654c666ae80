"""A tiny GPT in plain numpy: forward pass, hand-written backward pass, KV cache.

The architecture is GPT-2's, shrunk:

    x = wte[idx] + wpe[pos]                      token + learned position embeddings
    for each block:
        x = x + proj(attention(ln1(x)))          pre-LayerNorm, causal multi-head attention
        x = x + mlp_proj(gelu(fc(ln2(x))))       4x wide MLP, GELU (tanh approximation)
    logits = ln_f(x) @ wte.T                     output projection tied to the token embedding

Every operation is a pair of functions: `*_forward` computes the output and
returns a `cache` of what the backward pass needs; `*_backward` takes the
gradient of the loss with respect to the output and applies the chain rule to
return gradients with respect to the inputs and parameters.

Conventions
- Linear layers compute `x @ w + b` with `w` shaped (in, out).
- Parameters live in one flat float vector; `params` is a dict of named views
  into it. Gradients use the same layout, so the optimizer updates everything
  in one pass over two flat arrays (see train.py).
- The loss is a weighted sum of per-token negative log-likelihoods. The default
  weights are 1/(number of tokens), giving the usual mean. Instruction tuning
  passes a mask normalised to sum to one (loss only on response tokens); policy
  gradient passes advantage / count (a negative weight pushes a token down).
- Every function works in float32 (training) and float64 (gradient checks):
  it follows the dtype of its inputs.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace

import numpy as np


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 512
    n_layer: int = 3
    n_embd: int = 96
    n_head: int = 4
    block_size: int = 128  # the context window: the most positions the model can see

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------
# Parameters: named views into one flat buffer


def param_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter, in a fixed order (the flat layout)."""
    C, V = config.n_embd, config.vocab_size
    shapes = {"wte": (V, C), "wpe": (config.block_size, C)}
    for layer in range(config.n_layer):
        p = f"h{layer}."
        shapes |= {
            p + "ln1.g": (C,), p + "ln1.b": (C,),
            p + "attn.w_qkv": (C, 3 * C), p + "attn.b_qkv": (3 * C,),
            p + "attn.w_proj": (C, C), p + "attn.b_proj": (C,),
            p + "ln2.g": (C,), p + "ln2.b": (C,),
            p + "mlp.w_fc": (C, 4 * C), p + "mlp.b_fc": (4 * C,),
            p + "mlp.w_proj": (4 * C, C), p + "mlp.b_proj": (C,),
        }
    shapes |= {"ln_f.g": (C,), "ln_f.b": (C,)}
    return shapes


def num_params(config: GPTConfig) -> int:
    return sum(math.prod(s) for s in param_shapes(config).values())


def views(flat: np.ndarray, config: GPTConfig) -> dict[str, np.ndarray]:
    """Split a flat vector into named, correctly shaped views (no copies)."""
    out, offset = {}, 0
    for name, shape in param_shapes(config).items():
        size = math.prod(shape)
        out[name] = flat[offset:offset + size].reshape(shape)
        offset += size
    return out


def init_params(config: GPTConfig, seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    """GPT-2 initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm gains.

    The two projections that write into the residual stream get their std
    shrunk by 1/sqrt(2 * n_layer) so the stream's variance does not grow with depth.
    """
    rng = np.random.default_rng(seed)
    flat = np.zeros(num_params(config), dtype=dtype)
    params = views(flat, config)
    for name, p in params.items():
        if name.endswith((".g",)):
            p[...] = 1.0
        elif p.ndim == 2:
            std = 0.02 / math.sqrt(2 * config.n_layer) if name.endswith("w_proj") else 0.02
            p[...] = rng.normal(0.0, std, size=p.shape)
    return params


def flat_of(params: dict[str, np.ndarray]) -> np.ndarray:
    """The flat buffer behind `params` (they are views of one array)."""
    base = params["wte"].base
    assert base is not None and base.ndim == 1
    return base


def decay_mask(config: GPTConfig, dtype=np.float32) -> np.ndarray:
    """1 for parameters that get weight decay (matrices and embeddings), 0 for
    LayerNorm gains and biases: shrinking a gain or a bias toward zero does not
    limit the model's capacity the way shrinking a weight matrix does, it just
    fights the normalisation."""
    mask = np.zeros(num_params(config), dtype=dtype)
    for name, v in views(mask, config).items():
        if v.ndim == 2:
            v[...] = 1.0
    return mask


# ----------------------------------------------------------------------------
# The operations, each a forward/backward pair


def embedding_forward(wte, wpe, idx):
    """x[b, t] = wte[idx[b, t]] + wpe[t]"""
    T = idx.shape[1]
    return wte[idx] + wpe[:T]


def embedding_backward(dx, idx, dwte, dwpe):
    """Each row of wte receives the sum of dx over the positions where its token
    appeared. Sorting the token ids and summing runs of equal ids is much faster
    than np.add.at's scatter. Accumulates into dwte (the tied output projection
    also writes there) and writes dwpe."""
    C = dx.shape[-1]
    dx = dx.reshape(-1, C)
    ids = idx.reshape(-1)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    dwte[sorted_ids[starts]] += np.add.reduceat(dx[order], starts, axis=0)
    T = idx.shape[1]
    dwpe[:T] = dx.reshape(-1, T, C).sum(axis=0)
    dwpe[T:] = 0.0


def rowsum(x):
    """Sum over the last axis, as a matrix-vector product: BLAS does it 5-10x
    faster than numpy's reduction over short rows (the hot loops of LayerNorm,
    softmax and their backward passes are such sums)."""
    return x @ np.ones(x.shape[-1], dtype=x.dtype)


def colsum(x):
    """Sum over every axis but the last (a bias's gradient), also via BLAS."""
    x2 = x.reshape(-1, x.shape[-1])
    return np.ones(x2.shape[0], dtype=x.dtype) @ x2


def layernorm_forward(x, g, b, eps=1e-5):
    """y = g * (x - mean) / sqrt(var + eps) + b, over the last axis."""
    C = x.shape[-1]
    xc = x - (rowsum(x) / C)[..., None]
    rstd = 1.0 / np.sqrt(rowsum(xc * xc) / C + eps)
    xhat = xc
    xhat *= rstd[..., None]
    y = xhat * g
    y += b
    return y, (xhat, rstd)


def layernorm_backward(dy, cache, g, dg, db):
    """With xhat = (x - mean) * rstd and y = g * xhat + b, the chain rule through
    mean and var gives dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
    where dxhat = dy * g. The two means are matrix-vector products with g:
    mean(dxhat) = (dy @ g) / C and mean(dxhat * xhat) = ((dy * xhat) @ g) / C."""
    xhat, rstd = cache
    C = dy.shape[-1]
    dy_xhat = dy * xhat
    dg[...] = colsum(dy_xhat)
    db[...] = colsum(dy)
    mean_dxhat = (dy @ g) / C
    mean_dxhat_xhat = (dy_xhat @ g) / C
    dx = dy * g
    dx -= mean_dxhat[..., None]
    dy_xhat = np.multiply(xhat, mean_dxhat_xhat[..., None], out=dy_xhat)  # reuse the buffer
    dx -= dy_xhat
    dx *= rstd[..., None]
    return dx


def linear_forward(x, w, b):
    """y = x @ w + b, for x of any leading shape."""
    # one 2-D matrix product (numpy would loop over a 3-D x's leading axis)
    y = x.reshape(-1, x.shape[-1]) @ w
    y += b  # in place: no second (B, T, out) temporary
    return y.reshape(*x.shape[:-1], w.shape[1])


def linear_backward(dy, x, w, dw, db):
    """dx = dy @ w.T;  dw = x.T @ dy;  db = sum of dy (over all leading axes)."""
    x2, dy2 = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])
    np.matmul(x2.T, dy2, out=dw)
    db[...] = colsum(dy2)
    return (dy2 @ w.T).reshape(x.shape)


GELU_K = math.sqrt(2.0 / math.pi)


def gelu_forward(x):
    """GELU, tanh approximation: 0.5 x (1 + tanh(u)), u = k (x + 0.044715 x^3).
    Since 0.5 (1 + tanh(u)) = sigmoid(2u) = 1 / (1 + exp(-2u)), this is x * s
    with s = sigmoid(2u): one exp instead of a tanh (about twice as fast in
    numpy). Written as in-place steps to avoid temporaries. Returns (y, s)."""
    s = x * x
    s *= 0.044715
    s += 1.0
    s *= x
    s *= -2.0 * GELU_K                # -2u
    with np.errstate(over="ignore"):  # exp overflows to inf for very negative x; s -> 0 is right
        np.exp(s, out=s)
    s += 1.0
    np.reciprocal(s, out=s)           # s = sigmoid(2u)
    return x * s, s


def gelu_backward(dy, x, s):
    """d/dx [x s] = s + x s'(x), where s = sigmoid(2u) has s' = s (1 - s) 2 du/dx
    and du/dx = k (1 + 3 * 0.044715 x^2). Factored: s (1 + x (1 - s) 2k (1 + 3 * 0.044715 x^2))."""
    d = x * x
    d *= 2.0 * GELU_K * 3 * 0.044715
    d += 2.0 * GELU_K                 # 2 du/dx
    d *= x
    d *= 1.0 - s
    d += 1.0
    d *= s
    d *= dy
    return d


def split_heads(x, n_head):
    """(B, T, C) -> (B, n_head, T, head_dim)"""
    B, T, C = x.shape
    return x.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)


def merge_heads(x):
    """(B, n_head, T, head_dim) -> (B, T, C)"""
    B, H, T, D = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * D)


def causal_mask(T_query, T_key, dtype):
    """Additive mask: 0 where query i may see key j (j <= i + past), -inf after it."""
    past = T_key - T_query
    allowed = np.arange(T_key)[None, :] <= past + np.arange(T_query)[:, None]
    return np.where(allowed, 0.0, -np.inf).astype(dtype)


def softmax_lastaxis_(scores):
    """Softmax over the last axis, in place (saves an allocation per layer)."""
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= rowsum(scores)[..., None]
    return scores


def attention_forward(qkv, n_head):
    """Causal multi-head self-attention on the packed projections qkv (B, T, 3C).

    out = softmax(q k^T / sqrt(d) + mask) v, per head. The 1/sqrt(d) scale is
    folded into q (B*T*C multiplies instead of B*H*T*T)."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    scale = 1.0 / math.sqrt(C // n_head)
    q = split_heads(qkv[..., :C] * scale, n_head)
    k = split_heads(qkv[..., C:2 * C], n_head)
    v = split_heads(qkv[..., 2 * C:], n_head)
    att = q @ k.transpose(0, 1, 3, 2)            # (B, H, T, T) scores
    att += causal_mask(T, T, att.dtype)
    softmax_lastaxis_(att)                        # now probabilities
    y = merge_heads(att @ v)
    return y, (q, k, v, att, scale)


def attention_backward(dy, cache):
    """Backward through y = P v, P = softmax(S), S = q k^T (+ mask).
    dP = dy v^T;  dv = P^T dy;  dS = P * (dP - sum(dP * P));  dq = dS k;  dk = dS^T q.
    Masked entries have P = 0, so dS is 0 there without another mask."""
    q, k, v, att, scale = cache
    n_head = q.shape[1]
    dy = split_heads(dy, n_head)
    datt = dy @ v.transpose(0, 1, 3, 2)
    dv = att.transpose(0, 1, 3, 2) @ dy
    datt -= rowsum(datt * att)[..., None]
    datt *= att                                   # now dS
    dq = (datt @ k) * scale                       # chain rule through q = q_raw * scale
    dk = datt.transpose(0, 1, 3, 2) @ q
    return np.concatenate([merge_heads(dq), merge_heads(dk), merge_heads(dv)], axis=-1)


def cross_entropy_forward(logits, targets, weights=None):
    """Per-token negative log-likelihood and their weighted sum.

    nll[b, t] = logsumexp(logits[b, t]) - logits[b, t, targets[b, t]]
    loss = sum(weights * nll); default weights = 1/N (the mean).
    Returns (loss, nll, cache); -nll are the per-token log-probabilities RL needs."""
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    t = targets.reshape(-1)
    z = z - z.max(axis=-1, keepdims=True)
    probs = np.exp(z)
    sumexp = rowsum(probs)[:, None]
    probs /= sumexp
    rows = np.arange(t.size)
    nll = (np.log(sumexp[:, 0]) - z[rows, t]).reshape(targets.shape)
    if weights is None:
        weights = np.full(targets.shape, 1.0 / targets.size, dtype=logits.dtype)
    loss = float(np.sum(weights * nll))
    return loss, nll, (probs, t, weights)


def cross_entropy_backward(cache, shape):
    """d nll / d logits = softmax(logits) - onehot(target), scaled by each token's weight."""
    probs, t, weights = cache
    dlogits = probs  # reuse the buffer: probs is not needed after this
    dlogits[np.arange(t.size), t] -= 1.0
    dlogits *= weights.reshape(-1, 1).astype(dlogits.dtype)
    return dlogits.reshape(shape)


# ----------------------------------------------------------------------------
# The whole model


def forward(params, config: GPTConfig, idx, targets=None, weights=None, return_attn=False):
    """Full forward pass over a batch idx (B, T) of token ids.

    Returns a dict with
      logits (B, T, V); hidden (B, T, C), the final LayerNorm's output (a reward
      head can read it); and, when targets are given, loss (float) and nll
      (B, T); attn [n_layer, B, n_head, T, T] when return_attn; and `cache`,
      everything backward() needs."""
    B, T = idx.shape
    assert T <= config.block_size, f"sequence of {T} tokens exceeds block_size {config.block_size}"
    x = embedding_forward(params["wte"], params["wpe"], idx)  # a fresh array: the residual stream, updated in place
    layers = []
    for layer in range(config.n_layer):
        p = f"h{layer}."
        a_in, ln1_cache = layernorm_forward(x, params[p + "ln1.g"], params[p + "ln1.b"])
        qkv = linear_forward(a_in, params[p + "attn.w_qkv"], params[p + "attn.b_qkv"])
        a_out, attn_cache = attention_forward(qkv, config.n_head)
        x += linear_forward(a_out, params[p + "attn.w_proj"], params[p + "attn.b_proj"])
        m_in, ln2_cache = layernorm_forward(x, params[p + "ln2.g"], params[p + "ln2.b"])
        fc = linear_forward(m_in, params[p + "mlp.w_fc"], params[p + "mlp.b_fc"])
        act, gelu_s = gelu_forward(fc)
        x += linear_forward(act, params[p + "mlp.w_proj"], params[p + "mlp.b_proj"])
        layers.append((a_in, ln1_cache, attn_cache, a_out, ln2_cache, m_in, fc, act, gelu_s))
    hidden, lnf_cache = layernorm_forward(x, params["ln_f.g"], params["ln_f.b"])
    logits = hidden @ params["wte"].T
    out = {"logits": logits, "hidden": hidden}
    cache = {"idx": idx, "layers": layers, "lnf": lnf_cache, "hidden": hidden}
    if targets is not None:
        out["loss"], out["nll"], cache["ce"] = cross_entropy_forward(logits, targets, weights)
    if return_attn:
        out["attn"] = np.stack([c[2][3] for c in layers])
    out["cache"] = cache
    return out


def logit_lens(params, config: GPTConfig, idx):
    """The logit lens (nostalgebraist, 2020): what the model would predict if it
    stopped after block 1, 2, ..., n_layer, i.e. the final LayerNorm and the tied
    head applied to the residual stream after each block. Returns logits
    [n_layer, B, T, V]; the last row is forward()'s logits, bit for bit.

    A model cut after block l is this model with n_layer = l + 1 (forward reads
    only the blocks it loops over, then ln_f and the head), so the lens is
    forward() on ever deeper cuts."""
    return np.stack([forward(params, replace(config, n_layer=depth), idx)["logits"]
                     for depth in range(1, config.n_layer + 1)])


def backward(params, config: GPTConfig, cache, grads, dlogits=None, dhidden=None):
    """Gradients of the loss for every parameter, written into `grads` (views of
    one flat buffer, same names as params).

    The gradient flows in from the logits (dlogits; by default the one from the
    cross-entropy computed in forward) and/or from a head reading `hidden`
    (dhidden, e.g. a reward model's scalar head). The forward's cache is
    consumed (buffers are reused)."""
    hidden = cache["hidden"]
    B, T, C = hidden.shape
    wte = params["wte"]
    if dlogits is None and "ce" in cache:
        dlogits = cross_entropy_backward(cache["ce"], (B, T, config.vocab_size))
    dhid = np.zeros_like(hidden) if dhidden is None else dhidden.copy()
    if dlogits is not None:
        # logits = hidden @ wte.T: the tied embedding gets the output projection's gradient
        dl2 = dlogits.reshape(-1, config.vocab_size)
        np.matmul(dl2.T, hidden.reshape(-1, C), out=grads["wte"])
        dhid += dlogits @ wte
    else:
        grads["wte"][...] = 0.0
    dx = layernorm_backward(dhid, cache["lnf"], params["ln_f.g"], grads["ln_f.g"], grads["ln_f.b"])
    for layer in reversed(range(config.n_layer)):
        p = f"h{layer}."
        a_in, ln1_cache, attn_cache, a_out, ln2_cache, m_in, fc, act, gelu_s = cache["layers"][layer]
        # x_out = x_mid + mlp_proj(gelu(fc(ln2(x_mid)))): the residual passes dx straight through
        dact = linear_backward(dx, act, params[p + "mlp.w_proj"], grads[p + "mlp.w_proj"], grads[p + "mlp.b_proj"])
        dfc = gelu_backward(dact, fc, gelu_s)
        dm_in = linear_backward(dfc, m_in, params[p + "mlp.w_fc"], grads[p + "mlp.w_fc"], grads[p + "mlp.b_fc"])
        dx += layernorm_backward(dm_in, ln2_cache, params[p + "ln2.g"], grads[p + "ln2.g"], grads[p + "ln2.b"])
        # x_mid = x_in + proj(attention(qkv(ln1(x_in))))
        da_out = linear_backward(dx, a_out, params[p + "attn.w_proj"], grads[p + "attn.w_proj"], grads[p + "attn.b_proj"])
        dqkv = attention_backward(da_out, attn_cache)
        da_in = linear_backward(dqkv, a_in, params[p + "attn.w_qkv"], grads[p + "attn.w_qkv"], grads[p + "attn.b_qkv"])
        dx += layernorm_backward(da_in, ln1_cache, params[p + "ln1.g"], grads[p + "ln1.g"], grads[p + "ln1.b"])
    embedding_backward(dx, cache["idx"], grads["wte"], grads["wpe"])
    return grads


# ----------------------------------------------------------------------------
# Inference with a KV cache


def empty_kv(config: GPTConfig, batch: int = 1, dtype=np.float32):
    """The key/value cache for zero past tokens: [n_layer, 2, B, n_head, 0, head_dim]."""
    return np.zeros((config.n_layer, 2, batch, config.n_head, 0, config.head_dim), dtype=dtype)


def forward_step(params, config: GPTConfig, idx, past_kv, return_attn=False):
    """Forward the new tokens idx (B, T) given the keys/values of the P tokens
    before them, past_kv [n_layer, 2, B, n_head, P, head_dim].

    Returns (logits (B, T, V), present_kv with P + T positions[, attn
    [n_layer, B, n_head, T, P + T]]). A prompt is one call with an empty
    past (prefill); each generated token is one more call with T = 1. Positions
    continue from P, and each new query sees all P past keys plus the new keys
    up to itself, so the result equals forward() on the whole sequence."""
    B, T = idx.shape
    P = past_kv.shape[4]
    assert P + T <= config.block_size, "context window exceeded: drop the oldest tokens and re-prefill"
    x = params["wte"][idx] + params["wpe"][P:P + T]
    presents, attns = [], []
    mask = causal_mask(T, P + T, x.dtype)
    C, H = config.n_embd, config.n_head
    for layer in range(config.n_layer):
        p = f"h{layer}."
        a_in, _ = layernorm_forward(x, params[p + "ln1.g"], params[p + "ln1.b"])
        qkv = linear_forward(a_in, params[p + "attn.w_qkv"], params[p + "attn.b_qkv"])
        q = split_heads(qkv[..., :C] / math.sqrt(C // H), H)
        k = np.concatenate([past_kv[layer, 0], split_heads(qkv[..., C:2 * C], H)], axis=2)
        v = np.concatenate([past_kv[layer, 1], split_heads(qkv[..., 2 * C:], H)], axis=2)
        att = softmax_lastaxis_(q @ k.transpose(0, 1, 3, 2) + mask)
        x = x + linear_forward(merge_heads(att @ v), params[p + "attn.w_proj"], params[p + "attn.b_proj"])
        m_in, _ = layernorm_forward(x, params[p + "ln2.g"], params[p + "ln2.b"])
        act, _ = gelu_forward(linear_forward(m_in, params[p + "mlp.w_fc"], params[p + "mlp.b_fc"]))
        x = x + linear_forward(act, params[p + "mlp.w_proj"], params[p + "mlp.b_proj"])
        presents.append(np.stack([k, v]))
        attns.append(att)
    hidden, _ = layernorm_forward(x, params["ln_f.g"], params["ln_f.b"])
    logits = hidden @ params["wte"].T
    present = np.stack(presents)
    return (logits, present, np.stack(attns)) if return_attn else (logits, present)


def save_params(path, params, config: GPTConfig):
    """One .npz: every parameter by name, plus the config as a JSON string."""
    np.savez(path, config=np.array(json.dumps(config.to_dict())), **params)


def load_params(path):
    """Returns (params as views of one flat buffer, config)."""
    data = np.load(path)
    config = GPTConfig(**json.loads(str(data["config"])))
    flat = np.zeros(num_params(config), dtype=data["wte"].dtype)
    params = views(flat, config)
    for name, p in params.items():
        p[...] = data[name]
    return params, config


# ----------------------------------------------------------------------------
# Sequences of unequal length in one batch


def pad_sequences(seqs: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows padded at the end to the longest, and each row's last real position.
    Causal attention means a real token never sees the padding after it."""
    T = max(map(len, seqs))
    x = np.full((len(seqs), T), pad_id, dtype=np.int64)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = s
    return x, np.array([len(s) - 1 for s in seqs])


def token_logprobs(params, config: GPTConfig, seqs: list[list[int]], starts: list[int], pad_id: int) -> list[np.ndarray]:
    """log p of each token of seqs[i][starts[i]:] given what precedes it (one full forward)."""
    x, _ = pad_sequences([s[:-1] for s in seqs], pad_id)
    y, _ = pad_sequences([s[1:] for s in seqs], pad_id)
    nll = forward(params, config, x, y)["nll"]
    return [-nll[i, starts[i] - 1:len(s) - 1].astype(np.float64) for i, s in enumerate(seqs)]
