"""Grade a class: every submission gets one row, whatever is in it.

For each submitted notebook the grader (this process):

1. reads it as data (never executes it here): not JSON, not a notebook, or an
   exercise it cannot identify each become a row with the reason;
2. finds the exercise's graded functions and hidden cases in solutions/
   (never in the submission) and writes each case's inputs to a .npz (the worker
   keeps them off the disk while the learner's own cells run);
3. starts a worker process (``bpcourse.grading.worker``) that runs the
   submission's cells in a fresh kernel, in a temporary copy of its folder,
   with time, memory and output limits, then one harness cell per graded
   function (``kernel_side``) that calls the learner's function on the inputs;
4. compares what came back with the package's reference answers, here, with
   ``bpcourse.selfcheck.judge``; an answer that is, or calls, the package's own
   implementation gets no credit, found both by reading the code
   (``static.package_uses``) and by a guard while it runs.

The guard runs in the learner's process, so code written to defeat it can; such code
reaches for things an answer never needs (``sys``, ``__code__``, files, threads), and
``static.review_flags`` names them in the row for a person to look at.

Output: a CSV with nbgrader's grades.csv columns plus one column per graded
function, and a JSON with the points and the reason for every check.
"""
import csv
import functools
import hashlib
import importlib.util
import inspect
import json
import marshal
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import selfcheck
from ..authoring import exercises as authoring
from . import kernel_side, static, transport, zygote

NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                    "email", "raw_score", "late_submission_penalty", "score", "max_score"]
MAX_NOTEBOOK_BYTES = 20_000_000
INTERRUPTED = "not graded: the grading was interrupted"


@dataclass
class Exercise:
    """An exercise as solutions/ defines it: its graded functions, their points and hidden cases."""
    name: str
    path: Path
    functions: list
    own_trees: list = field(default_factory=list)   # its code cells, parsed: what it imports itself

    @property
    def max_score(self):
        return sum(f.points for f in self.functions)

    @property
    def grade_ids(self):
        return {f.answer_grade_id for f in self.functions} | {f.check_grade_id for f in self.functions}


