import math

# A tiny network: 2 inputs -> 2 hidden neurons (tanh) -> 1 output neuron (tanh).
# The hidden layer is the one from the previous chapter, one neuron per column.
hidden_w = [[0.7, -0.1],   # hidden neuron 1: a weight for each input
            [0.2, 0.4]]    # hidden neuron 2
hidden_b = [0.1, -0.1]
out_w = [1.5, -2.0]        # the output neuron: a weight for each hidden neuron
out_b = 0.3

def neuron(ws, xs, b):
    return math.tanh(sum(w * x for w, x in zip(ws, xs)) + b)

def forward(x):
    hidden = [neuron(ws, x, b) for ws, b in zip(hidden_w, hidden_b)]  # layer 1
    return neuron(out_w, hidden, out_b)                               # layer 2

# The task: answer +1 if the first input is larger than the second, else -1.
examples = [([0.5, -0.2], 1.0),
            ([-0.3, 0.8], -1.0),
            ([0.9, 0.1], 1.0),
            ([0.1, 0.6], -1.0)]

predictions = [forward(x) for x, _ in examples]
print("input          desired  predicted")
for (x, target), p in zip(examples, predictions):
    print(f"{str(x):<14} {target:+7.1f}  {p:+9.3f}")
