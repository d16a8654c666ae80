def backward(self):
    # 1. List every Value this one depends on, each placed after its children.
    order, seen = [], set()
    def visit(v):
        if v not in seen:
            seen.add(v)
            for child in v._children:
                visit(child)
            order.append(v)
    visit(self)

    # 2. The loss changes one-for-one with itself: dL/dL = 1.
    self.grad = 1.0

    # 3. From the output back to the inputs: when a Value passes its gradient
    #    on, everything that used it has already added to that gradient.
    for v in reversed(order):
        v._backward()

Value.backward = backward

p = Value(2.0)
q = Value(-3.0)
r = p * q + 1
r.backward()
print("r =", r)
print("dr/dp =", p.grad, "(the value of q)")
print("dr/dq =", q.grad, "(the value of p)")
