# A Value used twice: s = t * t + t. Its gradient has one share from each use.
t = Value(3.0)
s = t * t + t
s.backward()
print("ds/dt =", t.grad, " (by calculus: 2t + 1 =", 2 * t.data + 1, ")")
