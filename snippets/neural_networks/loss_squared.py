# Squared error: how far each prediction is from its target, squared.
errors = [(p - target) ** 2 for (_, target), p in zip(examples, predictions)]
mse = sum(errors) / len(errors)   # mean squared error: one number for all four

for (x, target), p, e in zip(examples, predictions, errors):
    print(f"{str(x):<14} predicted {p:+.3f}, desired {target:+.0f}: squared error {e:.3f}")
print(f"mean squared error = {mse:.4f}")
