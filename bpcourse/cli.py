"""The ``bpcourse`` command line.

    bpcourse info                 versions, where the bundled data and the cache live
    bpcourse notebooks run [PATH] re-execute lessons and solutions in place
    bpcourse notebooks check [PATH] execute them, saving nothing: does this machine run the course?
    bpcourse exercises build      write exercises/ from solutions/
    bpcourse exercises check      fail, naming the notebook, when exercises/ is out of date
    bpcourse grade SUBMISSION...  grade submitted exercise notebooks into a CSV / JSON table

Each subcommand is a function ``cmd_<name>(args)`` registered in ``build_parser``.
"""
import argparse
import os
import platform
import sys
import time

MIN_MEMORY_MB = 1024     # address space: at 768 MB a kernel with numpy (and its BLAS buffers) fails the checks


def cmd_info(args):
    """Print versions and the places the course reads and writes."""
    import importlib.metadata as md

    from . import __version__
    from . import data

    print(f"bpcourse {__version__}")
    print(f"python   {platform.python_version()} ({sys.executable})")
    for dist, role in (("numpy", ""), ("matplotlib", ""), ("ipywidgets", ""), ("tqdm", ""),
                       ("jupyterlab", "the [lab] extra"), ("ipykernel", "the [lab] extra"),
                       ("nbclient", "notebooks run/check, grade"), ("nbformat", "notebooks run/check, grade"),
                       ("nbval", "only the tests: the [test] extra")):
        try:
            version = md.version(dist)
        except md.PackageNotFoundError:
            version = "not installed"
        print(f"{dist:<10s} {version}" + (f"  ({role})" if role else ""))
    print(f"bundled data: {data.DATA_DIR}")
    print(f"MNIST cache:  {data.cache_dir()}  (set BPCOURSE_CACHE to move it)")
    return 0


def _fail(command, message):
    """Print ``bpcourse COMMAND: message`` on stderr; the exit status of a refused command."""
    print(f"bpcourse {command}: {message}", file=sys.stderr)
    return 2


def cmd_notebooks_run(args):
    """Re-execute notebooks in place (``check``: execute only, save nothing), printing each one's
    time and any slow cell. Stops at the first notebook that fails, naming it and the cell (the
    file is left as it was)."""
    from nbformat.reader import NotJSONError

    from .authoring.notebooks import NotebookRunError, find_notebooks, run_notebook

    command, save = f"notebooks {args.action}", args.action == "run"
    try:
        paths = find_notebooks(args.paths)
    except FileNotFoundError as e:
        return _fail(command, e)
    started, failed = time.perf_counter(), []
    for path in paths:
        try:
            total, cells = run_notebook(path, timeout=args.timeout, save=save)
        except NotebookRunError as e:
            problem = str(e)
        except (NotJSONError, ValueError, OSError) as e:
            problem = f"{path}: not a readable notebook ({type(e).__name__}: {e})"
        else:
            slow = [f"cell {i}: {s:.1f} s" for i, s in cells if s > args.slow]
            print(f"{path}: {total:.1f} s" + (f"  (slow: {', '.join(slow)})" if slow else ""), flush=True)
            continue
        if save:                       # editing: stop at the first notebook that fails
            return _fail(command, problem)
        print(f"bpcourse {command}: {problem}", file=sys.stderr, flush=True)
        failed.append(path)            # a room check: go on, and list every failure at the end
    seconds = time.perf_counter() - started
    if failed:
        print(f"{len(paths) - len(failed)} of {len(paths)} notebook(s) ran in {seconds:.1f} s; "
              f"{len(failed)} failed: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    print(f"{len(paths)} notebook(s) {'re-executed and saved' if save else 'ran without errors'} "
          f"in {seconds:.1f} s" + ("" if save else "; no file was changed"))
    return 0


def cmd_exercises_build(args):
    """Write exercises/ from solutions/."""
    from .authoring import exercises

    try:
        written, others = exercises.build(args.solutions or exercises.SOLUTIONS, args.exercises or exercises.EXERCISES)
    except (exercises.ExerciseError, OSError) as e:
        return _fail("exercises build", e)
    for path in written:
        print(f"wrote {path}")
    for path in others:
        print(f"left {path} as it is: it has no solution notebook (delete it if it is a stale exercise)",
              file=sys.stderr)
    return 0


def cmd_exercises_check(args):
    """Exit 1, naming each notebook, when exercises/ is not what the build would write."""
    from .authoring import exercises

    solutions = args.solutions or exercises.SOLUTIONS
    try:
        problems = exercises.check(solutions, args.exercises or exercises.EXERCISES)
    except (exercises.ExerciseError, OSError) as e:
        return _fail("exercises check", e)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        where = "".join(f" --{k} {v}" for k, v in (("solutions", args.solutions), ("exercises", args.exercises)) if v)
        if any("has no solution notebook" not in p for p in problems):
            print(f"run `bpcourse exercises build{where}` to regenerate them", file=sys.stderr)
        if any("has no solution notebook" in p for p in problems):
            print("delete the notebooks without a solution if they are stale exercises (build deletes nothing)",
                  file=sys.stderr)
        return 1
    print(f"{args.exercises or exercises.EXERCISES} is up to date with {solutions}")
    return 0


