"""The grader's code that runs inside the learner's kernel (never in the grader's process).

The worker sends it as one cell per graded function: the source of
``transport`` followed by this module's, executed in a namespace of their own,
then ``run(globals(), spec_path)``. It calls the learner's function on the
grader's inputs and saves what came back (outputs, the inputs after the call,
errors, time-outs, calls of forbidden package functions) with ``transport.save``.
It judges nothing: the comparison happens in the grader's process.
"""
import inspect
import json
import signal
import sys
import time
import types

import numpy as np

try:                                   # as a module; inside the kernel these come with transport's source
    from .transport import decode, encode, load, save
except ImportError:                    # pragma: no cover
    pass

_CALLS = "_bpcourse_package_calls"
WATCH_OFF = "!sys.setprofile"          # recorded instead of a name when the call turned the watch off


class _CaseTimeout(BaseException):
    """Raised by the alarm when one call takes longer than the case time limit."""


def _alarm(signum, frame):
    raise _CaseTimeout()


def _resolve(dotted):
    """The object named ``bpcourse.module.name[.attr]``, or None.

    The same lookup as ``bpcourse.selfcheck.resolve``, repeated on purpose: this source runs
    inside the learner's kernel, where the learner may have replaced that function."""
    import importlib
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        # the module as imported, first: a notebook may have replaced importlib.import_module
        obj = sys.modules.get(".".join(parts[:i]))
        if obj is None:
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except AttributeError:
            return None
        return obj
    return None


def _block(forbidden):
    """Make each forbidden package function record the call and raise; returns what to restore."""
    saved = []
    for dotted in forbidden:
        f = _resolve(dotted)
        if not isinstance(f, types.FunctionType):
            continue
        src = (f"def _blocked(*args, **kwargs):\n"
               f"    import sys\n"
               f"    sys.__dict__.setdefault({_CALLS!r}, []).append({dotted!r})\n"
               f"    raise PermissionError('the grader blocks the package function {dotted}')\n")
        ns = {}
        exec(compile(src, "<bpcourse grader>", "exec"), ns)
        try:
            old = f.__code__
            f.__code__ = ns["_blocked"].__code__
        except ValueError:             # a closure: its code cannot be swapped
            continue
        saved.append((f, old))
    return saved


def _unblock(saved):
    for f, code in saved:
        f.__code__ = code


def _watch(codes):
    """A profile function that records each call of a forbidden function's code: by the code
    object itself, which a copy of the function (``types.FunctionType(f.__code__, ...)``) shares,
    and by where the code was written (file and first line), which a renamed copy of the code
    (``f.__code__.replace(co_name=...)``) keeps.

    The same watch as ``bpcourse.selfcheck._WatchCalls``, repeated on purpose (see ``_resolve``).
    ``_block`` stops direct calls from computing anything; this catches the copies it cannot reach."""
    written = {(code.co_filename, code.co_firstlineno): d for code, d in codes.items()}

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            name = codes.get(code) or written.get((code.co_filename, code.co_firstlineno))
            if name:
                sys.__dict__.setdefault(_CALLS, []).append(name)
    return profile


def _drop_event_callbacks():
    """Unregister IPython's event callbacks (post_run_cell, ...). A callback the notebook left
    there would run after this cell, and could rewrite the results saved below."""
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:                # pragma: no cover - always there in a kernel
        return
    if shell is not None:
        for callbacks in shell.events.callbacks.values():
            callbacks.clear()


def run(user_ns, spec_path):
    """Call the learner's function on every case of the spec and save the results."""
    with open(spec_path) as fh:
        spec = json.load(fh)
    name, out = spec["function"], spec["out_stem"]
    result, arrays = {"function": name, "cases": []}, {}
    fn = user_ns.get(name, _resolve)   # _resolve is a sentinel that user code cannot hold
    if fn is _resolve:
        result["status"] = "missing"
        return save(out, result, arrays)
    if not callable(fn):
        result["status"] = "not_callable"
        result["type"] = type(fn).__name__
        return save(out, result, arrays)
    result["status"] = "called"
    try:
        result["source"] = inspect.getsource(fn)[:50_000]
    except Exception:
        result["source"] = None
    forbidden_objects = [(d, _resolve(d)) for d in spec["forbidden"]]
    codes = {f.__code__: d for d, f in forbidden_objects if isinstance(f, types.FunctionType)}
    result["is_package_function"] = [d for d, f in forbidden_objects
                                     if f is not None and (fn is f or getattr(fn, "__func__", None) is f)]
    tree, in_arrays = load(spec["inputs_stem"])
    for i, case_tree in enumerate(tree["cases"]):
        if any(r["status"] == "timeout" for r in result["cases"]):
            result["cases"].append({"status": "not_run", "package_calls": []})
            continue               # once a call has hung, the others would too: save the time
        data = decode(case_tree, in_arrays)
        data = {k: (v.copy() if isinstance(v, np.ndarray) else
                    {kk: vv.copy() for kk, vv in v.items()} if isinstance(v, dict) else v)
                for k, v in data.items()}
        args = [eval(spec["callables"][a], {"np": np, **data}) if a in spec["callables"] else data[a]
                for a in spec["args"]]
        sys.__dict__[_CALLS] = []
        record = {}
        saved = _block(spec["forbidden"])
        start = time.perf_counter()
        timed = hasattr(signal, "setitimer")   # not on Windows: the worker's cell limit still applies
        if timed:
            previous = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, spec["case_timeout"])
        watch = _watch(codes)
        sys.setprofile(watch)
        try:
            output = fn(*args)
            # encoded here, still blocked, watched and timed: an answer can be an object whose
            # values are computed only when they are read (a lazy array subclass, a tuple with
            # its own __iter__), and reading it must not escape the guard
            encoded = encode(output, arrays), encode({k: v for k, v in data.items() if k not in spec["callables"]},
                                                      arrays)
            record["status"] = "ok"
        except _CaseTimeout:
            record["status"] = "timeout"
        except BaseException as e:     # SystemExit and KeyboardInterrupt too: the call failed
            record["status"] = "error"
            record["ename"] = type(e).__name__
            record["evalue"] = str(e)[:1000]
        finally:
            # a timeout raised while the watch itself runs makes Python drop it: that is no tampering
            if sys.getprofile() is not watch and record["status"] != "timeout":
                sys.__dict__.setdefault(_CALLS, []).append(WATCH_OFF)
            sys.setprofile(None)
            if timed:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            _unblock(saved)
        record["seconds"] = time.perf_counter() - start
        record["package_calls"] = sorted(set(sys.__dict__.pop(_CALLS, [])))
        if record["status"] == "ok":
            record["output"], record["inputs_after"] = encoded
        result["cases"].append(record)
    _drop_event_callbacks()
    return save(out, result, arrays)
