#!/usr/bin/env python
"""Kernel time of every lesson and solution notebook (target: <= 60 s in total).

    python benchmarks/notebook_times.py [PATH ...] [--timeout 300] [--slow-cell 10]

Executes each notebook (default: every notebook in notebooks/ and solutions/) without
saving it, so the repository's files are never rewritten, and prints the kernel time per
notebook, the total, any cell over ``--slow-cell`` seconds, and whether the total is
within the 60 s budget. A notebook whose wall time exceeds its kernel time by more than
20 s is reported as having waited (the client waited for a message the kernel had sent).
Kernel time is the sum of the cells' execution times (nbclient's timing metadata),
without the kernel start-up. Run it with OPENBLAS_NUM_THREADS=1 to match CI.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bpcourse.authoring.notebooks import find_notebooks, run_notebook  # noqa: E402

BUDGET = 60.0
# wall time beyond the kernel time that is normal: the kernel's start and shutdown, the
# messages of every cell (about 2-5 s a notebook); more is reported as a wait
STARTUP_ALLOWANCE = 20.0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/ and solutions/)")
    p.add_argument("--timeout", type=float, default=300, help="seconds allowed per cell")
    p.add_argument("--slow-cell", type=float, default=10.0, help="flag cells slower than this (s)")
    args = p.parse_args(argv)

    results, failures = [], []
    for nb in find_notebooks(args.paths or None):
        nb = nb.resolve()
        try:
            rel = nb.relative_to(ROOT)
        except ValueError:   # a notebook outside the repository
            rel = nb
        t0 = time.perf_counter()
        try:
            _, cells = run_notebook(nb, timeout=args.timeout, save=False)
        except Exception as exc:   # report and go on with the others
            failures.append((rel, f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:160]}"))
            continue
        wall = time.perf_counter() - t0
        kernel = sum(s for _, s in cells)
        slow = [(i, s) for i, s in cells if s > args.slow_cell]
        results.append((rel, kernel, wall, slow))
        top = max(cells, key=lambda c: c[1], default=(None, 0.0))
        waited = wall - kernel
        print(f"{str(rel):45s} kernel {kernel:6.2f} s   (wall {wall:5.1f} s)   "
              f"slowest: cell {top[0]} {top[1]:.2f} s"
              + "".join(f"   SLOW cell {i}: {s:.1f} s" for i, s in slow)
              + (f"   WAITED {waited:.0f} s outside the cells (a lost kernel message?)"
                 if waited > STARTUP_ALLOWANCE else ""),
              flush=True)

    total = sum(k for _, k, _, _ in results)
    print("-" * 72)
    print(f"{'total kernel time':45s} {total:6.2f} s over {len(results)} notebooks "
          f"(wall {sum(w for _, _, w, _ in results):.1f} s)")
    slow = [(rel, i, s) for rel, _, _, cells in results for i, s in cells]
    print(f"cells over {args.slow_cell:g} s: "
          + (", ".join(f"{rel} cell {i} ({s:.1f} s)" for rel, i, s in slow) if slow else "none"))
    print(f"total <= {BUDGET:g} s: {'yes' if total <= BUDGET else 'NO'}")
    for rel, msg in failures:
        print(f"FAILED {rel}: {msg}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
