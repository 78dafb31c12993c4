"""Smoke test of the benchmark suite: ``benchmarks/run.py --quick`` at a tiny size.

The benchmark itself is not run in CI (it takes minutes); this only checks that it
still runs and prints a complete table. Without the bench extra (torch, scikit-learn,
threadpoolctl), as in CI, the table has the bpcourse and per-example-loop rows only, and
the test checks those; with it, the PyTorch and scikit-learn rows as well.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MISSING = [m for m in ("torch", "sklearn", "threadpoolctl") if importlib.util.find_spec(m) is None]


def test_benchmark_quick_prints_the_full_table():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--threads", "1",
                           "--repeats", "2"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "OPENBLAS_CORETYPE" in out and "GEMM peak" in out
    for key in ("W1:", "W2:", "W3:", "W4:", "W5:"):
        assert key in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("contender"))
    rows = [line for line in lines[header + 2:] if line and not line.startswith(("W", " ")) and "  " in line]
    names = {}
    for line in rows:
        if line.startswith(("time:", "GFLOP", "test acc", "a:", "b:", "c:", "d:")):
            break
        cells = line.split()
        contender = " ".join(c for c in cells if not c.replace(".", "").replace("-", "").isdigit()
                             and c not in ("float64", "float32", "-", "a", "b", "d") and not c.endswith("%"))
        names[contender] = names.get(contender, 0) + 1
        # columns: contender, dtype, thr, time, x bpc, range, GFLOP/s, %peak, test acc, test loss, [note]
        dtype_at = next(i for i, c in enumerate(cells) if c in ("float64", "float32"))
        thr, time_, ratio, spread = cells[dtype_at + 1:dtype_at + 5]
        assert int(thr) == 1
        assert float(time_) > 0
        assert float(ratio) > 0, line
        if contender == "bpcourse" or contender.startswith("bpcourse "):
            assert float(ratio) == 1.0 and spread == "-", line
        elif "c:" not in line:      # timed in both repeats: the median of two ratios lies in their range
            lo, hi = (float(v) for v in spread.split("-"))
            assert lo <= float(ratio) <= hi, line
    # 4 training workloads x (bpcourse, PyTorch, scikit-learn) x 2 dtypes + 1 loop each
    assert names["bpcourse"] == 8
    assert names["per-example loop"] == 4
    # the matmuls-alone ceiling: 4 workloads x 2 dtypes
    assert names["matmuls alone"] == 8
    # W5: one (60, 100) shape in --quick, 2 dtypes, fwd+bwd and bwd-only rows
    assert names["bpcourse fwd+bwd"] == names["bpcourse bwd only"] == 2
    if "torch" not in MISSING:
        assert names["PyTorch"] == 8 and names["PyTorch BatchNorm1d bwd only"] == 2
    if "sklearn" not in MISSING:
        assert names["scikit-learn"] == 8
    # the targets, judged on the run's own numbers, after the table
    verdicts = out[out.index("Targets (performance issue)"):].splitlines()
    assert len(verdicts) == 8 and verdicts[6].startswith("  ceiling:"), verdicts   # 5 targets + 2 lines on ceilings
    torch_lines = [v for v in verdicts if "PyTorch" in v or "BatchNorm1d" in v]
    assert len(torch_lines) == 2
    for line in torch_lines:
        assert ("not measured" in line) == ("torch" in MISSING), line
    assert " of 1 met" in next(v for v in verdicts if "GEMM peak" in v)   # --threads 1: one W3 float32 row


def _run_module():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_targets_summary_judges_the_unrounded_numbers():
    run = _run_module()
    results = {
        ("W1", "PyTorch", "float64", 1): (1.62, 20.0),
        ("W3", "PyTorch", "float64", 2): (1.4999, 30.0),     # prints as 1.50, and is still a miss
        ("W3", "matmuls alone", "float64", 2): (0.8, 60.0),  # the ceiling: 1.4999 / 0.8
        ("W3", "matmuls alone", "float32", 2): (0.7, 47.9),
        ("W1", "scikit-learn", "float32", 1): (1.01, 10.0),
        ("W2", "scikit-learn", "float32", 1): (0.97, 10.0),
        ("W1", "bpcourse", "float64", 1): (None, 34.0),       # bpcourse's own rows are no comparison
        ("W3", "bpcourse", "float32", 1): (None, 50.4),
        ("W3", "bpcourse", "float32", 2): (None, 28.3),
        ("W5 256x512", "PyTorch BatchNorm1d bwd only", "float64", 1): (0.834, None),
        ("W5 256x512", "PyTorch BatchNorm1d bwd only", "float64", 2): (0.58, None),
        ("W5 256x512", "PyTorch BatchNorm1d fwd+bwd", "float64", 2): (0.10, None),   # not the target
    }
    lines = run.targets_summary(results)
    torch_line, sklearn_line, peak_line, bn_line = lines[1:5]
    assert torch_line.endswith("1 of 2 met; missed: W3 float64 2 thr 1.50 (ceiling 1.87)")
    assert sklearn_line.endswith("1 of 2 met; missed: W2 float32 1 thr 0.97")
    assert peak_line.endswith("1 of 2 met; missed: 2 thr 28.3% (ceiling 47.9%)")
    assert bn_line.endswith("1 of 2 met; missed: 256x512 float64 2 thr 0.58")
    assert run.targets_summary({})[1].endswith("not measured in this run")


@pytest.mark.skipif(importlib.util.find_spec("nbclient") is None or importlib.util.find_spec("ipykernel") is None,
                    reason="nbclient and ipykernel are needed to execute notebooks")
def test_notebook_times_leaves_the_notebook_as_it_was_and_reports_the_budget():
    nb = ROOT / "solutions" / "ex1_forward.ipynb"
    if not nb.exists():
        pytest.skip(f"{nb} not found")
    before = nb.read_bytes()
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "notebook_times.py"), str(nb)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "solutions/ex1_forward.ipynb" in proc.stdout and "kernel" in proc.stdout
    assert "total kernel time" in proc.stdout and "total <= 60 s:" in proc.stdout
    assert nb.read_bytes() == before     # the repository's notebook is never rewritten