def load_exercises(solutions=authoring.SOLUTIONS):
    """{name: Exercise} for every solutions/ex*.ipynb."""
    found = {}
    for path in sorted(Path(solutions).glob("ex*.ipynb")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception as e:     # not JSON, not a notebook: the instructor's file, named
                raise ValueError(f"the solution notebook {path} cannot be read ({type(e).__name__}: "
                                 f"{str(e)[:200]})") from None
        own = static.analyse([c.source for c in nb.cells if c.cell_type == "code"])[0]
        found[path.stem] = Exercise(path.stem, path, authoring.graded_functions(nb, str(path)), own)
    if not found:
        raise FileNotFoundError(f"no solution notebooks (ex*.ipynb) in {solutions}: the grader needs them "
                                "(run it in the course's folder, or give --solutions FOLDER)")
    return found


@dataclass
class Submission:
    """One file to grade, and who and what it is."""
    path: Path
    student_id: str
    assignment: str = ""          # nbgrader's assignment name, when the layout gives one
    timestamp: str = ""
    folder: Path = None           # copied for the run (nbgrader layout); else only the file
    note: str = ""                # how the student was worked out, when the row should say


def _notebooks_under(folder):
    """Every file ``*.ipynb`` (any case) below ``folder``, sorted; folders linked in are followed,
    each real folder once (a link back up would loop), checkpoints are skipped."""
    found, seen = [], set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = os.stat(root)
        if (real.st_dev, real.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((real.st_dev, real.st_ino))
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
        found += [Path(root) / n for n in names if _looks_like_notebook(n) and (Path(root) / n).is_file()]
    return sorted(found)


def _looks_like_notebook(name):
    """``*.ipynb`` (any case), and the names a download or a mail client bends it into:
    ``amy.ipynb.txt``, ``amy.ipynb.json``, ``amy.ipynb (1)``. Not hidden files (``.amy.ipynb``,
    macOS's ``._amy.ipynb``), exports (``amy.ipynb.html``) or backups (``amy.ipynb~``)."""
    lower = name.lower()
    if name.startswith(".") or ".ipynb" not in lower:
        return False
    rest = lower[lower.rindex(".ipynb") + len(".ipynb"):]
    return rest in ("", ".txt", ".json") or re.fullmatch(r" ?\(\d+\)", rest) is not None


# what browsers, file managers and JupyterLab add to a copy: "amy (1)", "amy - Copy", "amy (copy)",
# "amy copy 2", "ex1_forward-Copy1"
_COPY_SUFFIX = re.compile(r"^(.+?)(?: ?\(\d+\)| - Copy(?: \(\d+\))?| \((?:another |\d+\w* )?copy\)"
                          r"| copy(?: \d+)?|-Copy\d+)$", re.IGNORECASE)


def _stem(path):
    """The name before ``.ipynb``, without a copy's suffixes: ``amy`` for amy.ipynb, amy.ipynb.txt,
    amy (1).ipynb, amy (1) (1).ipynb and amy - Copy.ipynb."""
    name = path.name
    stem = name[:name.lower().rindex(".ipynb")] if ".ipynb" in name.lower() else path.stem
    while (copy := _COPY_SUFFIX.match(stem)) is not None:
        stem = copy.group(1)
    return stem


def find_submissions(paths, exercises):
    """The submissions named by ``paths`` (files, or folders searched for *.ipynb), in order.

    Who a file belongs to comes from where it is (the same however the path is typed):

    - nbgrader's ``.../<student>/<assignment>/<notebook>.ipynb`` (inside ``submitted/``, or a
      folder named like an exercise holding a notebook named like one): the student and the
      assignment; the folder is copied for the run;
    - a folder per student holding files named like an exercise (``amy/ex1_forward.ipynb``):
      the folder's name; the folder is copied for the run (the notebook's own files). In a
      folder given to search, the student folders are at the depth most such files are at
      (``amy/`` or ``sec1/amy/``); a file deeper down (``leo/submission/extra/ex2_loss.ipynb``),
      or the one notebook of a folder at that depth named otherwise (``hank/my_homework.ipynb``),
      is its student folder's, and its row says so;
    - otherwise the file's name, without .ipynb (``amy.ipynb``, ``ex1_forward/amy.ipynb``).
    """
    # (file as given, where it is, the folders between the folder given and the file, or None);
    # ".." and "." resolved: names do not depend on the cwd
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            root = Path(os.path.abspath(p))
            for f in _notebooks_under(p):
                where = Path(os.path.abspath(f))
                found.append((f, where, where.parent.relative_to(root).parts))
        elif p.exists():
            found.append((p, Path(os.path.abspath(p)), None))
        else:
            raise FileNotFoundError(f"no such submission file or folder: {p}")
    depth = _student_depth(found, exercises)
    notebooks_in = Counter(where.parent for _, where, _ in found)
    subs = []
    for f, where, folders in found:
        parent, stem = where.parent, _stem(where)
        d = depth.get(where.parents[len(folders)]) if folders else None    # keyed by the folder given
        student = folders[d - 1] if d and len(folders) >= d else None
        if _nbgrader_layout(where, exercises) and parent.parent.name:
            stamp = parent / "timestamp.txt"
            ts = stamp.read_text(encoding="utf-8", errors="replace").strip()[:100] if stamp.is_file() else ""
            subs.append(Submission(f, parent.parent.name, parent.name, ts, parent))
        elif student is not None and student not in exercises and (
                len(folders) > d or (stem not in exercises and notebooks_in[parent] == 1)):
            inside = "/".join(folders[d - 1:])
            why = (f"the file is in {inside}/" if len(folders) > d else
                   f"'{stem}' is not an exercise's name, so the student is its folder's")
            subs.append(Submission(f, student, folder=parent,
                                   note=f"graded as student {student} ({why}; the other students' "
                                        f"folders are at that level)"))
        elif stem in exercises and parent.name:
            subs.append(Submission(f, parent.name, folder=parent))
        else:
            subs.append(Submission(f, stem))
    return subs


def _nbgrader_layout(where, exercises):
    """True for nbgrader's ``.../<student>/<assignment>/<notebook>.ipynb``: inside ``submitted/``,
    or a folder named like an exercise holding a notebook named like one."""
    return (len(where.parts) >= 4 and where.parts[-4] == "submitted") or \
        (where.parent.name in exercises and _stem(where) in exercises)


def _student_depth(found, exercises):
    """{folder given: how many folders down its student folders are}, from the files named like
    an exercise outside nbgrader's layout (``amy/ex1_forward.ipynb``: 1;
    ``sec1/amy/ex1_forward.ipynb``: 2). The depth most such files are at; a tie, the shallower."""
    counts = {}
    for _, where, folders in found:
        if folders and _stem(where) in exercises and not _nbgrader_layout(where, exercises):
            counts.setdefault(where.parents[len(folders)], Counter())[len(folders)] += 1
    return {root: min(c, key=lambda d: (-c[d], d)) for root, c in counts.items()}


@dataclass
class Options:
    timeout: float = 120.0        # seconds per submission
    cell_timeout: float = 30.0    # seconds per cell
    case_timeout: float = 10.0    # seconds per call of a graded function
    memory: int = 2 * 1024 ** 3   # bytes of address space for the kernel
    output_cap: int = 1_000_000   # characters of output kept count of; the rest is dropped
    assignment: str = None        # the exercise, for files that do not say


@dataclass
class Row:
    """One submission's result."""
    student_id: str
    file: str
    assignment: str = ""
    exercise: str = ""
    timestamp: str = ""
    score: float = 0.0
    max_score: float = 0.0
    graded: bool = False
    grader_error: bool = False    # the grader itself failed (a bug to report), not the submission
    # graded again, alone: its folder vanished, its files changed or the worker failed mid-run
    folder_lost: bool = False
    review: list = field(default_factory=list)      # what a person should look at (static.review_flags)
    notes: list = field(default_factory=list)
    functions: dict = field(default_factory=dict)

    def as_json(self):
        return {"student_id": self.student_id, "file": self.file, "assignment": self.assignment,
                "exercise": self.exercise, "timestamp": self.timestamp, "score": self.score,
                "max_score": self.max_score, "graded": self.graded, "review": self.review,
                "notes": self.notes, "functions": self.functions}


# -------------------------------------------------------------- one submission

def _read_notebook(path):
    """(notebook, None) or (None, reason)."""
    try:
        size = path.stat().st_size
    except OSError as e:
        return None, f"cannot read the file: {e}"
    if size == 0:
        return None, "not a notebook: the file is empty (0 bytes; saved before the notebook was written?)"
    if size > MAX_NOTEBOOK_BYTES:
        return None, f"the file is {size / 1e6:.1f} MB, more than a notebook should be (limit {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB)"
    try:
        with transport.open_regular(path, "rb", follow=True) as f:     # a linked submission is fine
            text = f.read(MAX_NOTEBOOK_BYTES + 1).decode("utf-8")
    except UnicodeDecodeError:
        return None, "not a notebook: the file is not UTF-8 text"
    except (OSError, ValueError) as e:
        return None, f"cannot read the file: {e}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        # json's "Unterminated string starting at" ends in "at": the place follows it
        return None, f"not a notebook: the file is not valid JSON ({e.msg.removesuffix(' at')} at line {e.lineno}, column {e.colno})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "not a notebook: valid JSON, but without a list of cells"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as e:
        return None, f"not a notebook: nbformat cannot read it ({type(e).__name__}: {str(e)[:200]})"
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str) or "cell_type" not in cell:
            return None, "not a notebook: a cell has no type or no source"
    return nb, None


def _which_exercise(sub, nb, exercises, opts):
    """The name of the exercise this notebook answers, or None: what the notebook says (its
    metadata, then its nbgrader cell ids), then the nbgrader folder or file name, then --assignment."""
    meta = nb.metadata.get("bpcourse", {})
    if isinstance(meta, dict) and meta.get("exercise") in exercises:
        return meta["exercise"]
    ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
           if isinstance(c.metadata.get("nbgrader"), dict)}
    best = max(exercises.values(), key=lambda e: len(e.grade_ids & ids))
    if best.grade_ids & ids:
        return best.name
    return _named_exercise(sub, exercises, opts)


