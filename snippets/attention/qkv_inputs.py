import numpy as np

X = np.array([[1, 0, 1, 0],          # two tokens, four features each
              [0, 1, 0, 1]], dtype=float)
Q = np.array([[1, 1, 2], [1, 1, 1]], dtype=float)   # one query row per token
K = np.array([[0, 2, 1], [2, 1, 1]], dtype=float)   # one key row per token
V = np.array([[1, 2, 3], [1, 4, 0]], dtype=float)   # one value row per token

# In a real model Q, K and V are computed from X by learned matrices.
# The source gives Q directly; here is one W_Q that produces it (many do).
W_Q = np.array([[1, 1, 2],
                [1, 1, 1],
                [0, 0, 0],
                [0, 0, 0]], dtype=float)
print("X @ W_Q equals the stated Q:", np.array_equal(X @ W_Q, Q))
