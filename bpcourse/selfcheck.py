"""The learners' self-checks: run a graded function on known inputs and say, in plain words,
what is right and what is wrong.

In an exercise notebook, after each answer cell::

    from bpcourse import selfcheck
    selfcheck.check("sigmoid", sigmoid)

prints one verdict: which inputs passed; on a failure the expected and the
obtained values and, when the answer matches a known mistake (missing sigma',
transposed weights, sign error, sum instead of mean, wrong axis in batch-norm
statistics, bias broadcast wrongly, in-place change of the input), that mistake
by name. Hidden checks on other inputs run at grading.

Every graded function has one ``Check`` in the registry ``CHECKS`` below: how to
make inputs from a case ``{"seed": 0, ...}``, the expected answer computed with
the package's own maths, the known mistakes, and the package functions the
answer may not call. ``judge`` compares an answer with the expected one; the
grader (``bpcourse.grading``) uses the same ``judge`` in its own process.
"""
import copy
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import activations, batching, gradcheck, layers, losses, network, optim

HIDDEN_NOTE = "Hidden checks with other inputs run when your notebook is graded."


class SelfCheckFailed(AssertionError):
    """A self-check failed; the verdict printed above the error says why."""

    def _render_traceback_(self):
        # IPython shows only this line instead of a traceback through selfcheck's code.
        return [f"SelfCheckFailed: {self}"]


@dataclass
class Mistake:
    """A wrong answer learners often give: ``fn(*args)`` computes it from the check's inputs."""
    name: str
    explanation: str
    fn: Callable


@dataclass
class Check:
    """How to check one graded function (see solutions/README.md).

    - name: the function's name (= the nbgrader grade_id of its answer cell)
    - args: the names of its arguments, in call order
    - make_inputs(rng, **params) -> dict of named inputs for one case
    - reference(*args) -> the expected output, computed with the package's maths
    - visible: the cases the learner's self-check runs (dicts: "seed" plus params, optional "note")
    - mistakes: known wrong answers, named when an answer matches one
    - forbidden: dotted names of package functions the answer may not call
    - callables: inputs that are functions, as the source of a lambda over the other inputs
    - output_names: names of the items when the function returns a tuple
    """
    name: str
    exercise: str
    args: tuple
    make_inputs: Callable
    reference: Callable
    visible: list
    mistakes: list = field(default_factory=list)
    forbidden: tuple = ()
    callables: dict = field(default_factory=dict)
    output_names: tuple = ()
    rtol: float = 1e-6
    atol: float = 1e-9

    def inputs(self, case):
        """The data inputs of one case: arrays and numbers (never functions)."""
        params = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in case.items() if k not in ("seed", "note")}
        return self.make_inputs(np.random.default_rng(case["seed"]), **params)

    def bind(self, data):
        """The positional arguments for a call: the data, plus the callables built over it.

        A callable's lambda reads the very arrays passed alongside it (e.g. f reads x),
        so changing x in place changes what f returns, as numerical_gradient expects.
        """
        return [eval(self.callables[a], {"np": np, **data}) if a in self.callables else data[a]
                for a in self.args]

    def expected(self, data):
        """The reference answer for these inputs (on a copy: the inputs are left as they are)."""
        with _quiet():
            return self.reference(*self.bind(copy.deepcopy(data)))

    def describe(self, case):
        """A case in words, e.g. 'x (4, 3), W1 (5, 3), b1 (5,), ...; one example'."""
        data = self.inputs(case)
        parts = []
        for a in self.args:
            if a in self.callables:
                continue
            v = data[a]
            if isinstance(v, np.ndarray):
                parts.append(f"{a} {v.shape}")
            elif isinstance(v, dict):
                parts.append(f"{a} with {', '.join(v)}")
            else:
                parts.append(f"{a}={v!r}")
        note = case.get("note")
        return ", ".join(parts) + (f" ({note})" if note else "")


CHECKS = {}


def register(check):
    """Add a check to the registry (names are unique across the course)."""
    if check.name in CHECKS:
        raise ValueError(f"selfcheck: a check named {check.name!r} is already registered")
    CHECKS[check.name] = check
    return check


def get_check(name):
    try:
        return CHECKS[name]
    except KeyError:
        raise KeyError(f"selfcheck: no check named {name!r}; known: {', '.join(sorted(CHECKS))}") from None


