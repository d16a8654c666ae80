import random

class Neuron:
    def __init__(self, n_inputs, rng):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(n_inputs)]  # random start
        self.b = Value(rng.uniform(-1, 1))

    def __call__(self, xs):
        return sum((w * x for w, x in zip(self.w, xs)), self.b).tanh()

    def parameters(self):
        return self.w + [self.b]

class Layer:
    def __init__(self, n_inputs, n_neurons, rng):
        self.neurons = [Neuron(n_inputs, rng) for _ in range(n_neurons)]

    def __call__(self, xs):
        return [n(xs) for n in self.neurons]

class MLP:
    """A multi-layer perceptron: layers of neurons, each feeding the next."""

    def __init__(self, sizes, seed):
        rng = random.Random(seed)   # a seeded generator: the same start every time
        self.layers = [Layer(a, b, rng) for a, b in zip(sizes, sizes[1:])]

    def __call__(self, xs):
        for layer in self.layers:
            xs = layer(xs)
        return xs[0]                # the network's single output

    def parameters(self):
        return [p for layer in self.layers for n in layer.neurons for p in n.parameters()]

    def parameter_names(self):
        """Readable names: h1.w2 is hidden neuron 1's weight for input 2."""
        names, hidden = [], len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            for j, n in enumerate(layer.neurons):
                if i == hidden:
                    unit = "out" if len(layer.neurons) == 1 else f"out{j + 1}"
                else:
                    unit = f"h{j + 1}" if hidden == 1 else f"L{i + 1}.h{j + 1}"
                names += [f"{unit}.w{k + 1}" for k in range(len(n.w))] + [f"{unit}.b"]
        return names

# XOR: +1 when exactly one input is positive, -1 when both have the same sign.
data = [([-1.0, -1.0], -1.0),
        ([-1.0, 1.0], 1.0),
        ([1.0, -1.0], 1.0),
        ([1.0, 1.0], -1.0)]

model = MLP([2, 3, 1], seed=1)      # 2 inputs, 3 hidden neurons, 1 output
print(len(model.parameters()), "parameters:", ", ".join(model.parameter_names()))
print("untrained predictions:", [round(model(x).data, 3) for x, _ in data])
print("targets:              ", [y for _, y in data])
