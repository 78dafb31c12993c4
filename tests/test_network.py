"""The three-layer network of the derivation: forward, backward, and agreement
with centred differences, with an index-by-index computation and with the general model."""
import numpy as np
from hypothesis import given, settings, strategies as st

from bpcourse import network
from bpcourse.gradcheck import numerical_gradient
from helpers import assert_gradients_agree
from bpcourse.model import three_layer_model

sizes = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(1, 5))


def problem(n, m, k, N, seed):
    rng = np.random.default_rng(seed)
    params = network.init_params(n, m, k, seed=seed)
    params["b1"] += rng.standard_normal(m) * 0.1
    params["b2"] += rng.standard_normal(k) * 0.1
    return rng.standard_normal((N, n)), rng.random((N, k)), params


@given(shape=sizes, seed=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_backward_matches_centred_differences(shape, seed):
    n, m, k, N = shape
    x, y, p = problem(n, m, k, N, seed)
    L, g = network.gradients(x, y, **p)
    for name, grad in (("W1", g.dW1), ("b1", g.db1), ("W2", g.dW2), ("b2", g.db2)):
        numeric = numerical_gradient(lambda: network.loss(x, y, **p), p[name])
        assert_gradients_agree(grad, numeric, name)


@given(shape=sizes, seed=st.integers(0, 10_000))
@settings(max_examples=20, deadline=None)
def test_deltas_are_the_derivatives_of_the_loss_wrt_the_preactivations(shape, seed):
    n, m, k, N = shape
    x, y, p = problem(n, m, k, N, seed)
    fp = network.forward(x, **p)
    g = network.backward(x, y, p["W2"], fp.h, fp.y_hat)
    from bpcourse.activations import sigmoid
    from bpcourse.losses import mse

    z2 = fp.z2.copy()
    numeric = numerical_gradient(lambda: mse(sigmoid(z2), y)[0], z2)
    assert_gradients_agree(g.delta2 / N, numeric, "delta2")   # delta2 is per example
    z1 = fp.z1.copy()
    loss_of_z1 = lambda: mse(sigmoid(sigmoid(z1) @ p["W2"].T + p["b2"]), y)[0]
    assert_gradients_agree(g.delta1 / N, numerical_gradient(loss_of_z1, z1), "delta1")


def test_batched_equations_equal_the_index_sums_of_the_derivation():
    x, y, p = problem(3, 4, 2, 5, seed=7)
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    g = network.gradients(x, y, **p)[1]
    N, n, m, k = 5, 3, 4, 2
    dW1, dW2 = np.zeros((m, n)), np.zeros((k, m))
    for e in range(N):
        z1 = [sum(W1[j, i] * x[e, i] for i in range(n)) + b1[j] for j in range(m)]
        h = [1 / (1 + np.exp(-v)) for v in z1]
        z2 = [sum(W2[l, j] * h[j] for j in range(m)) + b2[l] for l in range(k)]
        y_hat = [1 / (1 + np.exp(-v)) for v in z2]
        d2 = [(y_hat[l] - y[e, l]) * y_hat[l] * (1 - y_hat[l]) for l in range(k)]
        d1 = [sum(d2[l] * W2[l, j] for l in range(k)) * h[j] * (1 - h[j]) for j in range(m)]
        for l in range(k):
            for j in range(m):
                dW2[l, j] += d2[l] * h[j] / N
        for j in range(m):
            for i in range(n):
                dW1[j, i] += d1[j] * x[e, i] / N
        assert np.allclose(g.delta2[e], d2) and np.allclose(g.delta1[e], d1)
    assert np.allclose(g.dW2, dW2) and np.allclose(g.dW1, dW1)


def test_single_example_equals_batch_of_one():
    x, y, p = problem(3, 4, 2, 1, seed=3)
    g1 = network.gradients(x[0], y[0], **p)[1]
    gN = network.gradients(x, y, **p)[1]
    for a, b in zip(g1, gN):
        assert np.allclose(a, b)
    assert network.forward(x[0], **p).y_hat.shape == (2,)


@given(shape=sizes, seed=st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_three_layer_network_equals_the_general_model(shape, seed):
    n, m, k, N = shape
    x, y, p = problem(n, m, k, N, seed)
    L, g = network.gradients(x, y, **p)
    model = three_layer_model(**p)
    L_model, out = model.loss_and_grads(x, y)
    grads = model.grads()
    assert np.isclose(L, L_model)
    assert np.allclose(out, network.forward(x, **p).y_hat)
    for ours, theirs in ((g.dW1, "dense1.W"), (g.db1, "dense1.b"), (g.dW2, "dense2.W"), (g.db2, "dense2.b")):
        assert np.allclose(ours, grads[theirs], rtol=1e-12, atol=1e-15)
