import numpy as np

x = np.array([0.5, -0.2])            # the input
W = np.array([[0.7, 0.2],
              [-0.1, 0.4]])          # the weights, as the explainers print them
b = np.array([0.1, -0.1])            # the biases

Wx_plus_b = W @ x + b                # column-vector convention: y = W x + b
xW_plus_b = x @ W + b                # row-vector convention:    y = x W + b

print("W @ x + b =", Wx_plus_b.round(4))
print("x @ W + b =", xW_plus_b.round(4))
print("x @ W equals W.T @ x:", np.allclose(x @ W, W.T @ x))
