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
import importlib
import math
import os
import re
import sys
import sysconfig
import traceback
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
    - uses: the other graded functions the exercise tells the learner to call from this one
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
    uses: tuple = ()
    rtol: float = 1e-6
    atol: float = 1e-9

    @property
    def blocked(self):
        """``forbidden`` plus the reference itself when it is a named function of the package:
        calling the grader's own answer (e.g. ``bpcourse.selfcheck._train_gd``) earns no credit either."""
        ref = self.reference
        module, qualname = getattr(ref, "__module__", "") or "", getattr(ref, "__qualname__", "") or ""
        if module.startswith("bpcourse") and qualname and "<" not in qualname:
            own = f"{module}.{qualname}"
            if own not in self.forbidden:
                return tuple(self.forbidden) + (own,)
        return tuple(self.forbidden)

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

def _fmt(a, indent=0):
    if isinstance(a, np.ndarray):
        text = np.array2string(a, precision=4, suppress_small=True, threshold=12, edgeitems=2,
                               max_line_width=88 - indent, floatmode="maxprec")
        return text.replace("\n", "\n" + " " * indent)
    if isinstance(a, float):
        return f"{a:.6g}"
    return repr(a)


def _count(n, word):
    """'1 item', '3 items'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _type_name(x):
    if isinstance(getattr(x, "what", None), str):       # a value the grader could not transport
        return x.what
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    return f"a {type(x).__name__}"


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def compare(expected, obtained, rtol=1e-6, atol=1e-9, what="the result", names=()):
    """None when ``obtained`` matches ``expected``, else the first difference in plain words.

    Arrays must match in shape, kind of dtype (float64 answers must be float64) and
    values (np.allclose with rtol, atol); tuples and lists item by item (named by ``names``,
    or by a namedtuple's fields); dicts key by key; numbers within the tolerance.
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
            kind = "list" if isinstance(expected, list) else "tuple"      # a NamedTuple is asked for as a tuple
            fields = getattr(expected, "_fields", None)
            return (f"{what} should be a {kind} of {_count(len(expected), 'value')}"
                    + (f" ({', '.join(fields)})" if fields else "") + f"; got {_type_name(obtained)}")
        if len(obtained) != len(expected):
            return f"{what} should have {_count(len(expected), 'item')}; got {len(obtained)}"
        names = getattr(expected, "_fields", None) or names
        labels = [names[i] if i < len(names) else f"item {i}" for i in range(len(expected))]
        labels = [f"{label} of {what}" if what != "the result" else label for label in labels]
        # a list of the wrong length (too many steps, say) explains more than the values it led to
        for e, o, label in zip(expected, obtained, labels):
            if isinstance(e, list) and isinstance(o, (tuple, list)) and len(o) != len(e):
                return compare(e, o, rtol, atol, label)
        for e, o, label in zip(expected, obtained, labels):
            r = compare(e, o, rtol, atol, label)
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
            if not isinstance(obtained, (int, np.integer)):
                return (f"{what} should be a whole number, an int; got {_type_name(obtained)}, {obtained!r} "
                        "(np.ceil, np.floor and / give floats; math.ceil, math.floor and // give ints)")
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
            return f"{what}:\n  expected {_fmt(expected, 11)}\n  obtained {_fmt(obtained, 11)}"
        return None
    if obtained.dtype.kind != "f":
        return f"{what} has dtype {obtained.dtype}; expected floating-point numbers ({expected.dtype})"
    if obtained.dtype != expected.dtype:
        return f"{what} has dtype {obtained.dtype}; expected {expected.dtype} (keep the inputs' precision)"
    idx = _first_not_finite(expected, obtained)
    if idx is not None:
        return f"{what} contains {obtained[idx]} (not a finite number) at index {list(idx)}"
    if not np.allclose(obtained, expected, rtol=rtol, atol=atol):
        diff = np.abs(obtained - expected)
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        where = f" at index {[int(i) for i in idx]}" if idx else ""
        shown = f"  expected {_fmt(expected, 11)}\n  obtained {_fmt(obtained, 11)}\n"
        if _fmt(expected) == _fmt(obtained):    # equal to 4 digits: the difference itself tells more
            diff_text = np.array2string(obtained - expected, formatter={"float_kind": lambda v: f"{v:.2e}"},
                                        threshold=12, edgeitems=2, max_line_width=66).replace("\n", "\n" + " " * 22)
            shown += f"  obtained - expected {diff_text}\n"
        return f"{what} has the wrong values:\n{shown}  largest difference {float(diff[idx]):.3g}{where}"
    return None


def _first_not_finite(expected, obtained):
    """The index of the first nan/inf of ``obtained`` where ``expected`` is finite, or None."""
    bad = np.argwhere(~np.isfinite(obtained) & np.isfinite(expected))
    return tuple(int(i) for i in bad[0]) if len(bad) else None


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


SHAPE_ERROR = r"matmul|shapes? .* not aligned|could not be broadcast|operands could not"

# (pattern of the error message, which checks it concerns, hint)
ERROR_HINTS = [
    (SHAPE_ERROR, lambda chk: "gamma" not in chk.args and "delta2" not in chk.args,
     "Check the shapes: weights are stored (out, in) and a batch has one example per row, "
     "so a layer computes x @ W.T + b."),
    (SHAPE_ERROR, lambda chk: "delta2" in chk.args,
     "Check the shapes: a batch has one example per row and weights are stored (out, in), so going back "
     "delta2 (N, k) meets W2 (k, m) as delta2 @ W2, and each gradient has the shape of its parameter: "
     "dW2 = delta2.T @ h is (k, m)."),
    (r"could not be broadcast|operands could not",
     lambda chk: "gamma" in chk.args,
     "Check the shapes: x is (N, D) and mu, var, gamma, beta have one value per feature, shape (D,): "
     "take the batch statistics over the examples, axis=0."),
    (r"only (length-1|0-dimensional|size-1) arrays can be converted",
     lambda chk: True,
     "A function of the math module (math.exp, ...) takes one number; numpy's (np.exp, ...) take whole arrays."),
    (r"(tuple|list) indices must be integers|object is not subscriptable",
     lambda chk: "params" in chk.args,
     "Parameters and gradients travel as dicts by name: network.gradients returns g with g.dW1, g.db1, ...; "
     'pass {"W1": g.dW1, "b1": g.db1, "W2": g.dW2, "b2": g.db2}.'),
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
        for pattern, concerns, hint in ERROR_HINTS:
            if concerns(check) and re.search(pattern, str(evalue)):
                reason += "\n  " + hint
        return Verdict(False, reason)
    reason = compare(expected, obtained, check.rtol, check.atol, names=check.output_names)
    if reason:
        reason += _inputs_where_not_finite(check, before, expected, obtained)
    changed = changed_inputs(before, after, [a for a in check.args if a not in check.callables])
    if not reason and not changed:
        return Verdict(True)
    mistake = ""
    if reason:
        for m, wrong in _known_wrong_answers(check, before):
            if compare(wrong, obtained, check.rtol, check.atol) is None:
                mistake = m.name
                reason += f"\n  This is a known mistake: {m.name}. {m.explanation}"
                break
        if not mistake:
            mistake, text = _mistake_in_one_item(check, before, expected, obtained)
            reason += text
    if changed:
        names = ", ".join(f"`{n}`" for n in changed)
        if any(isinstance(before.get(n), dict) for n in changed):
            fix = ("The caller's dict and its arrays must stay as they were: build and return a new dict, "
                   "{name: params[name] - lr * grads[name] for name in params}. `params[name] = ...` changes "
                   "the caller's dict, and `-=` changes the caller's arrays even in a copied dict.")
        elif check.callables:        # f reads the input: the answer must change it, then restore it
            fix = (f"`{check.args[0]}` reads {names}, so change one entry at a time in place, and put it back "
                   "after the two calls (old = x[i]; x[i] = old + eps; ...; x[i] = old).")
        else:
            fix = ("The caller's arrays must stay as they were: compute new arrays "
                   "(W = W - lr * dW, not W -= lr * dW) or work on a copy (x = x.copy()).")
        text = (f"{check.name} changed its input {names} in place (known mistake: in-place change of "
                f"the input). {fix}")
        reason = f"{reason}\n  {text}" if reason else text
        mistake = mistake or "in-place change of the input"
    return Verdict(False, reason, mistake)


def _inputs_where_not_finite(check, before, expected, obtained):
    """For an array answer with a nan/inf (the one compare reports): the same-shaped inputs' values
    there, e.g. "There the input `z` is 1000", and where an inf or a nan usually comes from."""
    if not (isinstance(obtained, np.ndarray) and obtained.dtype.kind == "f" and isinstance(expected, np.ndarray)
            and obtained.shape == expected.shape):
        return ""
    idx = _first_not_finite(expected, obtained)
    if idx is None:
        return ""
    cause = ("does something overflow there?" if np.isinf(obtained[idx]) else
             "nan comes from 0/0, inf/inf, inf - inf (often after an overflow) or the square root of a negative number")
    inputs = [f"`{name}` is {float(before[name][idx]):g}" for name in check.args
              if isinstance(before.get(name), np.ndarray) and before[name].dtype.kind in "fiu"
              and before[name].shape == obtained.shape]
    return f"\n  There the input {', '.join(inputs)}: {cause}" if inputs else f"\n  {cause[0].upper()}{cause[1:]}"


def _known_wrong_answers(check, before):
    """(Mistake, the wrong answer it computes from these inputs) for each of the check's known mistakes."""
    for m in check.mistakes:
        try:
            with _quiet():
                yield m, m.fn(*check.bind(copy.deepcopy(before)))
        except Exception:
            continue


def _mistake_in_one_item(check, before, expected, obtained):
    """For a tuple answer: (name, text) of a known mistake that explains every wrong item (the first of
    them is named), else ("", ""). A mistake that explains only some (the parameters of a loop that also
    ran too few steps) is not the answer's mistake."""
    if not (check.output_names and isinstance(obtained, (tuple, list)) and len(obtained) == len(expected)):
        return "", ""
    wrong_items = [i for i, (e, o) in enumerate(zip(expected, obtained))
                   if compare(e, o, check.rtol, check.atol) is not None]
    for m, wrong in _known_wrong_answers(check, before):
        if not (isinstance(wrong, (tuple, list)) and len(wrong) == len(obtained)):
            continue
        if wrong_items and all(compare(wrong[i], obtained[i], check.rtol, check.atol) is None for i in wrong_items):
            i = wrong_items[0]
            return m.name, f"\n  {check.output_names[i]} has a known mistake: {m.name}. {m.explanation}"
    return "", ""


def resolve(dotted):
    """The package object named ``bpcourse.module.name[.attr]``, or None (also for names outside bpcourse)."""
    if dotted.split(".")[0] != "bpcourse":
        return None
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p, None)
        return obj
    return None


class _WatchCalls:
    """Notes which of the given package functions run while it is active (via sys.setprofile)."""

    def __init__(self, dotted_names):
        self.codes, self.written = {}, {}      # by the code object, and by its file and first line
        for d in dotted_names:
            code = getattr(resolve(d), "__code__", None)
            if code is not None:
                self.codes[code] = d
                self.written[(code.co_filename, code.co_firstlineno)] = d
        self.called = []

    def _profile(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            name = self.codes.get(code) or self.written.get((code.co_filename, code.co_firstlineno))
            if name and name not in self.called:
                self.called.append(name)

    def __enter__(self):
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self._previous)


def run_case(check, fn, case):
    """Call ``fn`` on one case's inputs here, in this process; returns (Verdict, warnings seen).

    An answer that calls the package's own implementation of the function fails
    (it would earn no credit at grading).
    """
    data = check.inputs(case)
    expected = check.expected(data)
    before = copy.deepcopy(data)
    with warnings.catch_warnings(record=True) as seen, _WatchCalls(check.blocked) as watch:
        warnings.simplefilter("always")
        try:
            obtained = fn(*check.bind(data))
        except Exception as e:
            stub = _stub_helper(check, e)
            if stub:
                return Verdict(False, f"{check.name} calls your `{stub}`, which is not written yet: replace "
                                      f"`raise NotImplementedError()` in `{stub}` with your code first."), seen
            verdict = judge(check, before, data, expected, error=(type(e).__name__, str(e)))
            line = "" if isinstance(e, NotImplementedError) else _learner_line(e)    # a stub: nothing to quote
            if line:
                verdict.reason += f"\n  The error came from this line of yours: {line}"
            if not isinstance(e, NotImplementedError):    # a stub: its helpers are not the point yet
                verdict.reason += _failing_helpers(check, fn)
            return verdict, seen
    if watch.called:
        return Verdict(False, f"{check.name} calls the package's own {', '.join(watch.called)}. Write the "
                              "computation yourself: an answer that hands back the package's implementation "
                              "earns no credit at grading.", "package implementation"), seen
    verdict = judge(check, before, data, expected, obtained)
    if not verdict.ok:
        verdict.reason += _failing_helpers(check, fn)
    return verdict, seen


def _stub_helper(check, error):
    """The name of the learner's helper (one of ``check.uses``) whose stub raised ``error``, or None."""
    if not isinstance(error, NotImplementedError):
        return None
    tb, last = error.__traceback__, None
    while tb is not None:
        last, tb = tb.tb_frame.f_code.co_name, tb.tb_next
    return last if last in check.uses else None


def _failing_helpers(check, fn):
    """A note naming the learner's own helpers (``check.uses``, looked up where ``fn`` was defined)
    that fail their own visible checks: a right loop around a wrong helper fails too."""
    failing = []
    for name in check.uses:
        helper = getattr(fn, "__globals__", {}).get(name)
        if callable(helper) and helper is not fn:
            helper_check = get_check(name)
            if not all(run_case(helper_check, helper, case)[0].ok for case in helper_check.visible):
                failing.append(name)
    if not failing:
        return ""
    names = " and ".join(f"`{n}`" for n in failing)
    return (f"\n  {check.name} calls your {names}, which {'fails' if len(failing) == 1 else 'fail'} "
            f"{'its' if len(failing) == 1 else 'their'} own check: fix {names} first, then run this cell again.")


# where a traceback's frames are not the learner's: this package, numpy, the standard library
_NOT_LEARNERS = (os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.abspath(np.__file__)),
                 os.path.abspath(sysconfig.get_paths()["stdlib"]))


