"""The learners' self-checks: verdicts, named mistakes, and the comparison the grader shares."""
import math
import warnings

import numpy as np
import pytest

from bpcourse import selfcheck
from bpcourse.grading import transport

CHECKS = list(selfcheck.CHECKS.values())


@pytest.mark.parametrize("chk", CHECKS, ids=lambda c: c.name)
def test_reference_passes_its_own_visible_and_hidden_style_cases(chk):
    for case in chk.visible + [{"seed": 12345}]:
        data = chk.inputs(case)
        verdict = selfcheck.judge(chk, data, data, chk.expected(data), chk.expected(data))
        assert verdict.ok, f"{chk.name} {case}: {verdict.reason}"


def test_answer_calling_the_package_fails_the_self_check(capsys):
    import bpcourse

    with pytest.raises(selfcheck.SelfCheckFailed, match="package implementation"):
        selfcheck.check("sigmoid", lambda z: bpcourse.sigmoid(z))
    assert "bpcourse.activations.sigmoid" in capsys.readouterr().out
    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check("forward", lambda *a: tuple(bpcourse.network.forward(*a)))


@pytest.mark.parametrize("chk", [c for c in CHECKS if c.reference.__module__ == "bpcourse.selfcheck"
                                 and "<" not in c.reference.__qualname__], ids=lambda c: c.name)
def test_answer_calling_the_checks_own_reference_fails(chk):
    """The reference answers written inside selfcheck (e.g. _train_gd) are as forbidden as the
    package functions: the grader blocks every name in ``blocked``."""
    assert f"bpcourse.selfcheck.{chk.reference.__qualname__}" in chk.blocked
    assert set(chk.forbidden) <= set(chk.blocked)
    verdict, _ = selfcheck.run_case(chk, lambda *a: chk.reference(*a), chk.visible[0])
    assert not verdict.ok and chk.reference.__qualname__ in verdict.reason, verdict.reason


@pytest.mark.parametrize("chk", CHECKS, ids=lambda c: c.name)
def test_every_known_mistake_fails_a_visible_check_and_is_named(chk):
    for m in chk.mistakes:
        verdicts = []
        for case in chk.visible:
            data = chk.inputs(case)
            try:
                wrong = m.fn(*chk.bind(data))
            except ValueError as e:        # e.g. transposed weights on non-square shapes
                verdicts.append(selfcheck.judge(chk, data, data, chk.expected(data), error=("ValueError", str(e))))
                continue
            verdicts.append(selfcheck.judge(chk, data, data, chk.expected(data), wrong))
        assert not all(v.ok for v in verdicts), f"{chk.name}: mistake {m.name!r} passes every visible check"
        assert any(v.mistake == m.name for v in verdicts), f"{chk.name}: mistake {m.name!r} is never named"


def test_inputs_are_seeded_and_float64():
    chk = selfcheck.CHECKS["forward"]
    a, b = chk.inputs({"seed": 3}), chk.inputs({"seed": 3})
    assert all(np.array_equal(a[k], b[k]) and a[k].dtype == np.float64 for k in a)
    assert not np.array_equal(a["x"], chk.inputs({"seed": 4})["x"])


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(np.minimum(-z, 709.0)))


def _forward(x, W1, b1, W2, b2, twice=False):
    z1 = x @ W1.T + b1
    h = _sigmoid(z1)
    z2 = (_sigmoid(h) if twice else h) @ W2.T + b2
    return z1, h, z2, _sigmoid(z2)


