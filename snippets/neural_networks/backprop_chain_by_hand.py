# Forward pass, keeping every intermediate value.
z = w1 * x1 + w2 * x2 + b   # the weighted sum
a = math.tanh(z)            # the activation: the prediction
L = (a - y) ** 2            # the loss

# Backward pass: start at the loss, multiply by one local derivative per step.
dL_da = 2 * (a - y)         # d/da (a - y)^2
dL_dz = dL_da * (1 - a**2)  # d/dz tanh(z) = 1 - tanh(z)^2
dL_dw1 = dL_dz * x1         # d/dw1 (w1*x1 + w2*x2 + b) = x1
dL_dw2 = dL_dz * x2         # d/dw2 (...) = x2
dL_db = dL_dz * 1.0         # d/db  (...) = 1

print(f"z = {z:.4f}, a = {a:.4f}, L = {L:.4f}")
print(f"dL/da = {dL_da:.6f}")
print(f"dL/dz = {dL_dz:.6f}")
print(f"dL/dw1 = {dL_dw1:.6f}   (nudging said {slope_w1:.6f})")
print(f"dL/dw2 = {dL_dw2:.6f}")
print(f"dL/db  = {dL_db:.6f}")
