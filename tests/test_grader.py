"""The grader: full marks for the solutions, zero for the stubs, and an adversarial class.

All the adversarial submissions are graded in one run (``bpcourse grade --jobs 2``,
module-scoped fixture); each test then checks one row: its score and its reason.
"""
import csv
import importlib
import importlib.util
import json
import marshal
import os
import py_compile
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import nbformat
import pytest

from bpcourse import cli
from bpcourse.authoring.exercises import BEGIN_SOLUTION, END_SOLUTION
from bpcourse.grading import grader, reaper, static, transport

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "ex1_forward.ipynb"
EXERCISE = ROOT / "exercises" / "ex1_forward.ipynb"
FUNCTIONS = ("sigmoid", "sigmoid_prime", "forward")

SIGMOID = "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-z))"


def _prime(body):
    return "def sigmoid_prime(z):\n" + "\n".join("    " + line for line in body.splitlines())


def _solution_answers():
    """The solution's answer cells with the marker lines removed: a correct submission."""
    nb = nbformat.read(SOLUTION, as_version=4)
    answers = {}
    for cell in nb.cells:
        meta = cell.metadata.get("bpcourse", {})
        if meta.get("role") == "answer":
            answers[meta["function"]] = "\n".join(
                line for line in cell.source.splitlines() if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))
    return answers


def make_notebook(answers=None, before=(), after=(), drop=()):
    """The exercise notebook as a learner hands it in: answers filled, extra cells, cells dropped."""
    nb = nbformat.read(EXERCISE, as_version=4)
    filled = {**_solution_answers(), **(answers or {})}
    cells = []
    for cell in nb.cells:
        fn = cell.metadata.get("bpcourse", {}).get("function")
        role = cell.metadata.get("bpcourse", {}).get("role")
        if role == "answer":
            if fn in drop:
                continue
            cell.source = filled[fn]
        cells.append(cell)
        if cell.cell_type == "code" and "import numpy" in cell.source:
            cells.extend(nbformat.v4.new_code_cell(src) for src in before)
    cells.extend(nbformat.v4.new_code_cell(src) for src in after)
    nb.cells = cells
    return nbformat.writes(nb)


READ_SOLUTIONS = '''
import json, pathlib, bpcourse
path = pathlib.Path(bpcourse.__file__).resolve().parents[1] / "solutions" / "ex1_forward.ipynb"
for cell in json.loads(path.read_text())["cells"]:
    src = "".join(cell["source"])
    if "### BEGIN SOLUTION" in src:
        exec(src, globals())
'''

FAKE_GRADES = '''
import pathlib
for folder in (pathlib.Path("."), pathlib.Path(".."), pathlib.Path("../..")):
    try:
        (folder / "grades.csv").write_text("assignment,student_id,score\\nex1_forward,fake_grades,100\\n")
        (folder / "grades.json").write_text('[{"student_id": "fake_grades", "score": 100}]')
    except OSError:
        pass
'''

TAMPER = '''
import pathlib
for p in pathlib.Path("..").glob("io/harness.py"):
    p.write_text("def run(ns, spec):\\n    pass\\n")
'''

HOOK = '''
import bpcourse.activations as _A
from bpcourse.grading import transport as _T

def _rewrite(result=None):
    # after each of the grader's cells: put the package's answers into the saved results
    import glob
    for js in glob.glob("../io/out_sigmoid_prime.json"):
        stem = js[:-5]
        tree, arrays = _T.load(stem)
        inputs, in_arrays = _T.load(stem.replace("out_", "in_"))
        for case, given in zip(tree["cases"], inputs["cases"]):
            if case.get("status") == "ok":
                z = _T.decode(given, in_arrays)["z"]
                arrays[case["output"]["__ndarray__"]] = _A.sigmoid_prime(z)
        _T.save(stem, tree, arrays)

get_ipython().events.register("post_run_cell", _rewrite)
'''

# a process that detaches itself from its kernel (new session, double fork) and would live on
# for a minute after grading, e.g. to rewrite grades.csv; it writes its pid where the test looks
ESCAPEE_PID = Path(tempfile.gettempdir()) / f"bpcourse-test-escapee-{os.getpid()}.pid"
ESCAPE = f'''
import pathlib, subprocess, sys, time
pid_file = pathlib.Path({str(ESCAPEE_PID)!r})
subprocess.Popen([sys.executable, "-c", "import os, sys, time\\n"
                  "if os.fork(): sys.exit(0)\\n"
                  "os.setsid()\\n"
                  "open(sys.argv[1], 'w').write(str(os.getpid()))\\n"
                  "time.sleep(60)", str(pid_file)], start_new_session=True)
for _ in range(100):
    if pid_file.exists() and pid_file.read_text():
        break
    time.sleep(0.05)
'''

# replaces the saved results of sigmoid with a named pipe while forward runs: reading it would
# block the grader forever (and Ctrl-C with it)
PLANT_FIFO = """
import os
def _plant():
    p = "../io/out_sigmoid.json"
    if os.path.exists(p) and not os.path.exists(p + ".done"):
        os.remove(p)
        os.mkfifo(p)
        open(p + ".done", "w").close()
"""


def _calls_first(function, line):
    """The solution's answer for ``function`` with ``line`` as the first statement of its body."""
    head, body = _solution_answers()[function].split("\n", 1)
    return f"{head}\n    {line}\n{body}"


# makes the grader's folders of the submissions graded after it (their names were s00001, ...)
PRECREATE = """
import pathlib
for i in range(200):
    pathlib.Path("../..", f"s{i:05d}", "io").mkdir(parents=True, exist_ok=True)
"""

# appends to the harness of every submission graded beside it (--jobs 2) for a few seconds:
# those are graded again, alone, and keep their scores; nobody else is blamed
TOUCH_NEIGHBOURS = """
import os, time
mine = os.path.dirname(os.getcwd())
root = os.path.dirname(mine)
end = time.time() + 6
while time.time() < end:
    for d in os.listdir(root):
        p = os.path.join(root, d, "io", "harn" + "ess.py")
        if os.path.join(root, d) != mine and os.path.exists(p):
            with open(p, "a") as f:
                f.write("\\n")
    time.sleep(0.01)
"""

# looks for the hidden checks' inputs while its cells run (to look up the answers beforehand)
SEEK_INPUTS = "import glob\n_seen = glob.glob('../io/in_*')"

# prints 2,000,000 characters (20,000 lines of 100), all in its last cell, in well under a second
# even on a loaded machine (200,000 one-number prints once outlasted the 4 s cell limit in CI);
# the note names that cell
FLOOD = make_notebook(after=("for i in range(20_000):\n    print(f'{i:099d}')",))
FLOOD_CELL = len(nbformat.reads(FLOOD, as_version=4).cells) - 1