def _named_exercise(sub, exercises, opts):
    """The exercise named outside the notebook: its nbgrader folder, its file name, --assignment."""
    return next((c for c in (sub.assignment, _stem(sub.path), opts.assignment) if c in exercises), None)


def _learner_cells(nb):
    """The code cells that run at grading: all but check cells and demo cells."""
    kept = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata
        nbg = meta.get("nbgrader", {}) if isinstance(meta.get("nbgrader"), dict) else {}
        role = meta.get("bpcourse", {}).get("role") if isinstance(meta.get("bpcourse"), dict) else None
        if (nbg.get("grade") and not nbg.get("solution")) or role in ("check", "demo"):
            continue
        kept.append((i, cell.source))
    return kept


@functools.cache
def _harness_source():
    """The code the kernel runs for the grader, read once: a notebook that rewrites the installed
    kernel_side.py must not change what the submissions graded after it run."""
    return inspect.getsource(transport) + "\n\n" + inspect.getsource(kernel_side)


# the builtins through an import, not by name: a notebook's own ``def exec`` (or open, compile,
# globals) would otherwise run in their place
HARNESS_CELL = """import builtins as __bpcourse_b
__bpcourse_ns = {{"__name__": "__bpcourse_grader__"}}
__bpcourse_b.exec(__bpcourse_b.compile(__bpcourse_b.open({harness!r}).read(), "<bpcourse grader>", "exec"),
                  __bpcourse_ns)
__bpcourse_ns["run"](__bpcourse_b.globals(), {spec!r})
del __bpcourse_ns, __bpcourse_b"""


def _kill_group(pid):
    """End the process ``pid`` and its group (a worker or a kernel started in a session of its own)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:                          # Windows: no process groups; end the process itself
            os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError, OSError):
        pass


class _Worker:
    """A long-lived worker process (``worker --serve``) that runs one job at a time.

    Each grading thread has its own. When a job overstays its time, the worker and the
    job's kernel are killed and the next job starts a new worker.
    """
    GRACE = 20                         # seconds beyond the job's budget before the worker is killed

    def __init__(self, log_path, stopping=None):
        self.log_path = log_path
        self.stopping = stopping       # set on Ctrl-C: no new worker, no new job
        self.proc = None

    def _start(self):
        Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)   # a notebook may have deleted it
        self.log = open(self.log_path, "ab")
        # the kernels' environment (single-threaded BLAS, Agg): the worker forks its kernel
        # server from itself after importing numpy, which needs it
        self.proc = subprocess.Popen([sys.executable, "-m", "bpcourse.grading.worker", "--serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     start_new_session=True, env={**os.environ, **zygote.KERNEL_ENV})
        _OUR_PIDS.add(self.proc.pid)

    def run(self, job, job_path):
        """Run one job; returns (status dict, None) or (None, reason)."""
        if self.stopping is not None and self.stopping.is_set():
            return None, INTERRUPTED
        with open(job_path, "w") as f:
            json.dump(job, f)
        if self.proc is None or self.proc.poll() is not None:
            self._start()
            if self.stopping is not None and self.stopping.is_set():    # Ctrl-C while it started
                self.close(kill=True)
                return None, INTERRUPTED
        answered = False
        try:
            self.proc.stdin.write(f"{job_path}\n".encode())
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], job["budget"] + self.GRACE)
            answered = bool(ready) and self.proc.stdout.readline().strip() == b"done"
        except OSError:
            pass
        if not answered:               # hung or dead: end it, a new one takes the next job
            self.close(kill=True)
        _end_kernel(job)
        return _read_status(job, self.log_path)

    def stop(self):
        """Ask the worker to end its kernel and itself (Ctrl-C; from another thread): the thread
        waiting on it sees it end and returns. Returns the process, to ``kill`` if it lingers."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)    # the worker knows its kernel: see worker._terminate
            except OSError:
                pass
        return proc

    def close(self, kill=False):
        if self.proc is None:
            return
        if kill:
            _kill_group(self.proc.pid)
        else:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                _kill_group(self.proc.pid)
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        self.proc = None
        self.log.close()


_OUR_PIDS = set()       # the workers started so far: a kernel.pid naming one is not believed


def _end_kernel(job):
    """The kernel is a session of its own: make sure it is gone. Its pid file sits where the
    notebook can write, so a pid of ours (the grader, its group, a worker) is never killed."""
    try:
        with transport.open_regular(job["pid_path"]) as f:
            pid = int(f.read(20))
    except (OSError, ValueError):
        return
    if pid > 1 and pid not in _OUR_PIDS | {os.getpid(), getattr(os, "getpgrp", os.getpid)()}:
        _kill_group(pid)