def _learner_line(error):
    """The last line of the learner's own code in the error's traceback (outside numpy, the standard
    library and this package), e.g. 'z2 = h @ W2 + b2'; "" if none can be read."""
    line = ""
    for frame in traceback.extract_tb(error.__traceback__):
        path = os.path.abspath(frame.filename)
        if frame.filename.startswith("<") or "site-packages" in path or path.startswith(_NOT_LEARNERS):
            continue
        line = f"{(frame.line or '').strip()}" + (f"   (in {frame.name})" if frame.name != "<module>" else "")
    return line


def check(name, fn):
    """Run the visible checks of ``name`` on the learner's ``fn`` and print the verdict.

    Raises SelfCheckFailed (an AssertionError) when a check fails, after printing why.
    """
    chk = get_check(name)
    if not callable(fn):
        print(f"{name}: {name} should be a function; it is {_type_name(fn)}.")
        raise SelfCheckFailed(f"{name} is not a function")
    lines, failures, warned = [], [], set()
    for i, case in enumerate(chk.visible, 1):
        verdict, seen = run_case(chk, fn, case)
        warned.update(f"{w.category.__name__}: {w.message}" for w in seen)
        lines.append(f"  {'ok    ' if verdict.ok else 'FAILED'} {i}. {chk.describe(case)}")
        if not verdict.ok:
            failures.append((i, verdict))
    # explain the failure that names a known mistake, if one does; else the first
    first_failure = next((f for f in failures if f[1].mistake), failures[0] if failures else None)
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

