"""Interactive explorers for the lessons: sliders that redraw a figure.

Each builder returns an ``ipywidgets.VBox`` holding the sliders, a readout
(the numbers, as text) and an ``Output`` that shows the figure, so the
notebook cell is one line::

    neuron_widget()

The lessons pass in their own functions (a loss, its gradient, a training
run); the builders only wire sliders to drawing. Moving a slider calls the
box's ``update()``, which clears the box's one matplotlib Figure, draws it
again and writes the readout. The same can be done without a browser (this
is how the tests work)::

    box = neuron_widget()
    box.controls["w"].value = 2.0       # the figure and box.readout follow
    box.figure.axes[0].lines            # what is drawn now

Attributes of every returned box: ``controls`` ({name: slider}), ``readout``
(an HTML widget), ``figure`` (the matplotlib Figure), ``update()``.
"""
from html import escape
from io import BytesIO

import numpy as np
from IPython import get_ipython
from IPython.display import Image, display
from ipywidgets import HTML, FloatLogSlider, FloatSlider, Layout, Output, SelectionSlider, VBox
from matplotlib.figure import Figure

from .activations import sigmoid
from .optim import gd_update
from .plots import plot_history, plot_loss_surface
from .training import TrainingDiverged

SLIDER_LAYOUT = dict(width="480px")
SLIDER_STYLE = {"description_width": "120px"}


def _explorer(controls, draw, figsize=(7.5, 4.5)):
    """A VBox of ``controls``, a readout and a figure redrawn when any control changes.

    Inputs:
    - controls: {name: widget}; their values are passed to ``draw`` by name
    - draw: function draw(ax, **values) that draws on a fresh Axes and returns the readout text
    Returns the VBox, with attributes controls, readout, figure and update.
    """
    readout = HTML()
    out = Output()
    # a Figure made without pyplot: shown only through ``out``, never a second
    # time by the inline backend at the end of the cell
    fig = Figure(figsize=figsize, layout="constrained")

    def update(change=None):
        fig.clear()                 # also removes colour bars from the previous drawing
        try:
            text = draw(fig.add_subplot(), **{name: c.value for name, c in controls.items()})
        except Exception as err:
            readout.value = (f"<pre style='font-size: 1.1em; color: #b00020'>error: "
                             f"{escape(f'{type(err).__name__}: {err}', quote=False)}</pre>")
            if change is None or get_ipython() is None:
                raise                       # building the box, or a script: the error goes to the caller
            # moved by a slider: the kernel would only log the error, so the Output shows
            # the traceback where the figure was
            with out:
                out.clear_output(wait=True)
                raise
            return
        readout.value = f"<pre style='font-size: 1.1em'>{escape(text, quote=False)}</pre>"
        if get_ipython() is not None:       # outside IPython (a script, the tests) nothing is shown
            with out:
                out.clear_output(wait=True)
                display(_png(fig))

    for control in controls.values():
        control.observe(update, names="value")
    box = VBox([*controls.values(), readout, out])
    box.controls, box.readout, box.figure, box.update = controls, readout, fig, update
    update()
    return box


def _png(fig):
    """The figure as a PNG image: shown the same way whatever matplotlib backend is active."""
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    return Image(data=buffer.getvalue(), format="png")


def _slider(description, value, lo, hi, step, continuous_update=True):
    return FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                       continuous_update=continuous_update, readout_format=".2f",
                       layout=Layout(**SLIDER_LAYOUT), style=SLIDER_STYLE)


def _lr_slider(lr_values, lr, name):
    """A log-scale slider for the learning rate, from lr_values[0] to lr_values[1]."""
    try:
        lo, hi = (float(v) for v in lr_values)
    except (TypeError, ValueError):
        lo = hi = 0.0                         # refused just below, naming lr_values
    if not 0 < lo < hi:
        raise ValueError(f"{name}: lr_values must be (smallest, largest) with 0 < smallest < largest, "
                         f"got {lr_values!r}")
    lo_exp, hi_exp = np.log10(lo), np.log10(hi)
    lr = 10 ** ((lo_exp + hi_exp) / 2) if lr is None else lr
    if not lo <= lr <= hi:
        raise ValueError(f"{name}: the starting lr={lr!r} is outside lr_values {lr_values!r}")
    return FloatLogSlider(value=lr, base=10, min=lo_exp, max=hi_exp, step=(hi_exp - lo_exp) / 60,
                          description="learning rate lr", readout_format=".3g", continuous_update=False,
                          layout=Layout(**SLIDER_LAYOUT), style=SLIDER_STYLE)


