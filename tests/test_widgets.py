"""bpcourse.widgets: build each explorer, move its sliders from Python, check figure and readout."""
import re

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, strategies as st  # noqa: E402
from ipywidgets import FloatLogSlider, FloatSlider, Output, SelectionSlider, VBox  # noqa: E402

from bpcourse import History, TrainingDiverged, mlp, train  # noqa: E402
from bpcourse import widgets  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def readout_number(box, after):
    """The number printed right after ``after`` in the box's readout."""
    text = re.sub(r"<[^>]+>", " ", box.readout.value)         # the text without its HTML tags
    assert after in text, text
    return float(text.split(after, 1)[1].split()[0].rstrip(",:"))


# ---------------------------------------------------------------- neuron

def test_neuron_widget_is_sliders_readout_and_output():
    box = widgets.neuron_widget()
    assert isinstance(box, VBox)
    w, b = box.controls["w"], box.controls["b"]
    assert isinstance(w, FloatSlider) and isinstance(b, FloatSlider)
    assert w in box.children and b in box.children and box.readout in box.children
    assert any(isinstance(c, Output) for c in box.children)


@pytest.mark.parametrize("w, b", [(2.0, -1.0), (-0.5, 2.0), (4.0, 3.0)])
def test_moving_the_neuron_sliders_redraws_curve_and_readout(w, b):
    box = widgets.neuron_widget(x=np.linspace(-6, 6, 121))
    before = box.figure.axes[0].lines[0].get_ydata().copy()
    box.controls["w"].value = w
    box.controls["b"].value = b
    curve = box.figure.axes[0].lines[0]
    x = curve.get_xdata()
    np.testing.assert_allclose(curve.get_ydata(), 1 / (1 + np.exp(-(w * x + b))))
    assert not np.allclose(curve.get_ydata(), before)
    assert readout_number(box, "x = -b/w =") == pytest.approx(-b / w, abs=5e-5)
    assert readout_number(box, "sigma(w*1 + b) =") == pytest.approx(1 / (1 + np.exp(-(w + b))), abs=5e-5)
    (crossing,) = [line for line in box.figure.axes[0].lines if line.get_label() == "x = -b/w"]
    assert crossing.get_xdata()[0] == pytest.approx(-b / w)
    assert len(box.figure.axes) == 1                      # redrawn in place, not stacked


def test_neuron_with_zero_weight_never_crosses():
    box = widgets.neuron_widget(w=0.0, b=2.0)
    assert "never crosses 0.5" in box.readout.value
    assert f"{1 / (1 + np.exp(-2.0)):.4f}" in box.readout.value
    assert "x = -b/w" not in [line.get_label() for line in box.figure.axes[0].lines]
    box.controls["b"].value = 0.0
    assert "0.5 for every x" in box.readout.value


@given(w=st.floats(-5, 5).filter(lambda v: abs(v) > 1e-3), b=st.floats(-5, 5))
def test_neuron_readout_crossing_is_where_the_output_is_one_half(w, b):
    text = widgets.neuron_readout(w, b)
    x_half = float(text.split("x = -b/w =")[1])
    assert 1 / (1 + np.exp(-(w * x_half + b))) == pytest.approx(0.5, abs=1e-4 * max(1.0, abs(w)))


def test_neuron_widget_bad_x():
    with pytest.raises(ValueError, match="neuron_widget: x"):
        widgets.neuron_widget(x=np.zeros((3, 3)))


# ---------------------------------------------------------------- learning rate

def bowl(w, b):
    return (w - 1.0) ** 2 + 4.0 * b ** 2


def bowl_grad(w, b):
    return 2.0 * (w - 1.0), 8.0 * b


def bowl_after(lr, t, start=(2.5, -1.0)):
    """GD on the bowl in closed form: w_t - 1 = (1 - 2 lr)^t (w_0 - 1), b_t = (1 - 8 lr)^t b_0."""
    return 1.0 + (1 - 2 * lr) ** t * (start[0] - 1.0), (1 - 8 * lr) ** t * start[1]


def test_bowl_gradient_matches_centred_differences():
    h = 1e-5
    for w, b in [(2.5, -1.0), (-0.3, 0.7)]:
        numeric = ((bowl(w + h, b) - bowl(w - h, b)) / (2 * h), (bowl(w, b + h) - bowl(w, b - h)) / (2 * h))
        np.testing.assert_allclose(bowl_grad(w, b), numeric, rtol=1e-8)