def test_correct_answer_prints_a_verdict_and_nothing_on_stderr(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selfcheck.check("sigmoid", _sigmoid)
    out, err = capsys.readouterr()
    assert err == ""
    assert "sigmoid: all 4 visible checks passed." in out and "Note:" not in out
    assert "Hidden checks with other inputs run when your notebook is graded." in out


def test_sigmoid_at_z_1000_a_naive_answer_is_told_of_its_warning_a_nan_one_fails(capsys):
    selfcheck.check("sigmoid", lambda z: 1.0 / (1.0 + np.exp(-z)))
    assert "overflow" in capsys.readouterr().out
    with pytest.raises(selfcheck.SelfCheckFailed, match="check 4 of 4"):
        selfcheck.check("sigmoid", lambda z: np.exp(z) / (1.0 + np.exp(z)))
    out = capsys.readouterr().out
    assert "not a finite number" in out
    assert "There the input `z` is 1000: nan comes from 0/0, inf/inf, inf - inf (often after an overflow)" in out


def test_a_warning_of_a_right_answer_is_mentioned_on_stdout_only(capsys):
    def noisy(z):
        warnings.warn("careful")
        return _sigmoid(z)

    selfcheck.check("sigmoid", noisy)
    out, err = capsys.readouterr()
    assert err == "" and "UserWarning: careful" in out


@pytest.mark.parametrize("name, answer, mistake", [
    ("sigmoid", lambda z: 1 / (1 + np.exp(z)), "sign error"),
    ("sigmoid_prime", lambda z: _sigmoid(z), "missing sigma'"),
    ("forward", lambda x, W1, b1, W2, b2: selfcheck._forward_transposed(x, W1, b1, W2, b2), "transposed weights"),
    ("forward", lambda x, W1, b1, W2, b2: selfcheck._forward_bias_columns(x, W1, b1, W2, b2), "bias broadcast wrongly"),
    ("mse_loss", lambda y_hat, y: 0.5 * float(np.sum((y_hat - y) ** 2)), "sum instead of mean over the batch"),
    ("output_delta", lambda y_hat, y: y_hat - y, "missing sigma'"),
    ("hidden_delta", lambda delta2, W2, h: delta2 @ W2, "missing sigma'"),
    ("hidden_delta", lambda delta2, W2, h: (delta2 @ W2) * _sigmoid(h) * (1 - _sigmoid(h)), "sigma' of h"),
    ("forward", lambda x, W1, b1, W2, b2: _forward(x, W1, 0 * b1, W2, 0 * b2), "missing bias"),
    ("forward", lambda x, W1, b1, W2, b2: _forward(x, W1, b1, W2, b2, twice=True), "sigmoid applied twice"),
    ("batchnorm_forward", selfcheck._bn_forward_axis1, "wrong axis in batch-norm statistics"),
    ("gd_step", lambda params, grads, lr: {k: params[k] + lr * grads[k] for k in params}, "sign error"),
])
def test_failure_names_the_mistake_and_shows_expected_and_obtained(capsys, name, answer, mistake):
    with pytest.raises(selfcheck.SelfCheckFailed, match=name):
        selfcheck.check(name, answer)
    out = capsys.readouterr().out
    assert f"This is a known mistake: {mistake}." in out
    assert "FAILED" in out and "Hidden checks" in out


def test_a_tuple_answer_names_its_items_and_a_mistake_in_one_of_them(capsys):
    def dW2_only_transposed(x, h, delta1, delta2):
        N = len(x)
        return h.T @ delta2 / N, delta2.sum(axis=0) / N, delta1.T @ x / N, delta1.sum(axis=0) / N

    with pytest.raises(selfcheck.SelfCheckFailed, match="transposed weights"):
        selfcheck.check("weight_gradients", dW2_only_transposed)
    out = capsys.readouterr().out
    assert "dW2 has shape" in out and "item 0" not in out
    assert "dW2 has a known mistake: transposed weights." in out


def test_an_error_in_the_answer_quotes_the_learners_line_and_hints(capsys):
    def forward(x, W1, b1, W2, b2):
        z1 = x @ W1.T + b1
        h = 1 / (1 + np.exp(-z1))
        z2 = h @ W2 + b2
        return z1, h, z2, z2

    def math_sigmoid(z):
        return 1 / (1 + math.exp(-z))

    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check("forward", forward)
    out = capsys.readouterr().out
    assert "The error came from this line of yours: z2 = h @ W2 + b2" in out
    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check("sigmoid", math_sigmoid)
    out = capsys.readouterr().out
    assert "return 1 / (1 + math.exp(-z))" in out and "np.exp" in out


def test_values_that_print_alike_show_their_difference():
    expected = np.array([0.2298, -0.6631])
    reason = selfcheck.compare(expected, expected + 5e-6)
    assert "obtained - expected" in reason and "[5.00e-06 5.00e-06]" in reason
    assert "obtained - expected" not in selfcheck.compare(expected, expected + 0.5)


def test_batchnorm_backward_is_called_positionally_whatever_its_first_parameter_is_named(capsys):
    """The check's input is now called dout (it was dy): a learner's notebook that still
    says dy must pass the same way, so nothing may depend on the parameter's name."""
    def old_name(dy, x, gamma, eps=1e-5):
        inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
        x_hat = (x - x.mean(axis=0)) * inv_std
        dbeta, dgamma = dy.sum(axis=0), (dy * x_hat).sum(axis=0)
        return gamma * inv_std * (dy - dbeta / len(x) - x_hat * dgamma / len(x)), dgamma, dbeta

    selfcheck.check("batchnorm_backward", old_name)
    assert "batchnorm_backward: all 4 visible checks passed." in capsys.readouterr().out


def test_in_place_change_of_the_input_is_named(capsys):
    def in_place(params, grads, lr):
        for k in params:
            params[k] -= lr * grads[k]
        return params

    with pytest.raises(selfcheck.SelfCheckFailed, match="in-place change of the input"):
        selfcheck.check("gd_step", in_place)
    assert "changed its input `params` in place" in capsys.readouterr().out


def test_a_dict_input_whose_entries_are_replaced_is_told_to_build_a_new_dict(capsys):
    def replaces(params, grads, lr):
        for k in params:
            params[k] = params[k] - lr * grads[k]
        return params

    with pytest.raises(selfcheck.SelfCheckFailed, match="in-place change of the input"):
        selfcheck.check("gd_step", replaces)
    out = capsys.readouterr().out
    assert "build and return a new dict" in out and "`params[name] = ...` changes the caller's dict" in out


def test_a_right_loop_around_a_wrong_helper_names_the_helper(capsys):
    """train_gd is told to call the learner's gd_step: when that one is wrong, say so."""
    namespace = {"np": np}
    exec("from bpcourse import network\n"
         "def gd_step(params, grads, lr):\n"
         "    return {k: params[k] - grads[k] for k in params}          # forgot lr\n"
         "def train_gd(x, y, params, lr, steps):\n"
         "    losses = []\n"
         "    for _ in range(steps):\n"
         "        L, g = network.gradients(x, y, **params)\n"
         "        losses.append(L)\n"
         "        params = gd_step(params, {'W1': g.dW1, 'b1': g.db1, 'W2': g.dW2, 'b2': g.db2}, lr)\n"
         "    return params, losses\n", namespace)
    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check("train_gd", namespace["train_gd"])
    assert "train_gd calls your `gd_step`, which fails its own check: fix `gd_step` first" in capsys.readouterr().out
    namespace["gd_step"] = lambda params, grads, lr: {k: params[k] - lr * grads[k] for k in params}
    selfcheck.check("train_gd", namespace["train_gd"])          # the same loop, a right helper: it passes
    assert "all 3 visible checks passed" in capsys.readouterr().out


# learners' loops, written out as a learner would (not through selfcheck's own mistake functions);
# {after}, {keep}, {data} and {lr} are where each mistake changes the right loop
_TRAIN_GD = """
def train_gd(x, y, params, lr, steps):
    losses = []
    for _ in range({steps}):
        L, g = network.gradients(x, y, **params)
        new = {{'W1': params['W1'] - {lr} * g.dW1, 'b1': params['b1'] - {lr} * g.db1,
               'W2': params['W2'] - {lr} * g.dW2, 'b2': params['b2'] - {lr} * g.db2}}
        {keep}
        losses.append({after})
    return params, losses
"""
_SGD_EPOCH = """
def sgd_epoch(x, y, params, lr, batch_size, seed):
    losses = []
    for idx in batching.batch_indices(len(x), batch_size, rng=seed):
        L, g = network.gradients({data}, **params)
        new = {{'W1': params['W1'] - {lr} * g.dW1, 'b1': params['b1'] - {lr} * g.db1,
               'W2': params['W2'] - {lr} * g.dW2, 'b2': params['b2'] - {lr} * g.db2}}
        {keep}
        losses.append({after})
    return params, losses
"""
_RIGHT = {"steps": "steps", "keep": "params = new", "after": "L", "lr": "lr", "data": "x[idx], y[idx]"}


def _loop(template, name, **change):
    namespace = {}
    exec("from bpcourse import network, batching\n" + template.format(**{**_RIGHT, **change}), namespace)
    return namespace[name]


@pytest.mark.parametrize("name, template, change, said", [
    ("train_gd", _TRAIN_GD, {}, None),
    ("train_gd", _TRAIN_GD, {"after": "network.gradients(x, y, **params)[0]"}, "loss recorded after the update"),
    ("train_gd", _TRAIN_GD, {"keep": "pass"}, "parameters never updated"),
    ("train_gd", _TRAIN_GD, {"lr": "lr / len(x)"}, "lr divided by the batch size"),
    ("train_gd", _TRAIN_GD, {"steps": "steps + 1"}, "losses should have 1 item; got 2"),
    ("sgd_epoch", _SGD_EPOCH, {"lr": "-lr"}, "known mistake: sign error"),
    ("sgd_epoch", _SGD_EPOCH, {}, None),
    ("sgd_epoch", _SGD_EPOCH, {"data": "x, y"}, "the whole set at every step"),
    ("sgd_epoch", _SGD_EPOCH, {"after": "network.gradients(x[idx], y[idx], **params)[0]"},
     "loss recorded after the update"),
    ("sgd_epoch", _SGD_EPOCH, {"keep": "pass"}, "parameters never updated"),
    ("sgd_epoch", _SGD_EPOCH, {"lr": "lr / batch_size"}, "lr divided by the batch size"),
    ("sgd_epoch", _SGD_EPOCH, {"lr": "lr / len(idx)"}, "lr divided by the batch size"),
])
def test_a_learners_wrong_training_loop_is_named(capsys, name, template, change, said):
    answer = _loop(template, name, **change)
    if said is None:                                     # the template itself is right
        selfcheck.check(name, answer)
        assert "all 3 visible checks passed" in capsys.readouterr().out
        return
    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check(name, answer)
    assert said in capsys.readouterr().out


def _failed_check_output(capsys, name, answer):
    """What the self-check of ``name`` prints for ``answer``, which must fail it."""
    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check(name, answer)
    return capsys.readouterr().out


def test_a_loop_one_step_short_is_told_its_length_not_a_mistake_it_does_not_make(capsys):
    # with steps = 1 the short loop returns the parameters unchanged, as "never updated" would:
    # the losses say what is wrong, and no mistake is named that explains only the parameters
    answer = _loop(_TRAIN_GD, "train_gd", steps="steps - 1")
    out = _failed_check_output(capsys, "train_gd", answer)
    assert "losses should have 1 item; got 0" in out
    assert "never updated" not in out


def test_a_stub_helper_is_named_not_the_function_that_calls_it(capsys):
    namespace = {}
    exec("from bpcourse import network\n" + _TRAIN_GD.format(**{**_RIGHT, "keep": "params = gd_step(params, {}, lr)"})
         + "\ndef gd_step(params, grads, lr):\n    raise NotImplementedError()\n", namespace)
    out = _failed_check_output(capsys, "train_gd", namespace["train_gd"])
    assert "train_gd calls your `gd_step`, which is not written yet" in out
    assert "train_gd is not written yet" not in out


def test_numerical_gradient_must_use_the_eps_it_is_given(capsys):
    def fixed_step(f, x, eps=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + 1e-6
            up = f()
            x[i] = old - 1e-6
            down = f()
            x[i] = old
            grad[i] = (up - down) / 2e-6
        return grad

    out = _failed_check_output(capsys, "numerical_gradient", fixed_step)
    assert "2 of 3 visible checks passed" in out and "known mistake: eps not used" in out


def test_forward_returning_a_dict_is_asked_for_the_tuple_the_docstring_names(capsys):
    def as_dict(x, W1, b1, W2, b2):
        z1 = x @ W1.T + b1
        h = 1 / (1 + np.exp(-z1))
        z2 = h @ W2.T + b2
        return {"z1": z1, "h": h, "z2": z2, "y_hat": 1 / (1 + np.exp(-z2))}

    out = _failed_check_output(capsys, "forward", as_dict)
    assert "should be a tuple of 4 values (z1, h, z2, y_hat); got a dict" in out and "ForwardPass" not in out


def test_a_shape_error_going_back_hints_at_the_backward_products(capsys):
    def wrong_way(delta2, W2, h):
        return (W2 @ delta2) * h * (1 - h)

    out = _failed_check_output(capsys, "hidden_delta", wrong_way)
    assert "delta2 @ W2" in out and "x @ W.T + b" not in out


def test_batch_norm_backward_summing_over_the_features_in_dx_is_named(capsys):
    def axis1(dout, x, gamma, eps):
        N = x.shape[0]
        inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
        x_hat = (x - x.mean(axis=0)) * inv_std
        dx_hat = dout * gamma
        dx = inv_std / N * (N * dx_hat - dx_hat.sum(axis=1, keepdims=True)
                            - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True))
        return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)

    out = _failed_check_output(capsys, "batchnorm_backward", axis1)
    assert "known mistake: wrong axis in batch-norm statistics. The two sums inside dx" in out


