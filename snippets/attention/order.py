def attend(X):                            # self-attention without a mask, as above
    Q, K, V = X @ W_Q, X @ W_K, X @ W_V
    return softmax(Q @ K.T / np.sqrt(d_k)) @ V

rng = np.random.default_rng(1)
words = {w: rng.standard_normal(4) for w in ("dog", "bites", "man")}   # made-up word vectors
a = np.stack([words[w] for w in ("dog", "bites", "man")])   # "dog bites man"
b = np.stack([words[w] for w in ("man", "bites", "dog")])   # "man bites dog"
print("'dog' in 'dog bites man':", attend(a)[0].round(3))
print("'dog' in 'man bites dog':", attend(b)[2].round(3))
order_blind = np.allclose(attend(a)[0], attend(b)[2])

P = rng.standard_normal((3, 4))           # one position vector per place: first, second, third
print("with positions added:")
print("'dog' in 'dog bites man':", attend(a + P)[0].round(3))
print("'dog' in 'man bites dog':", attend(b + P)[2].round(3))