class _quiet(warnings.catch_warnings):
    """Neither numpy floating-point warnings nor Python warnings escape (used for references)."""

    def __enter__(self):
        super().__enter__()
        warnings.simplefilter("ignore")
        self._err = np.seterr(all="ignore")

    def __exit__(self, *exc):
        np.seterr(**self._err)
        return super().__exit__(*exc)


# ------------------------------------------------------------ comparing answers

def _fmt(a):
    if isinstance(a, np.ndarray):
        return np.array2string(a, precision=4, suppress_small=True, threshold=12, edgeitems=2,
                               max_line_width=88, floatmode="maxprec")
    if isinstance(a, float):
        return f"{a:.6g}"
    return repr(a)


def _type_name(x):
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    return f"a {type(x).__name__}"


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def compare(expected, obtained, rtol=1e-6, atol=1e-9, what="the result"):
    """None when ``obtained`` matches ``expected``, else the first difference in plain words.

    Arrays must match in shape, kind of dtype (float64 answers must be float64) and
    values (np.allclose with rtol, atol); tuples and lists item by item; dicts key by key;
    numbers within the tolerance.
    """
    if isinstance(expected, dict):
        if not isinstance(obtained, dict):
            return f"{what} should be a dict with keys {', '.join(map(repr, expected))}; got {_type_name(obtained)}"
        if set(obtained) != set(expected):
            missing = [k for k in expected if k not in obtained]
            extra = [k for k in obtained if k not in expected]
            return (f"{what} should have the keys {', '.join(map(repr, expected))}"
                    + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
                    + (f"; unexpected {', '.join(map(repr, extra))}" if extra else ""))
        for k in expected:
            r = compare(expected[k], obtained[k], rtol, atol, f"{what}[{k!r}]")
            if r:
                return r
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(obtained, (tuple, list)):
            return f"{what} should be {len(expected)} values in a {type(expected).__name__}; got {_type_name(obtained)}"
        if len(obtained) != len(expected):
            return f"{what} should have {len(expected)} items; got {len(obtained)}"
        names = getattr(expected, "_fields", None)
        for i, (e, o) in enumerate(zip(expected, obtained)):
            label = names[i] if names else f"item {i}"
            r = compare(e, o, rtol, atol, f"{label} of {what}" if what != "the result" else label)
            if r:
                return r
        return None
    if isinstance(expected, np.ndarray):
        return _compare_arrays(expected, obtained, rtol, atol, what)
    if _is_number(expected):
        if isinstance(obtained, np.ndarray) and obtained.shape == ():
            obtained = obtained[()]
        if not _is_number(obtained):
            return f"{what} should be a single number; got {_type_name(obtained)}"
        if isinstance(expected, (int, np.integer)):
            return None if obtained == expected else f"{what} should be {expected}; got {obtained}"
        if not math.isfinite(float(obtained)):
            return f"{what} is {float(obtained)} (not a finite number)"
        if not math.isclose(float(obtained), float(expected), rel_tol=rtol, abs_tol=atol):
            return f"{what}: expected {float(expected):.6g}, obtained {float(obtained):.6g}"
        return None
    return None if obtained == expected else f"{what}: expected {expected!r}, obtained {obtained!r}"


def _compare_arrays(expected, obtained, rtol, atol, what):
    if isinstance(obtained, (list, tuple)):
        return f"{what} should be a numpy array of shape {expected.shape}; got a {type(obtained).__name__}"
    if not isinstance(obtained, np.ndarray):
        if _is_number(obtained) and expected.shape == ():
            obtained = np.asarray(obtained)
        else:
            return f"{what} should be a numpy array of shape {expected.shape}; got {_type_name(obtained)}"
    if obtained.shape != expected.shape:
        return f"{what} has shape {obtained.shape}; expected {expected.shape}"
    if expected.dtype.kind in "iu":
        if obtained.dtype.kind not in "iu":
            return f"{what} has dtype {obtained.dtype}; expected integers"
        if not np.array_equal(obtained, expected):
            return f"{what}:\n  expected {_fmt(expected)}\n  obtained {_fmt(obtained)}"
        return None
    if obtained.dtype.kind != "f":
        return f"{what} has dtype {obtained.dtype}; expected floating-point numbers ({expected.dtype})"
    if obtained.dtype != expected.dtype:
        return f"{what} has dtype {obtained.dtype}; expected {expected.dtype} (keep the inputs' precision)"
    bad = ~np.isfinite(obtained) & np.isfinite(expected)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return f"{what} contains {obtained[idx]} (not a finite number) at index {list(idx)}"
    if not np.allclose(obtained, expected, rtol=rtol, atol=atol):
        diff = np.abs(obtained - expected)
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        where = f" at index {[int(i) for i in idx]}" if idx else ""
        return (f"{what} has the wrong values:\n  expected {_fmt(expected)}\n  obtained {_fmt(obtained)}\n"
                f"  largest difference {float(diff[idx]):.3g}{where}")
    return None