def _z_inputs(rng, shape=(4, 3), scale=3.0, extreme=False):
    z = _normal(rng, *shape, scale=scale)
    if extreme:                       # where e^(-z) overflows a naive formula (lesson 1, section 3)
        z.flat[:2] = (-1000.0, 1000.0)
    return {"z": z}


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


def _forward_no_bias(x, W1, b1, W2, b2):
    return network.forward(x, W1, np.zeros_like(b1), W2, np.zeros_like(b2))


def _forward_sigmoid_twice(x, W1, b1, W2, b2):
    fp = network.forward(x, W1, b1, W2, b2)
    z2 = activations.sigmoid(fp.h) @ W2.T + b2
    return fp.z1, fp.h, z2, activations.sigmoid(z2)


def _forward_no_output_sigmoid(x, W1, b1, W2, b2):
    fp = network.forward(x, W1, b1, W2, b2)
    return fp.z1, fp.h, fp.z2, fp.z2


register(Check(
    name="sigmoid", exercise="ex1_forward", args=("z",),
    make_inputs=_z_inputs, reference=activations.sigmoid,
    visible=[{"seed": 0, "shape": [5]}, {"seed": 1, "shape": [3, 4]},
             {"seed": 2, "shape": [6], "scale": 20.0, "note": "large |z|"},
             {"seed": 3, "shape": [4], "extreme": True, "note": "z = -1000 and 1000 among them"}],
    mistakes=[Mistake("sign error", "The exponent is -z: sigma(z) = 1 / (1 + e^(-z)).",
                      lambda z: activations.sigmoid(-z)),
              Mistake("missing 1 +", "The denominator is 1 + e^(-z), not e^(-z).",
                      lambda z: np.exp(np.minimum(z, 709.0)))],
    forbidden=("bpcourse.activations.sigmoid", "bpcourse.layers.sigmoid_forward", "bpcourse.autodiff.Value.sigmoid"),
))