def _read_status(job, log_path):
    try:
        with transport.open_regular(job["status_path"]) as f:
            return json.load(f), None
    except (OSError, ValueError, RecursionError):      # missing, not a file, not JSON
        tail = Path(log_path).read_text(errors="replace")[-500:] if Path(log_path).exists() else ""
        return None, f"the grader's worker stopped without a report (the submission's time limit?) {tail.strip()}"


def _run_worker(job, job_path):
    """Run one job in a worker process of its own (where ``select`` cannot wait on a pipe: Windows)."""
    with open(job_path, "w") as f:
        json.dump(job, f)
    log_path = Path(job_path).with_suffix(".log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bpcourse.grading.worker", str(job_path)],
                                stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            proc.wait(timeout=job["budget"] + _Worker.GRACE)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
    _end_kernel(job)
    return _read_status(job, log_path)


def _cell_problem(st):
    """A cell's status in words, or '' when it ran fine."""
    s = st.get("status")
    if s == "error":
        # a syntax error's message names the kernel's file for the cell: "(2838581931.py, line 3)"
        evalue = re.sub(r"\((?:\d+\.py|<[^>]*>), line (\d+)\)", r"(line \1 of the cell)", st.get("evalue", ""))
        return f"raised {st.get('ename')}: {evalue[:300]}"
    if s == "timeout" and st.get("budget_exhausted"):
        return "was stopped when the submission's time limit ran out"
    if s == "timeout":
        return f"did not finish within the per-cell limit of {st.get('seconds')} s (an infinite loop?)"
    if s == "died":
        return "killed the kernel (it exited or died: sys.exit/os._exit, a crash, or memory exhausted)"
    if s == "not_run":
        return "was not run: the submission used up its time limit"
    return ""


def _loudest(status, learner, plans):
    """Where most of the printing came from, as " (most by cell 7: 1,288,890)", or ""."""
    counts = {int(i): n for i, n in status.get("cell_output_chars", {}).items()}
    if not counts:
        return ""
    i, n = max(counts.items(), key=lambda item: item[1])
    if i < len(learner):
        where = f"cell {learner[i][0]}"
    else:
        where = next((f"{name} while the grader called it" for name, plan in plans.items() if plan[3] == i),
                     "the grader's own cells")
    return f" (most by {where}: {n:,})"


def _new_row(sub):
    """The row of ``sub`` before grading: who, which file, and how the student was worked out."""
    return Row(student_id=sub.student_id, file=str(sub.path), assignment=sub.assignment,
               timestamp=sub.timestamp, notes=[sub.note] if sub.note else [])