# answers whose values are computed only when the grader reads them, by the package's own code in a
# module-level helper (out of reach of the static check, and once outside the runtime guard): the
# grader reads what the object holds, and reads it while the guard is on
LAZY_ARRAY = """from bpcourse import activations

class _Later(np.ndarray):
    def _fill(self):
        if getattr(self, "_todo", None) is not None:
            todo, self._todo = self._todo, None
            np.ndarray.__setitem__(self, Ellipsis, todo())
    @property
    def dtype(self):
        self._fill()
        return np.ndarray.dtype.__get__(self)
    @property
    def size(self):
        self._fill()
        return np.ndarray.size.__get__(self)

def _theirs(z):   # a name the static check cannot read, so only the runtime guard sees the call
    return getattr(activations, "sigmoid_" + "prime")(z)

def sigmoid_prime(z):
    out = np.zeros(np.shape(z)).view(_Later)
    out._todo = lambda: _theirs(z)
    return out"""
LAZY_TUPLE = """from bpcourse import network

class _LaterTuple(tuple):
    def __iter__(self):
        return iter(getattr(network, "for" + "ward")(*tuple.__iter__(self)))
    def __len__(self):
        return 4

def forward(x, W1, b1, W2, b2):
    return _LaterTuple((x, W1, b1, W2, b2))"""

