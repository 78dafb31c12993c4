"""Loss functions, each returning the loss and its gradient.

A batch has one row per example; the batch loss is the *mean* of the
per-example losses, so every gradient here carries the factor 1/N.
"""
import numpy as np



def _as_batch(a):
    """A single example (1-D) becomes a batch of one row."""
    a = np.asarray(a)
    return a[np.newaxis, :] if a.ndim == 1 else a


def mse(y_hat, y):
    """Squared-error loss and its gradient with respect to y_hat.

        L_p = 1/2 sum_l (y_hat_pl - y_pl)^2      (one example p)
        L   = 1/N sum_p L_p                      (the batch mean)
        dL/dy_hat = (y_hat - y) / N

    Inputs:
    - y_hat: network outputs, shape (N, k) (or (k,) for one example)
    - y: targets, same shape as y_hat
    Returns (L, dL/dy_hat) with dL/dy_hat shaped like y_hat.
    """
    y_hat = np.asarray(y_hat)
    y = np.asarray(y)
    if y_hat.shape != y.shape:
        raise ValueError(f"mse: y_hat has shape {y_hat.shape} but y has shape {y.shape}; "
                         "they must match (one-hot encode class labels first)")
    N = _as_batch(y_hat).shape[0]
    diff = y_hat - y
    loss = 0.5 * np.sum(diff * diff) / N
    return float(loss), diff / N


def one_hot_if_labels(y, k, dtype=np.float64):
    """Integer labels of shape (N,) become one-hot rows (N, k); one-hot input passes through."""
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "iu":
        Y = np.zeros((y.shape[0], k), dtype=dtype)
        Y[np.arange(y.shape[0]), y] = 1.0
        return Y
    return y


def softmax_cross_entropy(z, y):
    """Softmax followed by cross-entropy, with their combined gradient.

        y_hat = softmax(z),   L = -1/N sum_p log y_hat_{p, y_p}
        dL/dz = (y_hat - Y) / N          (Y: one-hot targets)

    The softmax Jacobian and the 1/y_hat of the log cancel, which is why the two
    are computed together. log y_hat = z - logsumexp(z) is evaluated after
    subtracting each row's maximum, so large z cannot overflow.

    Inputs:
    - z: scores (pre-softmax), shape (N, k)
    - y: integer labels (N,) or one-hot rows (N, k)
    Returns (L, dL/dz) with dL/dz of shape (N, k).
    """
    z = _as_batch(z)
    N, k = z.shape
    Y = _as_batch(one_hot_if_labels(y, k, z.dtype))
    if Y.shape != z.shape:
        raise ValueError(f"softmax_cross_entropy: scores have shape {z.shape} but targets have "
                         f"shape {np.shape(y)}; give labels of shape ({N},) or one-hot ({N}, {k})")
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = np.sum(e, axis=1, keepdims=True)
    log_y_hat = shifted - np.log(total)
    loss = -np.sum(Y * log_y_hat) / N
    y_hat = e / total                            # softmax(z), from the same exponentials
    return float(loss), (y_hat - Y) / N
