"""Gradient-checking tools."""
import numpy as np
import pytest

from bpcourse.gradcheck import check_model_gradients, error_bound, numerical_gradient, rel_error


def test_numerical_gradient_of_a_known_function_and_restores_x():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    grad = numerical_gradient(lambda: np.sum(x ** 3), x)
    assert np.allclose(grad, 3 * before ** 2, rtol=1e-8)
    assert np.array_equal(x, before)


def test_rel_error_formula():
    a, b = np.array([1.0, 2.0]), np.array([1.0, 2.5])
    assert rel_error(a, b) == pytest.approx(0.5 / 4.5)
    assert rel_error(a, -a) == pytest.approx(1.0)           # a sign error
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize("err, text", [(3.2e-11, "< 1e-10"), (1e-10, "< 1e-9"), (2e-6, "< 1e-5"),
                                       (0.0, "0"), (0.25, "0.25")])
def test_error_bound(err, text):
    assert error_bound(err) == text


@pytest.mark.parametrize("err, text", [(7.9e-12, "< 1e-9"), (1.09e-10, "< 1e-9"), (0.0, "< 1e-9"),
                                       (1e-9, "< 1e-8"), (3e-6, "< 1e-5")])
def test_error_bound_with_a_floor(err, text):
    assert error_bound(err, floor=1e-9) == text


def test_gradient_report_prints_round_off_sized_errors_at_the_floor():
    from bpcourse.gradcheck import CENTRED_DIFFERENCE_FLOOR, GradCheckReport
    report = GradCheckReport({"dense1.W": 4.4e-11, "dense1.b": 6.4e-12, "dense2.W": 3e-8}, tol=1e-7)
    lines = str(report).splitlines()
    assert CENTRED_DIFFERENCE_FLOOR == 1e-9
    assert "< 1e-9" in lines[0] and "< 1e-9" in lines[1] and "< 1e-7" in lines[2]


def test_step_is_eps_and_the_old_keyword_h_still_works():
    x = np.array([0.3, -1.2, 2.0])
    f = lambda: float(np.sum(np.sin(x)))                                  # noqa: E731
    by_eps = numerical_gradient(f, x, eps=1e-3)
    assert np.array_equal(by_eps, numerical_gradient(f, x, h=1e-3))
    assert not np.array_equal(by_eps, numerical_gradient(f, x, eps=1e-5))   # the step is used
    assert np.allclose(by_eps, np.cos(x), rtol=1e-6, atol=0)


def test_check_model_gradients_takes_eps_and_the_old_keyword_h():
    from bpcourse.model import mlp
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    model = mlp([3, 4, 2], output=None, loss="softmax_cross_entropy")
    by_eps = check_model_gradients(model, x, y, eps=1e-4).errors
    assert by_eps == check_model_gradients(model, x, y, h=1e-4).errors
    assert by_eps != check_model_gradients(model, x, y, eps=1e-6).errors      # the step reaches the differences