def grade_submission(sub, exercises, opts, workdir, worker=None, alone=False):
    """Grade one submission; always returns a Row. ``alone``: no other notebook runs meanwhile,
    so whatever disturbs the grader's files is this one's doing."""
    row = _new_row(sub)
    if not sub.path.name.lower().endswith(".ipynb"):
        row.notes.append(f"the file's name does not end in .ipynb ({sub.path.name}); it was graded as a notebook")
    nb, problem = _read_notebook(sub.path)
    name = None
    if nb is not None:
        name = _which_exercise(sub, nb, exercises, opts)
    else:
        name = _named_exercise(sub, exercises, opts)
    if name is None and len(exercises) == 1:
        name = next(iter(exercises))
    ex = exercises.get(name)
    if ex is not None and sub.assignment in exercises and sub.assignment != name:
        row.notes.append(f"submitted as {sub.assignment}, but the notebook is {name}: graded as {name}")
        row.assignment = name          # the row's assignment is what its score is out of
    if ex is not None:
        row.exercise = name
        row.assignment = row.assignment or name
        row.max_score = ex.max_score
        row.functions = {f.name: {"points": 0.0, "max_points": f.points, "reason": "", "checks": []}
                         for f in ex.functions}
    if problem:
        if ex is None:
            problem += "; nothing says which exercise it is, so it has no maximum score (give --assignment)"
        return _fail_all(row, problem)
    if ex is None:
        return _fail_all(row, "could not tell which exercise this notebook answers (give --assignment)")

    learner = _learner_cells(nb)
    sources = [src for _, src in learner]
    trees, definitions, syntax_errors = static.analyse(sources)
    row.review = static.review_flags(trees, ex.own_trees)
    if row.review:
        row.notes.append(f"review by hand: the notebook {', '.join(row.review)} (ways around the grader's "
                         "checks; an answer needs none of them)")
    work = Path(workdir) / "work"
    io = Path(workdir) / "io"
    io.mkdir(parents=True)
    too_big = sub.folder is not None and _too_big_to_copy(sub.folder)
    if too_big:
        row.notes.append(f"its folder {sub.folder} {too_big}: only the notebook was copied for the run")
    if sub.folder is not None and not too_big:
        shutil.copytree(sub.folder, work, ignore=_not_copied)
    else:
        work.mkdir()
        shutil.copy2(sub.path, work / sub.path.name)
    harness_path = io / "harness.py"
    harness_path.write_text(_harness_source(), encoding="utf-8")

    cells = [{"kind": "learner", "source": src} for src in sources]
    plans = {}
    for f in ex.functions:
        chk = selfcheck.get_check(f.name)
        cases = [(False, c) for c in chk.visible] + [(True, c) for c in f.hidden]
        data = [chk.inputs(c) for _, c in cases]
        arrays = {}
        transport.save(str(io / f"in_{f.name}"), {"cases": [transport.encode(d, arrays) for d in data]}, arrays)
        spec = {"function": f.name, "args": list(chk.args), "callables": chk.callables,
                "forbidden": list(chk.blocked), "case_timeout": min(opts.case_timeout, opts.cell_timeout),
                "inputs_stem": str(io / f"in_{f.name}"), "out_stem": str(io / f"out_{f.name}")}
        spec_path = io / f"spec_{f.name}.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        plans[f.name] = (chk, cases, data, len(cells))
        cells.append({"kind": "harness", "source": HARNESS_CELL.format(harness=str(harness_path), spec=str(spec_path)),
                      "inputs": [f"{spec['inputs_stem']}.{ext}" for ext in ("json", "npz")],
                      "outputs": [f"{spec['out_stem']}.{ext}" for ext in ("json", "npz")],
                      # the harness bounds every call itself; this limit is a backstop
                      "timeout": spec["case_timeout"] * len(cases) + opts.cell_timeout})
    job = {"cells": cells, "cwd": str(work), "budget": opts.timeout, "cell_timeout": opts.cell_timeout,
           "hidden": [path for c in cells for path in c.get("inputs", ())],
           "memory": opts.memory, "output_cap": opts.output_cap,
           "status_path": str(io / "status.json"), "pid_path": str(io / "kernel.pid")}
    sealed = _fingerprints(io)
    status, failure = worker.run(job, io / "job.json") if worker else _run_worker(job, io / "job.json")
    if not io.is_dir():
        row.folder_lost = True
        return _fail_all(row, "the grader's folder for this submission was deleted while it ran (by this "
                              "notebook, or by another one graded at the same time)")
    if status is None:
        return _fail_all(row, failure)
    changed = [name for name, digest in sealed.items() if _fingerprint(io / name) != digest]
    if changed and not alone:          # this notebook, or one graded beside it: grade it again, alone
        row.folder_lost = True
        return _fail_all(row, f"the grader's own files changed while it ran ({', '.join(changed)})")
    if changed:
        return _fail_all(row, f"no credit: the notebook changed the grader's own files ({', '.join(changed)})")
    if status.get("worker_error"):     # the grader's worker failed (e.g. a message it could not read)
        if not alone:
            row.folder_lost = True
        else:
            row.grader_error = True
        return _fail_all(row, f"the grader's worker failed while running it: {status['worker_error']}")
    if status.get("startup_error"):    # this machine's Jupyter, not the submission: a grader error
        row.grader_error = True
        return _fail_all(row, f"the kernel did not start: {status['startup_error']}")
    row.graded = True
    if status.get("output_chars", 0) > opts.output_cap:
        row.notes.append(f"the notebook printed {status['output_chars']:,} characters"
                         f"{_loudest(status, learner, plans)}; output beyond {opts.output_cap:,} was ignored")
    cell_status = status["cells"]
    raised = []
    for i, st in enumerate(cell_status[:len(learner)]):
        if st.get("status") in ("timeout", "died"):
            row.notes.append(f"cell {learner[i][0]} {_cell_problem(st)}; it was left out")
        elif st.get("status") == "error":
            raised.append(f"cell {learner[i][0]} {_cell_problem(st)[:200]}")
    if raised:        # often why a function is missing or fails: an import or a helper that broke
        row.notes.append("; ".join(raised[:3]) + (f" (and {len(raised) - 3} more cells)" if len(raised) > 3 else ""))
    for f in ex.functions:
        chk, cases, data, harness_index = plans[f.name]
        entry = row.functions[f.name]
        reason, checks = _judge_function(f, chk, cases, data, io, cell_status, harness_index,
                                         learner, trees, definitions, syntax_errors, opts)
        entry["checks"] = checks
        if reason:
            entry["reason"] = reason
        else:
            entry["points"] = f.points
            entry["reason"] = f"all {len(cases)} checks passed"
    for f in ex.functions:      # a loop that calls a failing helper of the learner's fails with it: say so
        entry, chk = row.functions[f.name], plans[f.name][0]
        failing = [u for u in chk.uses if u in row.functions and not row.functions[u].get("points")]
        if failing and not entry.get("points") and "not written yet" not in entry["reason"]:
            entry["reason"] += (f" ({f.name} is told to call {' and '.join(failing)}, which "
                                f"{'fails' if len(failing) == 1 else 'fail'} its own checks: the error may be there)")
    row.score = sum(e["points"] for e in row.functions.values())
    return row


COPY_LIMIT = (100_000_000, 2_000)     # bytes and files of a submission's folder, at most


def _too_big_to_copy(folder):
    """'' when ``folder`` is small enough to copy for the run, else what is too much (a student's
    folder holds a notebook and a helper or two, not a downloads folder, a dataset or a venv)."""
    limit, size, count = COPY_LIMIT, 0, 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".ipynb_checkpoints"]
        count += len(names) + len(dirs)
        for n in names:
            try:
                size += os.lstat(os.path.join(root, n)).st_size
            except OSError:
                pass
        if size > limit[0] or count > limit[1]:
            return f"holds more than {limit[0] / 1e6:.0f} MB or {limit[1]:,} files"
    return ""


def _not_copied(folder, names):
    """What the copy of a submission's folder leaves out: checkpoints, broken links, and anything
    that is neither a file nor a folder (a named pipe would block the copy forever)."""
    def special(name):
        try:
            mode = os.stat(os.path.join(folder, name)).st_mode     # a link: what it points to
        except OSError:
            return True
        return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
    return [n for n in names if n == ".ipynb_checkpoints" or special(n)]


