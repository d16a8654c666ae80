def gpt(params, ids, n_layer, n_head):
    """Token ids -> next-token logits at every position, and each layer's attention."""
    T = len(ids)
    x = params["wte"][ids] + params["wpe"][:T]        # what each token is + where it is
    attention = []
    for layer in range(n_layer):
        p = {name[len(f"h{layer}."):]: w for name, w in params.items() if name.startswith(f"h{layer}.")}
        x, weights = block(x, p, n_head)
        attention.append(weights)
    x = layer_norm(x, params["ln_f.g"], params["ln_f.b"])
    logits = x @ params["wte"].T                      # score every vocabulary entry
    return logits, attention

# Try it with random weights of the right shapes (training is what makes them useful).
rng = np.random.default_rng(0)
V, C, T_max, L, H = 50, 16, 8, 2, 4                   # vocab, width, context, layers, heads
shapes = {"wte": (V, C), "wpe": (T_max, C), "ln_f.g": (C,), "ln_f.b": (C,)}
for layer in range(L):
    shapes |= {f"h{layer}.{name}": shape for name, shape in {
        "ln1.g": (C,), "ln1.b": (C,), "attn.w_qkv": (C, 3 * C), "attn.b_qkv": (3 * C,),
        "attn.w_proj": (C, C), "attn.b_proj": (C,), "ln2.g": (C,), "ln2.b": (C,),
        "mlp.w_fc": (C, 4 * C), "mlp.b_fc": (4 * C,), "mlp.w_proj": (4 * C, C), "mlp.b_proj": (C,)}.items()}
params = {name: rng.normal(0, 0.2, shape) for name, shape in shapes.items()}
n_params = sum(w.size for w in params.values())

ids = [3, 14, 15, 9, 2]
logits, attention = gpt(params, ids, n_layer=L, n_head=H)
print(f"{n_params:,} parameters; {len(ids)} tokens in")
print("logits:", logits.shape, "= one score per vocabulary entry, at every position")
print("attention of layer 0:", attention[0].shape, "= (heads, query position, key position)")
print("head 0 of layer 0, rows sum to 1, zeros above the diagonal:")
print(attention[0][0].round(2))
