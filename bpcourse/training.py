"""The training loop: batches, forward, backward, update; and its history."""
import time
from dataclasses import dataclass, field

import numpy as np

from .batching import batch_indices
from .model import accuracy
from .optim import SGD


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; ``history`` holds what was recorded before."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """What happened during training.

    Per iteration (one update each): ``loss`` and ``accuracy`` on that batch,
    ``examples_seen`` so far, ``seconds`` since the start.
    Per epoch (one pass over the data, measured in evaluation mode after it):
    ``epoch_loss`` and ``epoch_accuracy`` on the training set,
    ``val_loss`` / ``val_accuracy`` when validation data was given, and
    ``epoch_ends``: the number of iterations done when the epoch ended.
    """
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    examples_seen: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    epoch_loss: list = field(default_factory=list)
    epoch_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    epoch_ends: list = field(default_factory=list)

    @property
    def iterations(self):
        return len(self.loss)

    @property
    def epochs(self):
        return len(self.epoch_loss)

    def __repr__(self):
        last = f", last loss {self.loss[-1]:.4g}" if self.loss else ""
        return f"History({self.iterations} iterations, {self.epochs} epochs{last})"


def train(model, x, y, *, epochs=1, lr=0.1, batch_size=None, momentum=0.0, seed=0,
          x_val=None, y_val=None, optimizer=None, progress=True, shuffle=True):
    """Train ``model`` by (mini-batch) gradient descent and return its History.

    For every epoch the examples are shuffled by a generator seeded with
    ``seed`` (the same seed gives the same history, bit for bit); then for each
    batch: forward, loss, backward, update ``W <- W - lr dW``.

    Inputs:
    - model: a Sequential (anything with loss_and_grads, params, grads, evaluate)
    - x (N, n), y: labels (N,) or targets (N, k)
    - epochs: passes over the data; lr: learning rate; momentum: see optim.SGD
    - batch_size: None = full batch (GD), 1 = SGD, B = mini-batches of B
    - x_val, y_val: optional validation data, measured after each epoch
    - optimizer: an object with step(params, grads); default SGD(lr, momentum)
    - progress: show a tqdm progress bar (False turns it off)
    Raises TrainingDiverged when the loss becomes NaN or infinite.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"train: x has {len(x)} examples but y has {len(y)}")
    optimizer = optimizer or SGD(lr, momentum)
    rng = np.random.default_rng(seed)
    N = len(x)
    batches_per_epoch = len(batch_indices(N, batch_size, shuffle=False))
    hist = History()
    params = model.params()
    start = time.perf_counter()
    from tqdm.auto import tqdm   # here, not at the top: in a notebook it loads ipywidgets (0.15 s per kernel)
    bar = tqdm(total=epochs * batches_per_epoch, desc="training", unit="it", disable=not progress)
    # overflow shows up as a NaN/inf loss, reported as a divergence rather than a numpy warning
    with np.errstate(over="ignore", invalid="ignore"), bar:
        for epoch in range(1, epochs + 1):
            for idx in batch_indices(N, batch_size, rng, shuffle):
                L, out = model.loss_and_grads(x[idx], y[idx])
                if not np.isfinite(L):
                    raise TrainingDiverged(
                        f"training stopped: the loss became {L} at iteration {hist.iterations + 1} "
                        f"(epoch {epoch}). The updates overshoot: try a smaller learning rate "
                        f"(lr={getattr(optimizer, 'lr', lr)} now, e.g. a tenth of it).", hist)
                optimizer.step(params, model.grads())
                hist.loss.append(L)
                hist.accuracy.append(accuracy(out, y[idx]))
                hist.examples_seen.append((hist.examples_seen[-1] if hist.examples_seen else 0) + len(idx))
                hist.seconds.append(time.perf_counter() - start)
                bar.update(1)
            L, acc = model.evaluate(x, y)
            hist.epoch_loss.append(L)
            hist.epoch_accuracy.append(acc)
            hist.epoch_ends.append(hist.iterations)
            if x_val is not None:
                L, acc = model.evaluate(x_val, y_val)
                hist.val_loss.append(L)
                hist.val_accuracy.append(acc)
            bar.set_postfix(loss=f"{hist.epoch_loss[-1]:.4f}", acc=f"{hist.epoch_accuracy[-1]:.3f}")
    return hist
