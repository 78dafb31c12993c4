"""The course in a real JupyterLab, the way a learner sees it.

Starts JupyterLab on 127.0.0.1 (the current interpreter, a free port, a token,
settings/workspaces/runtime folders in a temporary directory, news and update
checks off), serving a temporary copy of notebooks/ and solutions/ so that the
repository's files are never touched. Headless Chromium (the system's
/usr/bin/chromium, driven by Playwright's Python package) opens a notebook,
waits for the kernel, clears the stored outputs, runs Run > Run All Cells and
checks what a learner would see: every code cell executed, in order, no error
output, every progress bar full; lesson 1's slider moves its figure and its
training cell's tqdm bar (bpcourse.train(..., progress=True)) reaches 100%; the
first exercise's self-checks show passing verdicts. A small notebook of the
test's own checks the harness itself (a raising cell must be reported).
Screenshots are saved in each test's tmp_path.

Without /usr/bin/chromium or the playwright package the tests skip, saying how
to enable them; with the environment variable CI set they fail instead, so CI
cannot skip them silently.
"""
import os
from pathlib import Path

import pytest

from jupyterlab_driver import (HOW_TO_ENABLE, JupyterLabServer, LabNotebook, copy_course_folders,
                               launch_chromium, missing_requirement)

REPO = Path(__file__).resolve().parents[1]   # the folder holding pyproject.toml
LESSON_1 = "notebooks/01_forward_pass.ipynb"
SOLUTION_PATTERN = "solutions/ex1_*.ipynb"


def require_browser():
    """Skip (fail on CI) when Chromium or Playwright is missing."""
    missing = missing_requirement()
    if missing:
        message = f"browser test not run: {missing}. To run it, {HOW_TO_ENABLE}."
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(message + " CI is set, so this is a failure, not a skip.")
        pytest.skip(message)


def solution_notebook():
    """The first exercise's solution notebook, relative to the repository."""
    found = sorted(REPO.glob(SOLUTION_PATTERN))
    if not found:
        pytest.fail(f"no notebook matches {SOLUTION_PATTERN} in {REPO}")
    return found[0].relative_to(REPO).as_posix()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of notebooks/ and solutions/; always shut down."""
    require_browser()
    root = tmp_path_factory.mktemp("lab_root")
    copy_course_folders(REPO, root, ["notebooks", "solutions"])
    server = JupyterLabServer(root, tmp_path_factory.mktemp("lab_state"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium(lab, tmp_path_factory):
    """Headless system Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path_factory.mktemp("chromium_profile"))
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def open_notebook(lab, chromium, tmp_path):
    """open_notebook(relpath) -> a LabNotebook with its kernel idle, in a new tab.
    Afterwards each tab's last state is saved as tmp_path/final_<n>.png (to see
    why a test failed), the tab is closed and the kernels are shut down."""
    pages = []

    def _open(relpath):
        if not (lab.root_dir / relpath).is_file():
            pytest.fail(f"{relpath} not found in {REPO}")
        page = chromium.new_page()
        pages.append(page)
        notebook = LabNotebook(page, relpath)
        notebook.open(lab.notebook_url(relpath))
        notebook.wait_kernel_idle()
        return notebook

    yield _open
    for n, page in enumerate(pages):
        try:
            page.screenshot(path=str(tmp_path / f"final_{n}.png"))
        finally:
            page.close()
    lab.shutdown_kernels()