# ---------------------------------------------------------------- one neuron

def neuron_readout(w, b):
    """The readout of the neuron widget: sigma(w*1 + b), and where sigma(w x + b) = 0.5.

    sigma(z) = 0.5 exactly when z = w x + b = 0, that is at x = -b/w.
    """
    text = f"output at x = 1: sigma(w*1 + b) = {float(sigmoid(w + b)):.4f}\n"
    if w != 0:
        return text + f"crosses 0.5 at x = -b/w = {-b / w + 0.0:.4f}"     # + 0.0 turns -0.0 into 0.0
    if b == 0:
        return text + "w = 0 and b = 0: the output is 0.5 for every x"
    return text + (f"w = 0: the output is sigma(b) = {float(sigmoid(b)):.4f} for every x, "
                   f"it never crosses 0.5")


def draw_neuron(ax, w, b, x):
    """Draw sigma(w x + b) over ``x``, its value at x = 1 and the crossing of 0.5. Returns the readout."""
    ax.plot(x, sigmoid(w * x + b), label="sigma(w x + b)")
    ax.plot([1.0], [sigmoid(w + b)], "o", color="C3", label="output at x = 1")
    ax.axhline(0.5, color="0.6", lw=1, ls=":")
    if w != 0 and x.min() <= -b / w <= x.max():
        ax.axvline(-b / w, color="C2", lw=1.5, ls="--", label="x = -b/w")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("x")
    ax.set_ylabel("output")
    sign = "+" if b >= 0 else "-"
    ax.set_title(f"one neuron: sigma({w:.2f} x {sign} {abs(b):.2f})")
    ax.legend(loc="upper left")
    return neuron_readout(w, b)


def neuron_widget(x=None, w=1.0, b=0.0, w_range=(-5.0, 5.0), b_range=(-5.0, 5.0)):
    """Sliders for one neuron's weight w and bias b, redrawing its output sigma(w x + b).

    Inputs:
    - x: the inputs to draw over (default 200 points from -6 to 6)
    - w, b: starting values; w_range, b_range: the sliders' (min, max)
    Returns the VBox (controls "w" and "b"); the readout gives the output at x = 1
    and the crossing point x = -b/w.
    """
    x = np.linspace(-6, 6, 200) if x is None else np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"neuron_widget: x must be a 1-D array of at least 2 inputs, got shape {x.shape}")
    for name, value, (lo, hi) in (("w", w, w_range), ("b", b, b_range)):
        if not lo <= value <= hi:              # a slider would move it to its end without a word
            raise ValueError(f"neuron_widget: {name}={value!r} is outside {name}_range {(lo, hi)!r}")
    controls = {"w": _slider("weight w", w, *w_range, 0.05),
                "b": _slider("bias b", b, *b_range, 0.05)}
    return _explorer(controls, lambda ax, w, b: draw_neuron(ax, w, b, x))


# ---------------------------------------------------------------- learning rate

def gd_path(grad_fn, start, lr, steps):
    """The points (w, b) visited by gradient descent: p <- p - lr grad L(p).

    Inputs:
    - grad_fn: function (w, b) -> (dL/dw, dL/db)
    - start: the starting point (w, b); lr: learning rate; steps: number of updates
    Returns an array (steps + 1, 2), shorter when the point becomes inf or NaN
    (a diverging run stops there).
    """
    p = np.array(start, dtype=float)
    if p.shape != (2,):
        raise ValueError(f"gd_path: start must be a point (w, b), got {start!r}")
    path = [p.copy()]
    # a diverging run overflows to inf: that is the lesson, not a numpy warning
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            grad = np.asarray(grad_fn(p[0], p[1]), dtype=float)
            if grad.shape != (2,):
                raise ValueError(f"gd_path: grad_fn(w, b) must return (dL/dw, dL/db), "
                                 f"got shape {grad.shape}")
            gd_update(p, grad, lr)
            path.append(p.copy())
            if not np.all(np.isfinite(p)):
                break
    return np.array(path)


def gd_readout(loss_fn, path, lr, steps):
    """The readout of the learning-rate widget: the loss at the start and after the last step."""
    with np.errstate(over="ignore", invalid="ignore"):
        first, last = float(loss_fn(*path[0])), float(loss_fn(*path[-1]))
    if len(path) < steps + 1 or not np.isfinite(last):
        return (f"lr = {lr:.4g}: diverged, the loss became {last} after {len(path) - 1} steps "
                f"(start {first:.4g})")
    grew = ": it grew, lr is too large" if last > first else ""
    return f"lr = {lr:.4g}: loss after {steps} steps = {last:.4g} (start {first:.4g}){grew}"


