"""bpcourse.plots: each helper draws what its data says, read back from the matplotlib artists."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

from bpcourse import History, TrainingDiverged, mlp, sigmoid, sigmoid_prime, train  # noqa: E402
from bpcourse import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def small_history():
    """6 iterations of 10 examples each, 2 epochs, with validation."""
    return History(loss=[4.0, 3.0, 2.5, 2.0, 1.5, 1.0], accuracy=[0.1, 0.2, 0.4, 0.5, 0.7, 0.9],
                   examples_seen=[10, 20, 30, 40, 50, 60], seconds=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                   epoch_loss=[2.4, 0.9], epoch_accuracy=[0.45, 0.95], val_loss=[2.6, 1.2],
                   val_accuracy=[0.4, 0.85])


def line_by_label(ax, text):
    matches = [line for line in ax.lines if text in line.get_label()]
    assert len(matches) == 1, [line.get_label() for line in ax.lines]
    return matches[0]


# ---------------------------------------------------------------- style

def test_setup_style_sets_large_fonts_and_grid():
    with plt.rc_context():
        plt.rcParams["font.size"] = 8
        plt.rcParams["axes.grid"] = False
        plots.setup_style()
        assert plt.rcParams["font.size"] >= 14
        assert plt.rcParams["axes.grid"] is True
        _, ax = plt.subplots()
        assert ax.xaxis.label.get_fontsize() >= 14


# ---------------------------------------------------------------- plot_history

@pytest.mark.parametrize("x, key", [("iterations", None), ("examples", "examples_seen"),
                                    ("seconds", "seconds")])
def test_plot_history_loss_against_each_x_axis(x, key):
    h = small_history()
    ax = plots.plot_history(h, x=x)
    assert isinstance(ax, plt.Axes)
    (line,) = ax.lines
    expected_x = np.arange(1, 7) if key is None else getattr(h, key)
    np.testing.assert_array_equal(line.get_xdata(), expected_x)
    np.testing.assert_array_equal(line.get_ydata(), h.loss)
    assert ax.get_ylabel() == "loss" and ax.get_title()


def test_plot_history_per_epoch_series_sit_at_the_end_of_each_epoch():
    h = small_history()
    ax = plots.plot_history(h, what=("loss", "val_loss"), x="examples")
    val = line_by_label(ax, "validation loss")
    # 3 updates per epoch: the epochs end after 30 and 60 examples
    np.testing.assert_array_equal(val.get_xdata(), [30, 60])
    np.testing.assert_array_equal(val.get_ydata(), h.val_loss)
    assert len(ax.get_legend().get_texts()) == 2


def test_plot_history_against_epochs_uses_the_epoch_measurements():
    h = small_history()
    ax = plots.plot_history(h, what=("loss", "val_loss"), x="epochs")
    train_line = line_by_label(ax, "training loss")
    np.testing.assert_array_equal(train_line.get_xdata(), [1, 2])
    np.testing.assert_array_equal(train_line.get_ydata(), h.epoch_loss)
    np.testing.assert_array_equal(line_by_label(ax, "validation").get_ydata(), h.val_loss)


def test_plot_history_accuracy_goes_on_a_second_axis_and_logy():
    h = small_history()
    _, ax = plt.subplots()
    out = plots.plot_history(h, ax=ax, what=("loss", "accuracy"), logy=True, label="run A")
    assert out is ax
    assert len(ax.figure.axes) == 2
    twin = ax.figure.axes[1]
    np.testing.assert_array_equal(line_by_label(twin, "accuracy").get_ydata(), h.accuracy)
    assert line_by_label(ax, "run A: training loss").get_color() != twin.lines[0].get_color()
    assert ax.get_yscale() == "log" and twin.get_ylabel() == "accuracy"
    assert len(ax.get_legend().get_texts()) == 2


def test_plot_history_of_a_real_training_run():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, :1] > 0).astype(float)
    h = train(mlp([2, 3, 1]), x, y, epochs=3, batch_size=8, lr=0.5, progress=False)
    ax = plots.plot_history(h, what=("loss", "epoch_loss"), x="iterations")
    assert len(line_by_label(ax, "(batch)").get_xdata()) == h.iterations == 15
    np.testing.assert_array_equal(line_by_label(ax, "(epoch)").get_xdata(), [5, 10, 15])


@pytest.mark.parametrize("kwargs, message", [
    (dict(what=("val_loss",), history=History(loss=[1.0], examples_seen=[1], seconds=[0.0],
                                              epoch_loss=[1.0])), "x_val"),
    (dict(what=("loss",), x="minutes"), "x must be"),
    (dict(what=("los",)), "what must"),
])
def test_plot_history_bad_input_is_named(kwargs, message):
    history = kwargs.pop("history", small_history())
    with pytest.raises(ValueError, match=message):
        plots.plot_history(history, **kwargs)


# ---------------------------------------------------------------- plot_curves

def test_plot_curves_one_line_per_run_with_its_label():
    ax = plots.plot_curves({"GD": [3.0, 2.0, 1.0], "SGD": ([10, 20, 40, 80], [4.0, 2.0, 1.5, 0.5])},
                           xlabel="examples", ylabel="loss", logy=True)
    assert [line.get_label() for line in ax.lines] == ["GD", "SGD"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [10, 20, 40, 80])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [4.0, 2.0, 1.5, 0.5])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "examples"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["GD", "SGD"]


@pytest.mark.parametrize("curves", [{}, {"a": ([1, 2], [1.0, 2.0, 3.0])}, {"a": np.ones((2, 2))}])
def test_plot_curves_bad_input(curves):
    with pytest.raises(ValueError, match="plot_curves"):
        plots.plot_curves(curves)


# ---------------------------------------------------------------- plot_decision_boundary

def blobs():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=(60, 2))
    return x, quadrant_class(x)


def quadrant_class(p):
    """0 left of x1 = 0; right of it, 1 below x2 = 0 and 2 above."""
    return np.where(p[:, 0] < 0, 0, np.where(p[:, 1] < 0, 1, 2))


def contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def region_color(filled, point):
    """The fill colour (RGB) of the contour region containing ``point``."""
    hits = [color for path, color in zip(filled.get_paths(), filled.get_facecolor())
            if len(path.vertices) and path.contains_point(point)]
    assert len(hits) == 1, f"{len(hits)} regions contain {point}"
    return np.asarray(hits[0][:3])


@pytest.mark.parametrize("as_scores", [False, True])
def test_decision_regions_have_the_colour_of_the_predicted_class(as_scores):
    x, y = blobs()

    def predict(p):
        c = quadrant_class(p)
        return np.eye(3)[c] if as_scores else c

    ax = plots.plot_decision_boundary(predict, x, y, resolution=101)
    (filled,) = contour_sets(ax)
    for point in [(-1.5, 1.2), (-1.0, -1.7), (1.3, -1.1), (1.6, 1.4)]:
        expected = quadrant_class(np.array([point]))[0]
        np.testing.assert_allclose(region_color(filled, point), plots.class_color(expected)[:3])
    # the data points: one scatter per class, in the class colour, at that class's points
    scatters = [c for c in ax.collections if not isinstance(c, ContourSet)]
    assert len(scatters) == 3
    for c, sc in enumerate(scatters):
        np.testing.assert_allclose(sc.get_offsets(), x[y == c])
        np.testing.assert_allclose(sc.get_facecolor()[0], plots.class_color(c))


def test_decision_boundary_of_a_probability_is_the_half_level_line():
    x, _ = blobs()
    y = (x[:, 0] > 0.3).astype(float)[:, None]           # (N, 1) targets are accepted
    ax = plots.plot_decision_boundary(lambda p: sigmoid(4.0 * (p[:, :1] - 0.3)), x, y, resolution=201)
    filled, boundary = contour_sets(ax)
    assert filled.filled and not boundary.filled
    vertices = np.vstack([p.vertices for p in boundary.get_paths()])
    step = (x[:, 0].max() - x[:, 0].min() + 1.0) / 200
    np.testing.assert_allclose(vertices[:, 0], 0.3, atol=step)
    # p -> 1 on the right is coloured like class 1, p -> 0 on the left like class 0
    c0, c1 = np.array(plots.class_color(0)[:3]), np.array(plots.class_color(1)[:3])
    right, left = region_color(filled, (2.0, 0.0)), region_color(filled, (-1.5, 0.0))
    assert np.linalg.norm(right - c1) < np.linalg.norm(right - c0)
    assert np.linalg.norm(left - c0) < np.linalg.norm(left - c1)


def test_decision_boundary_without_a_boundary_does_not_warn():
    x, y = blobs()
    ax = plots.plot_decision_boundary(lambda p: np.full((len(p), 1), 0.8), x, y % 2)
    assert len(contour_sets(ax)) == 1          # no p = 0.5 line to draw


@pytest.mark.parametrize("predict, x, y, message", [
    (lambda p: 3.0 * p[:, :1], np.zeros((4, 2)) + np.arange(4)[:, None], [0, 1, 0, 1], r"\[0, 1\]"),
    (lambda p: p[:, 0] > 0, np.zeros((4, 3)), [0, 1, 0, 1], r"\(N, 2\)"),
    (lambda p: (p[:, 0] > 0).astype(int), np.arange(8.0).reshape(4, 2), [0, 1, 0], "3 labels"),
    (lambda p: p[:3, 0].astype(int), np.arange(8.0).reshape(4, 2), [0, 1, 0, 1], "predict must"),
])
def test_decision_boundary_bad_input(predict, x, y, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_decision_boundary(predict, x, y, resolution=10)


# ---------------------------------------------------------------- plot_loss_surface

def bowl(w, b):
    return (w - 1.0) ** 2 + 4.0 * b ** 2


def test_loss_surface_contours_span_the_loss_on_the_grid():
    calls = []

    def loss(w, b):
        calls.append(np.shape(w))
        return bowl(w, b)

    ax = plots.plot_loss_surface(loss, (-2, 3), (-1, 2), resolution=51)
    assert calls == [(51, 51)]                            # one vectorized call
    (cs,) = contour_sets(ax)
    ws, bs = np.linspace(-2, 3, 51), np.linspace(-1, 2, 51)
    grid = np.array([[bowl(w, b) for w in ws] for b in bs])
    assert cs.zmin == pytest.approx(grid.min()) and cs.zmax == pytest.approx(grid.max())
    assert cs.levels[0] <= grid.min() and cs.levels[-1] >= grid.max()
    assert ax.get_xlim() == (-2, 3) and ax.get_ylim() == (-1, 2)
    assert ax.get_xlabel() == "w" and ax.get_ylabel() == "b"
    assert len(ax.figure.axes) == 2                       # the axes and its colour bar


def test_loss_grid_falls_back_to_a_loop_for_scalar_losses():
    def scalar_only(w, b):
        return float(bowl(float(w), float(b)))           # float() of an array raises

    W, B = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(0, 2, 5))
    np.testing.assert_allclose(plots.loss_grid(scalar_only, W, B), bowl(W, B))

    data_x, data_y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0])

    def mean_over_data(w, b):                            # broadcasting gives a wrong shape
        return np.mean((w * data_x + b - data_y) ** 2)

    expected = [[mean_over_data(w, b) for w in W[0]] for b in B[:, 0]]
    np.testing.assert_allclose(plots.loss_grid(mean_over_data, W, B), expected)


def test_loss_surface_draws_the_path_with_an_arrow_per_step():
    path = [(2.5, -1.0), (1.9, 0.6), (1.5, -0.3), (1.2, 0.1)]
    ax = plots.plot_loss_surface(bowl, (-3, 3), (-2, 2), path=path, resolution=30)
    points = line_by_label(ax, "descent path")
    np.testing.assert_array_equal(points.get_xdata(), [p[0] for p in path])
    np.testing.assert_array_equal(points.get_ydata(), [p[1] for p in path])
    (arrows,) = [c for c in ax.collections if isinstance(c, Quiver)]
    np.testing.assert_array_equal(arrows.get_offsets(), path[:-1])          # from each point...
    np.testing.assert_allclose(arrows.get_offsets() + np.column_stack([arrows.U, arrows.V]), path[1:])  # ...to the next
    assert (arrows.angles, arrows.scale_units, arrows.scale) == ("xy", "xy", 1)   # in data units
    np.testing.assert_array_equal(line_by_label(ax, "start").get_xydata(), [path[0]])


def test_loss_surface_path_stops_at_the_first_non_finite_point():
    path = [(1.0, 1.0), (2.0, -1.5), (np.inf, 3.0), (1.0, 1.0)]
    ax = plots.plot_loss_surface(bowl, (-3, 3), (-2, 2), path=path, logz=True, resolution=20)
    assert len(line_by_label(ax, "descent path").get_xdata()) == 2
    assert ax.get_xlim() == (-3, 3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(w_range=(1, -1)), "w_range"),
    (dict(b_range=(0,)), "b_range"),
    (dict(path=[1.0, 2.0, 3.0]), "path"),
    (dict(logz=True, loss_fn=lambda w, b: w + b), "logz"),
])
def test_loss_surface_bad_input(kwargs, message):
    args = dict(loss_fn=bowl, w_range=(-1, 1), b_range=(-1, 1), resolution=10) | kwargs
    with pytest.raises(ValueError, match=message):
        plots.plot_loss_surface(**args)


# ---------------------------------------------------------------- plot_percentiles

def test_percentile_band_and_median_line():
    rng = np.random.default_rng(2)
    steps = np.arange(0, 500, 50)
    values = rng.normal(size=(len(steps), 101)) * np.linspace(1, 4, len(steps))[:, None]
    ax = plots.plot_percentiles(steps, values, label="sigmoid net")
    # with 101 samples the 15th/50th/85th percentiles are the 16th/51st/86th smallest
    ordered = np.sort(values, axis=1)
    (median,) = ax.lines
    np.testing.assert_array_equal(median.get_xdata(), steps)
    np.testing.assert_allclose(median.get_ydata(), ordered[:, 50])
    (band,) = ax.collections
    assert isinstance(band, PolyCollection)
    vertices = band.get_paths()[0].vertices
    for s, step in enumerate(steps):
        at_step = vertices[np.isclose(vertices[:, 0], step), 1]
        assert at_step.min() == pytest.approx(ordered[s, 15])
        assert at_step.max() == pytest.approx(ordered[s, 85])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "sigmoid net: 15th-85th percentile" in labels and "sigmoid net: 50th percentile" in labels


def test_percentiles_of_two_runs_get_two_colours():
    values = np.arange(30.0).reshape(3, 10)
    _, ax = plt.subplots()
    plots.plot_percentiles([0, 1, 2], values, ax=ax, label="a")
    plots.plot_percentiles([0, 1, 2], values + 5, ax=ax, label="b", percentiles=(5, 50, 95))
    assert ax.lines[0].get_color() != ax.lines[1].get_color()
    assert len(ax.collections) == 2


@pytest.mark.parametrize("steps, values, percentiles", [
    ([0, 1], np.zeros((3, 4)), (15, 50, 85)),
    ([0, 1, 2], np.zeros(3), (15, 50, 85)),
    ([0, 1, 2], np.zeros((3, 4)), (50, 15, 85)),
    ([0, 1, 2], np.zeros((3, 4)), (15, 85)),
])
def test_percentiles_bad_input(steps, values, percentiles):
    with pytest.raises(ValueError, match="plot_percentiles"):
        plots.plot_percentiles(steps, values, percentiles)


# ---------------------------------------------------------------- plot_activation

def test_plot_activation_with_and_without_derivative():
    ax = plots.plot_activation(sigmoid, sigmoid_prime)
    f, df = ax.lines
    z = f.get_xdata()
    assert len(z) == 400 and z[0] == -8 and z[-1] == 8
    np.testing.assert_allclose(f.get_ydata(), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(df.get_ydata(), np.exp(-z) / (1 + np.exp(-z)) ** 2)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sigmoid(z)", "sigmoid'(z)"]

    ax = plots.plot_activation(np.tanh, z=np.linspace(-2, 2, 5), name="tanh")
    (only,) = ax.lines
    np.testing.assert_allclose(only.get_ydata(), np.tanh(np.linspace(-2, 2, 5)))


# ---------------------------------------------------------------- plot_digits

def test_plot_digits_gallery_titles_and_pixels():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 17, size=(12, 64)).astype(float)
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    predictions = labels.copy()
    predictions[[2, 7]] = [8, 1]
    fig = plots.plot_digits(images, labels, predictions, ncols=5)
    assert isinstance(fig, plt.Figure)
    assert len(fig.axes) == 12                            # the 3 unused cells of the 3x5 grid are removed
    for i, ax in enumerate(fig.axes):
        np.testing.assert_array_equal(ax.images[0].get_array(), images[i].reshape(8, 8))
        title = ax.title
        assert title.get_text() == f"true {labels[i]} / pred {predictions[i]}"
        wrong = labels[i] != predictions[i]
        assert (to_rgba(title.get_color()) == to_rgba("tab:red")) == wrong


def test_plot_digits_labels_only_28x28_and_scores():
    images = np.zeros((3, 28, 28))
    fig = plots.plot_digits(images, labels=[7, 2, 1])
    assert [ax.title.get_text() for ax in fig.axes] == ["7", "2", "1"]
    assert fig.axes[0].images[0].get_array().shape == (28, 28)
    fig = plots.plot_digits(np.zeros((2, 784)), predictions=np.array([[0.1, 0.9], [0.8, 0.2]]))
    assert [ax.title.get_text() for ax in fig.axes] == ["pred 1", "pred 0"]


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 60)), None, "square"),
    (np.zeros((101, 64)), None, "slice"),
    (np.zeros((3, 64)), [1, 2], "labels"),
    (np.zeros((3, 2, 2, 2)), None, "images must"),
])
def test_plot_digits_bad_input(images, labels, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_digits(images, labels)


# ---------------------------------------------------------------- confusion matrix

def counts_by_loop(y_true, y_pred, k):
    C = np.zeros((k, k), dtype=int)
    for t, p in zip(y_true, y_pred):
        C[t, p] += 1
    return C


def test_confusion_matrix_cells_show_the_counts():
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 4, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, size=200))
    expected = counts_by_loop(y_true, y_pred, 4)
    np.testing.assert_array_equal(plots.confusion_matrix(y_true, y_pred), expected)
    ax = plots.plot_confusion_matrix(y_true, y_pred)
    assert len(ax.texts) == 16
    for text in ax.texts:
        j, i = text.get_position()                      # column = predicted, row = true
        assert int(text.get_text()) == expected[int(i), int(j)]
        # readable on the projector: white on the dark (large) cells, black on the light ones
        dark = expected[int(i), int(j)] > expected.max() / 2
        assert to_rgba(text.get_color()) == to_rgba("white" if dark else "black")
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    assert f"{np.mean(y_true == y_pred):.3f}" in ax.get_title()
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"


def test_confusion_matrix_from_scores_and_larger_k():
    y_true = np.array([0, 1, 1, 2])
    scores = np.eye(5)[[0, 2, 1, 2]]
    np.testing.assert_array_equal(plots.confusion_matrix(y_true, scores, k=5),
                                  counts_by_loop(y_true, [0, 2, 1, 2], 5))
    with pytest.raises(ValueError, match="k=2"):
        plots.confusion_matrix(y_true, y_true, k=2)
    with pytest.raises(ValueError, match="y_pred"):
        plots.confusion_matrix(y_true, [0, 1])
    with pytest.raises(ValueError, match=">= 0"):
        plots.confusion_matrix([0, -1], [0, 1])


def test_log_axis_of_a_diverged_run_draws_without_overflow_warnings(tmp_path):
    diverged = np.array([1.0, 10.0, 1e100, 1e250, 1e307, np.inf])
    ax = plots.plot_curves({"lr = 1000": diverged, "lr = 0.1": np.geomspace(1, 1e-3, 6)}, logy=True)
    ax.figure.savefig(tmp_path / "curves.png")        # ticks are computed here; warnings are errors
    lo, hi = ax.get_ylim()
    assert ax.get_yscale() == "log" and lo < 1e-3 and 1e249 < hi <= 1e250
    plt.close(ax.figure)


# ---------------------------------------------------------------- from a review of the plots

def test_two_runs_on_one_ax_share_the_accuracy_axis_and_the_colours():
    a, b = small_history(), small_history()
    b.accuracy = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    ax = plots.plot_history(a, what=("loss", "accuracy"), label="run A")
    assert plots.plot_history(b, ax=ax, what=("loss", "accuracy"), label="run B") is ax
    twins = [other for other in ax.figure.axes if other is not ax]
    assert twins == [ax.accuracy_axes]                     # one second axis, not one per run
    acc = ax.accuracy_axes.lines
    assert [line.get_label() for line in acc] == ["run A: training accuracy (batch)",
                                                  "run B: training accuracy (batch)"]
    lo, hi = ax.accuracy_axes.get_ylim()
    assert lo <= 0.1 and hi >= 0.95                        # both runs on one scale
    colours = [line.get_color() for line in ax.lines + acc]
    assert len(set(colours)) == 4, colours
    assert len(ax.get_legend().get_texts()) == 4


def test_epoch_markers_of_a_diverged_run_sit_at_the_epoch_ends():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    with pytest.raises(TrainingDiverged) as caught:          # a linear unit, lr far too large
        train(mlp([2, 1], output=None), x, 2 * x[:, :1], epochs=500, lr=3.0, batch_size=10, progress=False)
    h = caught.value.history
    assert h.iterations % 3 != 0                              # it stopped inside an epoch
    assert h.epoch_ends == [3 * (e + 1) for e in range(h.epochs)]
    ax = plots.plot_history(h, what=("loss", "epoch_loss"))
    np.testing.assert_array_equal(line_by_label(ax, "epoch").get_xdata(), h.epoch_ends)


def test_labels_written_as_a_column_are_refused_not_read_as_probabilities():
    y = np.array([3, 7, 0, 9])
    with pytest.raises(ValueError, match=r"confusion_matrix: y_true.*1-D array"):
        plots.confusion_matrix(y[:, None], y)
    with pytest.raises(ValueError, match="plot_digits: labels"):
        plots.plot_digits(np.zeros((4, 64)), labels=y[:, None])
    np.testing.assert_array_equal(plots.confusion_matrix((y == 3)[:, None].astype(int), y == 3),
                                  [[3, 0], [0, 1]])       # a 0/1 column is still p(class 1)


def test_narrow_log_colour_bar_still_has_tick_labels():
    ax = plots.plot_loss_surface(lambda w, b: 0.04 + 0.03 * (w + b) / 2, (0, 1), (0, 1), logz=True,
                                 resolution=20)
    bar = ax.figure.axes[-1]
    ax.figure.canvas.draw()
    lo, hi = bar.get_ylim()
    inside = [t.get_text() for t, v in zip(bar.get_yticklabels(), bar.get_yticks()) if lo <= v <= hi]
    assert len([t for t in inside if t]) >= 2, inside


def test_plot_digits_draws_every_image_on_one_grey_scale():
    images = np.zeros((2, 64))
    images[0, :8], images[1, :8] = 1.0, 0.25                # the same stroke, one faint
    fig = plots.plot_digits(images)
    norms = {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in fig.axes}
    assert norms == {(0.0, 1.0)}


@pytest.mark.parametrize("call, message", [
    (lambda: plots.plot_decision_boundary(lambda p: p[:, :1], np.zeros((0, 2)), np.zeros(0, int)), "N >= 1"),
    (lambda: plots.plot_decision_boundary(lambda p: p[:, :1], [[0.0, np.nan]], [0]), "NaN or inf"),
    (lambda: plots.plot_decision_boundary(lambda p: p[:, :1], [[0.0, 1.0]], [0], resolution=1), "resolution"),
    (lambda: plots.plot_decision_boundary(lambda p: 0.5, [[0.0, 1.0], [1.0, 0.0]], [0, 1]), "predict must map"),
    (lambda: plots.plot_decision_boundary(lambda p: np.full((len(p), 1), 0.5), [[0.0, 1.0], [1.0, 0.0]],
                                          [0, 10]), "at most 10 classes"),
    (lambda: plots.plot_confusion_matrix([], []), "no examples"),
    (lambda: plots.plot_digits(np.zeros((2, 64)), ncols=0), "ncols"),
    (lambda: plots.plot_percentiles([1, 2], np.zeros((2, 0))), "M >= 1"),
    (lambda: plots.plot_loss_surface(lambda w, b: 0 * w + 1.0, (0, 1), (0, 1), logz=True, resolution=5),
     "varies"),
])
def test_bad_input_names_the_function_and_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_plot_activation_labels_its_y_axis():
    assert plots.plot_activation(sigmoid, sigmoid_prime).get_ylabel() == "sigmoid(z), sigmoid'(z)"
