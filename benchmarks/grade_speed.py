"""How fast does ``bpcourse grade`` grade a class? (a benchmark, not a test)

    python benchmarks/grade_speed.py [--copies 8] [--jobs N] [--exercise ex1_forward] [--plain]

Grades N copies of a solution notebook and prints seconds per submission per core
(wall time x min(jobs, cores) / copies: the core-seconds one submission costs).
Target: <= 1.5 s per submission per core. When nbgrader is installed it grades the
same copies with ``nbgrader autograde`` in a throw-away course folder (one process,
so wall time / copies) and prints the ratio (target: bpcourse at least 3x faster).
``--plain`` also times the grader without its kernel fork server
(``BPCOURSE_GRADER_ZYGOTE=0``: a new Python per kernel), for comparison.
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


def bench_bpcourse(solution, copies, jobs, tmp, plain=False):
    folder = tmp / ("bpcourse-plain" if plain else "bpcourse")
    folder.mkdir()
    for i in range(copies):
        shutil.copy(solution, folder / f"student{i:03d}.ipynb")
    saved = os.environ.get("BPCOURSE_GRADER_ZYGOTE")
    if plain:
        os.environ["BPCOURSE_GRADER_ZYGOTE"] = "0"     # the workers inherit it
    try:
        start = time.perf_counter()
        rows = grader.grade([folder], jobs=jobs, progress=False, assignment=solution.stem)
        wall = time.perf_counter() - start
    finally:
        if saved is None:
            os.environ.pop("BPCOURSE_GRADER_ZYGOTE", None)
        else:
            os.environ["BPCOURSE_GRADER_ZYGOTE"] = saved
    full = sum(r.score == r.max_score for r in rows)
    cores = min(jobs, os.cpu_count() or 1)
    per_core = wall * cores / copies
    print(f"bpcourse grade{' (no fork server)' if plain else ''}: {copies} submissions, {jobs} jobs on "
          f"{cores} cores, {wall:.1f} s wall, {per_core:.2f} s per submission per core "
          f"({full}/{copies} full marks)")
    return per_core


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
    parser.add_argument("--plain", action="store_true",
                        help="also time the grader without its kernel fork server")
    args = parser.parse_args(argv)
    solution = Path(SOLUTIONS) / f"{args.exercise}.ipynb"
    if not solution.exists():
        parser.error(f"no solution notebook {solution}")
    with tempfile.TemporaryDirectory(prefix="bpcourse-bench-") as tmp:
        ours = bench_bpcourse(solution, args.copies, args.jobs, Path(tmp))
        if args.plain:
            bench_bpcourse(solution, args.copies, args.jobs, Path(tmp), plain=True)
        theirs = bench_nbgrader(solution, args.copies, Path(tmp))
    print(f"target <= 1.5 s per submission per core: {'met' if ours <= 1.5 else 'NOT met'}")
    if theirs:
        print(f"nbgrader / bpcourse: {theirs / ours:.1f}x (target >= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
