import math

# One neuron: two inputs, two weights, a bias, tanh. The same numbers as before.
x1, x2 = 0.5, -0.2           # the input
w1, w2, b = 0.7, -0.1, 0.1   # the neuron's parameters
y = 1.0                      # the desired output

def loss_of(w1, w2, b):
    a = math.tanh(w1 * x1 + w2 * x2 + b)   # forward pass: the prediction
    return (a - y) ** 2                    # squared error against the target

# Nudge w1 a tiny bit each way and watch the loss: the slope is rise over run.
h = 1e-6
slope_w1 = (loss_of(w1 + h, w2, b) - loss_of(w1 - h, w2, b)) / (2 * h)
print(f"loss at w1 = {w1}:        {loss_of(w1, w2, b):.8f}")
print(f"loss at w1 = {w1} + {h}: {loss_of(w1 + h, w2, b):.8f}")
print(f"slope dL/dw1 ≈ {slope_w1:.6f}")
