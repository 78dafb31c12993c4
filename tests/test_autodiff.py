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
