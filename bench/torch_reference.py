"""The same GPT in PyTorch, for speed comparison and gradient cross-checks only.

PyTorch is not a project dependency: bench_train.py imports this module only
when `torch` is importable. Weights are copied from model_export.model's
params (same names, same (in, out) layout), so both compute the same function.
"""

import math

import torch
import torch.nn.functional as F


class TorchGPT(torch.nn.Module):
    def __init__(self, params, config):
        super().__init__()
        self.config = config
        self.p = torch.nn.ParameterDict({k.replace(".", "_"): torch.nn.Parameter(torch.tensor(v)) for k, v in params.items()})

    def forward(self, idx, targets):
        c, p = self.config, self.p
        B, T = idx.shape
        C, H = c.n_embd, c.n_head
        x = p["wte"][idx] + p["wpe"][:T]
        for layer in range(c.n_layer):
            g = lambda n: p[f"h{layer}_{n}".replace(".", "_")]
            a = F.layer_norm(x, (C,), g("ln1.g"), g("ln1.b"))
            q, k, v = (a @ g("attn.w_qkv") + g("attn.b_qkv")).split(C, dim=-1)
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, C)
            x = x + y @ g("attn.w_proj") + g("attn.b_proj")
            m = F.layer_norm(x, (C,), g("ln2.g"), g("ln2.b"))
            x = x + F.gelu(m @ g("mlp.w_fc") + g("mlp.b_fc"), approximate="tanh") @ g("mlp.w_proj") + g("mlp.b_proj")
        logits = F.layer_norm(x, (C,), p["ln_f_g"], p["ln_f_b"]) @ p["wte"].T
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))

    def grads(self):
        return {k: v.grad.numpy() for k, v in self.p.items()}