def learning_rate_widget(loss_fn, grad_fn, start, lr_values, w_range, b_range, steps=30, lr=None, logz=False):
    """A log-scale learning-rate slider redrawing the gradient-descent path on a loss surface.

    Inputs:
    - loss_fn: function (w, b) -> loss (see plots.plot_loss_surface)
    - grad_fn: function (w, b) -> (dL/dw, dL/db)
    - start: starting point (w, b)
    - lr_values: (smallest, largest) learning rate of the slider; lr: the starting one
      (default: their geometric mean)
    - w_range, b_range: (lo, hi) of the plotted window; steps: number of GD updates
    - logz: contour levels evenly spaced in log(L), to show a narrow valley
    Returns the VBox (control "lr"); the readout gives the final loss.
    """
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ValueError(f"learning_rate_widget: steps must be an integer >= 1, got {steps!r}")
    controls = {"lr": _lr_slider(lr_values, lr, "learning_rate_widget")}

    def draw(ax, lr):
        path = gd_path(grad_fn, start, lr, steps)
        plot_loss_surface(loss_fn, w_range, b_range, path=path, ax=ax, logz=logz,
                          title=f"{len(path) - 1} steps of gradient descent, lr = {lr:.3g}")
        return gd_readout(loss_fn, path, lr, steps)

    return _explorer(controls, draw, figsize=(7, 5.5))


# ---------------------------------------------------------------- batch size

def draw_training_run(ax, train_fn, batch_size, lr, logy=True):
    """Train with ``train_fn(batch_size, lr)`` and draw the loss against examples seen.

    A run that diverges (TrainingDiverged) is drawn up to where it stopped.
    Returns the readout text.
    """
    try:
        hist, diverged = train_fn(batch_size, lr), ""
    except TrainingDiverged as err:
        hist, diverged = err.history, "  DIVERGED: the loss became NaN or inf; try a smaller lr"
    if not hasattr(hist, "loss") or not hasattr(hist, "examples_seen"):
        raise TypeError(f"batch_size_widget: train_fn(batch_size, lr) must return a History, "
                        f"got {type(hist).__name__}")
    title = f"batch size {batch_size}, lr = {lr:.3g}"
    if hist.iterations == 0:
        ax.set_title(title)
        ax.text(0.5, 0.5, "diverged at the first update", ha="center", transform=ax.transAxes)
        return f"{title}: no update recorded.{diverged}"
    plot_history(hist, ax=ax, x="examples", logy=logy, title=title)
    return (f"{title}: {hist.iterations} updates, {hist.examples_seen[-1]} examples seen, "
            f"last batch loss {hist.loss[-1]:.4f}{diverged}")


def batch_size_widget(train_fn, batch_sizes=(1, 4, 16, 64, 256), lr_values=(1e-3, 10.0),
                      batch_size=None, lr=None, logy=True):
    """Sliders for the batch size and the learning rate; each change trains and redraws.

    Inputs:
    - train_fn: function (batch_size, lr) -> History (for example a lambda calling
      bpcourse.train on the lesson's data with a fixed seed and number of epochs);
      for full-batch gradient descent include the number of examples in batch_sizes
    - batch_sizes: the choices of the batch-size slider (integers >= 1)
    - lr_values: (smallest, largest) learning rate of the log slider
    - batch_size, lr: the starting values; logy: log scale for the loss
    Returns the VBox (controls "batch_size" and "lr"); the figure shows the loss
    per update against examples seen.
    """
    batch_sizes = list(batch_sizes)
    if not batch_sizes or not all(isinstance(B, (int, np.integer)) and B >= 1 for B in batch_sizes):
        raise ValueError(f"batch_size_widget: batch_sizes must be integers >= 1, got {batch_sizes!r}")
    batch_size = batch_sizes[len(batch_sizes) // 2] if batch_size is None else batch_size
    if batch_size not in batch_sizes:
        raise ValueError(f"batch_size_widget: the starting batch_size={batch_size!r} "
                         f"is not one of {batch_sizes}")
    controls = {
        "batch_size": SelectionSlider(options=[(str(B), B) for B in batch_sizes], value=batch_size,
                                      description="batch size", continuous_update=False,
                                      layout=Layout(**SLIDER_LAYOUT), style=SLIDER_STYLE),
        "lr": _lr_slider(lr_values, lr, "batch_size_widget"),
    }
    return _explorer(controls,
                     lambda ax, batch_size, lr: draw_training_run(ax, train_fn, batch_size, lr, logy))