def test_batch_norm_backward_by_centred_differences_earns_nothing(capsys):
    from bpcourse.gradcheck import numerical_gradient

    def numeric(dout, x, gamma, eps):
        beta = np.zeros_like(gamma)

        def forward():
            x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
            return float(np.sum(dout * (gamma * x_hat + beta)))
        return numerical_gradient(forward, x), numerical_gradient(forward, gamma), numerical_gradient(forward, beta)

    out = _failed_check_output(capsys, "batchnorm_backward", numeric)
    assert "calls the package's own bpcourse.gradcheck.numerical_gradient" in out


def test_batch_indices_from_the_legacy_generator_is_named(capsys):
    def legacy(N, batch_size, seed):
        np.random.seed(seed)
        order = np.random.permutation(N)
        return [order[i:i + batch_size] for i in range(0, N, batch_size)]

    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check("batch_indices", legacy)
    assert "known mistake: the legacy random generator" in capsys.readouterr().out


def test_batch_norm_ignoring_eps_is_named_and_its_broadcast_errors_hint_at_axis_0(capsys):
    def fixed_eps(x, gamma, beta, eps):
        return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5) + beta

    def per_example(x, gamma, beta, eps):
        return gamma * (x - x.mean(axis=1)) / np.sqrt(x.var(axis=1) + eps) + beta

    with pytest.raises(selfcheck.SelfCheckFailed, match="eps not used"):
        selfcheck.check("batchnorm_forward", fixed_eps)
    assert "check 4 failed" in capsys.readouterr().out.lower()
    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check("batchnorm_forward", per_example)
    out = capsys.readouterr().out
    assert "shape (D,): take the batch statistics over the examples, axis=0" in out
    assert "weights are stored (out, in)" not in out


