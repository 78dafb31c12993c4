"""The tiny autodiff engine: each operation's forward value and gradient, the
topological order, and agreement with the hand-derived backward pass of the
three-layer network."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpcourse import autodiff as ad
from bpcourse import network
from bpcourse.autodiff import Value

H = 1e-6
CHECK = settings(max_examples=30)   # derandomized by the profile in conftest.py
any_real = st.floats(-3.0, 3.0)
positive = st.floats(0.1, 3.0)
nonzero = st.one_of(st.floats(-3.0, -0.1), st.floats(0.1, 3.0))


def centred(f, x):
    """(f(x + H) - f(x - H)) / 2H for a function of one float."""
    return (f(x + H) - f(x - H)) / (2 * H)


def assert_close(analytic, numeric):
    assert abs(analytic - numeric) <= 1e-6 * (1 + abs(numeric)), (analytic, numeric)


# name: (operation on a Value, the same on a float, domain of the input)
UNARY = {
    "neg": (lambda a: -a, lambda x: -x, any_real),
    "square": (lambda a: a ** 2, lambda x: x ** 2, any_real),
    "cube": (lambda a: a ** 3, lambda x: x ** 3, any_real),
    "sqrt": (lambda a: a ** 0.5, math.sqrt, positive),
    "pow_neg": (lambda a: a ** -1.5, lambda x: x ** -1.5, positive),
    "exp": (Value.exp, math.exp, any_real),
    "log": (Value.log, math.log, positive),
    "tanh": (Value.tanh, math.tanh, any_real),
    "sigmoid": (Value.sigmoid, lambda x: 1 / (1 + math.exp(-x)), any_real),
    "relu": (Value.relu, lambda x: max(x, 0.0), nonzero),   # away from the kink at 0
    "radd": (lambda a: 2.5 + a, lambda x: 2.5 + x, any_real),
    "rsub": (lambda a: 2.5 - a, lambda x: 2.5 - x, any_real),
    "rmul": (lambda a: 2.5 * a, lambda x: 2.5 * x, any_real),
    "rtruediv": (lambda a: 2.5 / a, lambda x: 2.5 / x, nonzero),
    "add_const": (lambda a: a + 1.5, lambda x: x + 1.5, any_real),
    "mul_const": (lambda a: a * -1.5, lambda x: x * -1.5, any_real),
}

BINARY = {
    "add": (lambda a, b: a + b, lambda x, y: x + y, any_real),
    "sub": (lambda a, b: a - b, lambda x, y: x - y, any_real),
    "mul": (lambda a, b: a * b, lambda x, y: x * y, any_real),
    "truediv": (lambda a, b: a / b, lambda x, y: x / y, nonzero),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_forward_and_gradient(name):
    op, reference, domain = UNARY[name]

    @CHECK
    @given(domain)
    def check(x):
        a = Value(x)
        out = op(a)
        assert out.data == pytest.approx(reference(x), rel=1e-12, abs=1e-12)
        out.backward()
        assert_close(a.grad, centred(reference, x))
        assert_close(a.grad, centred(lambda t: op(Value(t)).data, x))

    check()


@pytest.mark.parametrize("name", BINARY)
def test_binary_forward_and_gradients(name):
    op, reference, b_domain = BINARY[name]

    @CHECK
    @given(any_real, b_domain)
    def check(x, y):
        a, b = Value(x), Value(y)
        out = op(a, b)
        assert out.data == pytest.approx(reference(x, y), rel=1e-12, abs=1e-12)
        out.backward()
        assert_close(a.grad, centred(lambda t: reference(t, y), x))
        assert_close(b.grad, centred(lambda t: reference(x, t), y))

    check()


def composite(a, b, c):
    """An expression mixing every kind of node, with a and b each used several times."""
    e = a * b + c.exp()
    return e.tanh() * a / (1 + b ** 2) - (c * a).sigmoid().log() + (e - 3).relu() + 2 / (1 + a ** 2)


@settings(CHECK, max_examples=60)
@given(any_real, any_real, any_real)
def test_composite_expression_matches_centred_differences(x, y, z):
    a, b, c = Value(x), Value(y), Value(z)
    out = composite(a, b, c)
    # relu's kink: skip inputs within reach of the finite-difference step
    e = x * y + math.exp(z)
    if abs(e - 3) < 1e-3:
        return
    out.backward()
    assert_close(a.grad, centred(lambda t: composite(Value(t), Value(y), Value(z)).data, x))
    assert_close(b.grad, centred(lambda t: composite(Value(x), Value(t), Value(z)).data, y))
    assert_close(c.grad, centred(lambda t: composite(Value(x), Value(y), Value(t)).data, z))


def test_node_used_twice_accumulates_its_gradient():
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0                     # d(x^2)/dx = 2x, one x from each use
    (x + x).backward()
    assert x.grad == 2.0
    a, b = Value(2.0), Value(-4.0)
    d = a * b
    (d + d).backward()
    assert (a.grad, b.grad, d.grad) == (2 * -4.0, 2 * 2.0, 2.0)


def test_shared_subexpression_gets_its_full_gradient_before_passing_it_on():
    # e feeds three nodes; its inputs must see the sum of all three contributions
    a, b, c = Value(0.7), Value(-1.3), Value(0.4)
    e = a * b
    out = e.tanh() * c + e * e + (e * c).exp()
    out.backward()
    ev = 0.7 * -1.3
    de = (1 - math.tanh(ev) ** 2) * 0.4 + 2 * ev + math.exp(ev * 0.4) * 0.4
    assert e.grad == pytest.approx(de, rel=1e-14)
    assert a.grad == pytest.approx(de * -1.3, rel=1e-14)
    assert b.grad == pytest.approx(de * 0.7, rel=1e-14)


def test_topological_order_lists_each_node_once_after_its_inputs():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    e = a * b
    f = e + e * a
    out = (f * e).tanh()
    order = out.topological_order()
    assert len(order) == len({id(v) for v in order})
    expected = {id(v) for v in (a, b, e, f, out)}
    assert expected <= {id(v) for v in order}
    position = {id(v): i for i, v in enumerate(order)}
    for v in order:
        for child in v._prev:
            assert position[id(child)] < position[id(v)]
    assert order[-1] is out


def test_backward_twice_gives_the_same_gradients():
    a, b = Value(0.5), Value(-2.0)
    out = (a * b).sigmoid() + a
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == first


def test_long_chain_needs_no_recursion():
    xs = [Value(float(i)) for i in range(5000)]
    total = sum(xs)
    total.backward()
    assert total.data == sum(range(5000))
    assert all(x.grad == 1.0 for x in xs)


def test_array_helpers_round_trip_and_label():
    W = np.arange(6.0).reshape(2, 3)
    Wv = ad.values(W, "W")
    assert Wv.shape == (2, 3) and Wv.dtype == object
    assert Wv[1, 2].label == "W[1,2]"
    np.testing.assert_array_equal(ad.data(Wv), W)
    L = (Wv ** 2).sum()
    L.backward()
    np.testing.assert_array_equal(ad.grads(Wv), 2 * W)
    np.testing.assert_array_equal(ad.data(ad.apply(Value.relu, ad.values(W - 2))), np.maximum(W - 2, 0))


def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="data must be a real number"):
        Value("1.0")
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match="log needs data > 0"):
        Value(-1.0).log()
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0
    with pytest.raises(TypeError, match="values"):
        ad.values([["a", "b"]])


@pytest.mark.parametrize("N", [1, 5])
def test_engine_reproduces_the_three_layer_backward_pass(N):
    """Scalar autodiff of the batch-mean loss gives network.backward's numbers.

    network.backward's delta2, delta1 are per example (dL_n/dz_n); the batch
    loss is the mean L = 1/N sum_n L_n, so dL/dz2_n = delta2_n / N (and the same
    for delta1), while dW2, db2, dW1, db1 are already of the batch mean.
    """
    n, m, k = 3, 4, 2
    rng = np.random.default_rng(7)
    p = network.init_params(n, m, k, seed=3)
    p["b1"], p["b2"] = rng.standard_normal(m), rng.standard_normal(k)
    x, y = rng.standard_normal((N, n)), rng.random((N, k))

    W1, b1, W2, b2 = (ad.values(p[q], q) for q in ("W1", "b1", "W2", "b2"))
    z1 = x @ W1.T + b1
    h = ad.apply(Value.sigmoid, z1)
    z2 = h @ W2.T + b2
    y_hat = ad.apply(Value.sigmoid, z2)
    L = 0.5 * ((y_hat - y) ** 2).sum() / N
    L.backward()

    fp = network.forward(x, p["W1"], p["b1"], p["W2"], p["b2"])
    g = network.backward(x, y, p["W2"], fp.h, fp.y_hat)
    assert L.data == pytest.approx(network.loss(x, y, **p), rel=1e-12)
    pairs = {
        "dL/dz2 = delta2 / N": (ad.grads(z2), g.delta2 / N),
        "dL/dz1 = delta1 / N": (ad.grads(z1), g.delta1 / N),
        "dW2": (ad.grads(W2), g.dW2), "db2": (ad.grads(b2), g.db2),
        "dW1": (ad.grads(W1), g.dW1), "db1": (ad.grads(b1), g.db1),
    }
    for name, (engine, by_hand) in pairs.items():
        assert engine.shape == by_hand.shape, name
        assert np.max(np.abs(engine - by_hand)) <= 1e-12, name


# ---------------------------------------------------------- edge cases: overflow, underflow, bad input

def test_power_edge_cases():
    negative_base = r"Value \*\* p: a negative base \(-8\) needs an integer power p, got 0.333"
    with pytest.raises(ValueError, match=negative_base):
        Value(-8.0) ** (1 / 3)
    a = Value(-2.0)
    (a ** 3).backward()                      # a negative base with an integer power is fine
    assert a.grad == 12.0
    a = Value(0.0)
    (a ** 0).backward()                      # a^0 = 1 is a constant: derivative 0, even at 0
    assert a.grad == 0.0
    a = Value(0.0)
    (a ** 0.5).backward()                    # sqrt at 0: a vertical tangent
    assert a.grad == math.inf
    with pytest.raises(ZeroDivisionError, match=r"Value \*\* p"):
        Value(0.0) ** -1
    # overflow gives inf, as multiplication does
    assert (Value(1e200) * Value(1e200)).data == math.inf
    a = Value(1e200)
    out = a ** 2
    assert out.data == math.inf
    out.backward()
    assert a.grad == 2e200
    assert (Value(-1e200) ** 3).data == -math.inf
    a = Value(1e200)
    (a ** 3).backward()                      # 3 a^2 overflows too
    assert a.grad == math.inf


def test_exp_overflows_to_inf_like_multiplication():
    a = Value(1000.0)
    out = a.exp()
    assert out.data == math.inf
    out.backward()
    assert a.grad == math.inf
    assert Value(-1000.0).exp().data == 0.0
    assert (Value(1000.0).sigmoid().data, Value(-1000.0).sigmoid().data) == (1.0, 0.0)


def test_division_gradient_does_not_underflow():
    a, b = Value(1.0), Value(1e-170)
    out = a / b                              # b^2 = 1e-340 underflows to 0
    assert out.data == pytest.approx(1e170, rel=1e-15)
    out.backward()
    assert a.grad == pytest.approx(1e170, rel=1e-15)
    assert b.grad == -math.inf               # -a/b^2 = -1e340: beyond the largest float
    a, b = Value(1e-200), Value(1e-160)
    (a / b).backward()
    assert b.grad == pytest.approx(-1e-200 / 1e-160 / 1e-160, rel=1e-14)


def test_array_helpers_reject_what_they_cannot_use():
    with pytest.raises(TypeError, match=r"values\(array\): array must be a real number, got NoneType"):
        ad.values(None)
    with pytest.raises(TypeError, match=r"values\(array\): array\[1\] must be a real number, got NoneType"):
        ad.values([1.0, None])
    with pytest.raises(TypeError, match=r"grads\(array\): array must hold Values \(made by .*values\(\)\)"):
        ad.grads(np.ones(3))
    with pytest.raises(TypeError, match=r"data\(array\): array must hold Values"):
        ad.data(np.ones(3))
    np.testing.assert_array_equal(ad.data(ad.values([True, 2, np.float32(0.5)])), [1.0, 2.0, 0.5])


OPERATIONS = ["__add__", "__mul__", "__pow__", "__neg__", "__sub__", "__truediv__",
              "exp", "log", "tanh", "sigmoid", "relu"]


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_operation_states_its_forward_and_local_derivative(name):
    doc = getattr(Value, name).__doc__
    assert doc and "out =" in doc and "d out/d a =" in doc, (name, doc)
    assert len(doc.strip().splitlines()) == 1, (name, doc)


@pytest.mark.parametrize("name", ["__radd__", "__rmul__", "__rsub__", "__rtruediv__"])
def test_reflected_operations_have_docstrings(name):
    assert getattr(Value, name).__doc__


# ---------------------------------------------------------- drawing the graph

def _leaf_used_early_and_late():
    x, y = Value(0.5, label="x"), Value(-1.0, label="y")
    return ((x * y).tanh() + 1) * x


def _weight_with_decay():
    w, x, b = Value(0.3, label="w"), Value(2.0, label="x"), Value(0.1, label="b")
    return w * x + b + 0.01 * w * w


@pytest.mark.parametrize("expression", [_leaf_used_early_and_late, _weight_with_decay])
def test_graph_layout_puts_every_arrow_left_to_right(expression):
    from bpcourse.autodiff_plot import graph_layout
    out = expression()
    order, position = graph_layout(out)
    assert {id(v) for v in order} == set(position)
    for node in order:
        for child in node._prev:
            assert position[id(child)][0] < position[id(node)][0], (child, node)
    # a leaf sits in the column just left of its leftmost user
    for leaf in (v for v in order if not v._prev):
        users = [position[id(v)][0] for v in order if any(c is leaf for c in v._prev)]
        assert position[id(leaf)][0] == min(users) - 1, leaf


def test_drawn_graph_shows_a_vanishing_gradient():
    import matplotlib.pyplot as plt

    from bpcourse.autodiff_plot import draw_graph
    z = Value(10.0, label="z")
    s = z.sigmoid()
    s.backward()                              # sigma'(10) = 4.54e-05
    ax = draw_graph(s)
    texts = [t.get_text() for t in ax.texts]
    plt.close(ax.figure)
    assert "z\ndata 10\ngrad 4.54e-05" in texts, texts
