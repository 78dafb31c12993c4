"""The command line and the package's import hygiene."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bpcourse import cli

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_the_commands(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert "info" in out and "notebooks" in out


def test_info_prints_versions_and_places(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "bpcourse 0." in out and "numpy" in out and "bundled data:" in out and "MNIST cache:" in out


def test_import_is_silent_with_warnings_as_errors():
    result = subprocess.run([sys.executable, "-W", "error", "-c", "import bpcourse"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_the_maths_never_imports_the_tools():
    code = ("import sys, bpcourse, bpcourse.network, bpcourse.training, bpcourse.gradcheck; "
            "bad = [m for m in sys.modules if m.startswith(('bpcourse.data', 'bpcourse.plots', "
            "'bpcourse.widgets', 'bpcourse.grading', 'bpcourse.authoring', 'bpcourse.selfcheck', 'matplotlib'))]; "
            "print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_notebooks_run_executes_in_place_and_times_each_cell(tmp_path, capfd):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(0.3)"),
                                         nbformat.v4.new_code_cell("print(6 * 7)"),
                                         nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.IntSlider()"),
                                         nbformat.v4.new_code_cell("print('a', flush=True)\ntime.sleep(0.1)\nprint('b')"),
                                         nbformat.v4.new_code_cell("get_ipython().kernel.log.error('kernel-log-probe')")])
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    assert cli.main(["notebooks", "run", str(path), "--slow", "0.2"]) == 0
    saved = nbformat.read(path, as_version=4)
    assert saved.cells[1].outputs[0]["text"] == "42\n"
    assert "execution" not in saved.cells[0].metadata          # timing noise is not stored
    assert "widgets" not in saved.metadata
    first = path.read_bytes()                                   # a second run changes nothing
    assert cli.main(["notebooks", "run", str(path), "--slow", "0.2"]) == 0
    assert path.read_bytes() == first
    # printing cut into two messages by the pause is stored as one output: re-runs do not churn
    assert [(o["output_type"], o["text"]) for o in saved.cells[3].outputs] == [("stream", "a\nb\n")]
    out = capfd.readouterr()                                    # capfd: the kernel's own stderr too
    assert "cell 0" in out.out + out.err                        # the slow cell is flagged, by index
    if os.name == "posix":                                      # Unix sockets, not plain localhost TCP
        assert "without encryption" not in out.err, out.err
    # the kernel's own log (e.g. "KeyboardInterrupt caught in kernel" from the interrupt that
    # precedes every shutdown) is not an instructor's business; cell errors come as messages
    assert "kernel-log-probe" not in out.err, out.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.ipynb"]   # no socket or connection files left


def test_notebooks_run_names_the_notebook_and_cell_that_failed(tmp_path, capsys):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("1 / 0")])
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    assert cli.main(["notebooks", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "broken.ipynb" in err and "cell 1" in err and "ZeroDivisionError" in err, err
    assert path.read_bytes() == before
    assert cli.main(["notebooks", "run", str(tmp_path / "missing.ipynb")]) == 2
    (tmp_path / "empty.ipynb").write_text("")
    assert cli.main(["notebooks", "run", str(tmp_path / "empty.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "missing.ipynb" in err and "empty.ipynb: not a readable notebook" in err, err


def test_notebooks_check_executes_without_changing_the_file(tmp_path, capsys):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    assert cli.main(["notebooks", "check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "lesson.ipynb:" in out and "1 notebook(s) ran without errors" in out and "no file was changed" in out
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["lesson.ipynb"]
    (tmp_path / "broken.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("1 / 0")])))
    # a room check goes on past a failing notebook and lists every failure at the end
    assert cli.main(["notebooks", "check", str(tmp_path / "broken.ipynb"), str(path)]) == 1
    out, err = capsys.readouterr()
    assert "bpcourse notebooks check:" in err and "cell 0 raised ZeroDivisionError" in err, err
    assert "lesson.ipynb:" in out and "1 of 2 notebook(s) ran" in err and "1 failed: " in err, (out, err)


def test_notebooks_run_on_a_folder_without_notebooks_says_so(tmp_path, capsys):
    assert cli.main(["notebooks", "run", str(tmp_path)]) == 2
    assert f"no notebooks (*.ipynb) in the folder {tmp_path}" in capsys.readouterr().err


def test_exercises_build_refuses_to_write_over_the_solutions(tmp_path, capsys):
    import shutil

    sols = tmp_path / "sols"
    shutil.copytree(ROOT / "solutions", sols)
    before = {p.name: p.read_bytes() for p in sols.glob("*.ipynb")}
    assert cli.main(["exercises", "build", "--solutions", str(sols), "--exercises", str(sols)]) == 2
    assert "is the solutions folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in sols.glob("*.ipynb")} == before
    assert cli.main(["exercises", "check", "--solutions", str(tmp_path / "none")]) == 2
    assert "no solution notebooks" in capsys.readouterr().err


def test_grade_refuses_a_folder_without_notebooks_and_keeps_the_old_grades(tmp_path, capsys):
    empty = tmp_path / "submissions"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a notebook")
    old = tmp_path / "grades.csv"
    old.write_text("student_id,score\nalice,4\n")
    assert cli.main(["grade", str(empty), "--out", str(old)]) == 2
    assert "no notebooks (*.ipynb) found in" in capsys.readouterr().err
    assert old.read_text() == "student_id,score\nalice,4\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, a folder nobody can write in")
def test_grade_refuses_an_output_folder_it_cannot_write_before_grading(tmp_path, capsys):
    sub = tmp_path / "alice.ipynb"
    sub.write_text((ROOT / "exercises" / "ex1_forward.ipynb").read_text())
    assert cli.main(["grade", str(sub), "--out", "/proc/grades.csv"]) == 2
    err = capsys.readouterr().err
    assert "cannot write in /proc" in err and "graded" not in err


def test_grade_stops_with_status_3_when_the_installation_changed(tmp_path, capsys, monkeypatch):
    from bpcourse.grading import grader

    def tampered(*args, **kwargs):
        raise grader.GraderTampered(["/site/bpcourse/grading/kernel_side.py"], ["subs/eve.ipynb"], 4, 30)

    monkeypatch.setattr(grader, "grade", tampered)
    assert cli.main(["grade", str(tmp_path), "--out", str(tmp_path / "g.csv"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "kernel_side.py changed while subs/eve.ipynb was being graded" in err and "4 of 30" in err
    assert "Reinstall bpcourse" in err


def test_grade_counts_files_it_could_not_run_apart(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ann.ipynb").write_text((ROOT / "exercises" / "ex1_forward.ipynb").read_text())
    (subs / "eve.ipynb").write_text("{not json")
    assert cli.main(["grade", str(subs), "--out", str(tmp_path / "g.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "graded 1 of 2 submission(s)" in out and "1 could not be graded" in out and "eve.ipynb" in out, out


def test_grade_with_the_exercises_as_solutions_says_what_is_wrong(tmp_path, capsys):
    sub = tmp_path / "ann.ipynb"
    sub.write_text((ROOT / "exercises" / "ex1_forward.ipynb").read_text())
    assert cli.main(["grade", str(sub), "--out", str(tmp_path / "g.csv"), "--solutions", str(ROOT / "exercises")]) == 2
    err = capsys.readouterr().err
    assert "has no ### BEGIN SOLUTION region" in err and "the solutions/ notebooks hold the answers" in err, err


def test_notebooks_check_lists_a_notebook_that_kills_its_kernel_and_goes_on(tmp_path, capsys):
    import nbformat

    for name, code in (("a_dies", "import os\nos._exit(1)"), ("b_ok", "print(1)")):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), tmp_path / f"{name}.ipynb")
    assert cli.main(["notebooks", "check", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "a_dies.ipynb: cell 0 killed the kernel" in err and "b_ok.ipynb:" in out, (out, err)
