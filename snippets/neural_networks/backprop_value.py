class Value:
    """A number that remembers how it was computed, so gradients can flow back."""

    def __init__(self, data, children=(), op=""):
        self.data = data                # the number itself
        self.grad = 0.0                 # dL/d(this number), filled in by the backward pass
        self._children = children       # the Values this one was computed from
        self._op = op                   # the operation that made it, for display
        self._backward = lambda: None   # passes self.grad on to the children

    def __repr__(self):
        return f"Value(data={self.data:.4f}, grad={self.grad:.4f})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            # d(s + o)/ds = 1 and d(s + o)/do = 1: a sum hands its gradient on unchanged
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            # d(s * o)/ds = o and d(s * o)/do = s: each factor gets the other's value
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    __radd__ = __add__   # so 1 + v works, not only v + 1
    __rmul__ = __mul__   # so 2 * v works, not only v * 2


p = Value(2.0)
q = Value(-3.0)
r = p * q + 1
print(r, "made by", repr(r._op), "from", [child.data for child in r._children])
