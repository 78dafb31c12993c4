"""Preparing a data set for training: split, standardize, one-hot encode."""
import numpy as np

from ..losses import one_hot_if_labels


def train_test_split(x, y, test_fraction=0.2, seed=0, stratify=True):
    """Split examples (rows) at random into a training set and a test set.

    The test set holds round(test_fraction * N) examples. With ``stratify``,
    each class (each distinct value, or row, of ``y``) is split in the same
    proportion, so a rare class cannot end up missing from the test set by bad
    luck; the rounding leftovers go to the classes that are furthest from
    their exact share, ties broken at random.

    Inputs:
    - x: inputs, shape (N, ...)
    - y: labels (N,) or targets (N, k), e.g. one-hot rows or xor's 0/1 column
    - test_fraction: share of the examples held out, strictly between 0 and 1
    - seed: seed of the random generator (same seed, same split)
    - stratify: keep the class proportions in both parts (see above)

    Returns x_train, x_test, y_train, y_test (both parts in random order).
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(f"train_test_split: x and y must have one row per example and the same "
                         f"number of rows; got x of shape {x.shape} and y of shape {y.shape}")
    if not (np.isscalar(test_fraction) and 0 < test_fraction < 1):
        raise ValueError(f"train_test_split: test_fraction must be between 0 and 1, got {test_fraction!r}")
    N = len(x)
    n_test = int(round(test_fraction * N))
    if not 1 <= n_test <= N - 1:
        raise ValueError(f"train_test_split: test_fraction={test_fraction} of {N} examples leaves "
                         f"{n_test} for testing and {N - n_test} for training; both need at least one")
    rng = np.random.default_rng(seed)
    if stratify:
        test = _stratified_test_indices(y, n_test, rng)
    else:
        test = rng.permutation(N)[:n_test]
    is_test = np.zeros(N, dtype=bool)
    is_test[test] = True
    train = rng.permutation(np.flatnonzero(~is_test))
    test = rng.permutation(np.flatnonzero(is_test))
    return x[train], x[test], y[train], y[test]


def _stratified_test_indices(y, n_test, rng):
    """Indices of n_test examples, drawn from each class in proportion to its size."""
    N = len(y)
    _, cls = np.unique(y.reshape(N, -1), axis=0, return_inverse=True)
    cls = cls.reshape(N)
    counts = np.bincount(cls)
    share = counts * n_test / N                  # exact (fractional) test share of each class
    take = np.floor(share).astype(int)
    leftover = n_test - take.sum()
    # Largest remainder first; a random key breaks ties (lexsort sorts by the last key first).
    by_remainder = np.lexsort((rng.random(len(counts)), -(share - take)))
    take[by_remainder[:leftover]] += 1
    return np.concatenate([rng.permutation(np.flatnonzero(cls == c))[:take[c]]
                           for c in range(len(counts))])


def standardize(x_train, *others):
    """Shift and scale every feature to mean 0 and standard deviation 1 on the training set.

        mean_i = mean over training examples of x_i
        std_i  = standard deviation over training examples of x_i
        x_i   <- (x_i - mean_i) / std_i

    Only the training set's statistics are used, for the training set and for
    every other set alike: the test set stands for data not seen before, so
    its own statistics must not leak into the preprocessing.

    A feature that is constant on the training set (std 0: e.g. the always
    blank corner pixels of the digits) would be divided by zero and turn into
    inf/NaN. Its std is replaced by 1, so it becomes x_i - mean_i: 0 on the
    training set, which is honest, since it carries no information there.

    Inputs:
    - x_train: training inputs, shape (N, n)
    - others: any number of other arrays (M, n): validation, test, ...

    Returns (x_train_std, *others_std, mean, std), all float64; mean and std
    have shape (n,) so new data can be transformed later as (x - mean) / std.
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    if x_train.ndim != 2 or len(x_train) == 0:
        raise ValueError(f"standardize: x_train must be a non-empty batch of shape (N, n), "
                         f"got shape {x_train.shape}")
    others = [np.asarray(o, dtype=np.float64) for o in others]
    for i, other in enumerate(others):
        if other.ndim != 2 or other.shape[1] != x_train.shape[1]:
            raise ValueError(f"standardize: array {i + 1} after x_train has shape {other.shape}, "
                             f"but x_train has {x_train.shape[1]} features per row")
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    constant = x_train.max(axis=0) == x_train.min(axis=0)
    std[constant] = 1.0
    return tuple((a - mean) / std for a in [x_train, *others]) + (mean, std)


def one_hot(y, k=None):
    """Integer class labels as one-hot rows: row p has a 1 in column y_p, 0 elsewhere.

        Y_pc = 1 if y_p == c else 0

    Inputs:
    - y: integer labels, shape (N,), each in 0..k-1
    - k: number of classes; None uses max(y) + 1

    Returns Y, float64 of shape (N, k).
    """
    y = np.asarray(y)
    if y.ndim != 1 or not (y.dtype.kind in "iu" or y.size == 0):
        raise ValueError(f"one_hot: y must be a 1-D array of integer labels, got dtype {y.dtype} "
                         f"and shape {y.shape} (convert whole-number floats with y.astype(int))")
    y = y.astype(np.int64)
    if k is None:
        if y.size == 0:
            raise ValueError("one_hot: y is empty, so the number of classes k must be given")
        k = int(y.max()) + 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"one_hot: k (number of classes) must be an integer >= 1, got {k!r}")
    bad = np.flatnonzero((y < 0) | (y >= k))
    if bad.size:
        raise ValueError(f"one_hot: labels must lie in [0, {k}) for k={k} classes; "
                         f"y[{bad[0]}] = {y[bad[0]]} ({bad.size} label(s) out of range)")
    return one_hot_if_labels(y, k, np.float64)