def changed_inputs(before, after, args=None):
    """The names of the array inputs whose values differ after the call (in-place changes)."""
    changed = []
    for name in (args or before):
        b, a = before.get(name), after.get(name)
        if isinstance(b, dict) and isinstance(a, dict):
            if any(_changed(b[k], a.get(k)) for k in b):
                changed.append(name)
        elif _changed(b, a):
            changed.append(name)
    return changed


def _changed(b, a):
    if not isinstance(b, np.ndarray):
        return False
    if not isinstance(a, np.ndarray) or a.shape != b.shape:
        return True
    return not np.allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True)


# ------------------------------------------------------------- the verdict

@dataclass
class Verdict:
    """The outcome of one case: ok, and if not, why (and the known mistake's name, if any)."""
    ok: bool
    reason: str = ""
    mistake: str = ""


ERROR_HINTS = [
    (r"matmul|shapes? .* not aligned|could not be broadcast|operands could not",
     "Check the shapes: weights are stored (out, in) and a batch has one example per row, "
     "so a layer computes x @ W.T + b."),
]


def judge(check, before, after, expected, obtained=None, error=None):
    """Compare one answer with the expected one and explain any difference.

    Inputs:
    - check: the Check; before / after: the data inputs before and after the call
    - expected: the reference answer; obtained: what the learner's function returned
    - error: (exception name, message) when the call raised instead
    Returns a Verdict.
    """
    if error is not None:
        ename, evalue = error
        if ename == "NotImplementedError":
            return Verdict(False, f"{check.name} is not written yet: replace `raise NotImplementedError()` "
                                  "with your code")
        reason = f"{check.name} raised {ename}: {evalue}"
        for pattern, hint in ERROR_HINTS:
            if re.search(pattern, str(evalue)):
                reason += "\n  " + hint
        return Verdict(False, reason)
    reason = compare(expected, obtained, check.rtol, check.atol)
    changed = changed_inputs(before, after, [a for a in check.args if a not in check.callables])
    if not reason and not changed:
        return Verdict(True)
    mistake = ""
    if reason:
        for m in check.mistakes:
            try:
                with _quiet():
                    wrong = m.fn(*check.bind(copy.deepcopy(before)))
            except Exception:
                continue
            if compare(wrong, obtained, check.rtol, check.atol) is None:
                mistake = m.name
                reason += f"\n  This is a known mistake: {m.name}. {m.explanation}"
                break
    if changed:
        names = ", ".join(f"`{n}`" for n in changed)
        text = (f"{check.name} changed its input {names} in place (known mistake: in-place change of "
                "the input). The caller's arrays must stay as they were: compute new arrays "
                "(W = W - lr * dW, not W -= lr * dW) or work on a copy (x = x.copy()).")
        reason = f"{reason}\n  {text}" if reason else text
        mistake = mistake or "in-place change of the input"
    return Verdict(False, reason, mistake)


def run_case(check, fn, case):
    """Call ``fn`` on one case's inputs here, in this process; returns (Verdict, warnings seen)."""
    data = check.inputs(case)
    expected = check.expected(data)
    before = copy.deepcopy(data)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            obtained = fn(*check.bind(data))
        except Exception as e:
            return judge(check, before, data, expected, error=(type(e).__name__, str(e))), seen
    return judge(check, before, data, expected, obtained), seen


