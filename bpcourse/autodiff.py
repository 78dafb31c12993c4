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

    Each operation's docstring states its forward computation and its local
    derivatives, with a = self, b = other and out = the result.
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
        """add: out = a + b; d out/d a = 1, d out/d b = 1"""
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        """multiply: out = a b; d out/d a = b, d out/d b = a"""
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, p):
        """power: out = a^p for a number p; d out/d a = p a^(p-1)"""
        if not isinstance(p, numbers.Real):
            raise TypeError(f"Value ** p: the exponent p must be a number, got {type(p).__name__}; "
                            "for a Value exponent write (p * a.log()).exp()")
        if self.data < 0 and not float(p).is_integer():
            raise ValueError(f"Value ** p: a negative base ({self.data:g}) needs an integer power p, "
                             f"got {p:.3g}")
        if self.data == 0 and p < 0:
            raise ZeroDivisionError(f"Value ** p: 0 cannot be raised to a negative power p, got {p:g}")
        out = Value(_power(self.data, p), (self,), f"**{p:g}")

        def _backward():
            if p == 0:                   # a^0 = 1 for every a, 0 included: a constant
                local = 0.0
            elif self.data == 0 and p < 1:
                local = math.inf         # e.g. sqrt(a) = a^0.5 at a = 0: a vertical tangent
            else:
                local = p * _power(self.data, p - 1)
            self.grad += local * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        """negate: out = -a; d out/d a = -1"""
        out = Value(-self.data, (self,), "neg")

        def _backward():
            self.grad -= out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        """subtract: out = a - b; d out/d a = 1, d out/d b = -1"""
        other = _as_value(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        """divide: out = a / b; d out/d a = 1/b, d out/d b = -a/b^2 = -(a/b)/b"""
        other = _as_value(other)
        if other.data == 0:
            raise ZeroDivisionError("Value / Value: division by a Value whose data is 0")
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():                 # -(a/b)/b, not -a/b**2: b**2 underflows for |b| < 1.5e-154
            self.grad += out.grad / other.data
            other.grad -= out.data / other.data * out.grad
        out._backward = _backward
        return out

    def exp(self):
        """exp: out = e^a; d out/d a = e^a = out"""
        try:
            e = math.exp(self.data)
        except OverflowError:            # a > 709.78: beyond the largest float, so inf (as a * b gives)
            e = math.inf
        out = Value(e, (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        """log: out = ln a, for a > 0; d out/d a = 1/a"""
        if self.data <= 0:
            raise ValueError(f"Value.log: the natural log needs data > 0, got {self.data!r}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        """tanh: out = tanh a; d out/d a = 1 - tanh(a)^2 = 1 - out^2"""
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        """sigmoid: out = 1/(1+e^-a); d out/d a = out (1 - out)"""
        a = self.data                    # 1/(1+e^-a), or e^a/(1+e^a) for a < 0: no overflow
        s = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += out.data * (1.0 - out.data) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        """relu: out = max(0, a); d out/d a = 1 if a > 0 else 0"""
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    # number on the left: 2 + a, 2 * a, 2 - a, 2 / a
    def __radd__(self, other):
        """number + Value: 2 + a is a + 2 (see __add__)"""
        return self + other

    def __rmul__(self, other):
        """number * Value: 2 * a is a * 2 (see __mul__)"""
        return self * other

    def __rsub__(self, other):
        """number - Value: 2 - a is Value(2) - a (see __sub__)"""
        return _as_value(other) - self

    def __rtruediv__(self, other):
        """number / Value: 2 / a is Value(2) / a (see __truediv__)"""
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


def _power(a, p):
    """a ** p for floats, but inf (with the sign of a^p) where Python raises OverflowError,
    as a * b does: Value(1e200) ** 2 is inf, like Value(1e200) * Value(1e200)."""
    try:
        return a ** p
    except OverflowError:
        odd = float(p).is_integer() and int(p) % 2 == 1
        return -math.inf if a < 0 and odd else math.inf


# ---------------------------------------------------------- numpy arrays of Values

def values(array, label=""):
    """A numpy array of numbers -> an array (dtype object) of Values of the same shape.

    With a label, each Value is named after its index: values(W1, "W1")[0, 1].label == "W1[0,1]".
    Object arrays keep numpy's operators: ``x @ W1v.T + b1v`` builds the graph of a dense layer.
    """
    entries = np.asarray(array, dtype=object)   # as given, so that None or "1.0" is caught, not made nan
    out = np.empty(entries.shape, dtype=object)
    for idx in np.ndindex(entries.shape):
        index = ",".join(map(str, idx))
        if not isinstance(entries[idx], numbers.Real):
            where = f"array[{index}]" if idx else "array"
            raise TypeError(f"values(array): {where} must be a real number, "
                            f"got {type(entries[idx]).__name__} {entries[idx]!r}")
        out[idx] = Value(entries[idx], label=f"{label}[{index}]" if label else "")
    return out


def apply(f, array):
    """f applied to every Value of an object array, e.g. apply(Value.sigmoid, z1)."""
    return np.frompyfunc(f, 1, 1)(array)


def data(array):
    """The numbers of an array of Values, as a float64 array of the same shape."""
    array = _value_array(array, "data")
    return np.array(np.frompyfunc(lambda v: v.data, 1, 1)(array), dtype=np.float64)


def grads(array):
    """The gradients of an array of Values (after backward()), as a float64 array."""
    array = _value_array(array, "grads")
    return np.array(np.frompyfunc(lambda v: v.grad, 1, 1)(array), dtype=np.float64)


def _value_array(array, caller):
    """array as an object array, checked to hold only Values: a TypeError naming caller if not."""
    array = np.asarray(array, dtype=object)
    for v in array.flat:
        if not isinstance(v, Value):
            raise TypeError(f"{caller}(array): array must hold Values (made by bpcourse.autodiff.values()), "
                            f"got {type(v).__name__} {v!r}")
    return array
