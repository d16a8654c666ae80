def descend(lr, steps=8, w=0.5):
    """Gradient descent on the one-weight model; the loss before each step and at the end."""
    losses = [loss_at(w)]
    for _ in range(steps):
        w = w - lr * 2 * (w * x - y) * x
        losses.append(loss_at(w))
    return losses

runs = {lr: descend(lr) for lr in (0.005, 0.05, 0.3)}
for lr, losses in runs.items():
    print(f"lr = {lr:<5}  loss: " + " ".join(f"{l:7.3f}" for l in losses))