def test_gd_path_follows_the_closed_form():
    path = widgets.gd_path(bowl_grad, (2.5, -1.0), lr=0.05, steps=20)
    assert path.shape == (21, 2)
    expected = np.array([bowl_after(0.05, t) for t in range(21)])
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15)


def test_gd_path_of_a_diverging_run_stops_at_inf():
    path = widgets.gd_path(bowl_grad, (2.5, -1.0), lr=1e3, steps=500)
    assert len(path) < 501
    assert not np.all(np.isfinite(path[-1])) and np.all(np.isfinite(path[:-1]))


def test_learning_rate_widget_redraws_path_and_final_loss():
    box = widgets.learning_rate_widget(bowl, bowl_grad, (2.5, -1.0), (1e-3, 1e3), (-3, 3), (-2, 2), steps=100)
    assert isinstance(box.controls["lr"], FloatLogSlider)
    assert box.controls["lr"] in box.children
    for lr in (0.01, 0.05, 0.2):
        box.controls["lr"].value = lr
        w, b = bowl_after(lr, 100)
        final = readout_number(box, "loss after 100 steps =")
        assert final == pytest.approx(bowl(w, b), rel=1e-3)
        ax = box.figure.axes[0]
        (points,) = [line for line in ax.lines if line.get_label() == "descent path"]
        assert points.get_xdata()[-1] == pytest.approx(w) and points.get_ydata()[-1] == pytest.approx(b)
        assert len(box.figure.axes) == 2                  # axes + one colour bar, not one per redraw
    assert "grew" not in box.readout.value
    box.controls["lr"].value = 0.3                        # |1 - 8 lr| > 1: b oscillates outwards
    assert "grew" in box.readout.value
    box.controls["lr"].value = 1e3
    assert "diverged" in box.readout.value


def test_learning_rate_widget_log_contours():
    box = widgets.learning_rate_widget(lambda w, b: bowl(w, b) + 1e-3, bowl_grad, (2.5, -1.0), (1e-3, 1e3),
                                       (-3, 3), (-2, 2), steps=50, logz=True)
    colorbar = box.figure.axes[1]
    assert colorbar.yaxis.get_scale() == "log"
    box.controls["lr"].value = 0.05
    assert box.figure.axes[1].yaxis.get_scale() == "log"


@pytest.mark.parametrize("lr_values, lr", [((1.0, 0.1), None), ((0.0, 1.0), None), ((0.01, 1.0), 5.0)])
def test_learning_rate_widget_bad_lr(lr_values, lr):
    with pytest.raises(ValueError, match="learning_rate_widget"):
        widgets.learning_rate_widget(bowl, bowl_grad, (0, 0), lr_values, (-1, 1), (-1, 1), lr=lr)


def test_gd_path_bad_input():
    with pytest.raises(ValueError, match="start"):
        widgets.gd_path(bowl_grad, (1.0, 2.0, 3.0), 0.1, 5)
    with pytest.raises(ValueError, match="grad_fn"):
        widgets.gd_path(lambda w, b: 2 * w, (1.0, 2.0), 0.1, 5)


# ---------------------------------------------------------------- batch size

def fake_history(batch_size, lr, iterations=4):
    return History(loss=list(lr * batch_size / np.arange(1.0, iterations + 1)),
                   accuracy=[0.5] * iterations,
                   examples_seen=list(batch_size * np.arange(1, iterations + 1)),
                   seconds=list(0.01 * np.arange(1, iterations + 1)))


def test_batch_size_widget_trains_on_each_change_and_plots_loss_vs_examples():
    calls = []

    def train_fn(batch_size, lr):
        calls.append((batch_size, lr))
        return fake_history(batch_size, lr)

    box = widgets.batch_size_widget(train_fn, batch_sizes=(1, 8, 32), lr_values=(0.01, 1.0))
    slider = box.controls["batch_size"]
    assert isinstance(slider, SelectionSlider) and slider in box.children
    assert calls == [(8, pytest.approx(0.1))]
    slider.value = 32
    box.controls["lr"].value = 0.5
    assert calls[-2:] == [(32, pytest.approx(0.1)), (32, 0.5)]
    (line,) = box.figure.axes[0].lines
    expected = fake_history(32, 0.5)
    np.testing.assert_array_equal(line.get_xdata(), expected.examples_seen)
    np.testing.assert_allclose(line.get_ydata(), expected.loss)
    assert box.figure.axes[0].get_xlabel() == "examples seen"
    assert "batch size 32" in box.readout.value and "4 updates" in box.readout.value
    assert readout_number(box, "last batch loss") == pytest.approx(expected.loss[-1], abs=5e-5)


