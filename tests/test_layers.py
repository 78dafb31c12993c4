"""Every layer's backward pass against centred differences over random shapes and seeds."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bpcourse import layers
from bpcourse.gradcheck import check_model_gradients, numerical_gradient, rel_error
from helpers import assert_gradients_agree
from bpcourse.model import mlp

shape = st.tuples(st.integers(2, 6), st.integers(1, 5))


def check_layer(layer, x, seed, train=True):
    """Gradient of sum(g * layer(x)) for a random g, w.r.t. x and every parameter."""
    g = np.random.default_rng(seed + 1).standard_normal(layer.forward(x, train).shape)
    layer.forward(x, train)
    dx = layer.backward(g)
    f = lambda: np.sum(g * layer.forward(x, train))
    assert_gradients_agree(dx, numerical_gradient(f, x), "dx")
    for name, W in layer.params.items():
        assert_gradients_agree(layer.grads[name], numerical_gradient(f, W), name)


@pytest.mark.parametrize("make", [lambda n: layers.Sigmoid(), lambda n: layers.Tanh(),
                                  lambda n: layers.Dense(n, 3, rng=5)])
@given(shape=shape, seed=st.integers(0, 10_000))
@settings(max_examples=30, deadline=None)
def test_layer_backward(make, shape, seed):
    N, n = shape
    x = np.random.default_rng(seed).standard_normal((N, n))
    check_layer(make(n), x, seed)


@given(shape=shape, seed=st.integers(0, 10_000))
@settings(max_examples=30, deadline=None)
def test_relu_backward_away_from_the_kink(shape, seed):
    N, n = shape
    x = np.random.default_rng(seed).standard_normal((N, n))
    x[np.abs(x) < 1e-3] = 0.5
    check_layer(layers.ReLU(), x, seed)


# With N = 2 a column normalizes to +-1 whatever x is, so dx is only an eps effect
# at the noise floor of centred differences: batch-norm tests start at N = 3.
bn_shape = st.tuples(st.integers(3, 6), st.integers(1, 5))


@given(shape=bn_shape, seed=st.integers(0, 10_000), train=st.booleans())
@settings(max_examples=40, deadline=None)
def test_batchnorm_backward_train_and_eval(shape, seed, train):
    N, n = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, n)) * 3 + 1
    bn = layers.BatchNorm(n)
    bn.params["gamma"] = rng.standard_normal(n)
    bn.params["beta"] = rng.standard_normal(n)
    bn.buffers["running_mean"] = rng.standard_normal(n)
    bn.buffers["running_var"] = rng.random(n) + 0.5
    check_layer(bn, x, seed, train)


@given(shape=shape, seed=st.integers(0, 10_000))
@settings(max_examples=30, deadline=None)
def test_batchnorm_graph_and_compact_backward_agree(shape, seed):
    N, n = shape
    rng = np.random.default_rng(seed)
    x, gamma, beta = rng.standard_normal((N, n)), rng.standard_normal(n), rng.standard_normal(n)
    dout = rng.standard_normal((N, n))
    _, cache = layers.batchnorm_forward(x, gamma, beta)
    for a, b in zip(layers.batchnorm_backward(dout, cache), layers.batchnorm_backward_graph(dout, cache)):
        assert rel_error(a, b) < 1e-10


def test_batchnorm_statistics_and_running_averages():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)) * np.array([1, 2, 3, 4]) + np.array([5, -5, 0, 1])
    bn = layers.BatchNorm(4, momentum=0.9)
    out = bn.forward(x, train=True)
    assert np.allclose(out.mean(axis=0), 0, atol=1e-12) and np.allclose(out.var(axis=0), 1, atol=1e-3)
    assert np.allclose(bn.buffers["running_mean"], 0.1 * x.mean(axis=0))
    assert np.allclose(bn.buffers["running_var"], 0.9 + 0.1 * x.var(axis=0, ddof=1))
    for _ in range(200):
        bn.forward(x, train=True)
    # eval mode uses the running averages: a single example is normalized like in the batch
    assert np.allclose(bn.forward(x[:1], train=False), out[:1], atol=1e-2)
    assert not np.allclose(bn.forward(x[:1], train=True), out[:1], atol=1e-2)  # batch of one: all zeros


@given(seed=st.integers(0, 1000), batchnorm=st.booleans(),
       loss=st.sampled_from(["mse", "softmax_cross_entropy"]))
@settings(max_examples=15, deadline=None)
def test_whole_model_gradient_check(seed, batchnorm, loss):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 3))
    labels = rng.integers(0, 3, 6)
    model = mlp([3, 4, 5, 3], activation="tanh", batchnorm=batchnorm, seed=seed, loss=loss,
                output="sigmoid" if loss == "mse" else None)
    before = {k: v.copy() for k, v in model.buffers().items()}
    report = check_model_gradients(model, x, labels)
    assert report.ok, str(report)
    assert all(np.array_equal(v, before[k]) for k, v in model.buffers().items())


def test_gradient_check_names_the_first_wrong_parameter():
    model = mlp([3, 4, 2], seed=0)
    x = np.random.default_rng(1).standard_normal((5, 3))
    y = np.random.default_rng(2).random((5, 2))
    original = layers.sigmoid_backward
    layers.Sigmoid._backward = staticmethod(lambda da, a: da * a)   # a bug: sigma' lost its (1 - a)
    try:
        report = check_model_gradients(model, x, y)
    finally:
        layers.Sigmoid._backward = staticmethod(original)
    assert not report.ok
    name, index, analytic, numeric = report.first_bad
    assert name == "dense1.W" and "first disagreement: dense1.W" in str(report)
    assert not np.isclose(analytic, numeric)


def test_float32_option():
    model = mlp([4, 8, 3], dtype=np.float32, seed=0)
    x = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    L, out = model.loss_and_grads(x, np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]))
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in model.grads().values())
