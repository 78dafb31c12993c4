"""Shared test helpers."""
import numpy as np

from bpcourse.gradcheck import rel_error

REL_TOL = 1e-7      # float64, centred differences with h = 1e-5
ABS_FLOOR = 1e-3    # below this size a gradient is at the noise floor of centred differences


def assert_gradients_agree(analytic, numeric, what=""):
    """The analytic gradient agrees with centred differences.

    Centred differences carry an absolute round-off error of about
    eps * |L| / h ~ 1e-11, so a gradient whose entries are all smaller than
    ABS_FLOOR cannot be checked to a relative 1e-7: for those we require the
    absolute difference to be within 1e-10 instead. Both can fail.
    """
    if np.max(np.abs(numeric)) >= ABS_FLOOR:
        err = rel_error(analytic, numeric)
        assert err <= REL_TOL, f"{what}: relative error {err:.2e} > {REL_TOL:g}"
    else:
        diff = float(np.max(np.abs(np.asarray(analytic) - numeric)))
        assert diff <= 1e-10, f"{what}: tiny gradient, absolute error {diff:.2e} > 1e-10"