def check(name, fn):
    """Run the visible checks of ``name`` on the learner's ``fn`` and print the verdict.

    Raises SelfCheckFailed (an AssertionError) when a check fails, after printing why.
    """
    chk = get_check(name)
    if not callable(fn):
        print(f"{name}: {name} should be a function; it is {_type_name(fn)}.")
        raise SelfCheckFailed(f"{name} is not a function")
    lines, first_failure, warned = [], None, set()
    for i, case in enumerate(chk.visible, 1):
        verdict, seen = run_case(chk, fn, case)
        warned.update(f"{w.category.__name__}: {w.message}" for w in seen)
        lines.append(f"  {'ok    ' if verdict.ok else 'FAILED'} {i}. {chk.describe(case)}")
        if not verdict.ok and first_failure is None:
            first_failure = (i, verdict)
    n = len(chk.visible)
    if first_failure is None:
        print(f"{name}: all {n} visible checks passed.")
        print("\n".join(lines))
        if warned:
            print(f"  Note: your function raised a warning ({'; '.join(sorted(warned))}). "
                  "The values are right; see if you can avoid it.")
        print(HIDDEN_NOTE)
        return
    i, verdict = first_failure
    print(f"{name}: {sum(l.startswith('  ok') for l in lines)} of {n} visible checks passed.")
    print("\n".join(lines))
    print(f"Check {i} failed: {verdict.reason}")
    print("Fix it and run this cell again. " + HIDDEN_NOTE)
    raise SelfCheckFailed(f"{name}: check {i} of {n} failed" + (f" ({verdict.mistake})" if verdict.mistake else ""))


def hidden(name, fn, cases):
    """The hidden checks (in solutions/ only): raise SelfCheckFailed unless every case passes."""
    chk = get_check(name)
    for i, case in enumerate(cases, 1):
        verdict, _ = run_case(chk, fn, case)
        if not verdict.ok:
            raise SelfCheckFailed(f"{name}: hidden check {i} failed: {verdict.reason}")
    print(f"{name}: all {len(cases)} hidden checks passed.")


# =================================================================== the checks
# One section per exercise. Inputs are float64 and seeded by the case's "seed".

def _normal(rng, *shape, scale=1.0):
    return scale * rng.standard_normal(shape)


# ---------------------------------------------------------- ex1: forward pass

def _z_inputs(rng, shape=(4, 3), scale=3.0):
    return {"z": _normal(rng, *shape, scale=scale)}


def _network_inputs(rng, N=4, n=3, m=5, k=2):
    return {"x": _normal(rng, N, n), "W1": _normal(rng, m, n, scale=1 / np.sqrt(n)),
            "b1": _normal(rng, m, scale=0.5), "W2": _normal(rng, k, m, scale=1 / np.sqrt(m)),
            "b2": _normal(rng, k, scale=0.5)}


def _forward_transposed(x, W1, b1, W2, b2):
    z1 = x @ W1 + b1
    h = activations.sigmoid(z1)
    z2 = h @ W2 + b2
    return z1, h, z2, activations.sigmoid(z2)


def _forward_bias_columns(x, W1, b1, W2, b2):
    z1 = x @ W1.T + b1[:, None]
    h = activations.sigmoid(z1)
    z2 = h @ W2.T + b2[:, None]
    return z1, h, z2, activations.sigmoid(z2)


def _forward_no_output_sigmoid(x, W1, b1, W2, b2):
    fp = network.forward(x, W1, b1, W2, b2)
    return fp.z1, fp.h, fp.z2, fp.z2


register(Check(
    name="sigmoid", exercise="ex1_forward", args=("z",),
    make_inputs=_z_inputs, reference=activations.sigmoid,
    visible=[{"seed": 0, "shape": [5]}, {"seed": 1, "shape": [3, 4]},
             {"seed": 2, "shape": [6], "scale": 20.0, "note": "large |z|"}],
    mistakes=[Mistake("sign error", "The exponent is -z: sigma(z) = 1 / (1 + e^(-z)).",
                      lambda z: 1 / (1 + np.exp(z))),
              Mistake("missing 1 +", "The denominator is 1 + e^(-z), not e^(-z).", lambda z: np.exp(z))],
    forbidden=("bpcourse.activations.sigmoid", "bpcourse.layers.sigmoid_forward"),
))

register(Check(
    name="sigmoid_prime", exercise="ex1_forward", args=("z",),
    make_inputs=_z_inputs, reference=activations.sigmoid_prime,
    visible=[{"seed": 0, "shape": [5]}, {"seed": 1, "shape": [3, 4]}],
    mistakes=[Mistake("z in place of sigma(z)", "sigma'(z) = sigma(z) (1 - sigma(z)): apply the sigmoid first.",
                      lambda z: z * (1 - z)),
              Mistake("sign error", "sigma'(z) = sigma(z) (1 - sigma(z)) is positive everywhere.",
                      lambda z: -activations.sigmoid_prime(z)),
              Mistake("missing sigma'", "This returns sigma(z) itself, not its derivative.",
                      activations.sigmoid)],
    forbidden=("bpcourse.activations.sigmoid_prime", "bpcourse.layers.sigmoid_backward"),
))

