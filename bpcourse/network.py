"""The three-layer network of the derivation, in the course's symbols.

    z1 = W1 x + b1        h = sigma(z1)          (hidden layer, m units)
    z2 = W2 h + b2        y_hat = sigma(z2)      (output layer, k units)
    L  = 1/2 sum_l (y_hat_l - y_l)^2             (per example; a batch averages it)

Weights are stored (out, in): W1 has shape (m, n), W2 has shape (k, m).
A batch x has one example per row, shape (N, n), so "W1 x" for every row at
once is ``x @ W1.T``. Everything below is the lesson's equation, batched.
"""
from typing import NamedTuple

import numpy as np

from .activations import sigmoid
from .losses import mse


class ForwardPass(NamedTuple):
    """Every quantity of the forward pass, kept for the backward pass."""
    z1: np.ndarray
    h: np.ndarray
    z2: np.ndarray
    y_hat: np.ndarray


class Gradients(NamedTuple):
    """The error terms and the gradients of the batch-mean loss."""
    delta2: np.ndarray
    delta1: np.ndarray
    dW2: np.ndarray
    db2: np.ndarray
    dW1: np.ndarray
    db1: np.ndarray


def init_params(n, m, k, seed=0, dtype=np.float64):
    """Random weights, zero biases: W ~ Normal(0, 1/fan_in).

    Inputs: n inputs, m hidden units, k outputs; seed for numpy's generator.
    Returns a dict with W1 (m, n), b1 (m,), W2 (k, m), b2 (k,).
    """
    rng = np.random.default_rng(seed)
    return {
        "W1": (rng.standard_normal((m, n)) / np.sqrt(n)).astype(dtype),
        "b1": np.zeros(m, dtype=dtype),
        "W2": (rng.standard_normal((k, m)) / np.sqrt(m)).astype(dtype),
        "b2": np.zeros(k, dtype=dtype),
    }


def forward(x, W1, b1, W2, b2):
    """The forward pass: z1 = W1 x + b1, h = sigma(z1), z2 = W2 h + b2, y_hat = sigma(z2).

    Inputs:
    - x: one example (n,) or a batch (N, n)
    - W1 (m, n), b1 (m,), W2 (k, m), b2 (k,)
    Returns ForwardPass(z1, h, z2, y_hat), shapes (N, m), (N, m), (N, k), (N, k)
    (without the N for a single example).
    """
    z1 = x @ W1.T + b1
    h = sigmoid(z1)
    z2 = h @ W2.T + b2
    y_hat = sigmoid(z2)
    return ForwardPass(z1, h, z2, y_hat)


def backward(x, y, W2, h, y_hat):
    """The backward pass: error terms and gradients of the batch-mean loss.

        delta2 = (y_hat - y) * y_hat * (1 - y_hat)        dL/dz2, per example
        delta1 = (W2^T delta2) * h * (1 - h)              dL/dz1, per example
        dW2 = 1/N sum_p delta2_p h_p^T      db2 = 1/N sum_p delta2_p
        dW1 = 1/N sum_p delta1_p x_p^T      db1 = 1/N sum_p delta1_p

    With rows as examples, "W2^T delta2" for every row is ``delta2 @ W2`` and
    the sum over examples of the outer products is one matrix product.

    Inputs:
    - x: one example (n,) or a batch (N, n); y: targets (k,) or (N, k)
    - W2: (k, m); h, y_hat: from the forward pass
    Returns Gradients(delta2, delta1, dW2, db2, dW1, db1); delta2 and delta1
    are per example (no 1/N), the gradients are of the batch mean.
    """
    x, y, h, y_hat = (np.atleast_2d(a) for a in (x, y, h, y_hat))
    if y.shape != y_hat.shape:
        raise ValueError(f"backward: y has shape {y.shape} but y_hat has shape {y_hat.shape}")
    N = x.shape[0]
    delta2 = (y_hat - y) * y_hat * (1 - y_hat)
    delta1 = (delta2 @ W2) * h * (1 - h)
    dW2 = delta2.T @ h / N
    db2 = delta2.sum(axis=0) / N
    dW1 = delta1.T @ x / N
    db1 = delta1.sum(axis=0) / N
    return Gradients(delta2, delta1, dW2, db2, dW1, db1)


def loss(x, y, W1, b1, W2, b2):
    """The batch-mean squared error L of the network on (x, y)."""
    return mse(np.atleast_2d(forward(x, W1, b1, W2, b2).y_hat), np.atleast_2d(y))[0]


def gradients(x, y, W1, b1, W2, b2):
    """Forward then backward: returns (L, Gradients) for the batch (x, y)."""
    fp = forward(x, W1, b1, W2, b2)
    L = mse(np.atleast_2d(fp.y_hat), np.atleast_2d(y))[0]
    return L, backward(x, y, W2, fp.h, fp.y_hat)
