"""Batching, updates, the training loop and its history."""
import subprocess
import sys

import numpy as np
import pytest

from bpcourse import batching, optim
from bpcourse.model import mlp
from bpcourse.training import TrainingDiverged, train


@pytest.mark.parametrize("N, B, expected", [(10, None, 1), (10, 1, 10), (10, 3, 4), (10, 10, 1), (10, 20, 1)])
def test_batches_cover_every_example_once_per_epoch(N, B, expected):
    batches = batching.batch_indices(N, B, rng=0)
    assert len(batches) == expected == batching.iterations_per_epoch(N, B)
    assert sorted(np.concatenate(batches).tolist()) == list(range(N))


def test_batch_order_is_seeded_and_reshuffled_every_epoch():
    rng1, rng2 = np.random.default_rng(4), np.random.default_rng(4)
    e1 = [batching.batch_indices(12, 4, rng1) for _ in range(2)]
    e2 = [batching.batch_indices(12, 4, rng2) for _ in range(2)]
    assert all(np.array_equal(a, b) for x, y in zip(e1, e2) for a, b in zip(x, y))
    assert not np.array_equal(np.concatenate(e1[0]), np.concatenate(e1[1]))
    assert np.array_equal(np.concatenate(batching.batch_indices(5, 2, shuffle=False)), np.arange(5))
    with pytest.raises(ValueError, match="batch_size"):
        batching.batch_indices(5, 0)


def test_update_rules():
    W, dW = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    optim.gd_update(W, dW, lr=0.1)
    assert np.allclose(W, [0.95, 2.1])
    W, v = np.array([1.0]), np.zeros(1)
    optim.momentum_update(W, np.array([1.0]), v, lr=0.1, mu=0.9)
    optim.momentum_update(W, np.array([1.0]), v, lr=0.1, mu=0.9)
    assert np.allclose(v, [-0.19]) and np.allclose(W, [1 - 0.1 - 0.19])
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD(lr=-1)


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def test_training_solves_xor():
    model = mlp([2, 4, 1], seed=1)
    hist = train(model, XOR_X, XOR_Y, epochs=2000, lr=4.0, progress=False)
    assert hist.epoch_loss[-1] < 0.01 < hist.epoch_loss[0]
    assert np.array_equal(model.predict(XOR_X) > 0.5, XOR_Y > 0.5)


def test_history_counts_iterations_epochs_and_examples():
    x = np.random.default_rng(0).standard_normal((10, 2))
    y = (x[:, 0] > 0).astype(np.int64)
    hist = train(mlp([2, 3, 2], seed=0), x, y, epochs=3, lr=0.5, batch_size=4, x_val=x, y_val=y, progress=False)
    assert hist.iterations == 9 and hist.epochs == 3
    assert hist.examples_seen[:4] == [4, 8, 10, 14] and hist.examples_seen[-1] == 30
    assert len(hist.val_accuracy) == 3 and len(hist.seconds) == 9


def run(seed):
    x = np.random.default_rng(1).standard_normal((40, 3))
    y = (x.sum(axis=1) > 0).astype(np.int64)
    model = mlp([3, 8, 8, 2], batchnorm=True, output=None, loss="softmax_cross_entropy", seed=seed)
    return train(model, x, y, epochs=4, lr=0.3, batch_size=7, momentum=0.5, seed=seed, progress=False)


def test_same_seed_gives_bit_identical_histories():
    a, b, c = run(3), run(3), run(4)
    for field in ("loss", "accuracy", "examples_seen", "epoch_loss", "epoch_accuracy"):
        assert getattr(a, field) == getattr(b, field), field
    assert a.loss != c.loss


def test_diverging_loss_stops_with_a_clear_message():
    x = np.random.default_rng(0).standard_normal((20, 2)) * 100
    y = np.random.default_rng(1).random((20, 1))
    model = mlp([2, 5, 1], activation="relu", output=None, loss="mse", seed=0)
    with pytest.raises(TrainingDiverged, match=r"became inf at iteration 5 .*smaller learning rate") as e:
        train(model, x, y, epochs=50, lr=1.0, progress=False)
    assert e.value.history.iterations == 4


def test_progress_bar_can_be_shown_and_hidden(capsys):
    x, y = XOR_X, XOR_Y
    train(mlp([2, 2, 1]), x, y, epochs=2, lr=0.1, progress=True)
    assert "training" in capsys.readouterr().err
    train(mlp([2, 2, 1]), x, y, epochs=2, lr=0.1, progress=False)
    assert capsys.readouterr().err == ""


def test_importing_bpcourse_loads_neither_tqdm_nor_matplotlib():
    """Every lesson's first cell imports bpcourse: the progress bar (tqdm, which loads
    ipywidgets in a notebook) and matplotlib load when first used, not before."""
    code = ("import sys, bpcourse; "
            "print(sorted(m for m in ('tqdm', 'matplotlib', 'ipywidgets', 'IPython') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", f"import bpcourse also imported {loaded.strip()}"


def test_digits_reach_95_percent_with_minibatches_and_batchnorm():
    from bpcourse.data import load_digits, standardize, train_test_split

    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction=0.2, seed=0)
    x_train, x_test, _, _ = standardize(x_train, x_test)
    model = mlp([64, 100, 10], batchnorm=True, output=None, loss="softmax_cross_entropy", seed=0)
    train(model, x_train, y_train, epochs=10, lr=0.1, batch_size=32, progress=False)
    assert model.accuracy(x_test, y_test) >= 0.95


@pytest.mark.parametrize("output, y, expected", [
    (np.array([[0.9], [0.2], [0.7], [0.4]]), np.array([1, 0, 1, 0]), 1.0),        # one unit, labels (N,)
    (np.array([[0.9], [0.2], [0.7], [0.4]]), np.array([[1.0], [0.0], [0.0], [0.0]]), 0.75),  # targets (N, 1)
    (np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0]]), np.array([0.0, 1.0, 1.0]), 2 / 3),  # whole-number floats
    (np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0]]), np.eye(2)[[0, 1, 1]], 2 / 3),        # one-hot
])
def test_accuracy_reads_labels_the_way_the_plots_do(output, y, expected):
    from bpcourse.model import accuracy
    from bpcourse.plots import confusion_matrix
    assert accuracy(output, y) == pytest.approx(expected)
    C = confusion_matrix(y, output)
    assert np.trace(C) / C.sum() == pytest.approx(expected)


def test_accuracy_bad_input_names_the_argument():
    from bpcourse.model import accuracy
    with pytest.raises(ValueError, match="accuracy: y: one column"):
        accuracy(np.zeros((3, 1)), np.array([[3], [7], [0]]))
    with pytest.raises(ValueError, match="accuracy: 3 outputs but 2 labels"):
        accuracy(np.zeros((3, 2)), np.array([0, 1]))
