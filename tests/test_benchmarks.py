"""Smoke test of the benchmark suite: ``benchmarks/run.py --quick`` at a tiny size.

The benchmark itself is not run in CI (it takes minutes); this only checks that it
still runs and prints a complete table. It needs the bench extra (torch, scikit-learn,
threadpoolctl), which CI does not install: without them the test is skipped.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MISSING = [m for m in ("torch", "sklearn", "threadpoolctl") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(MISSING), reason=f"benchmark extra not installed ({', '.join(MISSING)} missing): "
                                          "pip install -e '.[bench]' to run the benchmark smoke test")
def test_benchmark_quick_prints_the_full_table():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--threads", "1"],
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
        if line.startswith(("time:", "GFLOP", "test acc", "a:", "b:", "c:")):
            break
        cells = line.split()
        contender = " ".join(c for c in cells if not c.replace(".", "").replace("-", "").isdigit()
                             and c not in ("float64", "float32", "-", "a", "b") and not c.endswith("%"))
        names[contender] = names.get(contender, 0) + 1
        # columns from the right: ..., dtype, thr, time, x bpc, GFLOP/s, %peak, test acc, test loss, [note]
        dtype_at = next(i for i, c in enumerate(cells) if c in ("float64", "float32"))
        thr, time_, ratio = cells[dtype_at + 1:dtype_at + 4]
        assert int(thr) == 1
        assert float(time_) > 0
        assert float(ratio) > 0, line
    # 4 training workloads x (bpcourse, PyTorch, scikit-learn) x 2 dtypes + 1 loop each
    assert names["bpcourse"] == names["PyTorch"] == names["scikit-learn"] == 8
    assert names["per-example loop"] == 4
    # W5: one (60, 100) shape in --quick, 2 dtypes, fwd+bwd and bwd-only rows
    assert names["bpcourse fwd+bwd"] == names["bpcourse bwd only"] == 2
    assert names["PyTorch BatchNorm1d bwd only"] == 2
