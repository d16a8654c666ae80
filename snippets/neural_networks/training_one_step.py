# The smallest model there is: one weight, prediction = w * x.
x, y = 2.0, 3.0     # one example: for input 2 we want output 3
w = 0.5             # the current weight
lr = 0.05           # the learning rate: how big a step to take

def loss_at(w):
    return (w * x - y) ** 2            # squared error

grad = 2 * (w * x - y) * x             # dL/dw, by the chain rule
new_w = w - lr * grad                  # one step against the gradient

print(f"before: w = {w:.4f}, prediction = {w * x:.4f}, loss = {loss_at(w):.4f}")
print(f"gradient dL/dw = {grad:.4f}")
print(f"step: w - lr * grad = {w} - {lr} * ({grad:.4f}) = {new_w:.4f}")
print(f"after:  w = {new_w:.4f}, prediction = {new_w * x:.4f}, loss = {loss_at(new_w):.4f}")
