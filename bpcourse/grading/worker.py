"""Run one submission's cells in a fresh kernel: ``python -m bpcourse.grading.worker JOB.json``
(or ``--serve``: one job per line of stdin, for a worker that grades many submissions in turn).

The grader starts one worker process per submission. The worker never looks at
results; it only executes the cells it is given (the learner's, then the
grader's harness cells) with nbclient and writes what happened to each cell
to the job's status file:

- ``ok``, ``error`` (with the exception's name and message), ``timeout`` (the
  cell exceeded the per-cell limit), ``died`` (the kernel died or exited during
  the cell), ``skipped`` (it killed or hung the kernel before, so it is left out
  on the next try), ``not_run`` (the submission's time budget ran out).

When a cell kills or hangs the kernel, the worker starts a new kernel and runs
the notebook again without that cell, so one bad cell costs only what depends
on it. The kernel gets a memory limit (``resource.setrlimit`` where available),
its output is counted and dropped beyond a cap, and its own stdout/stderr go
nowhere.
"""
import json
import math
import os
import subprocess
import sys
import time

# nbformat imports jsonschema, which builds a grammar for IRI checks when the optional
# rfc3987_syntax is installed: a second per worker, for a check the worker never makes.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: E402

MAX_ATTEMPTS = 4


class CappedClient(NotebookClient):
    """A NotebookClient that keeps no outputs, only counts their size, and records each reply."""

    def __init__(self, *args, output_cap=1_000_000, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_cap = output_cap
        self.output_chars = 0
        self.replies = {}
        self.on_cell_executed = self._record_reply

    def _record_reply(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = execute_reply.get("content", {}) if execute_reply else {}

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        self.output_chars += len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        return None


def _limit_memory(max_bytes):
    """Cap the address space of this process and its children (the kernel)."""
    try:
        import resource
    except ImportError:                # Windows: no limit available
        return False
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    return True


def _kernel_env():
    env = dict(os.environ)
    env.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    return env


def run_job(job):
    """Execute the job's cells; returns the status dict (also written to job["status_path"])."""
    cells = job["cells"]
    deadline = time.monotonic() + job["budget"]
    status = {i: {"status": "not_run"} for i in range(len(cells))}
    fatal = set()
    done = set()           # harness cells that completed: not repeated on a new kernel
    output_chars, attempts, memory_limited = 0, 0, False
    if job.get("memory"):
        memory_limited = _limit_memory(job["memory"])
    while attempts < MAX_ATTEMPTS and time.monotonic() < deadline - 1:
        attempts += 1
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c["source"]) for c in cells])
        client = CappedClient(nb, kernel_name="python3", allow_errors=True, timeout=job["cell_timeout"],
                              interrupt_on_timeout=False, startup_timeout=60, iopub_timeout=5,
                              resources={"metadata": {"path": job["cwd"]}}, shutdown_kernel="immediate",
                              output_cap=job["output_cap"])
        restart = False
        try:
            with client.setup_kernel(env=_kernel_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                pid = getattr(getattr(client.km, "provisioner", None), "process", None)
                if pid is not None and job.get("pid_path"):
                    with open(job["pid_path"], "w") as f:
                        f.write(str(pid.pid))
                for i, cell in enumerate(nb.cells):
                    if i in fatal or i in done:
                        continue
                    left = deadline - time.monotonic()
                    if left < 1:
                        break
                    own_limit = cells[i].get("timeout", job["cell_timeout"])
                    client.timeout = max(1, math.floor(min(own_limit, left)))
                    try:
                        client.execute_cell(cell, i)
                    except CellTimeoutError:
                        status[i] = {"status": "timeout", "seconds": client.timeout,
                                     "budget_exhausted": client.timeout < own_limit}
                        fatal.add(i)
                        restart = True
                        break
                    except DeadKernelError:
                        status[i] = {"status": "died"}
                        fatal.add(i)
                        restart = True
                        break
                    reply = client.replies.pop(i, {})
                    if reply.get("status") == "error":
                        status[i] = {"status": "error", "ename": str(reply.get("ename", ""))[:200],
                                     "evalue": str(reply.get("evalue", ""))[:1000]}
                    else:
                        status[i] = {"status": "ok"}
                    if cells[i]["kind"] == "harness":
                        done.add(i)
        except DeadKernelError:        # died during start-up or shutdown
            restart = restart or not done
        except RuntimeError as e:      # the kernel did not start
            status["startup_error"] = str(e)[:500]
            break
        finally:
            output_chars += client.output_chars
        if not restart:
            break
    for i in fatal:
        if status[i]["status"] not in ("timeout", "died"):
            status[i] = {"status": "skipped"}
    result = {"cells": [status[i] for i in range(len(cells))], "attempts": attempts,
              "output_chars": output_chars, "memory_limited": memory_limited,
              "out_of_time": time.monotonic() >= deadline - 1}
    if "startup_error" in status:
        result["startup_error"] = status["startup_error"]
    with open(job["status_path"] + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(job["status_path"] + ".tmp", job["status_path"])
    return result


def serve(lines=sys.stdin, out=sys.stdout):
    """Run one job per line of ``lines`` (a job file's path), answering "done" after each.

    A long-lived worker saves the start-up of Python and nbclient for every
    submission; each submission still gets a kernel of its own.
    """
    for line in lines:
        path = line.strip()
        if not path:
            continue
        try:
            with open(path) as f:
                run_job(json.load(f))
        except Exception as e:         # the grader reads the missing status as a failure
            print(f"worker: {path}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        out.write("done\n")
        out.flush()


def main(argv=None):
    """``worker JOB.json`` runs one job; ``worker --serve`` runs the jobs named on stdin."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--serve"]:
        serve()
        return 0
    with open(argv[0]) as f:
        job = json.load(f)
    run_job(job)
    return 0


if __name__ == "__main__":
    sys.exit(main())
