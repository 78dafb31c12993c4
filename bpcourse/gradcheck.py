"""Gradient checking: compare a backward pass with centred differences.

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)       error O(eps^2)

and measure agreement by the relative error

    rel_error(a, b) = max_i |a_i - b_i| / max(1e-8, max_i (|a_i| + |b_i|))

which is scale-free: ~1e-10 or less means the analytic gradient is right
(float64, eps = 1e-5); ~1e-2 or more means a bug.

The step is eps, not h: in the course h is the hidden activation. (The old
keyword h is still accepted.)
"""
from dataclasses import dataclass

import numpy as np


def numerical_gradient(f, x, eps=1e-5, *, h=None):
    """Centred-difference gradient of the scalar function f() with respect to the array x:
    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every element i.

    x is changed in place, one element at a time, and restored; f takes no
    arguments and must read x (e.g. a closure over the model's weights).
    ``h`` is the old name of eps. Returns an array shaped like x.
    """
    eps = eps if h is None else h
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = f()
        x[i] = old - eps
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def rel_error(a, b):
    """max_i |a_i - b_i| / max(1e-8, max_i (|a_i| + |b_i|))."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))


# a centred difference with eps = 1e-5 is good to about 1e-10: below this, even the
# decade of its disagreement with an exact gradient is decided by round-off
CENTRED_DIFFERENCE_FLOOR = 1e-9


def error_bound(err, floor=None):
    """A relative error rounded up to its power of ten, e.g. 3.2e-11 -> '< 1e-10'.

    Round-off-sized errors differ in their digits from machine to machine;
    their order of magnitude does not, so notebooks print this. An error below
    ``floor`` (a power of ten) prints as '< floor': use CENTRED_DIFFERENCE_FLOOR for
    a check against centred differences, whose last decades are round-off's too.
    """
    if floor is not None and err < floor:
        return f"< 1e{round(np.log10(floor)):d}"
    if err == 0:
        return "0"
    return f"< 1e{int(np.floor(np.log10(err))) + 1:d}" if err < 1e-3 else f"{err:.3g}"


@dataclass
class GradCheckReport:
    """The result of ``check_model_gradients``: one relative error per parameter."""
    errors: dict            # name -> relative error
    tol: float
    first_bad: tuple = None  # (name, index, analytic, numerical) of the first disagreement

    @property
    def ok(self):
        return self.first_bad is None

    def __str__(self):
        lines = [f"{name:<22s} relative error {error_bound(e, CENTRED_DIFFERENCE_FLOOR):>9s}  "
                 f"{'ok' if e <= self.tol else 'WRONG'}"
                 for name, e in self.errors.items()]
        if self.first_bad:
            name, idx, a, n = self.first_bad
            lines.append(f"first disagreement: {name}{list(idx)}: backward gives {a:.6g}, "
                         f"centred difference gives {n:.6g}")
        else:
            lines.append(f"all gradients agree (tolerance {self.tol:g})")
        return "\n".join(lines)


def check_model_gradients(model, x, y, eps=1e-5, tol=1e-7, *, h=None):
    """Check every parameter of ``model`` (a Sequential) against centred differences
    with step eps (``h`` is its old name).

    The loss is evaluated in training mode (batch norm uses batch statistics);
    running averages are restored afterwards. Returns a GradCheckReport naming
    each parameter's relative error and the first element that disagrees.
    """
    saved = {k: v.copy() for k, v in model.buffers().items()}
    model.loss_and_grads(x, y, train=True)
    analytic = {k: g.copy() for k, g in model.grads().items()}
    errors, first_bad = {}, None
    for name, W in model.params().items():
        numeric = numerical_gradient(lambda: model.loss(x, y, train=True), W, eps, h=h)
        errors[name] = rel_error(analytic[name], numeric)
        if first_bad is None and errors[name] > tol:
            scale = max(1e-8, float(np.max(np.abs(analytic[name]) + np.abs(numeric))))
            bad = np.abs(analytic[name] - numeric) / scale > tol
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            first_bad = (name, idx, float(analytic[name][idx]), float(numeric[idx]))
    model.set_buffers(saved)
    return GradCheckReport(errors, tol, first_bad)
