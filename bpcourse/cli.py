"""The ``bpcourse`` command line.

    bpcourse info                 versions, where the bundled data and the cache live
    bpcourse notebooks run [PATH] re-execute lessons and solutions in place

Each subcommand is a function ``cmd_<name>(args)`` registered in ``build_parser``.
"""
import argparse
import platform
import sys


def cmd_info(args):
    """Print versions and the places the course reads and writes."""
    import importlib.metadata as md

    from . import __version__
    from . import data

    print(f"bpcourse {__version__}")
    print(f"python   {platform.python_version()} ({sys.executable})")
    for dist in ("numpy", "matplotlib", "ipywidgets", "tqdm", "jupyterlab", "ipykernel", "nbval"):
        try:
            version = md.version(dist)
        except md.PackageNotFoundError:
            version = "not installed"
        print(f"{dist:<10s} {version}")
    print(f"bundled data: {data.DATA_DIR}")
    print(f"MNIST cache:  {data.cache_dir()}  (set BPCOURSE_CACHE to move it)")
    return 0


def cmd_notebooks_run(args):
    """Re-execute notebooks in place, printing each one's time and any slow cell."""
    from .authoring.notebooks import find_notebooks, run_notebook

    for path in find_notebooks(args.paths):
        total, cells = run_notebook(path, timeout=args.timeout)
        slow = [f"cell {i}: {s:.1f} s" for i, s in cells if s > args.slow]
        print(f"{path}: {total:.1f} s" + (f"  (slow: {', '.join(slow)})" if slow else ""))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bpcourse",
        description="Backpropagation from first principles: the course's command line.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("info", help="versions, and where the bundled data and the cache live")
    p.set_defaults(func=cmd_info)

    nbs = sub.add_parser("notebooks", help="maintain the stored notebooks")
    nbs_sub = nbs.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = nbs_sub.add_parser("run", help="re-execute notebooks in place (default: notebooks/ and solutions/)")
    p.add_argument("paths", nargs="*", help="notebooks or folders of notebooks")
    p.add_argument("--timeout", type=float, default=120, help="seconds allowed per cell (default 120)")
    p.add_argument("--slow", type=float, default=10, help="flag cells slower than this (seconds)")
    p.set_defaults(func=cmd_notebooks_run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