register(Check(
    name="sigmoid_prime", exercise="ex1_forward", args=("z",),
    make_inputs=_z_inputs, reference=activations.sigmoid_prime,
    visible=[{"seed": 0, "shape": [5]}, {"seed": 1, "shape": [3, 4]}],
    uses=("sigmoid",),
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
    uses=("sigmoid",),
    visible=[{"seed": 0, "N": 1, "n": 2, "m": 3, "k": 1, "note": "a batch of one example"},
             {"seed": 1, "N": 4, "n": 3, "m": 5, "k": 2},
             {"seed": 2, "N": 3, "n": 3, "m": 3, "k": 3, "note": "square weights"}],
    mistakes=[Mistake("transposed weights", "Weights are stored (out, in): W1 has shape (m, n), so a batch "
                      "x (N, n) goes through x @ W1.T, not x @ W1.", _forward_transposed),
              Mistake("bias broadcast wrongly", "b1 has one entry per hidden unit, a column of z1: add it "
                      "as x @ W1.T + b1 (numpy repeats it for every row), not as a column b1[:, None].",
                      _forward_bias_columns),
              Mistake("missing output sigmoid", "y_hat = sigma(z2): apply the sigmoid to the output layer too.",
                      _forward_no_output_sigmoid),
              Mistake("missing bias", "z1 = x @ W1.T + b1 and z2 = h @ W2.T + b2: each layer adds its bias.",
                      _forward_no_bias),
              Mistake("sigmoid applied twice", "h is already sigma(z1): the output layer takes h itself, "
                      "z2 = h @ W2.T + b2, not sigma(h).", _forward_sigmoid_twice)],
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


# ---------------------------------------------- ex3: hidden delta and gradients

def _backprop_inputs(rng, N=4, n=3, m=5, k=2):
    return {"x": _normal(rng, N, n), "h": activations.sigmoid(_normal(rng, N, m)),
            "W2": _normal(rng, k, m, scale=1 / np.sqrt(m)), "delta1": _normal(rng, N, m, scale=0.1),
            "delta2": _normal(rng, N, k, scale=0.1)}


def _hidden_delta(delta2, W2, h):
    # back through the dense layer (delta2 @ W2), then through the sigmoid (* h (1 - h))
    dh, _, _ = layers.dense_backward(delta2, (h, W2))
    return layers.sigmoid_backward(dh, h)


def _weight_gradients(x, h, delta1, delta2):
    N = x.shape[0]
    _, dW2, db2 = layers.dense_backward(delta2 / N, (h, None), need_dx=False)
    _, dW1, db1 = layers.dense_backward(delta1 / N, (x, None), need_dx=False)
    return dW2, db2, dW1, db1


def _weight_gradients_summed(x, h, delta1, delta2):
    N = x.shape[0]
    return tuple(g * N for g in _weight_gradients(x, h, delta1, delta2))


def _weight_gradients_transposed(x, h, delta1, delta2):
    dW2, db2, dW1, db1 = _weight_gradients(x, h, delta1, delta2)
    return dW2.T, db2, dW1.T, db1


def _numgrad_inputs(rng, shape=(3, 4), eps=1e-5):
    return {"x": _normal(rng, *shape), "c": _normal(rng, *shape), "eps": float(eps)}


_SMOOTH_F = "lambda: float(np.sum(np.sin(x) * c) + 0.5 * np.sum(x * x))"


def _one_sided(f, x, eps):
    grad = np.zeros_like(x)
    f0 = f()
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        grad[i] = (f() - f0) / eps
        x[i] = old
    return grad


register(Check(
    name="hidden_delta", exercise="ex3_backprop", args=("delta2", "W2", "h"),
    make_inputs=lambda rng, **kw: {k: v for k, v in _backprop_inputs(rng, **kw).items() if k in ("delta2", "W2", "h")},
    reference=_hidden_delta,
    visible=[{"seed": 0, "N": 1, "m": 3, "k": 2, "note": "one example"}, {"seed": 1, "N": 4, "m": 5, "k": 2},
             {"seed": 2, "N": 3, "m": 3, "k": 3, "note": "square W2"}],
    mistakes=[Mistake("missing sigma'", "delta1 = (delta2 @ W2) * h * (1 - h): the error goes back through the "
                      "hidden sigmoid too.", lambda delta2, W2, h: delta2 @ W2),
              Mistake("transposed weights", "W2 has shape (k, m), so a row delta2 (k,) goes back as delta2 @ W2 "
                      "(the sum over l of delta2_l W2_lj), not delta2 @ W2.T.",
                      lambda delta2, W2, h: (delta2 @ W2.T) * h * (1 - h)),
              Mistake("sign error", "delta1 = (delta2 @ W2) * h * (1 - h), with no minus sign.",
                      lambda delta2, W2, h: -_hidden_delta(delta2, W2, h)),
              Mistake("sigma' of h", "h is already sigma(z1), so sigma'(z1) = h (1 - h); sigmoid_prime(h) "
                      "would apply the sigmoid a second time.",
                      lambda delta2, W2, h: (delta2 @ W2) * activations.sigmoid_prime(h))],
    forbidden=("bpcourse.network.backward", "bpcourse.network.gradients", "bpcourse.layers.sigmoid_backward",
               "bpcourse.layers.dense_backward"),
))

register(Check(
    name="weight_gradients", exercise="ex3_backprop", args=("x", "h", "delta1", "delta2"),
    make_inputs=lambda rng, **kw: {k: v for k, v in _backprop_inputs(rng, **kw).items() if k != "W2"},
    reference=_weight_gradients, output_names=("dW2", "db2", "dW1", "db1"),
    visible=[{"seed": 0, "N": 1, "n": 2, "m": 3, "k": 2, "note": "one example"},
             {"seed": 1, "N": 4, "n": 3, "m": 5, "k": 2},
             {"seed": 2, "N": 3, "n": 3, "m": 3, "k": 3, "note": "square weights"}],
    mistakes=[Mistake("sum instead of mean over the batch", "The loss is the batch mean, so each gradient "
                      "is the sum over examples divided by N.", _weight_gradients_summed),
              Mistake("transposed weights", "Each gradient has the shape of its weights: dW2 (k, m) = "
                      "delta2.T @ h, not h.T @ delta2, and dW1 (m, n) = delta1.T @ x, not x.T @ delta1.",
                      _weight_gradients_transposed)],
    forbidden=("bpcourse.network.backward", "bpcourse.network.gradients", "bpcourse.layers.dense_backward"),
))

register(Check(
    name="numerical_gradient", exercise="ex3_backprop", args=("f", "x", "eps"),
    make_inputs=_numgrad_inputs, callables={"f": _SMOOTH_F},
    reference=lambda f, x, eps: gradcheck.numerical_gradient(f, x, eps=eps),
    visible=[{"seed": 0, "shape": [3]}, {"seed": 1, "shape": [2, 3]},
             {"seed": 2, "shape": [4], "eps": 0.01, "note": "a larger eps"}],
    rtol=1e-7, atol=1e-8,
    mistakes=[Mistake("one-sided difference", "Use the centred difference (f(x + eps) - f(x - eps)) / (2 eps): "
                      "its error is O(eps^2), the one-sided one's O(eps).", _one_sided),
              Mistake("divided by eps instead of 2 eps", "The two points x + eps and x - eps are 2 eps apart.",
                      lambda f, x, eps: 2 * gradcheck.numerical_gradient(f, x, eps=eps)),
              Mistake("eps not used", "Step by the eps you are given (x[i] + eps and x[i] - eps): the checks "
                      "pass different values of eps.",
                      lambda f, x, eps: gradcheck.numerical_gradient(f, x, eps=1e-5))],
    forbidden=("bpcourse.gradcheck.numerical_gradient",),
))


# ---------------------------------------------- ex4: gradient descent

def _params_inputs(rng, n=3, m=4, k=2, lr=0.5):
    params = network.init_params(n, m, k, seed=int(rng.integers(1000)))
    params["b1"] = _normal(rng, m, scale=0.1)
    grads = {name: _normal(rng, *p.shape, scale=0.1) for name, p in params.items()}
    return {"params": params, "grads": grads, "lr": float(lr)}


def _gd_step(params, grads, lr):
    return {name: optim.gd_update(p.copy(), grads[name], lr) for name, p in params.items()}


def _train_inputs(rng, N=8, n=2, m=3, k=1, lr=2.0, steps=5):
    x = _normal(rng, N, n)
    y = (x[:, :k] * x[:, -k:] > 0).astype(np.float64)      # an XOR-like target
    return {"x": x, "y": y, "params": network.init_params(n, m, k, seed=int(rng.integers(1000))),
            "lr": float(lr), "steps": int(steps)}


def _grads_by_name(g, sign=1.0):
    """network.gradients' g as a dict by parameter name; sign=-1 flips it (the sign-error mistake)."""
    return {"W1": sign * g.dW1, "b1": sign * g.db1, "W2": sign * g.dW2, "b2": sign * g.db2}


def _train_gd(x, y, params, lr, steps, sign=1.0, loss_after=False, update=True):
    """The reference (the defaults) and, through the keywords, the known mistakes of the loop."""
    params = {name: p.copy() for name, p in params.items()}
    history = []
    for _ in range(steps):
        L, g = network.gradients(x, y, **params)
        new = _gd_step(params, _grads_by_name(g, sign), lr)
        params = new if update else params
        history.append(network.gradients(x, y, **params)[0] if loss_after else L)
    return params, history


# the mistakes a loop of gradient steps is known for (train_gd and sgd_epoch)
LOSS_AFTER = ("loss recorded after the update", "Measure the loss before each update: losses[t] is the loss "
              "of the parameters that step t starts from, the L that network.gradients returns with the "
              "gradients.")
NEVER_UPDATED = ("parameters never updated", "The loop never keeps the new parameters: assign each step's new "
                 "dict back to `params` (params = {name: params[name] - lr * grads[name] for name in params}, "
                 "or the new dict your step function returns), so that the next step starts from it.")
LR_OVER_N = ("lr divided by the batch size", "The gradients are already the batch mean (the loss's 1/N is in "
             "them): use lr itself, not lr divided by the number of examples.")


# the mistakes of a gradient step (gd_step) and of the loops of such steps (train_gd and sgd_epoch)
DOWNHILL = ("sign error", "Gradient descent goes downhill: W <- W - lr dW.")


register(Check(
    name="gd_step", exercise="ex4_gradient_descent", args=("params", "grads", "lr"),
    make_inputs=_params_inputs, reference=_gd_step,
    visible=[{"seed": 0}, {"seed": 1, "n": 2, "m": 3, "k": 1, "lr": 0.1}],
    mistakes=[Mistake(*DOWNHILL, lambda params, grads, lr: _gd_step(params, grads, -lr))],
    forbidden=("bpcourse.optim.gd_update", "bpcourse.optim.SGD.step", "bpcourse.optim.momentum_update"),
))

register(Check(
    name="train_gd", exercise="ex4_gradient_descent", args=("x", "y", "params", "lr", "steps"),
    make_inputs=_train_inputs, reference=_train_gd, output_names=("params", "losses"),
    visible=[{"seed": 0, "steps": 1, "note": "one step"}, {"seed": 1}, {"seed": 2, "N": 5, "k": 2, "steps": 3}],
    mistakes=[Mistake(*DOWNHILL, lambda x, y, params, lr, steps: _train_gd(x, y, params, lr, steps, sign=-1.0)),
              Mistake(*LOSS_AFTER, lambda x, y, params, lr, steps: _train_gd(x, y, params, lr, steps,
                                                                              loss_after=True)),
              Mistake(*NEVER_UPDATED, lambda x, y, params, lr, steps: _train_gd(x, y, params, lr, steps,
                                                                                 update=False)),
              Mistake(*LR_OVER_N, lambda x, y, params, lr, steps: _train_gd(x, y, params, lr / len(x), steps))],
    forbidden=("bpcourse.training.train", "bpcourse.optim.SGD.step"),
    uses=("gd_step",),
))


# ---------------------------------------------- ex5: mini-batches and SGD

def _epoch_inputs(rng, N=10, batch_size=3):
    return {"N": int(N), "batch_size": int(batch_size), "seed": int(rng.integers(1000))}


def _batch_indices(N, batch_size, seed):
    return batching.batch_indices(N, batch_size, rng=seed)


def _batch_indices_legacy_rng(N, batch_size, seed):
    order = np.random.RandomState(seed).permutation(N)      # = np.random.seed(seed); np.random.permutation(N)
    return [order[idx] for idx in batching.batch_indices(N, batch_size, shuffle=False)]


def _sgd_inputs(rng, N=10, n=2, m=3, k=1, lr=1.0, batch_size=4):
    data = _train_inputs(rng, N, n, m, k, lr)
    del data["steps"]
    return {**data, "batch_size": int(batch_size), "seed": int(rng.integers(1000))}


def _sgd_epoch(x, y, params, lr, batch_size, seed, loss_after=False, update=True, full_batch=False,
               lr_over_n=False, sign=1.0):
    """The reference (the defaults) and, through the keywords, the known mistakes of the loop."""
    params = {name: p.copy() for name, p in params.items()}
    history = []
    for idx in batching.batch_indices(len(x), batch_size, rng=seed):
        xb, yb = (x, y) if full_batch else (x[idx], y[idx])
        L, g = network.gradients(xb, yb, **params)
        new = _gd_step(params, _grads_by_name(g, sign), lr / len(idx) if lr_over_n else lr)
        params = new if update else params
        history.append(network.gradients(xb, yb, **params)[0] if loss_after else L)
    return params, history


register(Check(
    name="iterations_per_epoch", exercise="ex5_sgd", args=("N", "batch_size"),
    make_inputs=lambda rng, N=10, batch_size=3: {"N": int(N), "batch_size": int(batch_size)},
    reference=batching.iterations_per_epoch,
    visible=[{"seed": 0, "N": 10, "batch_size": 5}, {"seed": 0, "N": 10, "batch_size": 3},
             {"seed": 0, "N": 7, "batch_size": 1, "note": "SGD"}, {"seed": 0, "N": 7, "batch_size": 7,
                                                                   "note": "full batch"}],
    mistakes=[Mistake("floor instead of ceil", "When B does not divide N the last, smaller batch is one more "
                      "iteration: ceil(N / B).", lambda N, batch_size: N // batch_size)],
    forbidden=("bpcourse.batching.iterations_per_epoch", "bpcourse.batching.batch_indices"),
))

register(Check(
    name="batch_indices", exercise="ex5_sgd", args=("N", "batch_size", "seed"),
    make_inputs=_epoch_inputs, reference=_batch_indices,
    visible=[{"seed": 0, "N": 6, "batch_size": 2}, {"seed": 1, "N": 10, "batch_size": 3, "note": "a last, smaller batch"},
             {"seed": 2, "N": 5, "batch_size": 5, "note": "full batch"}],
    mistakes=[Mistake("dropped the last batch", "Keep the last, smaller batch: every example is used once "
                      "per epoch.", lambda N, batch_size, seed: [b for b in _batch_indices(N, batch_size, seed)
                                                                 if len(b) == batch_size]),
              Mistake("no shuffling", "Shuffle first: order = np.random.default_rng(seed).permutation(N).",
                      lambda N, batch_size, seed: batching.batch_indices(N, batch_size, shuffle=False)),
              Mistake("the legacy random generator", "np.random.seed(seed) with np.random.permutation(N) (or "
                      "RandomState) is numpy's old generator, which gives another order for the same seed: use "
                      "order = np.random.default_rng(seed).permutation(N).",
                      _batch_indices_legacy_rng)],
    forbidden=("bpcourse.batching.batch_indices", "bpcourse.batching.minibatches"),
))

register(Check(
    name="sgd_epoch", exercise="ex5_sgd", args=("x", "y", "params", "lr", "batch_size", "seed"),
    make_inputs=_sgd_inputs, reference=_sgd_epoch, output_names=("params", "losses"),
    visible=[{"seed": 0}, {"seed": 1, "N": 9, "batch_size": 1, "note": "SGD, one example per step"},
             {"seed": 2, "N": 6, "batch_size": 6, "note": "full batch"}],
    mistakes=[Mistake("no shuffling", "Visit the batches in the order batch_indices(N, batch_size, seed) gives.",
                      lambda x, y, params, lr, batch_size, seed: _sgd_epoch(
                          x[np.argsort(np.concatenate(_batch_indices(len(x), batch_size, seed)))],
                          y[np.argsort(np.concatenate(_batch_indices(len(x), batch_size, seed)))],
                          params, lr, batch_size, seed)),
              Mistake("the whole set at every step", "Each step's gradients come from its own batch only: "
                      "network.gradients(x[idx], y[idx], ...), not (x, y).",
                      lambda *a: _sgd_epoch(*a, full_batch=True)),
              Mistake(*DOWNHILL, lambda *a: _sgd_epoch(*a, sign=-1.0)),
              Mistake(*LOSS_AFTER, lambda *a: _sgd_epoch(*a, loss_after=True)),
              Mistake(*NEVER_UPDATED, lambda *a: _sgd_epoch(*a, update=False)),
              Mistake(*LR_OVER_N, lambda *a: _sgd_epoch(*a, lr_over_n=True)),
              Mistake(*LR_OVER_N, lambda x, y, params, lr, batch_size, seed: _sgd_epoch(
                  x, y, params, lr / batch_size, batch_size, seed))],
    forbidden=("bpcourse.training.train", "bpcourse.batching.minibatches", "bpcourse.optim.SGD.step"),
    uses=("batch_indices",),
))


# ---------------------------------------------- ex6: batch normalization

def _bn_inputs(rng, N=6, D=3, eps=1e-5):
    return {"x": 2.0 + 3.0 * _normal(rng, N, D), "gamma": 1.0 + 0.5 * _normal(rng, D),
            "beta": _normal(rng, D), "eps": float(eps)}


def _bn_backward_inputs(rng, N=6, D=3, eps=1e-5):
    data = _bn_inputs(rng, N, D, eps)
    del data["beta"]
    return {"dout": _normal(rng, N, D), **data}


def _bn_eval_inputs(rng, N=4, D=3, eps=1e-5):
    data = _bn_inputs(rng, N, D, eps)
    return {**data, "running_mean": _normal(rng, D), "running_var": 0.5 + rng.random(D)}


def _bn_forward(x, gamma, beta, eps):
    return layers.batchnorm_forward(x, gamma, beta, eps)[0]


def _bn_forward_axis1(x, gamma, beta, eps):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def _bn_backward(dout, x, gamma, eps):
    _, cache = layers.batchnorm_forward(x, gamma, np.zeros_like(gamma), eps)
    return layers.batchnorm_backward(dout, cache)


BN_EPS_UNUSED = ("eps not used", "Use the eps you are given, inside the square root: "
                 "x_hat = (x - mu) / sqrt(var + eps); the checks pass different values of eps.")
BN_EVAL_EPS_UNUSED = ("eps not used", "Use the eps you are given, inside the square root: "
                      "x_hat = (x - running_mean) / sqrt(running_var + eps); the checks pass different values of eps.")
BN_LARGE_EPS = {"seed": 3, "N": 5, "D": 2, "eps": 0.1, "note": "a larger eps"}


def _bn_eps_mistakes(reference, n_before, text=BN_EPS_UNUSED):
    """The answers that ignore eps: a fixed 1e-5 or none at all (eps is the argument after n_before others)."""
    def fixed(value):
        return lambda *args: reference(*args[:n_before], value, *args[n_before + 1:])
    return [Mistake(*text, fixed(1e-5)), Mistake(*text, fixed(0.0))]


def _bn_backward_dx_axis1(dout, x, gamma, eps):
    """dx = inv_std / N * (N dx_hat - sum dx_hat - x_hat * sum(dx_hat * x_hat)) with its two sums
    over the features (axis 1) instead of the batch; dgamma and dbeta right."""
    _, dgamma, dbeta = _bn_backward(dout, x, gamma, eps)
    N = x.shape[0]
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) * inv_std
    dx_hat = dout * gamma
    dx = inv_std / N * (N * dx_hat - dx_hat.sum(axis=1, keepdims=True)
                        - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True))
    return dx, dgamma, dbeta


def _bn_backward_no_stats(dout, x, gamma, eps):
    dx, dgamma, dbeta = _bn_backward(dout, x, gamma, eps)
    return dout * gamma / np.sqrt(x.var(axis=0) + eps), dgamma, dbeta


register(Check(
    name="batchnorm_forward", exercise="ex6_batchnorm", args=("x", "gamma", "beta", "eps"),
    make_inputs=_bn_inputs, reference=_bn_forward,
    visible=[{"seed": 0, "N": 6, "D": 3}, {"seed": 1, "N": 4, "D": 4, "note": "square batch"},
             {"seed": 2, "N": 2, "D": 5}, BN_LARGE_EPS],
    mistakes=_bn_eps_mistakes(_bn_forward, 3) + [
              Mistake("wrong axis in batch-norm statistics", "Normalize each feature (column) over the batch: "
                      "mean and variance with axis=0, not per example (axis=1).", _bn_forward_axis1),
              Mistake("unbiased variance", "Batch norm divides by N, not N - 1: x.var(axis=0), no ddof=1.",
                      lambda x, gamma, beta, eps: gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps) + beta),
              Mistake("eps outside the square root", "x_hat = (x - mu) / sqrt(var + eps).",
                      lambda x, gamma, beta, eps: gamma * (x - x.mean(axis=0)) / (x.std(axis=0) + eps) + beta)],
    forbidden=("bpcourse.layers.batchnorm_forward", "bpcourse.layers.batchnorm_eval_forward",
               "bpcourse.layers.BatchNorm.forward"),
))

register(Check(
    name="batchnorm_backward", exercise="ex6_batchnorm", args=("dout", "x", "gamma", "eps"),
    make_inputs=_bn_backward_inputs, reference=_bn_backward, output_names=("dx", "dgamma", "dbeta"),
    visible=[{"seed": 0, "N": 6, "D": 3}, {"seed": 1, "N": 4, "D": 4, "note": "square batch"},
             {"seed": 2, "N": 2, "D": 5}, BN_LARGE_EPS],
    mistakes=_bn_eps_mistakes(_bn_backward, 3) + [
              Mistake("missing 1/N in dx", "dx = inv_std / N * (N dx_hat - sum dx_hat - x_hat * sum(dx_hat * x_hat)): "
                      "the 1/N of the batch mean is part of it.",
                      lambda dout, x, gamma, eps: (x.shape[0] * _bn_backward(dout, x, gamma, eps)[0],
                                                   *_bn_backward(dout, x, gamma, eps)[1:])),
              Mistake("dgamma and dbeta swapped", "dgamma = sum_p dout_p x_hat_p and dbeta = sum_p dout_p; return "
                      "(dx, dgamma, dbeta) in that order.",
                      lambda dout, x, gamma, eps: (lambda r: (r[0], r[2], r[1]))(_bn_backward(dout, x, gamma, eps))),
              Mistake("missing the paths through the batch statistics", "Every x_p also moves the batch mean "
                      "and variance: dx = inv_std / N * (N dx_hat - sum dx_hat - x_hat * sum(dx_hat * x_hat)).",
                      _bn_backward_no_stats),
              Mistake("wrong axis in batch-norm statistics", "dgamma and dbeta sum over the batch (axis=0): one "
                      "value per feature.", lambda dout, x, gamma, eps: (
                          _bn_backward(dout, x, gamma, eps)[0],
                          (dout * _bn_forward(x, np.ones_like(gamma), np.zeros_like(gamma), eps)).sum(axis=1),
                          dout.sum(axis=1))),
              Mistake("wrong axis in batch-norm statistics", "The two sums inside dx run over the batch, "
                      "axis=0, as in the forward pass's mean and variance: sum_p dx_hat_p and "
                      "sum_p dx_hat_p x_hat_p, one value per feature.", _bn_backward_dx_axis1)],
    # numerical_gradient too: centred differences of the forward pass are a check of the
    # backward pass, not one (they pass the tolerance without any of the derivation)
    forbidden=("bpcourse.layers.batchnorm_backward", "bpcourse.layers.batchnorm_backward_graph",
               "bpcourse.layers.BatchNorm.backward", "bpcourse.gradcheck.numerical_gradient"),
))

register(Check(
    name="batchnorm_inference", exercise="ex6_batchnorm",
    args=("x", "gamma", "beta", "running_mean", "running_var", "eps"),
    make_inputs=_bn_eval_inputs,
    reference=lambda x, gamma, beta, running_mean, running_var, eps: layers.batchnorm_eval_forward(
        x, gamma, beta, running_mean, running_var, eps)[0],
    visible=[{"seed": 0, "N": 4, "D": 3}, {"seed": 1, "N": 1, "D": 2, "note": "one example"}, BN_LARGE_EPS],
    mistakes=_bn_eps_mistakes(lambda x, gamma, beta, running_mean, running_var, eps: layers.batchnorm_eval_forward(
                  x, gamma, beta, running_mean, running_var, eps)[0], 5, BN_EVAL_EPS_UNUSED) + [
              Mistake("eps outside the square root", "x_hat = (x - running_mean) / sqrt(running_var + eps).",
                      lambda x, gamma, beta, running_mean, running_var, eps:
                      gamma * (x - running_mean) / (np.sqrt(running_var) + eps) + beta),
              Mistake("batch statistics at inference", "At inference use the running averages, not the "
                      "batch's own mean and variance.",
                      lambda x, gamma, beta, running_mean, running_var, eps: _bn_forward(x, gamma, beta, eps))],
    forbidden=("bpcourse.layers.batchnorm_eval_forward", "bpcourse.layers.BatchNorm.forward"),
))
