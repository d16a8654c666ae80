class LiveRun:
    """What the live demo below drives: a fresh network, trained one step per call."""

    def __init__(self, seed=1):
        self.model = MLP([2, 3, 1], seed)
        self.steps = 0

    def step(self):
        params = self.model.parameters()
        before = [p.data for p in params]
        loss, predictions = train_step(self.model, learning_rate)
        self.steps += 1
        return {
            "step": self.steps,
            "loss": loss,
            "lr": learning_rate,
            "examples": [{"x": x, "target": y, "prediction": p.data}
                         for (x, y), p in zip(data, predictions)],
            "params": [{"name": name, "before": b, "grad": p.grad, "after": p.data}
                       for name, b, p in zip(self.model.parameter_names(), before, params)],
        }

trial = LiveRun()
first = trial.step()
print(f"step {first['step']}: loss {first['loss']:.4f}, learning rate {first['lr']}")
for row in first["params"][:3]:
    print(f"  {row['name']}: {row['before']:+.4f} - {first['lr']} * ({row['grad']:+.4f}) = {row['after']:+.4f}")
print(f"  ... and {len(first['params']) - 3} more parameters")
