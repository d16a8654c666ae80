import math

def tanh(self):
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")
    def _backward():
        self.grad += (1 - t * t) * out.grad          # d tanh(x)/dx = 1 - tanh(x)^2
    out._backward = _backward
    return out

def exp(self):
    e = math.exp(self.data)
    out = Value(e, (self,), "exp")
    def _backward():
        self.grad += e * out.grad                    # d e^x/dx = e^x
    out._backward = _backward
    return out

def log(self):
    out = Value(math.log(self.data), (self,), "log")
    def _backward():
        self.grad += (1 / self.data) * out.grad      # d ln(x)/dx = 1/x
    out._backward = _backward
    return out

def power(self, k):                                  # k is a plain number
    out = Value(self.data ** k, (self,), f"**{k}")
    def _backward():
        self.grad += k * self.data ** (k - 1) * out.grad   # d x^k/dx = k x^(k-1)
    out._backward = _backward
    return out

# Attach them to the class: every Value, old or new, now has these methods.
Value.tanh = tanh
Value.exp = exp
Value.log = log
Value.__pow__ = power
# The rest are built from operations that already know their derivatives.
Value.__neg__ = lambda self: self * -1
Value.__sub__ = lambda self, other: self + (-other)
Value.__rsub__ = lambda self, other: (-self) + other
Value.__truediv__ = lambda self, other: self * other ** -1
Value.__rtruediv__ = lambda self, other: self ** -1 * other

v = Value(0.5)
print(v.tanh(), v.exp(), v.log(), v ** 2, 1 - v, v / 4, sep="\n")
