"""Layers with a forward and a backward pass, in the style of paired
``*_forward`` / ``*_backward`` functions with an explicit cache.

Conventions (the same as the three-layer network):
- a batch has one example per row: x has shape (N, n_in);
- weights are stored (out, in), so a dense layer computes ``x @ W.T + b``;
- ``dout`` is the gradient of the loss with respect to a layer's output; the
  loss functions already include the 1/N of the batch mean, so the backward
  passes here just apply the chain rule.

The functions hold the maths. The small classes at the end wrap them with
their parameters and gradients so a ``Sequential`` model can stack them.
"""
import numpy as np

from .activations import _as_float, _exp_limit, relu_prime, sigmoid, tanh


# ---------------------------------------------------------------- dense

def dense_forward(x, W, b=None):
    """z = W x + b for every row: z = x @ W.T + b.

    Inputs: x (N, n_in); W (n_out, n_in); b (n_out,) or None for a layer without bias.
    Returns: z (N, n_out), cache = (x, W).
    """
    z = x @ W.T
    if b is not None:
        z += b
    return z, (x, W)


def dense_backward(dz, cache, need_dx=True):
    """Gradients of z = x @ W.T + b.

        dx = dz W        dW = dz^T x  (sum over the batch of outer products)   db = sum_p dz_p

    Inputs: dz (N, n_out) = dL/dz; cache from dense_forward; need_dx=False
    skips dx (the first layer's input is data: nobody needs its gradient).
    Returns: dx (N, n_in) or None, dW (n_out, n_in), db (n_out,).
    """
    x, W = cache
    dx = dz @ W if need_dx else None
    return dx, dz.T @ x, dz.sum(axis=0)


# ---------------------------------------------------------- activations

def sigmoid_forward(z):
    """a = sigma(z) = 1 / (1 + e^(-z)). Returns a and the cache a (sigma' is written in terms of a).

    The same numbers as ``activations.sigmoid``, bit for bit, computed in one new
    array with in-place steps instead of a temporary per operation (the training hot path).
    """
    z = _as_float(z)
    if z.ndim == 0:
        a = sigmoid(z)
        return a, a
    a = np.negative(z)                                # -z
    np.minimum(a, _exp_limit(z.dtype), out=a)         # capped: keeps e^(-z) finite (see activations.sigmoid)
    np.exp(a, out=a)                                  # e^(-z)
    a += 1.0                                          # 1 + e^(-z)
    np.divide(1.0, a, out=a)                          # 1 / (1 + e^(-z))
    return a, a


def sigmoid_backward(da, cache):
    """dz = da * sigma'(z) = da * a (1 - a)."""
    a = cache
    dz = da * a
    dz *= 1 - a          # in place: one temporary fewer, the same numbers
    return dz


def tanh_forward(z):
    """a = tanh(z). Returns a and the cache a."""
    a = tanh(z)
    return a, a


def tanh_backward(da, cache):
    """dz = da * (1 - a^2)."""
    a = cache
    return da * (1 - a * a)


def relu_forward(z):
    """a = max(0, z). Returns a and the cache z."""
    return np.maximum(z, 0), z


def relu_backward(da, cache):
    """dz = da * [z > 0]."""
    return da * relu_prime(cache)


