def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))   # subtracting the max changes nothing but avoids overflow
    return e / e.sum(axis=-1, keepdims=True)

d_k = K.shape[1]                          # 3: the length of each key
plain = softmax(scores)                   # softmax(Q K^T)
scaled = softmax(scores / np.sqrt(d_k))   # softmax(Q K^T / sqrt(d_k)): what a transformer uses
print("plain  softmax:\n", plain.round(4))
print("scaled softmax:\n", scaled.round(4))
