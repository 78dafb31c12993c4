"""Plots the lessons use, so that a notebook cell stays one or two lines.

Every function draws into ``ax`` when given one (or makes a new figure),
returns the matplotlib Axes (``plot_digits`` returns the Figure), sets a
title and axis labels, and never calls ``plt.show()``: the notebook shows the
figure at the end of the cell. ``setup_style()`` makes every figure readable
on a projector (larger fonts, a light grid).

Class colours are the same everywhere: class c is drawn in matplotlib's
colour "C<c>" (blue, orange, green, ...).
"""
import numpy as np
import matplotlib.pyplot as plt
from matplotlib.ticker import LogFormatterSciNotation, LogLocator
from matplotlib.colors import BoundaryNorm, LinearSegmentedColormap, ListedColormap, LogNorm, to_rgba

from .model import class_labels

STYLE = {
    "figure.figsize": (8.0, 5.0),
    "font.size": 14,
    "axes.titlesize": 16,
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "lines.linewidth": 2.0,
    "lines.markersize": 6,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

MAX_CLASSES = 10       # the colours C0..C9
MAX_IMAGES = 100       # plot_digits draws one Axes per image


def setup_style():
    """Make figures readable on a projector: larger fonts, thicker lines, a light grid.

    Changes matplotlib's defaults (``plt.rcParams``) for the rest of the session.
    """
    plt.rcParams.update(STYLE)


def class_color(c):
    """The RGBA colour of class ``c``: matplotlib's "C<c>"."""
    return to_rgba(f"C{int(c)}")


def _new_ax(ax, figsize=None):
    """``ax`` itself, or the Axes of a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


# ---------------------------------------------------------------- training curves

# per-epoch series of a History, and the per-iteration series each one summarises
EPOCH_SERIES = {"epoch_loss": "loss", "epoch_accuracy": "accuracy",
                "val_loss": "loss", "val_accuracy": "accuracy"}
ITERATION_SERIES = ("loss", "accuracy")
SERIES_LABELS = {
    "loss": "training loss (batch)", "accuracy": "training accuracy (batch)",
    "epoch_loss": "training loss (epoch)", "epoch_accuracy": "training accuracy (epoch)",
    "val_loss": "validation loss", "val_accuracy": "validation accuracy",
}
X_AXES = {"iterations": "iterations (updates)", "examples": "examples seen",
          "seconds": "seconds", "epochs": "epochs"}


def _epoch_ends(history):
    """Index of the last iteration of each epoch.

    From ``history.epoch_ends`` (recorded by bpcourse.train, right for the partial
    history of a diverged run too); for a History made by hand without it, every
    epoch is taken to have the same number of updates.
    """
    I, E = len(history.loss), len(history.epoch_loss)
    if len(history.epoch_ends) == E:
        return np.asarray(history.epoch_ends, dtype=int) - 1
    return np.round(np.arange(1, E + 1) * I / E).astype(int) - 1


def _history_xy(history, series, x):
    """(x values, y values) of one series of ``history`` against the x axis ``x``."""
    if x == "epochs" and series in ITERATION_SERIES:
        series = f"epoch_{series}"                  # per epoch: the end-of-epoch measurement
    values = np.asarray(getattr(history, series), dtype=float)
    if values.size == 0:
        hint = " (train with x_val and y_val)" if series.startswith("val") else ""
        raise ValueError(f"plot_history: the history has no {series} values{hint}")
    if x == "epochs":
        return np.arange(1, len(values) + 1), values, series
    per_iteration = {"iterations": np.arange(1, len(history.loss) + 1),
                     "examples": np.asarray(history.examples_seen, dtype=float),
                     "seconds": np.asarray(history.seconds, dtype=float)}[x]
    if series in EPOCH_SERIES:
        if len(history.loss) == 0:
            raise ValueError(f"plot_history: {series} is per epoch and the history has no iterations; "
                             f"use x='epochs'")
        return per_iteration[_epoch_ends(history)], values, series
    return per_iteration, values, series


def _accuracy_axes(ax):
    """The second y axis of ``ax`` for accuracy curves (``ax.twinx()``), made once."""
    if not hasattr(ax, "accuracy_axes"):
        ax.accuracy_axes = ax.twinx()
        ax.accuracy_axes.spines["right"].set_visible(True)
    return ax.accuracy_axes


def plot_history(history, ax=None, what=("loss",), x="iterations", logy=False, label=None, title=None):
    """The loss and/or accuracy curves of a training run.

    Inputs:
    - history: a bpcourse.training.History
    - ax: Axes to draw on (a new figure if None)
    - what: series to draw, any of "loss", "accuracy" (per iteration; per epoch when
      x="epochs"), "epoch_loss", "epoch_accuracy", "val_loss", "val_accuracy" (per epoch,
      drawn with markers at the end of each epoch)
    - x: the horizontal axis: "iterations", "examples" (examples seen), "seconds" or "epochs"
    - logy: log scale for the loss axis
    - label: name of the run, put in front of every legend entry (to compare runs on one ax)
    Accuracy curves go on a second y axis (``ax.accuracy_axes``, a twinx) when loss curves
    are drawn too; later runs drawn on the same ax share it and the colour sequence.
    Returns the Axes.
    """
    if x not in X_AXES:
        raise ValueError(f"plot_history: x must be one of {list(X_AXES)}, got {x!r}")
    what = (what,) if isinstance(what, str) else tuple(what)
    unknown = [w for w in what if w not in SERIES_LABELS]
    if not what or unknown:
        raise ValueError(f"plot_history: what must name series among {list(SERIES_LABELS)}, got {what!r}")
    ax = _new_ax(ax)
    kinds = {"accuracy" if "accuracy" in w else "loss" for w in what}
    # a second run drawn on the same ax puts its accuracy on the same second axis
    acc_ax = _accuracy_axes(ax) if len(kinds) == 2 or hasattr(ax, "accuracy_axes") else ax
    for series in what:
        xs, ys, drawn = _history_xy(history, series, x)
        target = acc_ax if "accuracy" in series else ax
        style = "o-" if (drawn in EPOCH_SERIES and x != "epochs") else "-"
        name = SERIES_LABELS[drawn] if x != "epochs" else SERIES_LABELS[drawn].replace(" (epoch)", "")
        # two y axes have two colour cycles: number the colours across both
        color = f"C{len(ax.lines) + len(acc_ax.lines)}" if acc_ax is not ax else None
        target.plot(xs, ys, style, label=f"{label}: {name}" if label else name, color=color)
    if "loss" in kinds:
        ax.set_ylabel("loss")
        if logy:
            _log_y(ax)
    if "accuracy" in kinds:
        acc_ax.set_ylabel("accuracy")
    ax.set_xlabel(X_AXES[x])
    ax.set_title(title or "training history")
    lines = ax.lines + (acc_ax.lines if acc_ax is not ax else [])
    ax.legend(lines, [line.get_label() for line in lines])
    return ax


def _curve_xy(name, values):
    """(x, y) of one curve: ``values`` is a sequence y (x = 1, 2, ...) or a pair (x, y)."""
    if isinstance(values, tuple) and len(values) == 2 and all(np.ndim(v) == 1 for v in values):
        xs, ys = (np.asarray(v, dtype=float) for v in values)
        if len(xs) != len(ys):
            raise ValueError(f"plot_curves: curve {name!r} has {len(xs)} x values but {len(ys)} y values")
        return xs, ys
    ys = np.asarray(values, dtype=float)
    if ys.ndim != 1:
        raise ValueError(f"plot_curves: curve {name!r} must be a 1-D sequence or a pair (x, y), "
                         f"got shape {ys.shape}")
    return np.arange(1, len(ys) + 1), ys


def _log_y(ax):
    """Log scale for y, with limits set from the data: matplotlib's own margins overflow
    (a RuntimeWarning) when a diverged run reaches ~1e300, so the axis stops at 1e250."""
    ys = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in ax.lines] or [np.ones(1)])
    ys = ys[np.isfinite(ys) & (ys > 0)]
    if ys.size:                        # limits first: set_yscale autoscales only while they are unset
        lo, hi = np.log10(ys.min()), np.log10(ys.max())
        pad = max(0.05 * (hi - lo), 0.1)                      # decades of margin on each side
        ax.set_ylim(10 ** max(lo - pad, -250.0), 10 ** min(hi + pad, 250.0))  # ticks overflow near 1e300
    ax.set_yscale("log")


def plot_curves(curves, ax=None, xlabel="iteration", ylabel="loss", logy=False, title=None):
    """Several runs on one Axes, one line per entry of ``curves``.

    Inputs:
    - curves: {label: y values} (drawn at x = 1, 2, ...) or {label: (x values, y values)}
    - xlabel, ylabel: axis labels; logy: log scale for y
    Returns the Axes.
    """
    if not isinstance(curves, dict) or not curves:
        raise ValueError("plot_curves: curves must be a non-empty dict {label: sequence}")
    ax = _new_ax(ax)
    for name, values in curves.items():
        xs, ys = _curve_xy(name, values)
        ax.plot(xs, ys, label=str(name))
    if logy:
        _log_y(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} per {xlabel}")
    ax.legend()
    return ax


# ---------------------------------------------------------------- 2-D classifiers

def binary_cmap():
    """Colour map from class 0's colour (p = 0) through white (p = 0.5) to class 1's (p = 1)."""
    return LinearSegmentedColormap.from_list("bpcourse_binary", [class_color(0), "white", class_color(1)])


def _check_points(x, name):
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"{name} must be 2-D points of shape (N, 2) with N >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} holds NaN or inf (row {int(np.argmin(np.isfinite(x).all(axis=1)))})")
    return x


def plot_decision_boundary(predict, x, y, ax=None, resolution=200, padding=0.5, title=None):
    """What a 2-D classifier predicts everywhere, with the data on top.

    The plane around the data is cut into a ``resolution`` x ``resolution`` grid
    and ``predict`` is called once on all grid points. Its output decides the picture:
    - one probability per point, (M, 1) or (M,) floats: filled contours of p(class 1)
      from class 0's colour (p = 0) to class 1's (p = 1), and the boundary p = 0.5 in black;
    - scores (M, k): the predicted class argmax, each region in its class colour;
    - integer labels (M,): each region in its class colour.
    Inputs:
    - predict: function from points (M, 2) to the outputs above (e.g. ``model.predict``)
    - x: data points (N, 2); y: their labels (N,), targets (N, 1) or one-hot rows (N, k)
    - resolution: grid points per axis; padding: margin around the data
    Returns the Axes.
    """
    x = _check_points(x, "plot_decision_boundary: x")
    if not (isinstance(resolution, (int, np.integer)) and resolution >= 2):
        raise ValueError(f"plot_decision_boundary: resolution must be an integer >= 2, got {resolution!r}")
    labels = class_labels(y, "plot_decision_boundary: y")
    if labels.max() >= MAX_CLASSES:
        raise ValueError(f"plot_decision_boundary: at most {MAX_CLASSES} classes, got y up to {labels.max()}")
    if len(labels) != len(x):
        raise ValueError(f"plot_decision_boundary: x has {len(x)} points but y has {len(labels)} labels")
    lo, hi = x.min(axis=0) - padding, x.max(axis=0) + padding
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    out = np.asarray(predict(grid))
    if out.ndim == 0 or out.shape[0] != len(grid) or out.ndim > 2:
        raise ValueError(f"plot_decision_boundary: predict must map ({len(grid)}, 2) points to "
                         f"(M, 1), (M, k) or (M,) outputs, got shape {out.shape}")
    ax = _new_ax(ax, figsize=(7, 6))
    probability = (out.ndim == 2 and out.shape[1] == 1) or (out.ndim == 1 and out.dtype.kind == "f")
    if probability:
        p = out.reshape(g0.shape).astype(float)
        if not (p.min() >= 0 and p.max() <= 1):
            raise ValueError(f"plot_decision_boundary: predict gave one value per point, read as "
                             f"p(class 1), but the values span [{p.min():.3g}, {p.max():.3g}], not "
                             f"[0, 1]; return probabilities (e.g. model.predict) or integer labels")
        cs = ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 11), cmap=binary_cmap(), alpha=0.8)
        if p.min() < 0.5 < p.max():               # else there is no boundary to draw
            ax.contour(g0, g1, p, levels=[0.5], colors="k", linewidths=2)
        ax.figure.colorbar(cs, ax=ax, label="p(class 1)")
        k = max(2, labels.max() + 1)
    else:
        predicted = class_labels(out, "plot_decision_boundary: predict(points)")
        k = max(predicted.max(), labels.max()) + 1
        if k > MAX_CLASSES:
            raise ValueError(f"plot_decision_boundary: at most {MAX_CLASSES} classes, got {k}")
        cmap = ListedColormap([class_color(c) for c in range(k)])
        ax.contourf(g0, g1, predicted.reshape(g0.shape), levels=np.arange(k + 1) - 0.5,
                    cmap=cmap, norm=BoundaryNorm(np.arange(k + 1) - 0.5, k), alpha=0.35)
    for c in range(k):
        mask = labels == c
        if mask.any():
            ax.scatter(x[mask, 0], x[mask, 1], color=class_color(c), edgecolors="k", s=30,
                       label=f"class {c}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.grid(False)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or "decision boundary")
    ax.legend(loc="upper right")
    return ax


# ---------------------------------------------------------------- loss surfaces

def _grid_values(values, name, resolution):
    """Grid coordinates: a pair (lo, hi) becomes ``resolution`` evenly spaced values."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.all(np.diff(values) > 0):
        raise ValueError(f"plot_loss_surface: {name} must be (lo, hi) with lo < hi, or increasing "
                         f"grid values; got {values}")
    return np.linspace(values[0], values[1], resolution) if len(values) == 2 else values


def loss_grid(loss_fn, W, B):
    """loss_fn on every point of the grid (W, B), an array of W's shape.

    ``loss_fn(W, B)`` is tried first on the whole grid (fast when the loss is written
    with numpy elementwise operations); when that fails or gives the wrong shape,
    ``loss_fn(w, b)`` is called point by point (slow, but this is plotting, not training).
    """
    try:
        with np.errstate(all="ignore"):
            Z = np.asarray(loss_fn(W, B), dtype=float)
        if Z.shape == W.shape:
            return Z
    except Exception:                   # the loss only takes scalars: fall back to the loop below
        pass
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array([float(loss_fn(w, b)) for w, b in zip(W.ravel(), B.ravel())]).reshape(W.shape)


def _finite_prefix(path):
    """The points of ``path`` up to its first non-finite one (a diverged run ends in inf/NaN)."""
    finite = np.all(np.isfinite(path), axis=1)
    return path if finite.all() else path[:np.argmin(finite)]


def plot_loss_surface(loss_fn, w_range, b_range, path=None, ax=None, levels=30, resolution=100,
                      logz=False, xlabel="w", ylabel="b", title=None):
    """Contours of a loss of two parameters L(w, b), and optionally a descent path on it.

    Inputs:
    - loss_fn: function (w, b) -> loss; see ``loss_grid`` for how it is evaluated
    - w_range, b_range: (lo, hi) of each axis, or increasing grid values
    - path: optional sequence of (w, b) points, drawn with markers and arrows from
      each point to the next (points after the first NaN/inf are left out)
    - levels: number of contour levels; resolution: grid points per axis (for (lo, hi))
    - logz: contour levels evenly spaced in log(L) (for a loss spanning decades; L > 0)
    Returns the Axes.
    """
    ws = _grid_values(w_range, "w_range", resolution)
    bs = _grid_values(b_range, "b_range", resolution)
    W, B = np.meshgrid(ws, bs)
    Z = np.ma.masked_invalid(loss_grid(loss_fn, W, B))
    ax = _new_ax(ax, figsize=(7, 6))
    if logz:
        if Z.min() <= 0:
            raise ValueError(f"plot_loss_surface: logz=True needs a positive loss, "
                             f"the minimum is {Z.min()}")
        if Z.min() == Z.max():
            raise ValueError(f"plot_loss_surface: logz=True needs a loss that varies over the window, "
                             f"it is {Z.min()} everywhere")
        lv = np.geomspace(Z.min(), Z.max(), levels)
        cs = ax.contourf(W, B, Z, levels=lv, norm=LogNorm(lv[0], lv[-1]), cmap="viridis")
    else:
        cs = ax.contourf(W, B, Z, levels=levels, cmap="viridis")
    if logz:                           # ticks at powers of ten, not at the (odd) level values...
        powers_inside = np.floor(np.log10(lv[-1])) - np.ceil(np.log10(lv[0])) + 1
        # ...or at 2, 3, ... 9 times them when fewer than two powers of ten fall in the range
        ticks = LogLocator() if powers_inside >= 2 else LogLocator(subs="auto")
        ax.figure.colorbar(cs, ax=ax, label="loss", ticks=ticks, format=LogFormatterSciNotation())
    else:
        ax.figure.colorbar(cs, ax=ax, label="loss")
    if path is not None:
        _draw_path(ax, path)
    ax.set_xlim(ws[0], ws[-1])
    ax.set_ylim(bs[0], bs[-1])
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "loss surface")
    return ax


