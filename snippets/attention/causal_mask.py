T = len(tokens)
later = np.triu(np.ones((T, T), dtype=bool), k=1)   # True above the diagonal: a later token
masked_scores = np.where(later, -np.inf, scores / np.sqrt(d_k))
causal = softmax(masked_scores)           # e^(-inf) = 0: a later token gets no weight at all
causal_out = causal @ V
print("masked scores:\n", masked_scores.round(3))
print("weights:\n", causal.round(4))
print("output:\n", causal_out.round(3))
