"""Update rules. Every rule has one signature: ``rule.step(params, grads)``
with ``params`` and ``grads`` dicts of arrays by name; parameters change in place."""
import numpy as np


def gd_update(W, dW, lr):
    """The gradient-descent update W <- W - lr dW, in place. Returns W."""
    W -= lr * dW
    return W


def momentum_update(W, dW, v, lr, mu):
    """Momentum: v <- mu v - lr dW, then W <- W + v (both in place). mu = 0 is plain GD."""
    v *= mu
    v -= lr * dW
    W += v
    return W


class SGD:
    """Stochastic gradient descent: W <- W - lr dW for every parameter.

    With ``momentum`` mu > 0 each parameter keeps a velocity v:
    v <- mu v - lr dW;  W <- W + v.
    """

    def __init__(self, lr, momentum=0.0):
        if not lr > 0:
            raise ValueError(f"SGD: the learning rate lr must be > 0, got {lr!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.lr, self.momentum = lr, momentum
        self.velocity = {}

    def step(self, params, grads):
        for name, W in params.items():
            if self.momentum:
                v = self.velocity.setdefault(name, np.zeros_like(W))
                momentum_update(W, grads[name], v, self.lr, self.momentum)
            else:
                gd_update(W, grads[name], self.lr)