# name -> (file content, expected score, {function or "notes": text the reason must contain})
CASES = {
    "correct": (make_notebook(), 4, {f: "passed" for f in FUNCTIONS}),
    "as_shipped": (EXERCISE.read_text(), 0, {f: "not written yet" for f in FUNCTIONS}),
    "invalid_json": ('{"cells": [', 0, {"notes": "not valid JSON"}),
    # cut off in the middle of a string (a copy that stopped half-way): the place reads as words
    "truncated_json": (make_notebook()[:make_notebook().index("def sigmoid") + 5], 0,
                       {"notes": "(Unterminated string starting at line "}),
    "empty_file": ("", 0, {"notes": "the file is empty"}),
    "not_a_notebook": ('{"hello": "world"}', 0, {"notes": "not a notebook"}),
    "binary_garbage": (bytes(range(256)) * 4, 0, {"notes": "not a notebook"}),
    "renamed_function": (make_notebook({"forward": _solution_answers()["forward"].replace(
        "def forward(", "def forward_pass(")}), 2, {"forward": "no function named forward"}),
    "deleted_answer_cell": (make_notebook(drop=("sigmoid_prime",)), 3, {"sigmoid_prime": "no function named"}),
    "syntax_error": (make_notebook({"sigmoid_prime": "def sigmoid_prime(z)\n    return z"}), 3,
                     {"sigmoid_prime": "syntax error", "notes": "raised SyntaxError: expected ':' (line 1 of the cell)"}),
    "wrong_shape": (make_notebook({"sigmoid_prime": _prime("s = sigmoid(z)\nreturn (s * (1 - s)).ravel()")}), 3,
                    {"sigmoid_prime": "has shape"}),
    "wrong_dtype": (make_notebook({"sigmoid_prime": _prime("s = sigmoid(z)\nreturn (s * (1 - s)).astype(np.float32)")}),
                    3, {"sigmoid_prime": "dtype float32"}),
    "nan": (make_notebook({"sigmoid_prime": _prime("return np.full_like(z, np.nan)")}), 3,
            {"sigmoid_prime": "not a finite number"}),
    "exception": (make_notebook({"sigmoid_prime": _prime("raise ValueError('boom')")}), 3,
                  {"sigmoid_prime": "raised ValueError: boom"}),
    "infinite_loop_in_function": (make_notebook({"sigmoid_prime": _prime("while True:\n    pass")}), 3,
                                  {"sigmoid_prime": "did not return within"}),
    # calls its own Python function in a loop: the timeout can strike inside the grader's
    # profile hook, which Python then drops; that must read as a timeout, not as tampering
    "slow_loop_of_calls": (make_notebook({"sigmoid_prime": _prime("while True:\n    sigmoid(z)")}), 3,
                           {"sigmoid_prime": "did not return within"}),
    "infinite_loop_cell": (make_notebook(after=("while True:\n    pass",)), 4,
                           {"notes": "did not finish within the per-cell limit"}),
    "sys_exit_cell": (make_notebook(before=("import sys\nsys.exit(1)",)), 4, {f: "passed" for f in FUNCTIONS}),
    "sys_exit_in_function": (make_notebook({"sigmoid_prime": _prime("import sys\nsys.exit(3)")}), 3,
                             {"sigmoid_prime": "raised SystemExit"}),
    "os_exit_cell": (make_notebook(before=("import os\nos._exit(0)",)), 4, {"notes": "killed the kernel"}),
    "os_exit_in_function": (make_notebook({"sigmoid_prime": _prime("import os\nos._exit(1)")}), 3,
                            {"sigmoid_prime": "kernel died"}),
    "output_flood": (FLOOD, 4, {"notes": f"characters (most by cell {FLOOD_CELL}: "}),
    "huge_allocation": (make_notebook({"sigmoid_prime": _prime("big = np.ones((20_000, 20_000))\nreturn big")}), 3,
                        {"sigmoid_prime": "MemoryError"}),
    "patched_numpy": (make_notebook({"sigmoid_prime": _prime("return np.zeros_like(z)")}, before=(
        "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None",)), 3, {"sigmoid_prime": "wrong values"}),
    "patched_checks": (make_notebook({"sigmoid_prime": _prime("return np.zeros_like(z)")}, before=(
        "from bpcourse import selfcheck\nselfcheck.check = selfcheck.hidden = lambda *a, **k: None\n"
        "selfcheck.compare = lambda *a, **k: None\nselfcheck.judge = lambda *a, **k: selfcheck.Verdict(True)",)),
        3, {"sigmoid_prime": "wrong values"}),
    "input_transformer": (make_notebook(after=(
        "get_ipython().input_transformers_post.append(lambda lines: [])",)), 0,
        {f: "did not run" for f in FUNCTIONS}),
    "reads_solutions": (make_notebook(after=(READ_SOLUTIONS,)), 0, {f: "not written in the notebook" for f in FUNCTIONS}),
    "fake_grades_file": (make_notebook({"sigmoid_prime": _prime("return np.zeros_like(z)")}, after=(FAKE_GRADES,)), 3,
                         {"sigmoid_prime": "wrong values"}),
    "tampers_with_grader_files": (make_notebook(before=(TAMPER,)), 0, {"notes": "changed the grader's own files"}),
    "warning": (make_notebook({"sigmoid": "import warnings\n" + SIGMOID.replace(
        "    return", "    warnings.warn('a harmless warning')\n    return")}), 4, {f: "passed" for f in FUNCTIONS}),
    "lazy_array": (make_notebook({"sigmoid_prime": LAZY_ARRAY}), 3, {"sigmoid_prime": "wrong values"}),
    "lazy_tuple": (make_notebook({"forward": LAZY_TUPLE}), 2, {"forward": "should have 4 items; got 5"}),
    "calls_package": (make_notebook({"sigmoid": "import bpcourse\n\ndef sigmoid(z):\n    return bpcourse.sigmoid(z)"}),
                      3, {"sigmoid": "no credit"}),
    "package_alias": (make_notebook({"sigmoid": "from bpcourse.activations import sigmoid"}), 3,
                      {"sigmoid": "no credit"}),
    "hidden_package_call": (make_notebook({"sigmoid": "def sigmoid(z):\n    mod = __import__('bpcourse').activations\n"
                                                      "    return getattr(mod, 'sig' + 'moid')(z)"}),
                            3, {"sigmoid": "no credit"}),
    # a copy of the package's code under another name: caught by where the code was written
    "renamed_code_copy": (make_notebook({"sigmoid": "import bpcourse.activations as A\n"
                                                    "_code = A.sigmoid.__code__.replace(co_name='mine')\n"
                                                    "_impl = type(A.sigmoid)(_code, A.sigmoid.__globals__)\n\n"
                                                    "def sigmoid(z):\n    return _impl(z)"}),
                          3, {"sigmoid": "no credit", "notes": "passes co_name="}),
    "code_copy": (make_notebook({"sigmoid": "import types\nimport bpcourse.activations as A\n"
                                            "_impl = types.FunctionType(A.sigmoid.__code__, A.sigmoid.__globals__)\n\n"
                                            "def sigmoid(z):\n    return _impl(z)"}),
                  3, {"sigmoid": "no credit"}),
    "profile_off": (make_notebook({"sigmoid": "import sys\n\ndef sigmoid(z):\n    sys.setprofile(None)\n"
                                              "    return 1.0 / (1.0 + np.exp(-z))"}),
                    0, {f: "turned off the grader's watch" for f in FUNCTIONS}),   # the other two call it
    "event_hook": (make_notebook({"sigmoid_prime": _prime("return np.zeros_like(z)")}, after=(HOOK,)), 3,
                   {"sigmoid_prime": "wrong values"}),
    # deletes the grader's folder of every submission graded beside it (--jobs 2): those are
    # graded again, alone, and keep their expected scores; this one gets no points
    "vandal": (make_notebook(before=("import shutil\nshutil.rmtree('../..', ignore_errors=True)",)), 0,
               {"notes": "was deleted while it ran"}),
    "escapee": (make_notebook(before=(ESCAPE,)), 4, {f: "passed" for f in FUNCTIONS}),
    "in_place_change": (make_notebook({"sigmoid_prime": _prime("s = sigmoid(z)\nz[...] = s * (1 - s)\nreturn z.copy()")}),
                        3, {"sigmoid_prime": "in place"}),
    "fifo_results": (make_notebook({"forward": _calls_first("forward", "_plant()")}, before=(PLANT_FIFO,)), 3,
                     {"sigmoid": "not a regular file", "notes": "review by hand"}),
    "precreates_later_folders": (make_notebook(before=(PRECREATE,)), 4, {f: "passed" for f in FUNCTIONS}),
    "seeks_hidden_inputs": (make_notebook({"sigmoid": _calls_first("sigmoid", "assert not _seen, _seen")},
                                          before=(SEEK_INPUTS,)), 4,
                            {"notes": "review by hand: the notebook has the text '../'"}),
    "shadows_builtins": (make_notebook(before=("def exec(*a, **k):\n    pass\n\ndef compile(*a, **k):\n    pass",)), 4,
                         {f: "passed" for f in FUNCTIONS} | {"notes": "redefines the built-in exec"}),
    "touches_neighbours": (make_notebook(before=(TOUCH_NEIGHBOURS,)), 4, {"notes": "review by hand"}),
    "transposed_weights": (make_notebook({"forward": _solution_answers()["forward"].replace("W1.T", "W1")}), 2,
                           {"forward": "(out, in)"}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    flat = tmp / "flat"
    flat.mkdir()
    for name, (content, _, _) in CASES.items():
        path = flat / f"{name}.ipynb"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    alice = tmp / "submitted" / "alice" / "ex1_forward"
    alice.mkdir(parents=True)
    (alice / "ex1_forward.ipynb").write_text(make_notebook(), encoding="utf-8")
    (alice / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC\n")
    out, js = tmp / "grades.csv", tmp / "grades.json"
    status = cli.main(["grade", str(flat), str(tmp / "submitted"), "--out", str(out), "--json", str(js),
                       "--jobs", "2", "--timeout", "60", "--cell-timeout", "4", "--assignment", "ex1_forward",
                       "--quiet"])
    with open(out, newline="") as f:
        table = list(csv.DictReader(f))
    rows = json.loads(js.read_text())
    return {"status": status, "table": table, "rows": {r["student_id"]: r for r in rows}, "tmp": tmp}


def test_the_run_succeeds_with_one_row_per_submission(graded):
    assert graded["status"] == 0
    assert len(graded["table"]) == len(CASES) + 1
    assert sorted(r["student_id"] for r in graded["table"]) == sorted([*CASES, "alice"])


def test_csv_has_nbgrader_columns_and_one_column_per_function(graded):
    header = list(graded["table"][0])
    assert header == grader.NBGRADER_COLUMNS + list(FUNCTIONS) + ["file", "reasons"]
    row = next(r for r in graded["table"] if r["student_id"] == "correct")
    assert (row["score"], row["max_score"], row["sigmoid"], row["forward"]) == ("4", "4", "1", "2")
    assert row["reasons"] == "" and Path(row["file"]).name == "correct.ipynb"


def test_nbgrader_layout_gives_student_and_timestamp(graded):
    row = next(r for r in graded["table"] if r["student_id"] == "alice")
    assert row["assignment"] == "ex1_forward" and row["timestamp"].startswith("2026-11-20") and row["score"] == "4"


def test_fake_grades_files_do_not_touch_the_table(graded):
    assert not any(r["student_id"] == "fake_grades" for r in graded["table"])
    assert not (graded["tmp"] / "flat" / "grades.csv").exists()


@pytest.mark.parametrize("name", list(CASES))
def test_adversarial_submission(graded, name):
    _, score, reasons = CASES[name]
    row = graded["rows"][name]
    assert row["score"] == score, json.dumps(row, indent=1)
    assert row["max_score"] == 4
    table_row = next(r for r in graded["table"] if r["student_id"] == name)
    assert float(table_row["score"]) == score
    if score < 4:                                    # the CSV says why points were lost
        assert table_row["reasons"], table_row
    for where, text in reasons.items():
        said = " | ".join(row["notes"]) if where == "notes" else row["functions"][where]["reason"]
        assert text in said, f"{name}: {where}: {said!r} does not say {text!r}"
    for fn, entry in row["functions"].items():     # every lost point has a reason
        assert entry["reason"], f"{name}: {fn} has no reason"
        assert entry["points"] in (0, entry["max_points"])


# ------------------------------------------------ the shipped solutions and exercises

@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shipped")
    for folder in ("solutions", "exercises"):
        (tmp / folder).mkdir()
        for nb in sorted((ROOT / folder).glob("ex*.ipynb")):
            shutil.copy(nb, tmp / folder / nb.name)
    rows = grader.grade([tmp / "solutions", tmp / "exercises"], jobs=2, progress=False, cell_timeout=20)
    exercises = grader.load_exercises()
    return {Path(r.file).parent.name + "/" + r.exercise: r for r in rows}, exercises


def test_grading_the_solutions_gives_full_marks(shipped):
    rows, exercises = shipped
    for name, ex in exercises.items():
        row = rows[f"solutions/{name}"]
        assert row.score == row.max_score == ex.max_score > 0, row.as_json()
        assert row.review == [] and rows[f"exercises/{name}"].review == [], (row.review, name)
        assert all(e["points"] == e["max_points"] for e in row.functions.values())


def test_grading_the_exercises_as_shipped_gives_zero_with_a_reason_per_function(shipped):
    rows, exercises = shipped
    for name, ex in exercises.items():
        row = rows[f"exercises/{name}"]
        assert row.graded and row.score == 0 and row.max_score == ex.max_score
        assert set(row.functions) == {f.name for f in ex.functions}
        for fn, entry in row.functions.items():
            assert entry["points"] == 0 and "not written yet" in entry["reason"], (fn, entry["reason"])


# ------------------------------------------------ reading code without running it

@pytest.mark.parametrize("cells, uses", [
    (["import bpcourse\ndef sigmoid(z):\n    return bpcourse.sigmoid(z)"], True),
    (["import bpcourse.activations as act\ndef sigmoid(z):\n    return act.sigmoid(z)"], True),
    (["from bpcourse import activations\n", "def sigmoid(z):\n    return activations.sigmoid(z)"], True),
    (["from bpcourse.layers import sigmoid_forward as sf\ndef sigmoid(z):\n    return sf(z)[0]"], True),
    (["import bpcourse\nsigmoid = bpcourse.activations.sigmoid"], True),
    (["from bpcourse import *\n", "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))"], False),
    (["import bpcourse\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n", "%timeit sigmoid(1.0)"], False),
    (["from bpcourse import tanh\ndef sigmoid(z):\n    return 0.5 * (1 + tanh(z / 2))"], False),
    # through the notebook's own helpers, however deep, and a class's method
    (["import bpcourse\ndef _inner(z):\n    return bpcourse.sigmoid(z)\n",
      "def _outer(z):\n    return _inner(z)\ndef sigmoid(z):\n    return _outer(z)"], True),
    (["import bpcourse\nclass S:\n    def f(self, z):\n        return bpcourse.sigmoid(z)\n"
      "def sigmoid(z):\n    return S().f(z)"], True),
    (["import bpcourse\ndef unused(z):\n    return bpcourse.sigmoid(z)\n"
      "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))"], False),
    (["def a(z):\n    return b(z)\ndef b(z):\n    return a(z) if z > 0 else 1 / (1 + np.exp(-z))\n"
      "def sigmoid(z):\n    return a(z)"], False),
])
def test_static_check_finds_the_package_implementation(cells, uses):
    from bpcourse.grading import static
    trees, definitions, errors = static.analyse(cells)
    assert not errors
    found = static.package_uses("sigmoid", ("bpcourse.activations.sigmoid", "bpcourse.layers.sigmoid_forward"),
                                trees, definitions)
    assert bool(found) == uses, found


@pytest.mark.parametrize("cell, flag", [
    ("import sys", "imports sys"),
    ("from os import path", "imports os"),
    ("f = sigmoid.__code__", "reads the attribute __code__"),
    ("x = exec('1')", "uses exec"),
    ("def compile(*a):\n    pass", "redefines the built-in compile"),
    ("import nbformat", "imports nbformat"),
    ("f = selfcheck.importlib.import_module", "reads selfcheck.importlib, which the exercise does not use"),
    ("from bpcourse.selfcheck import CHECKS", "imports bpcourse.selfcheck.CHECKS, which the exercise does not"),
    ("import matplotlib\nm = matplotlib.os", "reads the attribute os"),
    ("p = 'harn' + 'ess.py'", "has the text 'harness'"),
    ("import bpcourse.activations as A", "imports bpcourse.activations, which the exercise does not"),
    ("from bpcourse import activations", "imports bpcourse.activations, which the exercise does not"),
    ("from bpcourse.network import forward", "imports bpcourse.network.forward, which the exercise does not"),
    ("p = '../io/in_sigmoid.json'", "has the text '../'"),
    ("!ls ..", "runs a shell command (!)"),
    ("%pip install torch", "runs the magic %pip"),
    ("f = sigmoid.__globals__", "reads the attribute __globals__"),
    ("c = ().__class__", "reads the attribute __class__"),
    ("import numpy\nm = numpy._core", "reads the attribute _core"),
    ("c = selfcheck.get_check('sigmoid')", "reads selfcheck.get_check, which the exercise does not use"),
    ("import IPython\ns = IPython.get_ipython()", "reads the attribute get_ipython"),
    ("import IPython.display as d\nd.get_ipython().input_transformers_post.append(len)",
     "reads the attribute input_transformers_post"),
    ("import operator\nf = operator.attrgetter('activations.sigmoid')", "reads the attribute attrgetter"),
    ("import string\nf = string.Formatter().get_field('0.x', (1,), {})", "reads the attribute get_field"),
    ("c = sigmoid.__code__.replace(co_name='x')", "passes co_name= (a code object's insides)"),
    ("def f(c):\n    return c.co_consts", "reads the attribute co_consts"),
    ("g = type(sigmoid)(1, 2)", "calls type(...)(...), which can make a function from another's code"),
    ("import matplotlib\nf = matplotlib.cbook.to_filehandle", "reads the attribute cbook"),
    ("k = '{0.__globals__}'.format(sigmoid)", "has the text '__'"),
    ("import matplotlib\np = matplotlib.__path__[0]", "reads the attribute __path__"),
])
def test_ways_around_the_checks_are_flagged_for_review(cell, flag):
    own = grader.load_exercises()["ex1_forward"].own_trees
    trees, _, _ = static.analyse(["import numpy as np\nfrom bpcourse import selfcheck", cell])
    assert flag in static.review_flags(trees, own)


def test_an_answer_in_numpy_with_timeit_is_not_flagged():
    own = grader.load_exercises()["ex3_backprop"].own_trees
    trees, _, _ = static.analyse(["import numpy as np\nfrom bpcourse import network, selfcheck",
                                  "%timeit np.exp(np.zeros(3))", "def f(z):\n    return network.forward(z, z, z, z, z).z1",
                                  "hidden = np.tanh(np.ones(3))\nprint(f'{hidden.sum():.3f} out_ of', 'x'.replace('x', 'y'))",
                                  "import re, math, functools\nr = re.compile('a+')\nselfcheck.check(f)",
                                  "rng = np.random.default_rng(0)\nassert all(v > 0 for v in [1, 2])",
                                  "class V:\n    def __init__(self, w):\n        super().__init__()\n        self._w = w\n"
                                  "    def __len__(self):\n        return len(self._w)\nprint(np.__version__)",
                                  "%config InlineBackend.figure_format = 'retina'\n%whos",
                                  "%load_ext autoreload",
                                  "if __name__ == '__main__':\n    print(type(np.ones(2)).__name__)"])
    assert static.review_flags(trees, own) == []


def test_an_answer_is_copied_when_encoded():
    """Code the learner left behind (a finalizer, a thread) may change the array after the
    guard is off: what the grader compares is the array as it was inside the guard."""
    answer, arrays = np.zeros(3), {}
    tree = transport.encode(answer, arrays)
    answer[:] = 7.0
    assert np.array_equal(transport.decode(tree, arrays), np.zeros(3))


def test_a_changed_installation_is_seen(tmp_path):
    package, solutions = tmp_path / "bpcourse", tmp_path / "solutions"
    (package / "__pycache__").mkdir(parents=True)
    solutions.mkdir()
    (package / "kernel_side.py").write_text("def _block(): ...\n")
    (solutions / "ex1.ipynb").write_text("{}")
    roots = [package, solutions]
    sealed = grader._seal(roots)
    (package / "__pycache__" / "kernel_side.cpython-311.pyc").write_bytes(b"written by a kernel")
    assert grader._changed_files(sealed, roots) == []
    (package / "kernel_side.py").write_text("def _block(): return []\n")
    (package / "extra.py").write_text("")
    (solutions / "ex1.ipynb").unlink()
    assert grader._changed_files(sealed, roots) == sorted(
        str(p) for p in (package / "kernel_side.py", package / "extra.py", solutions / "ex1.ipynb"))


def _compiled_file(source, code):
    """What Python's import writes for ``source`` (its mtime and size in the header), holding ``code``."""
    st = source.stat()
    header = importlib.util.MAGIC_NUMBER + bytes(4) + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") \
        + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    pyc = Path(importlib.util.cache_from_source(str(source)))
    pyc.parent.mkdir(exist_ok=True)
    pyc.write_bytes(header + marshal.dumps(code))
    return pyc


def test_a_compiled_file_with_other_code_than_its_source_is_a_change(tmp_path, monkeypatch):
    """A kernel may write a module's compiled file (__pycache__), with its source's code: not a
    change. One holding other code, with a header that matches the source, is what the next
    kernel importing the module runs: a change."""
    package = tmp_path / "forgedpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = package / "activations.py"
    source.write_text("def sigmoid(z):\n    return 1 / (1 + 2.718281828459045 ** -z)\n")
    sealed = grader._seal([package])
    py_compile.compile(str(source), doraise=True)                     # what an import writes
    assert grader._changed_files(sealed, [package]) == []
    pyc = _compiled_file(source, compile("def sigmoid(z):\n    return 0.5\n", str(source), "exec"))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert importlib.import_module("forgedpkg.activations").sigmoid(3.0) == 0.5   # Python runs it
    for name in ("forgedpkg.activations", "forgedpkg"):
        monkeypatch.delitem(sys.modules, name)
    assert grader._changed_files(sealed, [package]) == [str(pyc)]
    py_compile.compile(str(source), doraise=True)                     # right again: not a change
    assert grader._changed_files(sealed, [package]) == []
    pyc.write_bytes(b"not a compiled file at all")                    # Python ignores it and recompiles
    assert grader._changed_files(sealed, [package]) == []


def test_a_notebook_that_writes_into_the_package_stops_the_grading(tmp_path):
    import bpcourse
    probe = Path(bpcourse.__file__).parent / "_written_by_a_submission.py"
    writer = make_notebook(before=(f"open({str(probe)!r}, 'w').write('# poison')",))
    for name, text in (("a_honest", make_notebook()), ("b_writer", writer), ("c_later", make_notebook())):
        (tmp_path / f"{name}.ipynb").write_text(text, encoding="utf-8")
    out = tmp_path / "grades.csv"
    try:
        with pytest.raises(grader.GraderTampered) as stopped:
            grader.grade([tmp_path], out=out, jobs=1, progress=False)
    finally:
        probe.unlink(missing_ok=True)
    message = str(stopped.value)
    assert str(probe) in message and "b_writer.ipynb" in message and "1 of 3" in message
    partial = Path(f"{out}.partial").read_text(encoding="utf-8")
    assert "a_honest" in partial and "b_writer" not in partial and "c_later" not in partial
    assert not out.exists()


def test_a_notebook_in_another_exercise_folder_is_graded_as_what_it_is(tmp_path):
    folder = tmp_path / "submitted" / "bob" / "ex3_backprop"
    folder.mkdir(parents=True)
    (folder / "ex3_backprop.ipynb").write_text(make_notebook(), encoding="utf-8")   # an ex1 notebook
    (row,) = grader.grade([tmp_path], jobs=1, progress=False)
    assert (row.student_id, row.assignment, row.exercise, row.score, row.max_score) == \
        ("bob", "ex1_forward", "ex1_forward", 4.0, 4.0)
    assert "submitted as ex3_backprop, but the notebook is ex1_forward" in grader.lost_point_reasons(row)


def test_missing_path_is_an_error_not_a_row(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path / "nowhere.ipynb"), "--quiet", "--out", str(tmp_path / "g.csv")]) == 2
    assert "nowhere.ipynb" in capsys.readouterr().err


def test_per_submission_time_limit_gives_a_row_with_the_reason(tmp_path):
    path = tmp_path / "slow.ipynb"
    path.write_text(make_notebook(before=["import time\ntime.sleep(3)"] * 4), encoding="utf-8")
    rows = grader.grade([path], jobs=1, progress=False, timeout=6, cell_timeout=4, assignment="ex1_forward")
    assert len(rows) == 1 and rows[0].score == 0
    assert all("used up its time limit of 6 s" in e["reason"] for e in rows[0].functions.values())


# ------------------------------------------------ the command line refuses what would fail later

@pytest.mark.parametrize("args, says", [
    (["--timeout", "-5"], "--timeout: must be a finite number above 0"),
    (["--timeout", "nan"], "--timeout: must be a finite number above 0"),
    (["--cell-timeout", "0"], "--cell-timeout: must be a finite number above 0"),
    (["--memory", "1"], "--memory: must be a finite number at least"),
    (["--jobs", "0"], "--jobs: must be a finite number above 0"),
])
def test_bad_numbers_are_refused_naming_the_argument(tmp_path, capsys, args, says):
    with pytest.raises(SystemExit) as e:
        cli.main(["grade", str(tmp_path), "--quiet", *args])
    assert e.value.code == 2
    assert says in capsys.readouterr().err


def test_output_paths_are_checked_before_grading_and_nothing_is_lost(tmp_path, capsys):
    sub = tmp_path / "alice.ipynb"
    sub.write_text(make_notebook(), encoding="utf-8")
    old = tmp_path / "old.csv"
    old.write_text("the previous table\n")
    for args, says in ((["--out", str(tmp_path)], "is a folder"),
                       (["--out", str(tmp_path / "nowhere" / "g.csv")], "does not exist"),
                       (["--out", str(old), "--json", str(old)], "the same file"),
                       (["--out", str(sub)], "is one of the submissions")):
        assert cli.main(["grade", str(sub), "--quiet", *args]) == 2, args
        assert says in capsys.readouterr().err, args
    assert old.read_text() == "the previous table\n"
    assert sub.read_text(encoding="utf-8") == make_notebook()


def test_submissions_are_files_any_case_and_links_do_not_loop(tmp_path):
    exercises = grader.load_exercises()
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "B.IPYNB").write_text("{}")
    (tmp_path / "folder.ipynb").mkdir()                       # a folder, not a notebook
    (tmp_path / "folder.ipynb" / "c.ipynb").write_text("{}")
    (tmp_path / "folder.ipynb" / "up").symlink_to(tmp_path, target_is_directory=True)
    found = sorted(s.path.relative_to(tmp_path).as_posix() for s in grader.find_submissions([tmp_path], exercises))
    assert found == ["B.IPYNB", "a.ipynb", "folder.ipynb/c.ipynb"]