register(Check(
    name="forward", exercise="ex1_forward", args=("x", "W1", "b1", "W2", "b2"),
    make_inputs=_network_inputs, reference=network.forward, output_names=("z1", "h", "z2", "y_hat"),
    visible=[{"seed": 0, "N": 1, "n": 2, "m": 3, "k": 1, "note": "a batch of one example"},
             {"seed": 1, "N": 4, "n": 3, "m": 5, "k": 2},
             {"seed": 2, "N": 3, "n": 3, "m": 3, "k": 3, "note": "square weights"}],
    mistakes=[Mistake("transposed weights", "Weights are stored (out, in): W1 has shape (m, n), so a batch "
                      "x (N, n) goes through x @ W1.T, not x @ W1.", _forward_transposed),
              Mistake("bias broadcast wrongly", "b1 has one entry per hidden unit, a column of z1: add it "
                      "as x @ W1.T + b1 (numpy repeats it for every row), not as a column b1[:, None].",
                      _forward_bias_columns),
              Mistake("missing output sigmoid", "y_hat = sigma(z2): apply the sigmoid to the output layer too.",
                      _forward_no_output_sigmoid)],
    forbidden=("bpcourse.network.forward", "bpcourse.layers.dense_forward", "bpcourse.model.Sequential.forward"),
))


# ----------------------------------------------------- ex2: loss and output delta

def _output_inputs(rng, N=4, k=2):
    return {"y_hat": activations.sigmoid(_normal(rng, N, k, scale=2.0)),
            "y": rng.integers(0, 2, size=(N, k)).astype(np.float64)}


def _mse_value(y_hat, y):
    return losses.mse(y_hat, y)[0]


def _output_delta(y_hat, y):
    # dL/dz2 per example: the loss's dL/dy_hat (y_hat - y) through sigma' (layers.sigmoid_backward)
    return layers.sigmoid_backward(y_hat - y, y_hat)


register(Check(
    name="mse_loss", exercise="ex2_loss", args=("y_hat", "y"),
    make_inputs=_output_inputs, reference=_mse_value,
    visible=[{"seed": 0, "N": 1, "k": 3, "note": "one example"}, {"seed": 1, "N": 5, "k": 2},
             {"seed": 2, "N": 8, "k": 1}],
    mistakes=[Mistake("sum instead of mean over the batch", "The batch loss is the mean of the per-example "
                      "losses: divide the sum by N, the number of rows.",
                      lambda y_hat, y: 0.5 * float(np.sum((y_hat - y) ** 2))),
              Mistake("missing the 1/2", "L = 1/2 sum_l (y_hat_l - y_l)^2 per example; the 1/2 cancels the 2 "
                      "of the derivative.", lambda y_hat, y: 2 * _mse_value(y_hat, y)),
              Mistake("mean over the outputs too", "Average over the examples only (axis 0); sum over the k "
                      "outputs of each example.", lambda y_hat, y: 0.5 * float(np.mean((y_hat - y) ** 2)))],
    forbidden=("bpcourse.losses.mse", "bpcourse.network.loss", "bpcourse.network.gradients"),
))

register(Check(
    name="output_delta", exercise="ex2_loss", args=("y_hat", "y"),
    make_inputs=_output_inputs, reference=_output_delta,
    visible=[{"seed": 0, "N": 1, "k": 3, "note": "one example"}, {"seed": 1, "N": 5, "k": 2}],
    mistakes=[Mistake("missing sigma'", "delta2 = dL/dz2 goes through the output sigmoid: multiply "
                      "(y_hat - y) by sigma'(z2) = y_hat (1 - y_hat).", lambda y_hat, y: y_hat - y),
              Mistake("sign error", "delta2 = (y_hat - y) y_hat (1 - y_hat): prediction minus target.",
                      lambda y_hat, y: -_output_delta(y_hat, y)),
              Mistake("divided by N", "delta2 is per example; the 1/N of the batch mean belongs to the "
                      "gradients dW2 and db2.", lambda y_hat, y: _output_delta(y_hat, y) / len(y))],
    forbidden=("bpcourse.network.backward", "bpcourse.network.gradients", "bpcourse.layers.sigmoid_backward"),
))
