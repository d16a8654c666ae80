def numerical_grads(f, xs, h=1e-6):
    """The slope of f in each input, by nudging it (two forward passes each)."""
    grads = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        grads.append((f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * h))
    return grads

def backprop_grads(f, xs):
    """The same slopes from one forward and one backward pass."""
    vs = [Value(x) for x in xs]
    f(*vs).backward()
    return [v.grad for v in vs]

def two_class_loss(w1, w2, b):
    """Cross-entropy of a two-way softmax: exercises exp, log and division."""
    z1 = w1 * inputs[0] + b
    z2 = w2 * inputs[1] - b
    p1 = z1.exp() / (z1.exp() + z2.exp())   # softmax probability of class 1
    return -p1.log()                        # class 1 is the correct one

tolerance = 1e-8   # nudging by h = 1e-6 is itself only this accurate
worst = 0.0
for f in (neuron_loss, two_class_loss):
    print(f.__name__)
    xs = [0.7, -0.1, 0.1]
    for name, bp, num in zip(["w1", "w2", "b"], backprop_grads(f, xs), numerical_grads(f, xs)):
        worst = max(worst, abs(bp - num))
        verdict = "agree" if abs(bp - num) < tolerance else "DISAGREE"
        print(f"  dL/d{name}: backprop {bp:+.6f}  nudging {num:+.6f}  {verdict}")
print(f"every difference below {tolerance}:", worst < tolerance)
