"""Activations: values, derivatives against centred differences, stability at extreme inputs."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from bpcourse import activations as act

finite = st.floats(-20, 20, allow_nan=False)


def centred(f, z, h=1e-6):
    return (f(z + h) - f(z - h)) / (2 * h)


@pytest.mark.parametrize("f, f_prime", [(act.sigmoid, act.sigmoid_prime), (act.tanh, act.tanh_prime)])
@given(z=arrays(np.float64, st.integers(1, 20), elements=finite))
@settings(max_examples=50, deadline=None)
def test_derivatives_match_centred_differences(f, f_prime, z):
    assert np.allclose(f_prime(z), centred(f, z), rtol=1e-6, atol=1e-9)


@given(z=arrays(np.float64, st.integers(1, 20), elements=finite.filter(lambda v: abs(v) > 1e-3)))
@settings(max_examples=50, deadline=None)
def test_relu_derivative_away_from_kink(z):
    assert np.allclose(act.relu_prime(z), centred(act.relu, z, h=1e-4))


def test_sigmoid_values_and_bound_on_its_derivative():
    assert act.sigmoid(0.0) == 0.5
    z = np.linspace(-10, 10, 2001)
    assert np.allclose(act.sigmoid(z), 1 / (1 + np.exp(-z)))
    assert np.isclose(act.sigmoid_prime(z).max(), 0.25) and act.sigmoid_prime(0.0) == 0.25


def test_sigmoid_and_softmax_are_stable_at_extremes():
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = act.sigmoid(z)
        p = act.softmax(np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]]))
        d = act.sigmoid_prime(z)
    assert 0 <= s[0] < 1e-300 and s[-1] == 1.0 and np.all(np.isfinite(d))
    assert np.allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])


def test_sigmoid_keeps_float32_and_promotes_integers():
    assert act.sigmoid(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert act.sigmoid(np.array([0, 1])).dtype == np.float64


@given(z=arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 6)), elements=finite),
       seed=st.integers(0, 1000))
@settings(max_examples=40, deadline=None)
def test_softmax_rows_sum_to_one_and_backward_matches_jacobian(z, seed):
    p = act.softmax(z)
    assert np.allclose(p.sum(axis=1), 1.0)
    g = np.random.default_rng(seed).standard_normal(z.shape)
    # the full Jacobian of each row, diag(p) - p p^T, applied to g
    expected = np.stack([(np.diag(pi) - np.outer(pi, pi)) @ gi for pi, gi in zip(p, g)])
    assert np.allclose(act.softmax_prime(z, g), expected, rtol=1e-8, atol=1e-12)
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += 1e-6
        zm[idx] -= 1e-6
        numeric[idx] = (np.sum(act.softmax(zp) * g) - np.sum(act.softmax(zm) * g)) / 2e-6
    assert np.allclose(act.softmax_prime(z, g), numeric, atol=1e-7)