def _draw_path(ax, path):
    """A descent path: points with markers, an arrow per step, the start marked."""
    path = np.asarray(path, dtype=float)
    if path.ndim != 2 or path.shape[1] != 2:
        raise ValueError(f"plot_loss_surface: path must be a sequence of (w, b) points, "
                         f"got shape {path.shape}")
    path = _finite_prefix(path)
    if len(path) == 0:
        return
    ax.plot(path[:, 0], path[:, 1], "o", color="white", markeredgecolor="k", markersize=5,
            label="descent path")
    # one arrow per step, from each point to the next (one quiver draws faster than an annotation each)
    step = np.diff(path, axis=0)
    ax.quiver(path[:-1, 0], path[:-1, 1], step[:, 0], step[:, 1], angles="xy", scale_units="xy", scale=1,
              color="white", width=0.004, headwidth=5, headlength=6, headaxislength=5)
    ax.plot(*path[0], "s", color="tab:red", markersize=9, label="start")
    ax.legend(loc="upper right")


# ---------------------------------------------------------------- distributions, activations

def plot_percentiles(steps, values, percentiles=(15, 50, 85), ax=None, label=None, color=None,
                     xlabel="training step", ylabel="input of the unit", title=None):
    """How a distribution moves during training: the median line and a percentile band.

    As in Figure 1(b) of the batch-normalization paper: for each recorded step,
    the ``percentiles[1]``-th percentile (the median) of the M samples is a line and
    the band spans the ``percentiles[0]``-th to ``percentiles[2]``-th percentiles.
    Inputs:
    - steps: (S,) the training steps at which values were recorded
    - values: (S, M) M samples (e.g. a unit's input over a batch) at each step
    - percentiles: (low, middle, high), increasing, in [0, 100]
    - label: name of the run for the legend (compare runs on one ax); color: its colour
    Returns the Axes.
    """
    steps = np.asarray(steps, dtype=float)
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or len(values) != len(steps) or values.shape[1] == 0:
        raise ValueError(f"plot_percentiles: values must have shape (S, M) with S = len(steps) = "
                         f"{len(steps)} and M >= 1, got shape {values.shape}")
    percentiles = tuple(percentiles)
    if len(percentiles) != 3 or not 0 <= percentiles[0] < percentiles[1] < percentiles[2] <= 100:
        raise ValueError(f"plot_percentiles: percentiles must be three increasing numbers in [0, 100], "
                         f"got {percentiles}")
    low, mid, high = np.percentile(values, percentiles, axis=1)
    ax = _new_ax(ax)
    color = color or f"C{len(ax.lines)}"
    name = f"{label}: " if label else ""
    ax.fill_between(steps, low, high, color=color, alpha=0.25,
                    label=f"{name}{percentiles[0]:g}th-{percentiles[2]:g}th percentile")
    ax.plot(steps, mid, color=color, label=f"{name}{percentiles[1]:g}th percentile")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} over training")
    ax.legend()
    return ax


