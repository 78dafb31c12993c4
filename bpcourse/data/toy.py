"""Small two-dimensional data sets, generated with numpy from a seed.

Every function returns ``(x, y)`` with one example per row: ``x`` of shape
(N, 2), float64. For ``two_moons``, ``circles`` and ``spirals``, ``y`` holds
integer class labels of shape (N,) (int64), ready for softmax cross-entropy
or ``one_hot``. ``xor`` is the exception: its ``y`` has shape (N, 1) and holds
float 0/1 targets, ready for a sigmoid output and squared error.

The same seed always gives the same points. Apart from the four classic XOR
points, examples come in shuffled order, so the first rows are not all one class.
"""
import numpy as np


def _check_count(count, name="N", minimum=1):
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {count!r}")


def _point_count(N, n):
    """N, or ``n``: the keyword's name before it became the course's N (still accepted)."""
    return N if n is None else n


def _check_noise(noise):
    if not (np.isscalar(noise) and np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a number >= 0 (a standard deviation), got {noise!r}")


def _shuffled(rng, x, y):
    order = rng.permutation(len(x))
    return x[order], y[order]


def xor(N=None, noise=0.0, seed=0, *, n=None):
    """The XOR problem: the output is 1 when exactly one input is 1.

        x = (x1, x2) near a corner of the unit square,  y = x1 XOR x2

    Inputs:
    - N: None for the four classic points (0,0), (0,1), (1,0), (1,1) in that
      order; an integer for N points, spread evenly over the four corners
      (N // 4 each, the first N % 4 corners get one more) and shuffled
    - noise: standard deviation of Gaussian jitter added to every coordinate
      (with N given and noise=0 the corners simply repeat)
    - seed: seed of the random generator
    - n: the old name of N, still accepted

    Returns (x, y):
    - x: float64 (N, 2)
    - y: float64 (N, 1), targets 0.0 or 1.0 (not integer labels: a column of
      targets, to match a network with one sigmoid output)
    """
    _check_noise(noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    targets = np.array([[0.0], [1.0], [1.0], [0.0]])
    rng = np.random.default_rng(seed)
    N = _point_count(N, n)
    if N is None:
        x, y = corners.copy(), targets.copy()
    else:
        _check_count(N)
        which = np.arange(N) % 4
        x, y = _shuffled(rng, corners[which], targets[which])
    return x + noise * rng.standard_normal(x.shape), y


def two_moons(N=200, noise=0.1, seed=0, *, n=None):
    """Two interleaving half circles, one per class.

        class 0: (cos t, sin t),             t in [0, pi]
        class 1: (1 - cos t, 0.5 - sin t),   t in [0, pi]

    Inputs:
    - N: number of points (class 0 gets N // 2, class 1 the rest)
    - noise: standard deviation of the Gaussian noise added to every coordinate
    - seed: seed of the random generator
    - n: the old name of N, still accepted

    Returns (x float64 (N, 2), y int64 class labels (N,) in {0, 1}).
    """
    N = _point_count(N, n)
    _check_count(N, minimum=2)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    N0 = N // 2
    t0 = np.linspace(0.0, np.pi, N0)
    t1 = np.linspace(0.0, np.pi, N - N0)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    x = np.vstack([upper, lower])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [N0, N - N0])
    x = x + noise * rng.standard_normal(x.shape)
    return _shuffled(rng, x, y)


def circles(N=200, noise=0.05, factor=0.5, seed=0, *, n=None):
    """A circle inside another: not separable by a line, easy for one hidden layer.

        class 0: radius 1,       class 1: radius ``factor``
        (cos t, sin t) * radius, angles t evenly spaced around the circle

    Inputs:
    - N: number of points (the outer circle gets N // 2, the inner the rest)
    - noise: standard deviation of the Gaussian noise added to every coordinate
    - factor: radius of the inner circle, between 0 and 1 (exclusive)
    - seed: seed of the random generator
    - n: the old name of N, still accepted

    Returns (x float64 (N, 2), y int64 class labels (N,) in {0, 1}; 1 = inner).
    """
    N = _point_count(N, n)
    _check_count(N, minimum=2)
    _check_noise(noise)
    if not (np.isscalar(factor) and 0 < factor < 1):
        raise ValueError(f"factor (inner radius) must be between 0 and 1, got {factor!r}")
    rng = np.random.default_rng(seed)
    N0 = N // 2
    t0 = np.linspace(0.0, 2 * np.pi, N0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, N - N0, endpoint=False)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = factor * np.column_stack([np.cos(t1), np.sin(t1)])
    x = np.vstack([outer, inner])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [N0, N - N0])
    x = x + noise * rng.standard_normal(x.shape)
    return _shuffled(rng, x, y)


def spirals(N=300, classes=3, noise=0.2, seed=0, *, n=None):
    """Interleaved spiral arms, one per class (the CS231n spiral data).

    For class c, point p of its arm (r_p running evenly from 0 to 1):

        t = 4 c + 4 r_p + noise * N(0, 1)          (angle, radians)
        x = r_p (sin t, cos t)

    Inputs:
    - N: total number of points, spread evenly over the classes
      (N // classes each, the first N % classes arms get one more)
    - classes: number of arms (classes), at least 2
    - noise: standard deviation of the Gaussian noise added to the angle
    - seed: seed of the random generator
    - n: the old name of N, still accepted

    Returns (x float64 (N, 2), y int64 class labels (N,) in 0..classes-1).
    """
    N = _point_count(N, n)
    _check_count(classes, "classes", minimum=2)
    _check_count(N, minimum=classes)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    sizes = np.full(classes, N // classes)
    sizes[: N % classes] += 1
    y = np.repeat(np.arange(classes, dtype=np.int64), sizes)
    r = np.concatenate([np.linspace(0.0, 1.0, size) for size in sizes])
    t = 4.0 * y + 4.0 * r + noise * rng.standard_normal(N)
    x = r[:, np.newaxis] * np.column_stack([np.sin(t), np.cos(t)])
    return _shuffled(rng, x, y)