def test_numerical_gradient_that_forgets_to_restore_x_is_an_in_place_change():
    def no_restore(f, x, eps):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + eps
            fp = f()
            x[i] = old - eps
            grad[i] = (fp - f()) / (2 * eps)
        return grad

    verdict, _ = selfcheck.run_case(selfcheck.CHECKS["numerical_gradient"], no_restore, {"seed": 0, "shape": [3]})
    assert not verdict.ok and verdict.mistake == "in-place change of the input"
    # f reads x, so the advice is to put each entry back, not to work on a copy (a copy gives zeros)
    assert "put it back after the two calls" in verdict.reason and "x.copy()" not in verdict.reason


def test_stub_says_not_written_yet(capsys):
    def stub(z):
        raise NotImplementedError()

    with pytest.raises(selfcheck.SelfCheckFailed):
        selfcheck.check("sigmoid", stub)
    assert "not written yet" in capsys.readouterr().out


def test_failure_renders_without_a_long_traceback():
    err = selfcheck.SelfCheckFailed("sigmoid: check 1 of 3 failed")
    assert err._render_traceback_() == ["SelfCheckFailed: sigmoid: check 1 of 3 failed"]
    assert isinstance(err, AssertionError)      # nbgrader scores an AssertionError as zero


def test_hidden_raises_on_a_wrong_answer_and_prints_on_a_right_one(capsys):
    selfcheck.hidden("sigmoid", _sigmoid, cases=[{"seed": 9, "shape": [2, 2]}])
    assert "all 1 hidden checks passed" in capsys.readouterr().out
    with pytest.raises(selfcheck.SelfCheckFailed, match="hidden check 1 failed"):
        selfcheck.hidden("sigmoid", np.tanh, cases=[{"seed": 9, "shape": [2, 2]}])


