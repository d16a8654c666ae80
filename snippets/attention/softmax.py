def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))   # subtract the max: same result, no overflow
    return e / e.sum(axis=-1, keepdims=True)

d_k = K.shape[1]                                     # 3: the length of each key
plain = softmax(scores)                              # softmax(Q K^T)
scaled = softmax(scores / np.sqrt(d_k))              # softmax(Q K^T / sqrt(d_k))
stated = np.array([[0.35, 0.65], [0.36, 0.64]])

print("plain  softmax:\n", plain.round(4))
print("scaled softmax:\n", scaled.round(4))
print("largest gap, stated vs plain :", np.abs(stated - plain).max().round(4))
print("largest gap, stated vs scaled:", np.abs(stated - scaled).max().round(4))
