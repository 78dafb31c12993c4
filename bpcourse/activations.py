"""Activation functions and their derivatives.

Every function works elementwise on arrays of any shape (a batch is an array
whose rows are examples). Each activation ``f`` has a partner ``f_prime``
holding its local derivative, right next to it, so the chain rule used in the
backward pass can be read off in one place.
"""
from functools import lru_cache

import numpy as np


def _as_float(z):
    """z as a float array: float32/float64 kept, integers and lists become float64."""
    z = np.asarray(z)
    return z if z.dtype.kind == "f" else z.astype(np.float64)


def sigmoid(z):
    """sigma(z) = 1 / (1 + e^(-z)).

    e^(-z) overflows for -z above log(largest float) (about 709.8 in float64,
    88.7 in float32), so -z is capped at 709 (88) first. The cap changes no
    result that matters: sigma(-709) is already ~1e-308. (Large positive z need
    nothing: e^(-z) just becomes 0.) So z = +-1000 gives 0.0 and 1.0 with no
    overflow warning.
    """
    z = _as_float(z)
    return 1.0 / (1.0 + np.exp(np.minimum(-z, _exp_limit(z.dtype))))


@lru_cache(maxsize=None)
def _exp_limit(dtype):
    """The largest whole t with e^t finite in this float type: 709 (float64), 88 (float32)."""
    return float(np.floor(np.log(np.finfo(dtype).max)))


def sigmoid_prime(z):
    """sigma'(z) = sigma(z) (1 - sigma(z)); its largest value is 1/4, at z = 0."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """tanh(z) = (e^z - e^(-z)) / (e^z + e^(-z)) (numpy's stable implementation)."""
    return np.tanh(z)


def tanh_prime(z):
    """tanh'(z) = 1 - tanh(z)^2."""
    t = np.tanh(z)
    return 1.0 - t * t


def relu(z):
    """relu(z) = max(0, z)."""
    return np.maximum(z, 0)


def relu_prime(z):
    """relu'(z) = 1 where z > 0, else 0 (we take 0 at z = 0)."""
    z = _as_float(z)
    return (z > 0).astype(z.dtype)


def softmax(z):
    """softmax(z)_l = e^(z_l) / sum_c e^(z_c), over the last axis (one row per example).

    Subtracting the row's maximum first leaves the result unchanged (it
    cancels between numerator and denominator) and keeps every exponent <= 0,
    so there is no overflow at z = 1000.
    """
    z = _as_float(z)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_prime(z, dout):
    """Backward pass of softmax: the Jacobian J = diag(p) - p p^T applied to dout.

    softmax couples the outputs of a row, so its derivative is a matrix per
    example, not an elementwise factor. For upstream gradient g = dL/dp:
        dL/dz = J^T g = p * (g - sum_l p_l g_l)     (row by row)

    Inputs:
    - z: pre-activations, shape (N, k)
    - dout: dL/dp, shape (N, k)
    Returns dL/dz, shape (N, k).
    """
    p = softmax(z)
    return p * (dout - np.sum(p * dout, axis=-1, keepdims=True))