@pytest.mark.parametrize("expected, obtained, says", [
    (np.zeros((2, 3)), np.zeros((3, 2)), "has shape (3, 2); expected (2, 3)"),
    (np.zeros(3), np.zeros(3, dtype=np.float32), "dtype float32"),
    (np.zeros(3), np.zeros(3, dtype=np.int64), "expected floating-point"),
    (np.zeros(3), np.array([0.0, np.nan, 0.0]), "not a finite number"),
    (np.zeros(3), [0.0, 0.0, 0.0], "should be a numpy array"),
    (1.5, np.array([1.5]), "should be a single number"),
    ((np.zeros(2), np.zeros(2)), (np.zeros(2),), "should have 2 items"),
    ({"W": np.zeros(2)}, {"V": np.zeros(2)}, "missing 'W'"),
    (np.zeros(2), transport.Opaque("a generator"), "got a generator"),
    (3, 2, "should be 3"),
    (4, 4.0, "should be a whole number, an int; got a float, 4.0"),
    (4, np.float64(4.0), "math.ceil, math.floor and // give ints"),
])
def test_compare_says_what_differs(expected, obtained, says):
    reason = selfcheck.compare(expected, obtained)
    assert reason and says in reason


def test_compare_accepts_equal_values_within_tolerance():
    assert selfcheck.compare((np.ones(3), {"b": 2.0}), (np.ones(3) + 1e-12, {"b": 2.0 + 1e-12})) is None
    assert selfcheck.compare(2.0, np.float64(2.0)) is None


