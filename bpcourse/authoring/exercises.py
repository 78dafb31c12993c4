"""Build exercises/ from solutions/, and check that exercises/ is current.

solutions/ is the single source (conventions: solutions/README.md). For each
``solutions/ex*.ipynb`` the learner's version replaces every answer region
(``### BEGIN SOLUTION`` ... ``### END SOLUTION``) by a stub, deletes every hidden
test region (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``), clears the
outputs and tags the cells that fail until the learner has answered
``raises-exception`` (so nbval accepts them).
"""
import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import course_root

ROOT = course_root()
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
MARKDOWN_STUB = ["YOUR ANSWER HERE"]
RAISES = "raises-exception"
NBGRADER_KEYS = {"schema_version", "grade_id", "solution", "grade", "locked"}


class ExerciseError(ValueError):
    """A solution notebook breaks the conventions of solutions/README.md."""


def _replace_regions(source, begin, end, stub, where):
    """Replace each begin..end region (marker lines included) by ``stub`` at the marker's indentation."""
    out, inside, indent = [], False, ""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            if inside:
                raise ExerciseError(f"{where}: '{begin}' inside an open region")
            inside, indent = True, line[:len(line) - len(line.lstrip())]
            out.extend(indent + s for s in stub)
        elif stripped == end:
            if not inside:
                raise ExerciseError(f"{where}: '{end}' without '{begin}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ExerciseError(f"{where}: '{begin}' is never closed by '{end}'")
    return "\n".join(out)


def hidden_cases(source, where="cell"):
    """The hidden cases of a check cell: {function name: [case dicts]}.

    Reads the calls ``selfcheck.hidden("name", fn, cases=[...])`` between the
    hidden-test markers with ``ast.literal_eval``; nothing is executed.
    """
    found, inside, lines = {}, False, []
    for line in source.splitlines():
        if line.strip() == BEGIN_HIDDEN:
            inside = True
        elif line.strip() == END_HIDDEN:
            inside = False
        elif inside:
            lines.append(line)
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as e:
        raise ExerciseError(f"{where}: the hidden tests do not parse: {e}") from None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "hidden"):
            try:
                name = ast.literal_eval(node.args[0])
                kw = {k.arg: k.value for k in node.keywords}
                cases = ast.literal_eval(kw["cases"] if "cases" in kw else node.args[2])
            except (ValueError, IndexError, KeyError, SyntaxError):
                raise ExerciseError(f"{where}: write hidden checks as selfcheck.hidden(\"name\", fn, "
                                    "cases=[{...}, ...]) with literal cases") from None
            found.setdefault(name, []).extend(cases)
    return found


@dataclass
class GradedFunction:
    """One graded function of an exercise, as the solution notebook declares it."""
    name: str
    points: float
    hidden: list
    answer_grade_id: str
    check_grade_id: str


def graded_functions(nb, where="notebook"):
    """The graded functions of a solution notebook, in order, validated against the conventions."""
    from .. import selfcheck

    answers, result = {}, []
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("bpcourse", {})
        role = meta.get("role")
        if role not in ("answer", "check"):
            continue
        at = f"{where}, cell {i}"
        nbg = cell.metadata.get("nbgrader")
        if not nbg or not NBGRADER_KEYS <= set(nbg) or nbg.get("schema_version") != 3:
            raise ExerciseError(f"{at}: a {role} cell needs nbgrader metadata with schema_version 3 and "
                                f"{', '.join(sorted(NBGRADER_KEYS - {'schema_version'}))}")
        fn = meta.get("function")
        if fn not in selfcheck.CHECKS:
            raise ExerciseError(f"{at}: function {fn!r} has no registered check in bpcourse/selfcheck.py")
        if role == "answer":
            if BEGIN_SOLUTION not in cell.source:
                raise ExerciseError(f"{at}: the answer cell of {fn!r} has no {BEGIN_SOLUTION} region (is this an "
                                    "exercise notebook? the solutions/ notebooks hold the answers)")
            if not (nbg["solution"] and not nbg["grade"]):
                raise ExerciseError(f"{at}: an answer cell needs nbgrader solution=true and grade=false")
            answers[fn] = nbg["grade_id"]
        else:
            if not (nbg["grade"] and not nbg["solution"] and "points" in nbg):
                raise ExerciseError(f"{at}: a check cell has grade=true, solution=false and points")
            if fn not in answers:
                raise ExerciseError(f"{at}: the check of {fn!r} comes before its answer cell")
            cases = hidden_cases(cell.source, at).get(fn, [])
            result.append(GradedFunction(fn, float(nbg["points"]), cases, answers[fn], nbg["grade_id"]))
    if not result:
        raise ExerciseError(f"{where}: no graded function (cells with bpcourse role 'answer' and 'check')")
    return result


