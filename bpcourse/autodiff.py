"""A tiny scalar autodiff engine: backpropagation as reverse-mode differentiation.

Every ``Value`` holds one number (``data``), the derivative of the final
output with respect to it (``grad``), the Values it was computed from
(``_prev``) and a ``_backward`` closure. Each operation computes its output
and, right next to it, writes down its *local* derivatives:

    out = a * b       a.grad += b * out.grad     b.grad += a * out.grad

``backward()`` then visits the graph from the output back to the inputs (a
reverse topological order, so a node is finished before its inputs start)
and lets every node pass its gradient on by the chain rule:

    dL/d(input) += d(out)/d(input) * dL/d(out)

The ``+=`` is the multivariable chain rule: a Value used twice receives a
contribution from each use. This is the engine of micrograd (A. Karpathy),
kept to the operations the course needs. Numpy arrays of Values (dtype
object) work with ``@``, ``+``, ``.sum()``: see ``values``, ``data``, ``grads``.
"""
import math
import numbers

import numpy as np


class Value:
    """One scalar of a computational graph, with its gradient.

    Inputs:
    - data: a real number
    - _children: the Values this one was computed from (set by the operations)
    - _op: the operation that made it, e.g. "*" (for printing and drawing)
    - label: an optional name, e.g. "W1[0,1]"
    """

    def __init__(self, data, _children=(), _op="", label=""):
        if not isinstance(data, numbers.Real):
            raise TypeError(f"Value(data): data must be a real number, got {type(data).__name__} "
                            f"{data!r}; use bpcourse.autodiff.values(array) for arrays")
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None   # leaves have nothing to pass on
        self._prev = tuple(_children)   # in order: a, b of a * b (a tuple keeps x * x as (x, x))
        self._op = _op
        self.label = label

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ------------------------------------------------------------ operations

    def __add__(self, other):
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():                 # d(a + b)/da = 1, d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():                 # d(a b)/da = b, d(a b)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, p):
        if not isinstance(p, numbers.Real):
            raise TypeError(f"Value ** p: the exponent p must be a number, got {type(p).__name__}; "
                            "for a Value exponent write (p * a.log()).exp()")
        out = Value(self.data ** p, (self,), f"**{p:g}")

        def _backward():                 # d(a^p)/da = p a^(p-1)
            self.grad += p * self.data ** (p - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward():                 # d(-a)/da = -1
            self.grad -= out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        other = _as_value(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():                 # d(a - b)/da = 1, d(a - b)/db = -1
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = _as_value(other)
        if other.data == 0:
            raise ZeroDivisionError("Value / Value: division by a Value whose data is 0")
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():                 # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            self.grad += out.grad / other.data
            other.grad -= self.data / other.data ** 2 * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():                 # d(e^a)/da = e^a
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"Value.log: the natural log needs data > 0, got {self.data!r}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():                 # d(ln a)/da = 1/a
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():                 # d(tanh a)/da = 1 - tanh(a)^2
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        a = self.data                    # 1/(1+e^-a), or e^a/(1+e^a) for a < 0: no overflow
        s = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
        out = Value(s, (self,), "sigmoid")

        def _backward():                 # d(sigma(a))/da = sigma(a) (1 - sigma(a))
            self.grad += out.data * (1.0 - out.data) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():                 # d(max(0, a))/da = 1 if a > 0 else 0
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    # number on the left: 2 + a, 2 * a, 2 - a, 2 / a
    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return _as_value(other) - self

    def __rtruediv__(self, other):
        return _as_value(other) / self

    # ------------------------------------------------------------ backward

    def topological_order(self):
        """Every Value this one depends on (itself included), each after all of its inputs.

        A depth-first search that appends a node once all its children are
        appended (a loop with an explicit stack, so long chains such as a
        sum of thousands of terms do not hit Python's recursion limit). A
        node used twice appears once.
        """
        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))          # come back to it after its children
                stack.extend((child, False) for child in reversed(node._prev))
        return order

    def backward(self):
        """Fill ``grad`` of every Value in the graph with d(self)/d(that Value).

        The gradients of the graph are reset to 0 first (so calling backward
        twice gives the same result), d(self)/d(self) = 1 starts the chain
        rule, and every node in reverse topological order passes its
        gradient to its inputs.
        """
        order = self.topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def _as_value(x):
    """A Value passes through; a number becomes a constant Value (a leaf)."""
    return x if isinstance(x, Value) else Value(x)


# ---------------------------------------------------------- numpy arrays of Values

def values(array, label=""):
    """A numpy array of numbers -> an array (dtype object) of Values of the same shape.

    With a label, each Value is named after its index: values(W1, "W1")[0, 1].label == "W1[0,1]".
    Object arrays keep numpy's operators: ``x @ W1v.T + b1v`` builds the graph of a dense layer.
    """
    try:
        array = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"values(array): array must hold numbers, got {type(array).__name__}") from e
    out = np.empty(array.shape, dtype=object)
    for idx in np.ndindex(array.shape):
        name = f"{label}[{','.join(map(str, idx))}]" if label else ""
        out[idx] = Value(float(array[idx]), label=name)
    return out


def apply(f, array):
    """f applied to every Value of an object array, e.g. apply(Value.sigmoid, z1)."""
    return np.frompyfunc(f, 1, 1)(array)


def data(array):
    """The numbers of an array of Values, as a float64 array of the same shape."""
    return np.array(np.frompyfunc(lambda v: v.data, 1, 1)(array), dtype=np.float64)


def grads(array):
    """The gradients of an array of Values (after backward()), as a float64 array."""
    return np.array(np.frompyfunc(lambda v: v.grad, 1, 1)(array), dtype=np.float64)