def code_cells_of(path):
    """The code cells of the notebook file at ``path``."""
    import nbformat
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def write_notebook(path, sources):
    """Write a notebook of code cells ``sources`` (python3 kernel) at ``path``."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def run_all_cells(notebook, path, timeout_s=90):
    """Clear stored outputs, Run > Run All Cells, and check that every code cell
    of the file at ``path`` ran once, in order, with no error output, and that
    every progress bar shown is full."""
    notebook.clear_outputs()
    notebook.run_all_cells()
    prompts = [c["prompt"] for c in notebook.wait_all_executed(timeout_s)]
    errors = notebook.error_outputs()
    assert not errors, f"{notebook.name}: error output after Run All:\n" + "\n---\n".join(errors)
    expected = [f"[{i}]:" for i in range(1, len(code_cells_of(path)) + 1)]
    assert prompts == expected, f"{notebook.name}: execution counts {prompts}, expected {expected}"
    stuck = [bar for bar in notebook.progress_bars() if bar["width"] != "100%"]
    assert not stuck, f"{notebook.name}: progress bars that did not reach 100%: {stuck}"


def test_lesson_1_runs_and_its_slider_moves_the_figure(lab, open_notebook, tmp_path):
    notebook = open_notebook(LESSON_1)
    run_all_cells(notebook, lab.root_dir / LESSON_1)
    bars = notebook.progress_bars()          # the training cell's tqdm bar (train(..., progress=True))
    assert len(bars) == 1, f"{LESSON_1}: expected one tqdm progress bar widget, found {bars}"
    assert "100%" in bars[0]["text"] and bars[0]["width"] == "100%", (
        f"{LESSON_1}: the training progress bar did not reach 100%: {bars[0]}")

    notebook.wait_for_slider()
    handle = notebook.slider_handles().first
    notebook.wait_for_figure(handle)
    before, after = notebook.move_slider(handle)
    assert after["figures"] != before["figures"], (
        f"{LESSON_1}: moving the slider changed the text but not the figure")
    errors = notebook.error_outputs()
    assert not errors, f"{LESSON_1}: error output after moving the slider:\n" + "\n---\n".join(errors)

    shot = notebook.screenshot(tmp_path / "lesson_1.png", scroll_to=handle)
    print(f"\nscreenshot of {LESSON_1} (slider moved): {shot}")


def test_exercise_solution_runs_and_shows_its_self_checks(lab, open_notebook, tmp_path):
    relpath = solution_notebook()
    notebook = open_notebook(relpath)
    run_all_cells(notebook, lab.root_dir / relpath)

    # Every check cell (metadata bpcourse.role == "check") shows its verdict; a
    # failing check raises, which run_all_cells reports as an error output.
    cells = code_cells_of(lab.root_dir / relpath)
    checks = {i: c.metadata["bpcourse"].get("function", "") for i, c in enumerate(cells)
              if c.metadata.get("bpcourse", {}).get("role") == "check"}
    assert checks, f"{relpath}: no check cell (metadata bpcourse.role == 'check')"
    for i, function in checks.items():
        verdict = notebook.stdout_of_code_cell(i)
        assert f"{function}:" in verdict and "passed" in verdict, (
            f"{relpath}: the self-check of {function!r} (code cell {i}) shows no passing verdict: "
            f"{verdict!r}")
    first = min(checks)
    print(f"\nself-check verdict in {relpath}:\n{notebook.stdout_of_code_cell(first)}")
    shot = notebook.screenshot(tmp_path / "exercise_self_check.png", scroll_to=notebook.code_cell(first))
    print(f"screenshot of {relpath} (first self-check): {shot}")
    shot = notebook.screenshot(tmp_path / "exercise_last_cell.png",
                               scroll_to=notebook.code_cell(len(cells) - 1))
    print(f"screenshot of {relpath} (last cell): {shot}")


def test_the_browser_test_sees_a_failing_cell(lab, open_notebook):
    """The checks above can fail: a cell that raises is reported, by name, with
    its traceback, and Run All leaves the cells after it unexecuted."""
    relpath = "harness_check/raises.ipynb"
    write_notebook(lab.root_dir / relpath, ["print('before')", "1 / 0", "after = 1"])

    notebook = open_notebook(relpath)
    notebook.run_all_cells()
    notebook.wait_until(lambda: notebook.error_outputs() and notebook.kernel_idle(),
                        "the ZeroDivisionError output", timeout_s=60)
    with pytest.raises(AssertionError) as failure:
        notebook.wait_all_executed(timeout_s=1)
    message = str(failure.value)
    assert "first line 'after = 1'" in message and "ZeroDivisionError" in message, message
    assert notebook.prompts() == ["[1]:", "[2]:", "[ ]:"]