def _fingerprint(path):
    try:
        with transport.open_regular(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except (OSError, ValueError):
        return None


def _fingerprints(folder):
    """{file name: sha256} of the grader's files (harness, specs, inputs) before the run."""
    return {p.name: _fingerprint(p) for p in sorted(Path(folder).iterdir()) if p.is_file()}


def _fail_all(row, reason):
    row.notes.append(reason)
    for entry in row.functions.values():
        entry["reason"] = reason
    return row


def _judge_function(f, chk, cases, data, io, cell_status, harness_index, learner, trees, definitions,
                    syntax_errors, opts):
    """(reason or None, per-check list) for one graded function."""
    name = f.name
    where = definitions.get(name)
    cell_no = learner[where[0]][0] if where else None
    uses = static.package_uses(name, chk.blocked, trees, definitions)
    if uses:
        return (f"no credit: {name} uses the package's own {', '.join(uses)} instead of computing the "
                "answer itself"), []
    out_stem = io / f"out_{name}"
    st = cell_status[harness_index]
    try:
        if st.get("status") != "ok":   # results beside a failed harness cell are not the harness's
            raise FileNotFoundError(out_stem)
        result, arrays = transport.load(str(out_stem))
    except FileNotFoundError:
        problem = _cell_problem(st)
        if st.get("status") == "ok":
            problem = ("the grader's call did not run: the notebook changes how later cells run "
                       "(e.g. an IPython input transformer or a patched builtin)")
        elif st.get("status") == "died":
            problem = f"the kernel died while the grader called {name} (sys.exit/os._exit, a crash, or memory exhausted)"
        elif st.get("status") == "error":
            problem = f"the grader's call of {name} failed: {problem}"
        elif st.get("status") == "timeout":
            problem = f"the grader's call of {name} {problem}"
        else:
            problem = f"{name} was not checked: the submission used up its time limit of {opts.timeout:g} s"
        return problem, []
    except (ValueError, OSError, KeyError, RecursionError, zipfile.BadZipFile) as e:
        return f"the results of {name} could not be read ({type(e).__name__}: {str(e)[:200]})", []

    status = result.get("status")
    if status == "missing":
        if where is None:
            hint = next((f" (cell {learner[i][0]} has a syntax error: {m})" for i, m in syntax_errors.items()
                         if f"def {name}" in learner[i][1]), "")
            return f"no function named {name} in the notebook (renamed or deleted?){hint}", []
        st = cell_status[where[0]]
        return f"{name} is not defined when the notebook has run: the cell defining it (cell {cell_no}) {_cell_problem(st) or 'did not define it'}", []
    if status == "not_callable":
        return f"{name} is a {result.get('type')}, not a function", []
    if result.get("is_package_function"):
        return f"no credit: {name} is the package's own {', '.join(result['is_package_function'])}", []
    source = result.get("source")
    if not source or not _defined_in_cells(source, [s for _, s in learner]):
        return (f"no credit: the {name} that ran is not written in the notebook's cells (created with exec, "
                "or loaded from another file)"), []
    checks, first, first_named = [], None, False
    records = result.get("cases", [])
    for j, ((hidden, case), d) in enumerate(zip(cases, data)):
        label = f"{'hidden' if hidden else 'visible'} check {j + 1} ({chk.describe(case)})"
        rec = records[j] if j < len(records) else {"status": "not_run"}
        verdict = _judge_case(chk, rec, d, arrays, opts)
        checks.append({"check": label, "hidden": hidden, "ok": verdict.ok, "reason": verdict.reason,
                       "mistake": verdict.mistake})
        if not verdict.ok and (first is None or (verdict.mistake and not first_named)):
            first, first_named = f"{label}: {verdict.reason}", bool(verdict.mistake)
    return first, checks


def _judge_case(chk, rec, data, arrays, opts):
    s = rec.get("status")
    calls = rec.get("package_calls")
    if calls and kernel_side.WATCH_OFF in calls:
        return selfcheck.Verdict(False, f"no credit: {chk.name} turned off the grader's watch of "
                                        "package calls (sys.setprofile)")
    if calls:
        return selfcheck.Verdict(False, f"no credit: {chk.name} calls the package's own {', '.join(calls)}")
    if s == "timeout":
        return selfcheck.Verdict(False, f"{chk.name} did not return within "
                                        f"{min(opts.case_timeout, opts.cell_timeout):g} s (an infinite loop, or a "
                                        f"loop over the entries where the exercise asks for array operations?)")
    if s == "not_run":
        return selfcheck.Verdict(False, "not run: an earlier call of this function did not return")
    expected = chk.expected(data)
    if s == "error":
        return selfcheck.judge(chk, data, data, expected, error=(rec.get("ename"), rec.get("evalue")))
    obtained = transport.decode(rec.get("output"), arrays)
    after = transport.decode(rec.get("inputs_after"), arrays)
    if not isinstance(after, dict):
        after = data
    return selfcheck.judge(chk, data, after, expected, obtained)


def _defined_in_cells(source, cell_sources):
    """True when the function's source text is part of one of the notebook's cells."""
    lines = [l.rstrip() for l in source.strip().splitlines() if l.strip()]
    if not lines:
        return False
    for cell in cell_sources:
        cell_lines = [l.rstrip() for l in cell.splitlines() if l.strip()]
        stripped = [l.strip() for l in cell_lines]
        want = [l.strip() for l in lines]
        for k in range(len(stripped) - len(want) + 1):
            if stripped[k:k + len(want)] == want:
                return True
    return False


# ---------------------------------------------------------------- a class

def grade(paths, out=None, json_out=None, jobs=None, solutions=authoring.SOLUTIONS, progress=True,
          **options):
    """Grade every submission under ``paths``; write the CSV / JSON; return the rows.

    Inputs:
    - paths: notebooks or folders of them
    - out, json_out: where to write the CSV and the JSON (None: not written)
    - jobs: submissions graded at once (default: the number of cores)
    - solutions: the folder of solution notebooks (the hidden checks come from there)
    - options: fields of Options (timeout, cell_timeout, case_timeout, memory, output_cap, assignment)
    """
    opts = Options(**options)
    exercises = load_exercises(solutions)
    if opts.assignment is not None and opts.assignment not in exercises:
        raise ValueError(f"--assignment {opts.assignment!r} is not one of {', '.join(exercises)}")
    subs = find_submissions(paths, exercises)
    if not subs:     # refused before the outputs are touched: an earlier grades.csv stays as it was
        raise ValueError(f"no notebooks (*.ipynb) found in {', '.join(str(p) for p in paths)}")
    _check_outputs({"--out": out, "--json": json_out}, subs)
    jobs = max(1, jobs or os.cpu_count() or 1)
    rows = [None] * len(subs)
    _harness_source()
    installation = _installation(solutions)
    sealed = _seal(installation)
    from tqdm.auto import tqdm
    with tempfile.TemporaryDirectory(prefix="bpcourse-grade-", ignore_cleanup_errors=True) as tmp:
        local, workers = threading.local(), []
        stopping = threading.Event()       # Ctrl-C: nothing new starts

        def worker():
            if os.name == "nt":        # no select() on pipes: one process per submission
                return None
            if not hasattr(local, "worker"):
                local.worker = _Worker(Path(tmp) / f"worker{threading.get_ident()}.log", stopping)
                workers.append(local.worker)
            return local.worker

        def task(i, s):
            if stopping.is_set():
                return None
            return _grade_safely(s, exercises, opts, _fresh_folder(tmp, f"s{i:05d}-"), worker(), alone=jobs == 1)

        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool, \
                    tqdm(total=len(subs), desc="grading", unit="nb", disable=not progress or None) as bar:
                futures = {pool.submit(task, i, s): i for i, s in enumerate(subs)}
                try:
                    for fut in as_completed(futures):
                        rows[futures[fut]] = fut.result()
                        bar.update(1)
                        changed = _changed_files(sealed, installation)
                        if changed:    # nothing graded from now on could be trusted: stop
                            in_flight = [i for f, i in futures.items() if f is fut or f.running()]
                            for i in in_flight:        # their rows may be the tampered ones
                                rows[i] = None
                            stopping.set()
                            pool.shutdown(wait=False, cancel_futures=True)
                            _stop_workers(list(workers))
                            _write_tables([r for r in rows if r is not None], out, json_out, exercises, ".partial")
                            raise GraderTampered(changed, [str(subs[i].path) for i in in_flight],
                                                 sum(r is not None for r in rows), len(subs))
                        # so far, beside the final files: an interrupted or killed run keeps what it
                        # graded, and the previous tables stay as they were until the end
                        _write_tables([r for r in rows if r is not None], out, json_out, exercises, ".partial")
                except KeyboardInterrupt:
                    # Ctrl-C: stop now, not after the queue. The submissions being graded are
                    # cut short (their rows would be wrong), the rest never start.
                    stopping.set()
                    pool.shutdown(wait=False, cancel_futures=True)
                    _stop_workers(list(workers))
                    raise GradingInterrupted(sum(r is not None for r in rows), len(subs)) from None
        finally:
            for w in workers:
                w.close()
        # a notebook that deletes ../.. (or writes in ../../*/io) also hits the submissions graded
        # beside it: grade those again, one at a time, so only the notebook that does it is affected
        for i, s in enumerate(subs):
            if rows[i].folder_lost:
                rows[i] = _grade_safely(s, exercises, opts, _fresh_folder(tmp, f"again-s{i:05d}-"), alone=True)
    _note_duplicates(rows)
    _write_tables(rows, out, json_out, exercises)
    for path in (out, json_out):
        if path:
            Path(f"{path}.partial").unlink(missing_ok=True)
    return rows


def _stop_workers(workers, grace=3.0):
    """End the workers (and so their kernels) now; one that has not gone after ``grace`` seconds
    is killed with its process group."""
    procs = [p for p in (w.stop() for w in workers) if p is not None]
    end = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)