def test_transport_round_trip_keeps_types_and_refuses_objects(tmp_path):
    value = (np.arange(6.0).reshape(2, 3), [1, 2.5, float("nan")], {"W": np.ones(2, dtype=np.float32)}, None,
             True, "text", np.array([object()], dtype=object), (x for x in []))
    arrays = {}
    tree = transport.encode(value, arrays)
    transport.save(str(tmp_path / "v"), tree, arrays)
    tree2, arrays2 = transport.load(str(tmp_path / "v"))
    back = transport.decode(tree2, arrays2)
    assert np.array_equal(back[0], value[0]) and back[1][:2] == [1, 2.5] and np.isnan(back[1][2])
    assert back[2]["W"].dtype == np.float32 and back[3] is None and back[4] is True and back[5] == "text"
    assert isinstance(back[6], transport.Opaque) and "dtype object" in back[6].what
    assert isinstance(back[7], transport.Opaque) and "generator" in back[7].what


def test_transport_caps_the_total_size_of_one_result(tmp_path):
    """One big array repeated in a list is not shipped thousands of times: past MAX_TOTAL
    elements the rest arrive as Opaque, and the saved file stays small."""
    big = np.zeros(transport.MAX_ELEMENTS)
    arrays = {}
    tree = transport.encode([big] * 10, arrays)
    transport.save(str(tmp_path / "v"), tree, arrays)
    back = transport.decode(*transport.load(str(tmp_path / "v")))
    shipped = transport.MAX_TOTAL // transport.MAX_ELEMENTS
    assert all(isinstance(b, np.ndarray) for b in back[:shipped])
    assert all(isinstance(b, transport.Opaque) and "together" in b.what for b in back[shipped:])
    assert (tmp_path / "v.npz").stat().st_size <= 8 * transport.MAX_TOTAL + 10_000
