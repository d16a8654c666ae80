# A transformer block, written out: the same arithmetic as the model behind this
# site's demos, minus the tricks that make its training fast.
import numpy as np

def layer_norm(x, g, b, eps=1e-5):
    # Rescale each token's vector to mean 0 and variance 1, then let the model
    # choose a scale g and shift b per feature: keeps the numbers well-behaved.
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g + b

def gelu(x):
    # A smooth ReLU: negative inputs fade out instead of being cut off.
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))

def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

def self_attention(x, w_qkv, b_qkv, w_proj, b_proj, n_head):
    T, C = x.shape
    d = C // n_head                                   # each head works in d dimensions
    q, k, v = np.split(x @ w_qkv + b_qkv, 3, axis=-1) # queries, keys, values: (T, C) each
    heads = lambda m: m.reshape(T, n_head, d).transpose(1, 0, 2)   # -> (n_head, T, d)
    q, k, v = heads(q), heads(k), heads(v)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)    # (n_head, T, T)
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    scores[:, future] = -np.inf                       # causal: no token sees the ones after it
    weights = softmax(scores)                         # each row sums to 1
    out = (weights @ v).transpose(1, 0, 2).reshape(T, C)   # heads side by side again
    return out @ w_proj + b_proj, weights

def block(x, p, n_head):
    # Each sub-layer reads a normalised copy and ADDS its result to x: the
    # "residual stream" carries every token's vector from block to block.
    attended, weights = self_attention(layer_norm(x, p["ln1.g"], p["ln1.b"]),
                                       p["attn.w_qkv"], p["attn.b_qkv"],
                                       p["attn.w_proj"], p["attn.b_proj"], n_head)
    x = x + attended                                  # tokens exchange information
    h = gelu(layer_norm(x, p["ln2.g"], p["ln2.b"]) @ p["mlp.w_fc"] + p["mlp.b_fc"])
    x = x + h @ p["mlp.w_proj"] + p["mlp.b_proj"]     # each token is processed on its own
    return x, weights
