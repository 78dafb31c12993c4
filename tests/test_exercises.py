"""exercises/ is generated from solutions/: the build, its check, and the conventions it enforces."""
import shutil
from pathlib import Path

import nbformat
import pytest

from bpcourse import cli, selfcheck
from bpcourse.authoring import exercises as ex

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("ex*.ipynb"))


def test_exercises_folder_is_current(capsys):
    assert ex.check() == []
    assert cli.main(["exercises", "check"]) == 0


def test_there_are_six_exercises_with_two_to_four_graded_functions():
    assert [p.stem.split("_")[0] for p in SOLUTIONS] == [f"ex{i}" for i in range(1, 7)]
    for path in SOLUTIONS:
        functions = ex.graded_functions(nbformat.read(path, as_version=4), path.name)
        assert 2 <= len(functions) <= 4, path.name
        for f in functions:
            assert f.points > 0 and f.hidden, f"{path.name}: {f.name} needs points and hidden cases"
            assert selfcheck.CHECKS[f.name].exercise == path.stem


@pytest.fixture
def copies(tmp_path):
    sol, exe = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(ROOT / "solutions", sol, ignore=shutil.ignore_patterns("*.md"))
    ex.build(sol, exe)
    return sol, exe


def test_check_names_the_stale_notebook(copies, capsys):
    sol, exe = copies
    assert ex.check(sol, exe) == []
    nb = nbformat.read(sol / "ex2_loss.ipynb", as_version=4)
    nb.cells[0].source += "\n\nOne more sentence."
    nbformat.write(nb, sol / "ex2_loss.ipynb")
    problems = ex.check(sol, exe)
    assert len(problems) == 1 and "ex2_loss.ipynb" in problems[0] and "out of date" in problems[0]
    assert cli.main(["exercises", "check", "--solutions", str(sol), "--exercises", str(exe)]) == 1
    assert "ex2_loss.ipynb" in capsys.readouterr().err
    ex.build(sol, exe)
    assert ex.check(sol, exe) == []


def test_check_names_missing_and_orphaned_notebooks(copies):
    sol, exe = copies
    (exe / "ex3_backprop.ipynb").unlink()
    shutil.copy(exe / "ex1_forward.ipynb", exe / "ex9_old.ipynb")
    problems = "\n".join(ex.check(sol, exe))
    assert "ex3_backprop.ipynb: missing" in problems and "ex9_old.ipynb: has no solution" in problems
    # a build writes what is missing and deletes nothing: ex9_old may be someone's own copy
    written, others = ex.build(sol, exe)
    assert exe / "ex3_backprop.ipynb" in written and others == [exe / "ex9_old.ipynb"]
    assert (exe / "ex9_old.ipynb").exists()


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_exercise_hides_answers_and_hidden_tests(path):
    solution = nbformat.read(path, as_version=4)
    exercise = nbformat.reads(ex.render(path), as_version=4)
    assert exercise.metadata["bpcourse"] == {"exercise": path.stem}
    assert [c.get("id") for c in exercise.cells] == [c.get("id") for c in solution.cells]
    for sol_cell, cell in zip(solution.cells, exercise.cells):
        assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
        assert "selfcheck.hidden" not in cell.source
        assert sol_cell.metadata.get("nbgrader") == cell.metadata.get("nbgrader")
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None
        role = cell.metadata.get("bpcourse", {}).get("role")
        if role == "answer":
            assert "raise NotImplementedError()" in cell.source
            assert f"def {cell.metadata['bpcourse']['function']}(" in cell.source   # the signature stays
        if role in ("answer", "check", "demo"):
            assert "raises-exception" in cell.metadata.get("tags", [])
        else:
            assert "raises-exception" not in cell.metadata.get("tags", [])


def test_stub_keeps_the_indentation_of_the_markers():
    source = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    y = x\n    ### END SOLUTION\n    return y"
    out = ex._replace_regions(source, ex.BEGIN_SOLUTION, ex.END_SOLUTION, ex.CODE_STUB, "cell")
    assert out == "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n    return y"


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside an open region"),
])
def test_unbalanced_markers_are_refused(source, message):
    with pytest.raises(ex.ExerciseError, match=message):
        ex._replace_regions(source, ex.BEGIN_SOLUTION, ex.END_SOLUTION, ex.CODE_STUB, "ex1, cell 3")


def test_hidden_cases_are_read_without_running_anything():
    source = ('selfcheck.check("sigmoid", sigmoid)\n### BEGIN HIDDEN TESTS\n'
              'selfcheck.hidden("sigmoid", sigmoid, cases=[{"seed": 7, "shape": [2]}])\n### END HIDDEN TESTS')
    assert ex.hidden_cases(source) == {"sigmoid": [{"seed": 7, "shape": [2]}]}
    with pytest.raises(ex.ExerciseError, match="literal"):
        ex.hidden_cases("### BEGIN HIDDEN TESTS\nselfcheck.hidden('sigmoid', sigmoid, cases=make())\n"
                        "### END HIDDEN TESTS")


def test_graded_cells_need_nbgrader_metadata_and_a_registered_check():
    nb = nbformat.read(SOLUTIONS[0], as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("bpcourse", {}).get("role") == "answer")
    del answer.metadata["nbgrader"]["schema_version"]
    with pytest.raises(ex.ExerciseError, match="schema_version 3"):
        ex.graded_functions(nb, "ex1")
    nb = nbformat.read(SOLUTIONS[0], as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("bpcourse", {}).get("role") == "answer")
    answer.metadata["bpcourse"]["function"] = "no_such_function"
    with pytest.raises(ex.ExerciseError, match="no registered check"):
        ex.graded_functions(nb, "ex1")


def test_our_metadata_never_goes_under_nbgrader():
    for path in SOLUTIONS:
        for cell in nbformat.read(path, as_version=4).cells:
            nbg = cell.metadata.get("nbgrader", {})
            assert set(nbg) <= {"schema_version", "grade_id", "points", "solution", "grade", "locked", "task"}


def test_course_root_is_the_checkout_or_else_the_current_folder(tmp_path, monkeypatch):
    """An editable install finds solutions/ beside the package; a plain ``pip install .``
    (the package alone, in site-packages) uses the folder the command runs in."""
    import importlib.util

    from bpcourse.authoring import course_root
    assert course_root() == ROOT
    installed = tmp_path / "site-packages" / "bpcourse" / "authoring"
    installed.mkdir(parents=True)
    shutil.copy(ROOT / "bpcourse" / "authoring" / "__init__.py", installed / "__init__.py")
    spec = importlib.util.spec_from_file_location("installed_authoring", installed / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    course = tmp_path / "course"
    course.mkdir()
    monkeypatch.chdir(course)
    assert module.course_root() == course
