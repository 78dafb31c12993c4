"""Splitting a data set into batches.

Vocabulary: an *epoch* is one pass over all N examples; an *iteration* is
one parameter update, computed on one batch. With batch size B an epoch has
ceil(N / B) iterations: 1 for full-batch gradient descent (B = N), N for
one-example SGD (B = 1), and in between for mini-batches.
"""
import math

import numpy as np


def iterations_per_epoch(N, batch_size):
    """ceil(N / B): the number of updates in one pass over N examples."""
    B = N if batch_size is None else batch_size
    return math.ceil(N / B)


def batch_indices(N, batch_size=None, rng=None, shuffle=True):
    """The example indices of each batch of one epoch, as a list of arrays.

    Inputs:
    - N: number of examples
    - batch_size: None (or N) for full batch, 1 for SGD, B for mini-batches;
      the last batch is smaller when B does not divide N
    - rng: a numpy Generator (or a seed) that shuffles the order each epoch
    - shuffle: False keeps the order 0..N-1
    """
    if batch_size is None:
        batch_size = N
    if not (isinstance(batch_size, (int, np.integer)) and 1 <= batch_size):
        raise ValueError(f"batch_size must be None (full batch) or an integer >= 1, got {batch_size!r}")
    order = np.random.default_rng(rng).permutation(N) if shuffle else np.arange(N)
    return [order[i:i + batch_size] for i in range(0, N, batch_size)]


def minibatches(x, y, batch_size=None, rng=None, shuffle=True):
    """Yield (x_batch, y_batch) for one epoch; see ``batch_indices``."""
    for idx in batch_indices(len(x), batch_size, rng, shuffle):
        yield x[idx], y[idx]