def _installation(solutions):
    """The folders the grades depend on besides the submissions: the installed bpcourse package
    (the kernels import it) and the solutions (the hidden checks)."""
    return [Path(selfcheck.__file__).resolve().parent, Path(solutions).resolve()]


def _seal(roots):
    """{path: sha256} of every file under ``roots``, and of every compiled file (``__pycache__``)
    that does not hold its source's code. A kernel may rewrite a stale compiled file, with the
    same code, legitimately; one with other code would run in every later kernel that imports
    the module, so it counts as a change."""
    sealed = {}
    for p in (p for root in roots for p in sorted(root.rglob("*")) if p.is_file()):
        digest = _fingerprint(p)
        if "__pycache__" not in p.parts or not _compiled_from_source(p, digest):
            sealed[p] = digest
    return sealed


@functools.lru_cache(maxsize=None)
def _compiled_from_source(pyc, digest):
    """False when ``pyc`` holds code this Python would run at the next import of its module
    and that code is not its source's, compiled (``digest``: the file's sha256, so that each
    version is compiled once). Files this Python never loads (another version's, a wrong
    magic number, no source beside them) are harmless: True."""
    parts = pyc.name.split(".")            # activations.cpython-311.pyc, activations.cpython-311.opt-1.pyc
    source = pyc.parent.parent / f"{parts[0]}.py"
    if len(parts) not in (3, 4) or parts[1] != sys.implementation.cache_tag or not source.is_file():
        return True
    try:
        with transport.open_regular(pyc, "rb") as f:
            data = f.read()
        if data[:4] != importlib.util.MAGIC_NUMBER:
            return True
        optimize = int(parts[2][len("opt-"):]) if len(parts) == 4 else 0
        # code objects compare everything but the file name (nested functions included)
        return marshal.loads(data[16:]) == compile(source.read_bytes(), str(source), "exec",
                                                   dont_inherit=True, optimize=optimize)
    except Exception:        # a link, or not code (an import would fail on it): reported, the safe side
        return False