def test_a_folder_per_student_names_the_student_and_bent_names_are_graded(tmp_path, monkeypatch):
    exercises = grader.load_exercises()
    for path in ("amy/ex1_forward.ipynb", "ben/ex1_forward.ipynb", "ben/ex2_loss.ipynb",
                 "sam.ipynb", "dan.ipynb.txt", "eve.ipynb (1)", "ex3_backprop.ipynb",
                 "fay/.ex1_forward.ipynb.swp", "notes.json", "fay/data.npz",
                 "ex1_forward/kim.ipynb", "ex1_forward/lee (1).ipynb", "jo/ex2_loss (1).ipynb", "bea - Copy.ipynb"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text("{}")
    subs = grader.find_submissions([tmp_path], exercises)
    found = {s.path.relative_to(tmp_path).as_posix(): s.student_id for s in subs}
    assert found == {"amy/ex1_forward.ipynb": "amy", "ben/ex1_forward.ipynb": "ben", "ben/ex2_loss.ipynb": "ben",
                     "sam.ipynb": "sam", "dan.ipynb.txt": "dan", "eve.ipynb (1)": "eve",
                     "ex3_backprop.ipynb": tmp_path.name, "ex1_forward/kim.ipynb": "kim",
                     "ex1_forward/lee (1).ipynb": "lee", "jo/ex2_loss (1).ipynb": "jo", "bea - Copy.ipynb": "bea"}
    folders = {s.path.relative_to(tmp_path).as_posix(): s.folder for s in subs}
    assert folders["amy/ex1_forward.ipynb"] == tmp_path / "amy"      # the student's own files come along
    assert folders["sam.ipynb"] is None                      # a file named by its student: alone
    # the same ids however the path is typed
    monkeypatch.chdir(tmp_path / "ex1_forward")
    relative = grader.find_submissions(["../ex1_forward/kim.ipynb", "kim.ipynb", "../amy/ex1_forward.ipynb"], exercises)
    assert [s.student_id for s in relative] == ["kim", "kim", "amy"]


def test_student_folders_are_found_at_the_depth_the_class_uses(tmp_path):
    exercises = grader.load_exercises()
    for path in ("class/amy/ex1_forward.ipynb", "class/ben/ex2_loss.ipynb", "class/sam.ipynb",
                 "class/leo/submission/extra/ex2_loss.ipynb", "class/hank/my_homework.ipynb",
                 "class/ex1_forward/kim.ipynb", "class/late/bo.ipynb", "class/late/cy.ipynb",
                 "sections/s1/amy/ex1_forward.ipynb", "sections/s1/bob/ex1_forward.ipynb",
                 "sections/s2/cat/ex1_forward.ipynb", "sections/s2/dee/work/ex1_forward.ipynb",
                 "flat/s1/amy.ipynb", "flat/s2/bob.ipynb"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}")
    subs = grader.find_submissions([tmp_path / "class", tmp_path / "sections", tmp_path / "flat"], exercises)
    found = {s.path.relative_to(tmp_path).as_posix(): s.student_id for s in subs}
    assert found == {"class/amy/ex1_forward.ipynb": "amy", "class/ben/ex2_loss.ipynb": "ben", "class/sam.ipynb": "sam",
                     "class/leo/submission/extra/ex2_loss.ipynb": "leo",      # not "extra"
                     "class/hank/my_homework.ipynb": "hank",                  # not "my_homework"
                     "class/ex1_forward/kim.ipynb": "kim",                    # a folder per exercise
                     "class/late/bo.ipynb": "bo", "class/late/cy.ipynb": "cy",  # a folder of students' files
                     "sections/s1/amy/ex1_forward.ipynb": "amy", "sections/s1/bob/ex1_forward.ipynb": "bob",
                     "sections/s2/cat/ex1_forward.ipynb": "cat", "sections/s2/dee/work/ex1_forward.ipynb": "dee",
                     "flat/s1/amy.ipynb": "amy", "flat/s2/bob.ipynb": "bob"}
    notes = {s.path.relative_to(tmp_path).as_posix(): s.note for s in subs if s.note}
    assert set(notes) == {"class/leo/submission/extra/ex2_loss.ipynb", "class/hank/my_homework.ipynb",
                          "sections/s2/dee/work/ex1_forward.ipynb"}, notes
    assert "leo/submission/extra/" in notes["class/leo/submission/extra/ex2_loss.ipynb"]
    assert "'my_homework' is not an exercise's name" in notes["class/hank/my_homework.ipynb"]
    # the row says it
    (tmp_path / "c2" / "amy").mkdir(parents=True)
    (tmp_path / "c2" / "amy" / "ex1_forward.ipynb").write_text(make_notebook(), encoding="utf-8")
    (tmp_path / "c2" / "leo" / "sub").mkdir(parents=True)
    (tmp_path / "c2" / "leo" / "sub" / "ex1_forward.ipynb").write_text(make_notebook(), encoding="utf-8")
    rows = grader.grade([tmp_path / "c2"], jobs=1, progress=False)
    assert [(r.student_id, r.score) for r in rows] == [("amy", 4.0), ("leo", 4.0)]
    assert "graded as student leo (the file is in leo/sub/" in " | ".join(rows[1].notes), rows[1].notes


def test_a_student_folder_is_copied_with_its_helper_module(tmp_path):
    helen = tmp_path / "class" / "helen"
    helen.mkdir(parents=True)
    (helen / "helper.py").write_text("import numpy as np\n\ndef mysig(z):\n    return 1.0 / (1.0 + np.exp(-z))\n")
    (helen / "ex1_forward.ipynb").write_text(make_notebook({"sigmoid": "from helper import mysig\n\n"
                                                                      "def sigmoid(z):\n    return mysig(z)"}))
    for given in (tmp_path / "class", helen, helen / "ex1_forward.ipynb"):   # however it is named
        (row,) = grader.grade([given], jobs=1, progress=False)
        assert (row.student_id, row.score) == ("helen", 4.0), (given, grader.lost_point_reasons(row))


def test_a_folder_too_big_to_copy_runs_the_notebook_alone(tmp_path, monkeypatch):
    (tmp_path / "Downloads").mkdir()
    (tmp_path / "Downloads" / "ex1_forward.ipynb").write_text(make_notebook(), encoding="utf-8")
    (tmp_path / "Downloads" / "big.bin").write_bytes(b"0" * 5000)
    monkeypatch.setattr(grader, "COPY_LIMIT", (4000, 100))
    (row,) = grader.grade([tmp_path / "Downloads" / "ex1_forward.ipynb"], jobs=1, progress=False)
    assert row.score == 4.0 and "holds more than" in grader.lost_point_reasons(row)


def test_a_notebook_saved_as_ipynb_txt_is_graded_and_the_name_is_noted(tmp_path):
    sub = tmp_path / "dan.ipynb.txt"
    sub.write_text(make_notebook(), encoding="utf-8")
    out = tmp_path / "grades.csv"
    rows = grader.grade([tmp_path], out=str(out), jobs=1, progress=False)
    assert [(r.student_id, r.exercise, r.score) for r in rows] == [("dan", "ex1_forward", 4.0)], rows[0].notes
    with open(out, newline="") as f:
        (row,) = csv.DictReader(f)
    assert "does not end in .ipynb (dan.ipynb.txt)" in row["reasons"] and row["file"] == str(sub)


def test_the_csv_reason_is_one_line_and_says_a_whole_notebook_problem_once():
    row = grader.Row(student_id="a", file="a.ipynb", functions={
        f: {"points": 0.0, "max_points": 1.0, "reason": "", "checks": []} for f in ("sigmoid", "forward")})
    grader._fail_all(row, "not a notebook: the file is not valid JSON (Expecting value at line 1)")
    row.functions["forward"]["reason"] = "raised ValueError: shapes\n(2,3) and (4,5)\nnot aligned"
    said = grader.lost_point_reasons(row)
    assert said.count("not valid JSON") == 1, said
    assert "\n" not in said and "forward: raised ValueError: shapes (2,3) and (4,5) not aligned" in said, said


def test_an_unreadable_file_of_unknown_exercise_says_how_to_score_it(tmp_path):
    (tmp_path / "x.ipynb").write_text("not json")
    (row,) = grader.grade([tmp_path], jobs=1, progress=False)
    assert row.max_score == 0 and "give --assignment" in grader.lost_point_reasons(row)


def test_the_notebook_says_which_exercise_before_the_assignment_option(tmp_path):
    sub = tmp_path / "ben.ipynb"
    shutil.copy(ROOT / "exercises" / "ex2_loss.ipynb", sub)    # its metadata says ex2_loss
    rows = grader.grade([sub], jobs=1, progress=False, assignment="ex1_forward")
    assert rows[0].exercise == "ex2_loss", rows[0].notes


def test_an_interrupted_run_keeps_what_it_graded_beside_the_old_table(tmp_path, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / f"{name}.ipynb").write_text(make_notebook(), encoding="utf-8")
    out = tmp_path / "grades.csv"
    out.write_text("the previous table\n")
    calls = []

    def fake(sub, exercises, opts, workdir, worker=None, alone=False):
        calls.append(sub.student_id)
        if len(calls) == 2:
            raise KeyboardInterrupt            # the instructor's Ctrl-C, or a crash, mid-run
        return grader.Row(student_id=sub.student_id, file=str(sub.path), exercise="ex1_forward",
                          score=4.0, max_score=4.0, graded=True)

    monkeypatch.setattr(grader, "_grade_safely", fake)
    with pytest.raises(KeyboardInterrupt):
        grader.grade([tmp_path], out=str(out), jobs=1, progress=False)
    assert out.read_text() == "the previous table\n"
    with open(f"{out}.partial", newline="") as f:
        assert [r["student_id"] for r in csv.DictReader(f)] == ["a"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGINT as Ctrl-C; /proc to see the kernel end")
def test_ctrl_c_stops_grading_at_once_and_says_where_the_rows_are(tmp_path):
    import signal
    import subprocess

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a_quick.ipynb").write_text(make_notebook(), encoding="utf-8")
    for name in ("b_slow", "c_slow"):       # each would hold the grader for a minute
        (subs / f"{name}.ipynb").write_text(make_notebook(before=[
            f"import os, time\nopen({str(tmp_path / name)!r} + '.pid', 'w').write(str(os.getpid()))\n"
            "time.sleep(60)"]), encoding="utf-8")
    out = tmp_path / "grades.csv"
    out.write_text("the previous table\n")
    proc = subprocess.Popen([sys.executable, "-m", "bpcourse.cli", "grade", str(subs), "--out", str(out),
                             "--jobs", "1", "--quiet", "--cell-timeout", "90", "--timeout", "200",
                             "--assignment", "ex1_forward"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kernel_pid = tmp_path / "b_slow.pid"
    end = time.monotonic() + 120
    while not kernel_pid.exists() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
    assert kernel_pid.exists(), "the slow submission never started: the test would prove nothing"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)          # what Ctrl-C sends to the grader in a terminal
    try:
        stdout, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the grader went on grading the queue after Ctrl-C")
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted after grading 1 of 3 submission(s)" in stderr, stderr
    assert f"{out}.partial" in stderr and "left as before" in stderr, stderr
    assert out.read_text() == "the previous table\n"
    with open(f"{out}.partial", newline="") as f:
        assert [r["student_id"] for r in csv.DictReader(f)] == ["a_quick"]
    assert not (tmp_path / "c_slow.pid").exists(), "a queued submission started after Ctrl-C"
    pid = int(kernel_pid.read_text())
    end = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(pid), "the kernel of the submission being graded outlived the grader"


def test_two_files_of_one_student_and_exercise_say_so(tmp_path):
    for section in ("sec1", "sec2"):
        (tmp_path / section).mkdir()
        (tmp_path / section / "sam.ipynb").write_text("{}", encoding="utf-8")
    rows = grader.grade([tmp_path], jobs=1, progress=False, assignment="ex1_forward")
    assert [r.student_id for r in rows] == ["sam", "sam"]
    assert "sec2" in rows[0].notes[0] and "sec1" in rows[1].notes[0]
    assert "check which file counts" in grader.lost_point_reasons(rows[0])


def _alive(pid):
    return reaper.stat_fields(pid) is not None and not reaper.is_zombie(pid)   # a zombie has ended


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the subreaper is Linux's")
def test_processes_a_submission_leaves_behind_are_killed(graded):
    assert ESCAPEE_PID.exists(), "the escapee did not start: the test would prove nothing"
    pid = int(ESCAPEE_PID.read_text())
    ESCAPEE_PID.unlink()
    end = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(pid), f"process {pid}, started by a graded notebook, outlived its grading"


def test_a_finished_run_leaves_no_partial_files(graded):
    assert not list(graded["tmp"].glob("*.partial"))
    assert (graded["tmp"] / "grades.csv").exists() and (graded["tmp"] / "grades.json").exists()


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX's")
def test_a_kernel_pid_file_naming_a_worker_kills_nothing(tmp_path):
    import subprocess

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    pid_file = tmp_path / "kernel.pid"
    pid_file.write_text(str(other.pid))          # what a notebook can write there
    try:
        grader._OUR_PIDS.add(other.pid)
        grader._end_kernel({"pid_path": str(pid_file)})
        assert other.poll() is None, "a worker named in kernel.pid was killed"
        pid_file.write_text(str(os.getpid()))
        grader._end_kernel({"pid_path": str(pid_file)})   # not the grader itself either (or we would be gone)
        grader._OUR_PIDS.discard(other.pid)
        pid_file.write_text(str(other.pid))          # a real kernel's pid: ended
        grader._end_kernel({"pid_path": str(pid_file)})
        assert other.wait(timeout=5) == -9
    finally:
        grader._OUR_PIDS.discard(other.pid)
        other.kill()


def test_results_beside_a_failed_harness_cell_are_not_trusted(tmp_path):
    """The grader reads a function's saved results only when its harness cell ran to the end:
    a notebook that stops the harness (a shadowed builtin, say) could have left its own file."""
    from bpcourse import selfcheck
    from bpcourse.grading import transport

    class ForgingWorker:               # what such a notebook leaves: correct results, harness failed
        def run(self, job, job_path):
            harness = [c for c in job["cells"] if c["kind"] == "harness"]
            for cell in harness:
                stem = cell["inputs"][0][:-len(".json")]
                name = Path(stem).name[len("in_"):]
                chk, (tree, arrays) = selfcheck.get_check(name), transport.load(stem)
                out, cases = {}, []
                for case_tree in tree["cases"]:
                    data = transport.decode(case_tree, arrays)
                    cases.append({"status": "ok", "package_calls": [], "output": transport.encode(chk.expected(data), out),
                                  "inputs_after": transport.encode(data, out)})
                source = _solution_answers()[name]
                transport.save(cell["outputs"][0][:-len(".json")], {"function": name, "status": "called",
                               "source": source, "is_package_function": [], "cases": cases}, out)
            cells = [{"status": "error", "ename": "TypeError", "evalue": "exec() got nothing"}
                     if c["kind"] == "harness" else {"status": "ok"} for c in job["cells"]]
            return {"cells": cells, "output_chars": 0}, None

    sub = grader.Submission(tmp_path / "forger.ipynb", "forger")
    sub.path.write_text(make_notebook(), encoding="utf-8")
    row = grader.grade_submission(sub, grader.load_exercises(), grader.Options(), tmp_path / "work",
                                  worker=ForgingWorker())
    assert row.score == 0, grader.lost_point_reasons(row)
    assert all("the grader's call of" in f["reason"] and "failed" in f["reason"] for f in row.functions.values())


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="symbolic links")
def test_a_linked_submission_is_read_through_its_link(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "real.ipynb").write_text(make_notebook(), encoding="utf-8")
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "amy.ipynb").symlink_to(tmp_path / "store" / "real.ipynb")
    (row,) = grader.grade([tmp_path / "class"], jobs=1, progress=False)
    assert (row.student_id, row.score) == ("amy", 4.0), grader.lost_point_reasons(row)


def test_a_loop_that_calls_a_failing_helper_says_so_in_its_reason(tmp_path):
    """ex4's train_gd is told to call the learner's gd_step: with gd_step wrong (no lr), the
    right loop around it fails too, and its reason names gd_step as the likely cause."""
    nb = nbformat.read(ROOT / "solutions" / "ex4_gradient_descent.ipynb", as_version=4)
    right = "return {name: params[name] - lr * grads[name] for name in params}"
    (cell,) = [c for c in nb.cells if right in c.source]
    cell.source = cell.source.replace(right, "return {name: params[name] - grads[name] for name in params}")
    (tmp_path / "ex4_gradient_descent.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    (row,) = grader.grade([tmp_path], jobs=1, progress=False)
    assert row.functions["gd_step"]["points"] == 0 and row.functions["train_gd"]["points"] == 0
    assert "(train_gd is told to call gd_step, which fails its own checks: the error may be there)" \
        in row.functions["train_gd"]["reason"]
    assert "is told to call" not in row.functions["gd_step"]["reason"]


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets: elsewhere the kernels use TCP")
def test_kernels_are_reached_through_unix_sockets_in_the_submissions_own_folder(tmp_path):
    """Two workers picking TCP ports at once can pick the same one, and one then reads the other's
    kernel (a CI run lost a submission to "Invalid Signature"): a socket file cannot be shared."""
    from bpcourse.grading import worker
    io, work = tmp_path / "io", tmp_path / "work"
    io.mkdir(), work.mkdir()
    job = {"cells": [{"kind": "learner", "source": "import json\nfrom ipykernel.connect import get_connection_info\n"
                      "info = get_connection_info(unpack=True)\n"
                      "json.dump({k: info[k] for k in ('transport', 'ip')}, open('connection.json', 'w'))"}],
           "budget": 60, "cell_timeout": 30, "output_cap": 10_000, "cwd": str(work),
           "status_path": str(io / "status.json")}
    result = worker.run_job(job)
    assert result["cells"][0]["status"] == "ok", result
    info = json.loads((work / "connection.json").read_text())
    assert info["transport"] == "ipc" and info["ip"] == str(io / "k1-ipc"), info

    from jupyter_client import KernelManager
    km = KernelManager()
    worker._use_unix_sockets(km, str(tmp_path / ("x" * 120)))    # too long for a socket's path: TCP stays
    assert km.transport == "tcp"


def test_a_failure_of_the_worker_is_graded_again_alone_and_then_reported_as_the_graders(tmp_path):
    from bpcourse.grading import worker
    broken = {"cells": [{"kind": "learner", "source": "x = 1"}], "budget": 60, "output_cap": 10_000,
              "cwd": str(tmp_path), "status_path": str(tmp_path / "status.json")}     # no cell_timeout
    assert worker.run_job(broken)["worker_error"] == "KeyError: 'cell_timeout'"

    class FailingWorker:
        def run(self, job, job_path):
            return {"worker_error": "ValueError: Invalid Signature: b'4d44'"}, None

    sub = grader.Submission(tmp_path / "kim.ipynb", "kim")
    sub.path.write_text(make_notebook(), encoding="utf-8")
    beside = grader.grade_submission(sub, grader.load_exercises(), grader.Options(), tmp_path / "w1",
                                     worker=FailingWorker())
    assert beside.folder_lost and not beside.grader_error      # grade() grades it again, alone
    alone = grader.grade_submission(sub, grader.load_exercises(), grader.Options(), tmp_path / "w2",
                                    worker=FailingWorker(), alone=True)
    assert alone.grader_error and not alone.folder_lost
    assert "the grader's worker failed while running it: ValueError: Invalid Signature" in alone.notes[-1]


def test_the_limit_per_call_is_an_option(tmp_path):
    """--call-timeout: a correct but slow function gets its points under a longer limit, and the
    reason names the limit it ran out of."""
    sub = tmp_path / "slow.ipynb"
    sub.write_text(make_notebook({"sigmoid_prime": _prime("import time\ntime.sleep(1.5)\ns = sigmoid(z)\n"
                                                           "return s * (1 - s)")}), encoding="utf-8")
    out = tmp_path / "g.json"
    assert cli.main(["grade", str(sub), "--json", str(out), "--quiet", "--call-timeout", "1",
                     "--assignment", "ex1_forward"]) == 0
    (row,) = json.loads(out.read_text())
    assert row["score"] == 3 and "did not return within 1 s" in row["functions"]["sigmoid_prime"]["reason"], row
    assert cli.main(["grade", str(sub), "--json", str(out), "--quiet", "--call-timeout", "4",
                     "--assignment", "ex1_forward"]) == 0
    (row,) = json.loads(out.read_text())
    assert row["score"] == 4, row