# ---------------------------------------------------------- batch norm

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalization in training mode, per feature (column) over the batch.

        mu = 1/N sum_p x_p                 var = 1/N sum_p (x_p - mu)^2
        x_hat = (x - mu) / sqrt(var + eps)
        out = gamma * x_hat + beta

    Inputs: x (N, D); gamma, beta (D,); eps > 0.
    Returns: out (N, D), cache = (x, x_hat, mu, var, inv_std, gamma, eps) for the backward pass.
    """
    N = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    var = np.einsum("pd,pd->d", xc, xc) / N    # 1/N sum_p xc_p^2, without an (N, D) temporary
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = np.multiply(xc, inv_std, out=xc)   # in place: xc is not needed again
    out = gamma * x_hat
    out += beta
    return out, (x, x_hat, mu, var, inv_std, gamma, eps)


def batchnorm_backward(dout, cache):
    """Backward pass of training-mode batch norm, compact closed form.

        dbeta  = sum_p dout_p            dgamma = sum_p dout_p * x_hat_p
        dx_hat = dout * gamma
        dx = inv_std / N * (N dx_hat - sum_p dx_hat_p - x_hat * sum_p (dx_hat_p * x_hat_p))
           = gamma * inv_std * (dout - dbeta / N - x_hat * dgamma / N)

    The two sums are the paths through mu and var: every x_p moves the batch
    statistics, and so every other output of its column. The second line is the
    first with sum_p dx_hat_p = gamma dbeta and sum_p dx_hat_p x_hat_p = gamma dgamma;
    it is the one computed: dbeta / N and dgamma / N are the batch means of dout and
    dout * x_hat, and dx takes four passes over (N, D) arrays, all in one new array.

    Inputs: dout (N, D); cache from batchnorm_forward.
    Returns: dx (N, D), dgamma (D,), dbeta (D,).
    """
    _, x_hat, _, _, inv_std, gamma, _ = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("pd,pd->d", dout, x_hat)  # sum_p dout_p * x_hat_p, without an (N, D) temporary
    dx = x_hat * (dgamma / N)                    #               x_hat * dgamma / N
    dx += dbeta / N                              #   dbeta / N + x_hat * dgamma / N
    np.subtract(dout, dx, out=dx)                # dout - dbeta / N - x_hat * dgamma / N
    dx *= gamma * inv_std
    return dx, dgamma, dbeta


def batchnorm_backward_graph(dout, cache):
    """The same gradients as batchnorm_backward, one node of the graph at a time.

    Forward graph: mu = mean(x); xc = x - mu; var = mean(xc^2);
    std = sqrt(var + eps); inv_std = 1/std; x_hat = xc * inv_std; out = gamma x_hat + beta.
    Walk it backwards, each step one local derivative:

    Inputs: dout (N, D); cache from batchnorm_forward.
    Returns: dx (N, D), dgamma (D,), dbeta (D,).
    """
    x, x_hat, mu, var, inv_std, gamma, eps = cache
    N = dout.shape[0]
    xc = x - mu                                 # the forward node, recomputed (the cache keeps x)
    dbeta = dout.sum(axis=0)                    # out = ... + beta
    dgamma = (dout * x_hat).sum(axis=0)         # out = gamma * x_hat + ...
    dx_hat = dout * gamma
    dinv_std = (dx_hat * xc).sum(axis=0)        # x_hat = xc * inv_std
    dxc = dx_hat * inv_std
    std = np.sqrt(var + eps)
    dstd = -dinv_std / (std * std)              # inv_std = 1 / std
    dvar = 0.5 * dstd / std                     # std = sqrt(var + eps)
    dxc = dxc + (2.0 / N) * xc * dvar           # var = 1/N sum xc^2
    dmu = -dxc.sum(axis=0)                      # xc = x - mu
    dx = dxc + dmu / N                          # mu = 1/N sum x
    return dx, dgamma, dbeta


def batchnorm_eval_forward(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Batch norm at inference: the running averages replace the batch statistics.

        out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta

    Each example is then normalized on its own, the same way whatever else is in the batch.
    Returns: out (N, D), cache = (gamma * inv_std, x_hat).
    """
    inv_std = 1.0 / np.sqrt(running_var + eps)
    x_hat = (x - running_mean) * inv_std
    return gamma * x_hat + beta, (gamma * inv_std, x_hat)


def batchnorm_eval_backward(dout, cache):
    """Backward pass of eval-mode batch norm: a fixed affine map per feature.

    Returns: dx = dout * gamma / sqrt(running_var + eps), dgamma, dbeta.
    """
    scale, x_hat = cache
    return dout * scale, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


# --------------------------------------------------------------- classes