def _changed_files(sealed, roots):
    """The sealed files that changed or vanished, new files under ``roots``, and compiled files
    that hold other code than their source's (one that became right again is not a change)."""
    now = _seal(roots)
    return sorted(str(p) for p in set(sealed) | set(now)
                  if sealed.get(p) != now.get(p) and (p in now or "__pycache__" not in p.parts))


class GraderTampered(RuntimeError):
    """The installed package or the solutions changed while submissions were graded."""

    def __init__(self, changed, suspects, graded, total):
        super().__init__(
            f"grading stopped: {', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''} changed while "
            f"{' or '.join(suspects)} was being graded. A notebook may have written into the grader's own "
            f"files; the grades of it and of every notebook graded after it cannot be trusted. The "
            f"{graded} of {total} submission(s) graded before are in the .partial tables. Reinstall "
            f"bpcourse (and restore the solutions), then grade the rest without that notebook, or "
            f"grade it alone in a throwaway environment.")
        self.changed, self.suspects, self.graded, self.total = changed, suspects, graded, total


class GradingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``grade``: ``graded`` of ``total`` submissions are in the .partial tables."""

    def __init__(self, graded, total):
        super().__init__(f"interrupted after {graded} of {total} submission(s)")
        self.graded, self.total = graded, total


def _note_duplicates(rows):
    """Two rows for one student and exercise (sec1/sam.ipynb and sec2/sam.ipynb): say so in both,
    naming the other file, rather than leave the reader to guess which one counts."""
    by_key = {}
    for r in rows:
        by_key.setdefault((r.student_id, r.exercise or r.assignment), []).append(r)
    for same in by_key.values():
        for r in same if len(same) > 1 else ():
            others = ", ".join(o.file for o in same if o is not r)
            r.notes.insert(0, f"the same student and exercise as {others}: check which file counts")


def _write_tables(rows, out, json_out, exercises, suffix=""):
    """The CSV and the JSON of ``rows`` (each only when asked for), at their paths + ``suffix``."""
    if out:
        write_csv(rows, f"{out}{suffix}", exercises)
    if json_out:
        with _replacing(f"{json_out}{suffix}") as f:
            json.dump([r.as_json() for r in rows], f, indent=1)


def _check_outputs(outputs, subs):
    """Refuse, before any grading, output paths that would fail or destroy something at the end."""
    given = {arg: Path(path) for arg, path in outputs.items() if path}
    inputs = {s.path.resolve() for s in subs}
    for arg, path in given.items():
        if path.is_dir():
            raise ValueError(f"{arg} {path} is a folder; give a file name, e.g. {path / 'grades.csv'}")
        if not path.parent.is_dir():
            raise FileNotFoundError(f"{arg} {path}: the folder {path.parent} does not exist")
        if path.resolve() in inputs:
            raise ValueError(f"{arg} {path} is one of the submissions: it would be overwritten")
        try:        # the table and its .partial copy are written beside the file: try it now, not at the end
            tempfile.TemporaryFile(dir=path.parent).close()
        except OSError as e:
            raise ValueError(f"{arg} {path}: cannot write in {path.parent} ({e.strerror or e})") from None
    if len(given) == 2 and len({p.resolve() for p in given.values()}) == 1:
        raise ValueError(f"--out and --json are the same file ({given['--out']}): one would replace the other")


@contextmanager
def _replacing(path):
    """Write ``path`` through a temporary file beside it, so a failure leaves the old file as it
    was. File names that are not valid UTF-8 (student ids) are written with backslash escapes."""
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fresh_folder(parent, prefix):
    """A new, empty folder with an unguessable name: a notebook graded earlier cannot have made
    (or filled) the folder of one graded after it."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def _grade_safely(sub, exercises, opts, workdir, worker=None, alone=False):
    """grade_submission, but an unexpected failure of the grader still gives the submission its row."""
    start = time.perf_counter()
    try:
        row = grade_submission(sub, exercises, opts, workdir, worker, alone)
    except Exception as e:             # a bug of ours must not cost the class its table
        row = _fail_all(_new_row(sub), f"the grader failed on this submission ({type(e).__name__}: {e}); "
                                       "please report it")
        if isinstance(e, FileExistsError) or (isinstance(e, OSError) and not (Path(workdir) / "io").is_dir()):
            row.folder_lost = True     # not our bug: another notebook deleted or filled its folder (graded again)
        else:
            row.grader_error = True
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    row.notes.append(f"graded in {time.perf_counter() - start:.1f} s")
    return row


def lost_point_reasons(row):
    """One line for the CSV: what went wrong in the notebook, then why each function lost points
    (a reason already said for the whole notebook is not repeated per function)."""
    notes = [n for n in row.notes if not n.startswith("graded in ")]
    lost = [f"{name}: {f['reason']}" for name, f in row.functions.items()
            if f["points"] < f["max_points"] and f["reason"] not in notes]
    return " ".join("; ".join(notes + lost).split())    # one line: an error's newlines become spaces


def write_csv(rows, path, exercises):
    """nbgrader's grades.csv columns, one column per graded function, the file, then why points
    were lost."""
    functions = []
    for ex in exercises.values():
        if any(r.exercise == ex.name for r in rows):
            functions += [f.name for f in ex.functions if f.name not in functions]
    with _replacing(path) as f:
        w = csv.writer(f)
        w.writerow(NBGRADER_COLUMNS + functions + ["file", "reasons"])
        for r in rows:
            w.writerow([r.assignment, "", r.timestamp, r.student_id, "", "", "", f"{r.score:g}", "0",
                        f"{r.score:g}", f"{r.max_score:g}"]
                       + [f"{r.functions[fn]['points']:g}" if fn in r.functions else "" for fn in functions]
                       + [r.file, lost_point_reasons(r)])
