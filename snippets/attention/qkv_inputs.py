import numpy as np

tokens = ["Dogs", "bark"]              # a two-token text
X = np.array([[1, 0, 1, 0],           # "Dogs": its vector, four numbers
              [0, 1, 0, 1]], dtype=float)   # "bark"

# Three learned matrices turn each token's vector into a query, a key and a value.
# These are made up to give small round numbers; training would learn them.
W_Q = np.array([[1, 1, 2], [1, 1, 1], [0, 0, 0], [0, 0, 0]], dtype=float)
W_K = np.array([[0, 2, 1], [2, 1, 1], [0, 0, 0], [0, 0, 0]], dtype=float)
W_V = np.array([[1, 2, 3], [1, 4, 0], [0, 0, 0], [0, 0, 0]], dtype=float)

Q = X @ W_Q          # one row per token: what it is looking for
K = X @ W_K          # what it offers
V = X @ W_V          # what it hands over
for name, M in (("Q", Q), ("K", K), ("V", V)):
    print(name, "=", M.astype(int).tolist())
