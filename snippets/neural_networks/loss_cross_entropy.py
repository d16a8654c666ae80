import math

# A next-token prediction: after "The cat sat on the", the right token is "mat".
vocab = ["mat", "sofa", "roof", "moon", "banana"]
correct = vocab.index("mat")

def softmax(logits):
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]   # minus the max: exp cannot overflow
    total = sum(exps)
    return [e / total for e in exps]             # positive, and they sum to 1

# Three models' raw scores (logits) for the five tokens, in vocab order.
models = {
    "confident, right": [6.0, 2.0, 1.0, -1.0, -3.0],
    "unsure":           [1.0, 0.8, 0.6, 0.0, -1.0],
    "confident, wrong": [-1.0, 1.0, 0.5, 6.0, 0.0],
}
ce = {}
for name, logits in models.items():
    p = softmax(logits)
    ce[name] = -math.log(p[correct])   # cross-entropy: -log p(correct token)
    print(f"{name:<17} p(mat) = {p[correct]:.4f}   loss = {ce[name]:.3f}")
