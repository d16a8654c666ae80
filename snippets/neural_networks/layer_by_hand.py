# One layer of two neurons, in plain Python: no libraries at all.
# Each neuron multiplies every input by a weight, adds them up, adds its bias.
inputs = [0.5, -0.2]
weights = [[0.7, 0.2],    # the explainers' 2x2 weight table, as they print it
           [-0.1, 0.4]]
biases = [0.1, -0.1]

def neuron(ws, xs, b):
    return sum(w * x for w, x in zip(ws, xs)) + b

# Reading 1: row i of the table holds neuron i's weights (the "W x" convention).
by_rows = [neuron(weights[i], inputs, biases[i]) for i in range(2)]

# Reading 2: column j holds neuron j's weights (the "x W" convention).
columns = [[weights[0][j], weights[1][j]] for j in range(2)]
by_columns = [neuron(columns[j], inputs, biases[j]) for j in range(2)]

print("rows    as neurons:", [round(v, 2) for v in by_rows])
print("columns as neurons:", [round(v, 2) for v in by_columns])
