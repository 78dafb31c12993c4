"""Re-execute notebooks in place so their stored outputs are current, or only check that they run.

Lessons and solutions are stored executed; nbval compares a fresh run with
what is stored. After editing a notebook, run ``bpcourse notebooks run PATH``
(or with no path: every lesson and solution). ``bpcourse notebooks check`` executes
them the same way but saves nothing: a room's machines can be checked without
changing the files.
"""
import hashlib
import os
import re
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from jupyter_client.kernelspec import NoSuchKernel
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets.config import Config

from . import course_root

ROOT = course_root()
DEFAULT_FOLDERS = ("notebooks", "solutions")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def find_notebooks(paths=None, root=ROOT):
    """The notebooks named by ``paths`` (files or folders), default: notebooks/ and solutions/."""
    paths = [Path(p) for p in paths] if paths else [root / f for f in DEFAULT_FOLDERS]
    found = []
    for p in paths:
        if p.is_dir():
            inside = sorted(p.glob("*.ipynb"))
            if not inside:
                raise FileNotFoundError(f"no notebooks (*.ipynb) in the folder {p}")
            found.extend(inside)
        elif p.suffix == ".ipynb" and p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"not a notebook or a folder of notebooks: {p}")
    return found


def _seconds(timing):
    """Kernel time of one cell from nbclient's timing metadata."""
    t0 = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
    t1 = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    return (t1 - t0).total_seconds()


class NotebookRunError(RuntimeError):
    """A cell of the notebook raised or ran out of time; the message names the file and the cell."""


def _what_failed(error):
    """'raised ZeroDivisionError: division by zero' or 'did not finish in time', without colours."""
    if isinstance(error, CellTimeoutError):
        return "did not finish within the time limit (--timeout)"
    if isinstance(error, DeadKernelError):
        return "killed the kernel (it exited, crashed or ran out of memory)"
    ename, evalue = getattr(error, "ename", None), getattr(error, "evalue", None)
    text = f"{ename}: {evalue}" if ename else str(error).strip().splitlines()[-1]
    return "raised " + re.sub(r"\x1b\[[0-9;]*m", "", text)


def _kernel_config(sockets):
    """Kernel-manager settings: talk to the kernel over Unix sockets in the folder ``sockets``
    (POSIX), not over unencrypted localhost TCP, which ipykernel 7 warns about on every start.
    Windows has no IPC transport: there the kernel uses TCP, as Jupyter does. The client's
    channels poll in slices (``kernel_client``): a missed wake-up cannot stall a cell."""
    config = Config()
    config.KernelManager.client_class = "bpcourse.authoring.kernel_client.SlicedKernelClient"
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(sockets, "kernel")
    return config


# jupyter_client interrupts (SIGINT) every kernel before it shuts it down; when that lands while
# the kernel is still handling a message (a widget's comm message, say), ipykernel logs
# "ERROR | KeyboardInterrupt caught in kernel." for a notebook that ran fine. A cell's errors
# reach us as messages, not through the kernel's log, so the log is kept to critical lines.
_KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]


def _merge_streams(outputs):
    """Join consecutive stdout (or stderr) outputs into one. How a cell's printing is cut into
    messages depends on timing, not content: unmerged, a re-run rewrites unchanged outputs."""
    merged = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1]["name"] == out["name"]):
            merged[-1]["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def run_notebook(path, timeout=120, kernel_name="python3", save=True):
    """Execute the notebook at ``path`` top to bottom in its own folder and save it in place
    (``save=False``: only execute it; the file is not touched).

    Cells tagged ``raises-exception`` may raise; any other error stops the run
    and names the cell. Timing metadata is measured, then removed before
    saving, and so is the widget state, so stored notebooks differ only when
    their content does.
    Returns (total seconds, [(cell index, kernel seconds), ...]).
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    started = []
    with tempfile.TemporaryDirectory(prefix="bpcourse-kernel-") as sockets:
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, config=_kernel_config(sockets),
                                extra_arguments=_KERNEL_ARGS, resources={"metadata": {"path": str(path.parent)}},
                                record_timing=True, on_cell_start=lambda cell, cell_index: started.append(cell_index))
        start = time.perf_counter()
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
            raise NotebookRunError(f"{path}: cell {started[-1] if started else '?'} {_what_failed(e)}"
                                   + ("; the file is unchanged" if save else "")) from None
        except (RuntimeError, NoSuchKernel) as e:      # the kernel did not start
            raise NotebookRunError(f"{path}: the kernel did not start ({type(e).__name__}: {e})") from None
        total = time.perf_counter() - start
    cell_times = []
    for i, cell in enumerate(nb.cells):
        timing = cell.metadata.pop("execution", None)
        if timing and "shell.execute_reply" in timing and "iopub.execute_input" in timing:
            cell_times.append((i, _seconds(timing)))
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
    # widget state gets new random model ids on every run: noise in every diff, and nothing
    # a reader needs (a widget is live only with a kernel); nbstripout drops it as well.
    # The outputs that point at it get ids made from their place in the notebook instead.
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        for j, out in enumerate(cell.get("outputs", [])):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if isinstance(view, dict) and "model_id" in view:
                view["model_id"] = hashlib.sha256(f"{path.name}:{i}:{j}".encode()).hexdigest()[:32]
    if save:
        nbformat.write(nb, path)
    return total, cell_times