def _tag(cell, tag):
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def make_exercise(nb, name):
    """The learner's version of the solution notebook ``nb`` (a new notebook; nb is unchanged)."""
    graded_functions(nb, name)
    ex = nbformat.reads(nbformat.writes(nb), as_version=4)   # a deep copy
    for i, cell in enumerate(ex.cells):
        where = f"{name}, cell {i}"
        role = cell.metadata.get("bpcourse", {}).get("role")
        if cell.cell_type == "code":
            cell.source = _replace_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION, CODE_STUB, where)
            cell.source = _replace_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN, [], where).rstrip()
            cell.outputs = []
            cell.execution_count = None
            if role in ("answer", "check", "demo"):
                _tag(cell, RAISES)
        elif cell.cell_type == "markdown":
            cell.source = _replace_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION, MARKDOWN_STUB, where)
        cell.metadata.pop("execution", None)
    ex.metadata["bpcourse"] = {"exercise": name}
    return ex


def _solution_paths(solutions):
    paths = sorted(Path(solutions).glob("ex*.ipynb"))
    if not paths:
        raise ExerciseError(f"no solution notebooks (ex*.ipynb) in {solutions} (run the command in the "
                            "course's folder, or give --solutions FOLDER)")
    return paths


def render(solution_path):
    """The text of the exercise notebook built from one solution notebook."""
    path = Path(solution_path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        raise ExerciseError(f"{path}: not a readable notebook: {e}") from None
    return nbformat.writes(make_exercise(nb, path.stem)) + "\n"


def build(solutions=SOLUTIONS, exercises=EXERCISES):
    """Write exercises/<name>.ipynb for every solutions/ex*.ipynb.

    Returns (paths written, other ex*.ipynb files in the folder). The others are left alone:
    a stale exercise of a renamed solution, or someone's own copy (``ex1_forward (1).ipynb``);
    which one it is, a person decides (``check`` reports them).
    """
    exercises = Path(exercises)
    if exercises.resolve() == Path(solutions).resolve():
        raise ExerciseError(f"the exercises folder {exercises} is the solutions folder: building would "
                            "overwrite every solution with its exercise")
    paths = _solution_paths(solutions)
    exercises.mkdir(parents=True, exist_ok=True)
    written, names = [], set()
    for path in paths:
        target = exercises / path.name
        text = render(path)
        names.add(path.name)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    others = sorted(p for p in exercises.glob("ex*.ipynb") if p.name not in names)
    return written, others


def check(solutions=SOLUTIONS, exercises=EXERCISES):
    """The problems that make exercises/ out of date: [] when it is current.

    Each problem names the notebook: missing, different from what the build
    would write, or without a solution.
    """
    exercises = Path(exercises)
    problems, names = [], set()
    for path in _solution_paths(solutions):
        names.add(path.name)
        target = exercises / path.name
        if not target.exists():
            problems.append(f"{target}: missing (built from {path})")
        elif target.read_text(encoding="utf-8") != render(path):
            problems.append(f"{target}: out of date with {path}")
    for old in sorted(exercises.glob("ex*.ipynb")):
        if old.name not in names:
            problems.append(f"{old}: has no solution notebook in {solutions}")
    return problems