def plot_activation(f, f_prime=None, z=None, ax=None, name=None):
    """An activation function and, optionally, its derivative.

    Inputs:
    - f, f_prime: elementwise functions of z (e.g. sigmoid, sigmoid_prime)
    - z: where to evaluate them (default: 400 points from -8 to 8)
    - name: the function's name in the legend (default: ``f.__name__``)
    Returns the Axes.
    """
    z = np.linspace(-8, 8, 400) if z is None else np.asarray(z, dtype=float)
    name = name or getattr(f, "__name__", "f")
    ax = _new_ax(ax)
    ax.plot(z, f(z), label=f"{name}(z)")
    if f_prime is not None:
        ax.plot(z, f_prime(z), "--", label=f"{name}'(z)")
    ax.set_xlabel("z")
    ax.set_ylabel(f"{name}(z)" if f_prime is None else f"{name}(z), {name}'(z)")
    ax.set_title(name if f_prime is None else f"{name} and its derivative")
    ax.legend()
    return ax


# ---------------------------------------------------------------- digits

def _images(images):
    """Images (N, side, side) from (N, side, side) or flattened (N, side*side) arrays."""
    images = np.asarray(images, dtype=float)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"plot_digits: flattened images need a square number of pixels "
                             f"(64 for 8x8, 784 for 28x28), got {images.shape[1]}")
        images = images.reshape(len(images), side, side)
    if images.ndim != 3:
        raise ValueError(f"plot_digits: images must be (N, side, side) or (N, side*side), "
                         f"got shape {images.shape}")
    return images


