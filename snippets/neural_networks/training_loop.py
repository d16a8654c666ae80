def mean_squared_error(model):
    predictions = [model(x) for x, _ in data]
    errors = [(p - y) ** 2 for p, (_, y) in zip(predictions, data)]
    return sum(errors, Value(0.0)) * (1 / len(data)), predictions

def train_step(model, lr):
    loss, predictions = mean_squared_error(model)   # 1. forward pass and loss
    for p in model.parameters():
        p.grad = 0.0                                # 2. forget the last step's gradients
    loss.backward()                                 # 3. backward pass
    for p in model.parameters():
        p.data -= lr * p.grad                       # 4. step every weight downhill
    return loss.data, predictions

learning_rate = 0.2
losses = []
for step in range(1, 41):
    loss, _ = train_step(model, learning_rate)
    losses.append(loss)
    if step == 1 or step % 5 == 0:
        print(f"step {step:2d}   loss {loss:.4f}")

final_predictions = [round(model(x).data, 3) for x, _ in data]
print("trained predictions:", final_predictions)
print("targets:            ", [y for _, y in data])
