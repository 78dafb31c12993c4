"""Losses: values and gradients against centred differences; stability; clear errors."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bpcourse.gradcheck import numerical_gradient, rel_error
from bpcourse.losses import mse, softmax_cross_entropy


@given(N=st.integers(1, 6), k=st.integers(1, 5), seed=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_mse_value_and_gradient(N, k, seed):
    rng = np.random.default_rng(seed)
    y_hat, y = rng.random((N, k)), rng.random((N, k))
    L, grad = mse(y_hat, y)
    assert np.isclose(L, np.mean(0.5 * np.sum((y_hat - y) ** 2, axis=1)))
    numeric = numerical_gradient(lambda: mse(y_hat, y)[0], y_hat)
    assert rel_error(grad, numeric) < 1e-7


@given(N=st.integers(1, 6), k=st.integers(2, 5), seed=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_softmax_cross_entropy_value_and_gradient(N, k, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((N, k)) * 3
    labels = rng.integers(0, k, N)
    L, grad = softmax_cross_entropy(z, labels)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert np.isclose(L, -np.mean(np.log(p[np.arange(N), labels])))
    numeric = numerical_gradient(lambda: softmax_cross_entropy(z, labels)[0], z)
    assert rel_error(grad, numeric) < 1e-7
    one_hot = np.eye(k)[labels]
    assert np.allclose(softmax_cross_entropy(z, one_hot)[1], grad)


def test_cross_entropy_is_stable_for_huge_scores():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L, grad = softmax_cross_entropy(np.array([[1000.0, -1000.0], [-1000.0, 1000.0]]), np.array([0, 0]))
    assert np.isclose(L, 1000.0) and np.all(np.isfinite(grad))


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="y_hat has shape"):
        mse(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="targets have shape"):
        softmax_cross_entropy(np.zeros((3, 2)), np.zeros((3, 3)))
