"""How fast does ``bpcourse grade`` grade a class? (a benchmark, not a test)

    python benchmarks/grade_speed.py [--copies 8] [--jobs N] [--exercise ex1_forward]

Grades N copies of a solution notebook and prints seconds per submission per core
(wall time x jobs / copies). Target: <= 1.5 s per submission per core. When nbgrader
is installed it grades the same copies with ``nbgrader autograde`` in a throw-away
course folder and prints the ratio (target: bpcourse at least 3x faster).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bpcourse.authoring.exercises import SOLUTIONS
from bpcourse.grading import grader


def bench_bpcourse(solution, copies, jobs, tmp):
    folder = tmp / "bpcourse"
    folder.mkdir()
    for i in range(copies):
        shutil.copy(solution, folder / f"student{i:03d}.ipynb")
    start = time.perf_counter()
    rows = grader.grade([folder], jobs=jobs, progress=False, assignment=solution.stem)
    wall = time.perf_counter() - start
    full = sum(r.score == r.max_score for r in rows)
    print(f"bpcourse grade: {copies} submissions, {jobs} jobs, {wall:.1f} s wall, "
          f"{wall * jobs / copies:.2f} s per submission per core ({full}/{copies} full marks)")
    return wall * jobs / copies


def bench_nbgrader(solution, copies, tmp):
    """nbgrader autograde on the same notebooks (one process, as nbgrader runs)."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        print("nbgrader is not installed: skipping the comparison (pip install nbgrader)")
        return None
    course = tmp / "course"
    assignment = solution.stem
    (course / "source" / assignment).mkdir(parents=True)
    shutil.copy(solution, course / "source" / assignment / solution.name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = %r\nc.Exchange.root = %r\n"
        % (str(course), str(tmp / "exchange")))
    run = lambda *args: subprocess.run(["nbgrader", *args, "--force"], cwd=course, check=True,  # noqa: E731
                                       capture_output=True, text=True)
    run("generate_assignment", assignment, "--create")
    for i in range(copies):
        target = course / "submitted" / f"student{i:03d}" / assignment
        target.mkdir(parents=True)
        shutil.copy(solution, target / solution.name)
        subprocess.run(["nbgrader", "db", "student", "add", f"student{i:03d}"], cwd=course, check=True,
                       capture_output=True)
    start = time.perf_counter()
    run("autograde", assignment)
    wall = time.perf_counter() - start
    print(f"nbgrader autograde: {copies} submissions, 1 process, {wall:.1f} s wall, "
          f"{wall / copies:.2f} s per submission per core")
    return wall / copies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--exercise", default="ex1_forward")
    args = parser.parse_args(argv)
    solution = Path(SOLUTIONS) / f"{args.exercise}.ipynb"
    if not solution.exists():
        parser.error(f"no solution notebook {solution}")
    with tempfile.TemporaryDirectory(prefix="bpcourse-bench-") as tmp:
        ours = bench_bpcourse(solution, args.copies, args.jobs, Path(tmp))
        theirs = bench_nbgrader(solution, args.copies, Path(tmp))
    print(f"target <= 1.5 s per submission per core: {'met' if ours <= 1.5 else 'NOT met'}")
    if theirs:
        print(f"nbgrader / bpcourse: {theirs / ours:.1f}x (target >= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