def test_batch_size_widget_with_real_training():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2))
    y = (x[:, :1] > 0).astype(float)
    box = widgets.batch_size_widget(
        lambda B, lr: train(mlp([2, 3, 1]), x, y, epochs=2, lr=lr, batch_size=B, progress=False),
        batch_sizes=(4, 16, 32), batch_size=4, lr=0.5)
    assert "16 updates" in box.readout.value               # 2 epochs of 32 / 4
    box.controls["batch_size"].value = 32
    assert "2 updates" in box.readout.value and "64 examples seen" in box.readout.value


def test_batch_size_widget_shows_a_diverged_run():
    def diverging(batch_size, lr):
        raise TrainingDiverged("the loss became nan", fake_history(batch_size, lr, iterations=3))

    box = widgets.batch_size_widget(diverging, batch_sizes=(2, 4))
    assert "DIVERGED" in box.readout.value and "3 updates" in box.readout.value
    assert len(box.figure.axes[0].lines[0].get_xdata()) == 3

    def diverging_at_once(batch_size, lr):
        raise TrainingDiverged("the loss became nan", History())

    box = widgets.batch_size_widget(diverging_at_once, batch_sizes=(2, 4))
    assert "no update" in box.readout.value


def test_batch_size_widget_bad_input():
    with pytest.raises(ValueError, match="batch_sizes"):
        widgets.batch_size_widget(fake_history, batch_sizes=(0, 8))
    with pytest.raises(ValueError, match="batch_size=5"):
        widgets.batch_size_widget(fake_history, batch_sizes=(1, 8), batch_size=5)
    with pytest.raises(TypeError, match="must return a History"):
        widgets.batch_size_widget(lambda B, lr: [1.0, 0.5])


def test_the_figure_is_shown_as_a_png_image():
    box = widgets.neuron_widget()
    image = widgets._png(box.figure)
    assert image.format == "png" and image.data[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- from a review of the widgets

def test_an_error_while_redrawing_is_written_in_the_readout():
    def train_fn(batch_size, lr):
        if batch_size == 4:
            raise ValueError("the learner's bug")
        return fake_history(batch_size, lr)

    box = widgets.batch_size_widget(train_fn, batch_sizes=(2, 4), batch_size=2)
    with pytest.raises(ValueError, match="the learner's bug"):      # outside IPython it reaches the caller
        box.controls["batch_size"].value = 4
    assert "error: ValueError: the learner's bug" in box.readout.value
    assert "batch size 2" not in box.readout.value                  # not the previous drawing's numbers


def test_learning_rate_widget_title_counts_the_steps_it_drew():
    box = widgets.learning_rate_widget(bowl, bowl_grad, (2.5, -1.0), (0.01, 1000.0), (-3, 3), (-2, 2),
                                       steps=100, lr=0.01)
    assert box.figure.axes[0].get_title().startswith("100 steps")
    box.controls["lr"].value = 1000.0                    # b grows 7999-fold a step: inf after ~80
    steps_drawn = int(box.figure.axes[0].get_title().split()[0])
    assert steps_drawn < 100 and f"after {steps_drawn} steps" in box.readout.value


@pytest.mark.parametrize("call, message", [
    (lambda: widgets.learning_rate_widget(bowl, bowl_grad, (1, 1), (0.01, 0.1, 1.0), (-3, 3), (-2, 2)),
     "lr_values"),
    (lambda: widgets.learning_rate_widget(bowl, bowl_grad, (1, 1), 0.1, (-3, 3), (-2, 2)), "lr_values"),
    (lambda: widgets.learning_rate_widget(bowl, bowl_grad, (1, 1), (0.01, 1.0), (-3, 3), (-2, 2), steps=-3),
     "steps"),
    (lambda: widgets.neuron_widget(w=10.0), "w=10.0 is outside w_range"),
])
def test_widget_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