def cmd_grade(args):
    """Grade submissions; exit 0 when every one of them got its row."""
    from .authoring.exercises import SOLUTIONS
    from .grading.grader import GraderTampered, GradingInterrupted, grade

    if not args.out and not args.json:
        args.out = "grades.csv"
    try:
        rows = grade(args.submissions, out=args.out, json_out=args.json, jobs=args.jobs,
                     solutions=args.solutions or SOLUTIONS, progress=not args.quiet, timeout=args.timeout,
                     cell_timeout=args.cell_timeout, case_timeout=args.call_timeout,
                     memory=int(args.memory * 1024 ** 2),
                     assignment=args.assignment)
    except (FileNotFoundError, ValueError) as e:
        print(f"bpcourse grade: {e}", file=sys.stderr)
        return 2
    except GraderTampered as e:
        print(f"\nbpcourse grade: {e}", file=sys.stderr)
        return 3
    except GradingInterrupted as e:
        tables = [p for p in (args.out, args.json) if p]
        kept = (f"their rows are in {' and '.join(f'{p}.partial' for p in tables)}" if e.graded
                else "no table was written")
        old = [p for p in tables if os.path.exists(p)]
        left = f"; {' and '.join(old)} {'was' if len(old) == 1 else 'were'} left as before" if old else ""
        print(f"\nbpcourse grade: interrupted after grading {e.graded} of {e.total} submission(s); {kept}{left}. "
              "Run the command again to grade them all.", file=sys.stderr)
        return 130
    except KeyboardInterrupt:          # before the grading started, or while the tables were written
        print("\nbpcourse grade: interrupted; any rows graded so far are in the .partial files beside "
              "the tables, which were left as before", file=sys.stderr)
        return 130
    failed = [r.file for r in rows if r.grader_error]
    unread = [r.file for r in rows if not r.graded and not r.grader_error]
    print(f"graded {len(rows) - len(failed) - len(unread)} of {len(rows)} submission(s); "
          + ", ".join(f"{p} written" for p in (args.out, args.json) if p))
    if unread:
        print(f"{len(unread)} could not be graded (their rows say why): "
              + ", ".join(unread[:10]) + (", ..." if len(unread) > 10 else ""))
    review = [r.file for r in rows if r.review]
    if review:
        print(f"{len(review)} submission(s) to review by hand (their reasons say what to look at): "
              + ", ".join(review[:10]) + (", ..." if len(review) > 10 else ""))
    for f in failed:
        print(f"bpcourse grade: the grader itself failed on {f} (see its row)", file=sys.stderr)
    return 1 if failed else 0


def _positive(kind, at_least=None):
    """An argparse type: a finite number of ``kind`` above 0 (or at least ``at_least``);
    anything else is refused with a message that argparse prefixes with the argument's name."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        ok = value < float("inf") and (value >= at_least if at_least is not None else value > 0)
        if not ok:
            bound = f"at least {at_least:g}" if at_least is not None else "above 0"
            raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {text}")
        return value
    return parse


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bpcourse",
        description="Backpropagation from first principles: the course's command line.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"bpcourse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("info", help="versions, and where the bundled data and the cache live")
    p.set_defaults(func=cmd_info)

    nbs = sub.add_parser("notebooks", help="run the lessons and solutions: re-execute and save (run), or check")
    nbs_sub = nbs.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("run", "re-execute notebooks and save them in place (default: notebooks/ and solutions/)"),
                       ("check", "execute notebooks without saving them: check that a machine runs the course "
                                 "(default: notebooks/ and solutions/)")):
        p = nbs_sub.add_parser(name, help=text)
        p.add_argument("paths", nargs="*", help="notebooks or folders of notebooks")
        p.add_argument("--timeout", type=_positive(float), default=120, help="seconds allowed per cell (default 120)")
        p.add_argument("--slow", type=_positive(float, 0), default=10,
                       help="flag cells slower than this, in seconds (default 10)")
        p.set_defaults(func=cmd_notebooks_run)

    exs = sub.add_parser("exercises", help="build exercises/ from solutions/, or check it is current")
    exs_sub = exs.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, text in (("build", cmd_exercises_build, "write exercises/ from solutions/"),
                             ("check", cmd_exercises_check, "fail when exercises/ is out of date")):
        p = exs_sub.add_parser(name, help=text)
        p.add_argument("--solutions", help="the solution notebooks (default: the repository's solutions/)")
        p.add_argument("--exercises", help="the exercise notebooks (default: the repository's exercises/)")
        p.set_defaults(func=func)

    p = sub.add_parser("grade", help="grade submitted exercise notebooks (CSV and JSON table)")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="notebooks, or folders of them (nbgrader's submitted/<student>/<assignment>/ and "
                        "<student>/<exercise>.ipynb recognised; otherwise the file name is the student id)")
    p.add_argument("--out", help="the CSV to write (nbgrader's grades.csv columns + one per function; "
                                 "default grades.csv when --json is not given)")
    p.add_argument("--json", help="the JSON to write: points and reasons for every check")
    p.add_argument("--jobs", type=_positive(int), default=None, help="submissions graded at once (default: cores)")
    p.add_argument("--timeout", type=_positive(float), default=120, help="seconds per submission (default 120)")
    p.add_argument("--cell-timeout", type=_positive(float), default=30, help="seconds per cell (default 30)")
    p.add_argument("--call-timeout", type=_positive(float), default=10,
                   help="seconds per call of a graded function on one check (default 10; at most the cell "
                        "timeout); a call still running gets no credit for that check")
    p.add_argument("--memory", type=_positive(float, MIN_MEMORY_MB), default=2048,
                   help=f"memory limit of a kernel in MB (default 2048, at least {MIN_MEMORY_MB})")
    p.add_argument("--assignment", help="the exercise (e.g. ex1_forward) for notebooks that do not say")
    p.add_argument("--solutions", help="the solution notebooks (default: the repository's solutions/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_grade)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except KeyboardInterrupt:          # Ctrl-C while a command starts up: no traceback
        print(f"\nbpcourse {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