class Layer:
    """A layer: ``forward(x, train)`` keeps its cache, ``backward(dout)`` uses it.

    ``params`` and ``grads`` map names ("W", "b", ...) to arrays; ``buffers``
    holds state that is not learned (batch norm's running averages).
    """
    params: dict
    grads: dict
    buffers: dict

    def __init__(self):
        self.params, self.grads, self.buffers = {}, {}, {}
        self.cache = None

    def forward(self, x, train=True):
        raise NotImplementedError

    def backward(self, dout, need_dx=True):
        """dL/d(input) from dL/d(output); fills ``grads``. need_dx=False may skip the return value."""
        raise NotImplementedError

    def __repr__(self):
        shapes = ", ".join(f"{k}{v.shape}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


class Dense(Layer):
    """Fully connected layer z = x @ W.T + b, W of shape (n_out, n_in).

    Weights start as Normal(0, 1/n_in) (so z has unit variance when x does),
    biases as zero; pass W and b to use given values. ``bias=False`` drops b:
    right before batch norm a bias does nothing (the batch mean removes it,
    beta takes its role) and its gradient is exactly zero.
    """
    kind = "dense"

    def __init__(self, n_in, n_out, rng=None, dtype=np.float64, W=None, b=None, bias=True):
        super().__init__()
        rng = np.random.default_rng(rng)
        if W is None:
            W = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        W = np.array(W, dtype=dtype)
        if W.shape != (n_out, n_in):
            raise ValueError(f"Dense({n_in}, {n_out}): W must have shape ({n_out}, {n_in}), got {W.shape}")
        self.params = {"W": W}
        if bias:
            b = np.zeros(n_out, dtype=dtype) if b is None else np.array(b, dtype=dtype)
            if b.shape != (n_out,):
                raise ValueError(f"Dense({n_in}, {n_out}): b must have shape ({n_out},), got {b.shape}")
            self.params["b"] = b
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, train=True):
        z, self.cache = dense_forward(x, self.params["W"], self.params.get("b"))
        return z

    def backward(self, dout, need_dx=True):
        dx, self.grads["W"], db = dense_backward(dout, self.cache, need_dx)
        if "b" in self.params:
            self.grads["b"] = db
        return dx


class _Activation(Layer):
    _forward = _backward = None

    def forward(self, x, train=True):
        a, self.cache = type(self)._forward(x)
        return a

    def backward(self, dout, need_dx=True):
        return type(self)._backward(dout, self.cache)


class Sigmoid(_Activation):
    """a = sigma(z), elementwise."""
    kind = "sigmoid"
    _forward, _backward = sigmoid_forward, sigmoid_backward


class Tanh(_Activation):
    """a = tanh(z), elementwise."""
    kind = "tanh"
    _forward, _backward = tanh_forward, tanh_backward


class ReLU(_Activation):
    """a = max(0, z), elementwise."""
    kind = "relu"
    _forward, _backward = relu_forward, relu_backward


class BatchNorm(Layer):
    """Batch normalization over the batch, per feature, with learned gamma and beta.

    Training (``train=True``) normalizes with the batch's own mean and variance
    and updates the running averages used at inference (``train=False``):

        running_mean <- momentum * running_mean + (1 - momentum) * mu
        running_var  <- momentum * running_var  + (1 - momentum) * var * N / (N - 1)

    momentum = 0.9 keeps 90% of the old average (PyTorch's ``momentum=0.1``
    names the other share: the same rule). The variance is stored unbiased,
    N / (N - 1), as in the batch-norm paper and PyTorch.
    """
    kind = "batchnorm"

    def __init__(self, n_features, momentum=0.9, eps=1e-5, dtype=np.float64):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.params = {"gamma": np.ones(n_features, dtype=dtype), "beta": np.zeros(n_features, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {"running_mean": np.zeros(n_features, dtype=dtype),
                        "running_var": np.ones(n_features, dtype=dtype)}
        self._train = True

    def forward(self, x, train=True):
        gamma, beta = self.params["gamma"], self.params["beta"]
        self._train = train
        if not train:
            out, self.cache = batchnorm_eval_forward(x, gamma, beta, self.buffers["running_mean"],
                                                     self.buffers["running_var"], self.eps)
            return out
        out, self.cache = batchnorm_forward(x, gamma, beta, self.eps)
        _, _, mu, var, *_ = self.cache
        N = x.shape[0]
        unbiased = var * (N / (N - 1)) if N > 1 else var
        m = self.momentum
        self.buffers["running_mean"] = m * self.buffers["running_mean"] + (1 - m) * mu
        self.buffers["running_var"] = m * self.buffers["running_var"] + (1 - m) * unbiased
        return out

    def backward(self, dout, need_dx=True):
        backward = batchnorm_backward if self._train else batchnorm_eval_backward
        dx, self.grads["gamma"], self.grads["beta"] = backward(dout, self.cache)
        return dx
