# The neuron from the top of the page, built from Values this time.
params = {"w1": Value(0.7), "w2": Value(-0.1), "b": Value(0.1)}
inputs = [0.5, -0.2]
target = 1.0

def neuron_loss(w1, w2, b):
    a = (w1 * inputs[0] + w2 * inputs[1] + b).tanh()   # forward pass
    return (a - target) ** 2                           # squared error

loss = neuron_loss(params["w1"], params["w2"], params["b"])
loss.backward()   # one call fills in .grad on every Value that led to the loss

print("loss =", loss)
for name, v in params.items():
    print(f"dL/d{name} = {v.grad:.6f}")
print(f"(the chain rule by hand gave dL/dw1 = {dL_dw1:.6f})")