def _digit_title(i, labels, predictions):
    """("true 3 / pred 8", colour): the title of image i, red when the prediction is wrong."""
    if labels is not None and predictions is not None:
        t, p = labels[i], predictions[i]
        return f"true {t} / pred {p}", ("black" if t == p else "tab:red")
    if labels is not None:
        return f"{labels[i]}", "black"
    if predictions is not None:
        return f"pred {predictions[i]}", "black"
    return "", "black"


def plot_digits(images, labels=None, predictions=None, ncols=10, fig=None, cmap="gray_r"):
    """A gallery of small images, titled with their label and/or the prediction.

    Inputs:
    - images: (N, 8, 8), (N, 64), (N, 28, 28) or (N, 784); at most 100 images
    - labels: true classes (N,); predictions: predicted classes (N,) or scores (N, k).
      With both, titles read "true 3 / pred 8", red where they differ.
    - ncols: images per row; fig: a Figure to draw on (a new one if None)
    Returns the Figure (one Axes per image in ``fig.axes``).
    """
    images = _images(images)
    N = len(images)
    if not 1 <= N <= MAX_IMAGES:
        raise ValueError(f"plot_digits: give 1 to {MAX_IMAGES} images (pass a slice), got {N}")
    if not (isinstance(ncols, (int, np.integer)) and ncols >= 1):
        raise ValueError(f"plot_digits: ncols must be an integer >= 1, got {ncols!r}")
    if labels is not None:
        labels = class_labels(labels, "plot_digits: labels")
    if predictions is not None:
        predictions = class_labels(predictions, "plot_digits: predictions")
    for name, arr in (("labels", labels), ("predictions", predictions)):
        if arr is not None and len(arr) != N:
            raise ValueError(f"plot_digits: {N} images but {len(arr)} {name}")
    ncols = min(ncols, N)
    nrows = -(-N // ncols)
    if fig is None:
        width = 1.8 if (labels is not None and predictions is not None) else 1.2   # room for the titles
        fig = plt.figure(figsize=(width * ncols, 1.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    # one grey scale for the whole gallery: a faint digit looks faint
    vmin, vmax = min(images.min(), 0.0), images.max()
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= N:
            continue
        ax.imshow(images[i], cmap=cmap, interpolation="nearest", vmin=vmin, vmax=vmax)
        text, color = _digit_title(i, labels, predictions)
        ax.set_title(text, color=color, fontsize=10)
    for ax in axes.ravel()[N:]:
        fig.delaxes(ax)
    return fig


def confusion_matrix(y_true, y_pred, k=None):
    """C (k, k) with C[i, j] = number of examples of true class i predicted as class j.

    ``y_true`` and ``y_pred`` may be labels (N,) or score rows (N, k) (argmax taken).
    """
    t = class_labels(y_true, "confusion_matrix: y_true")
    p = class_labels(y_pred, "confusion_matrix: y_pred")
    if len(t) != len(p):
        raise ValueError(f"confusion_matrix: y_true has {len(t)} examples but y_pred has {len(p)}")
    needed = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    k = needed if k is None else k
    if k < needed:
        raise ValueError(f"confusion_matrix: k={k} but the labels go up to {needed - 1}")
    # each pair (i, j) counted in bin i * k + j
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def plot_confusion_matrix(y_true, y_pred, k=None, ax=None, title=None):
    """The confusion matrix as an image, with each count written in its cell.

    Rows are true classes, columns predicted classes; the diagonal holds the
    examples classified right. Inputs as in ``confusion_matrix``. Returns the Axes.
    """
    C = confusion_matrix(y_true, y_pred, k)
    k = len(C)
    if C.sum() == 0:
        raise ValueError("plot_confusion_matrix: no examples to count (y_true and y_pred are empty)")
    ax = _new_ax(ax, figsize=(0.6 * k + 3, 0.6 * k + 2.5))
    ax.imshow(C, cmap="Blues", vmin=0)
    dark = C > C.max() / 2                        # white text on dark cells
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{C[i, j]:d}", ha="center", va="center",
                    color="white" if dark[i, j] else "black", fontsize=12 if k > 5 else 14)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.grid(False)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(C) / max(C.sum(), 1)
    ax.set_title(title or f"confusion matrix (accuracy {accuracy:.3f})")
    return ax
