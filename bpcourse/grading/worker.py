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

A serving worker forks its kernels from a zygote (``zygote``: a copy of the
worker made right after it imported the kernel's modules, before any thread
started) through a jupyter_client provisioner, so a kernel is ready in about
0.1 s instead of about a second; where fork is missing (Windows) or the zygote
fails, a kernel is a new Python as before.

On Linux the worker adopts every process a kernel leaves behind, however it
detached itself, and kills it when the job ends (``reaper``).

The hidden checks' inputs (the job's ``hidden`` files) are on disk only while a harness
cell runs: the worker reads them at the start and takes them away while the learner's
cells run, so a notebook cannot read them and look up the answers beforehand.
"""
import json
import math
import os
import signal
import subprocess
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import reaper, zygote

MAX_ATTEMPTS = 4
_kernel_pid = None     # the running job's kernel (a session of its own), for _terminate


class HiddenFiles:
    """Files kept in memory and put on disk only while they are needed (``show``)."""

    def __init__(self, paths):
        self.content = {}
        for path in paths:
            with open(path, "rb") as f:
                self.content[path] = f.read()
        self.hide()

    def hide(self):
        _remove(self.content)

    def show(self, paths=None):
        """Put ``paths`` (default: all) back as they were. A file that cannot be written (its
        folder deleted, a notebook's folder in the way) stays missing: the harness then says so."""
        for path in self.content if paths is None else paths:
            try:
                _write_new(path, self.content[path])
            except OSError:
                pass


class CappedClient(NotebookClient):
    """A NotebookClient that keeps no outputs, only counts their size, and records each reply.

    With a ``zygote``, its kernel manager's provisioner forks the kernel from it
    (``zygote.ZygoteProvisioner``) instead of starting a new Python.
    """

    def __init__(self, *args, output_cap=1_000_000, zygote=None, memory=None, socket_stem=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_cap = output_cap
        self.zygote = zygote
        self.memory = memory
        self.socket_stem = socket_stem
        self.output_chars = 0
        self.cell_chars = {}           # cell index -> characters it printed
        self.replies = {}
        self.on_cell_executed = self._record_reply

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.client_factory = _ready_client_class()
        import uuid
        km.kernel_id = km.kernel_id or str(uuid.uuid4())
        km.provisioner = _provisioner_class()(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
        km.provisioner.zygote = self.zygote      # None: a new Python, as LocalProvisioner does
        km.provisioner.memory = self.memory
        if self.socket_stem:
            _use_unix_sockets(km, self.socket_stem)
        return km

    def _record_reply(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = execute_reply.get("content", {}) if execute_reply else {}

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        n = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        self.output_chars += n
        self.cell_chars[cell_index] = self.cell_chars.get(cell_index, 0) + n
        return None


_PROVISIONER = []
_CLIENT = []
SOCKET_PATH_MAX = 100      # a Unix socket's path: at most 107 bytes on Linux, 103 on macOS


def _use_unix_sockets(km, stem):
    """Connect to the kernel through Unix sockets named ``stem-ipc-1`` ... ``stem-ipc-5``, not TCP.

    TCP ports are picked by binding port 0 and closing the socket, and the kernel binds them
    later: two workers starting kernels at the same moment can pick the same port, and one
    worker then reads the other's kernel ("Invalid Signature": messages signed with another
    key). A socket file in the submission's own folder cannot be shared. Where the path would
    be too long for a socket, or there are no Unix sockets (Windows), TCP stays.
    """
    if os.name != "posix" or len(f"{stem}-ipc-99999".encode()) > SOCKET_PATH_MAX:
        return
    km.transport = "ipc"
    km.cache_ports = False             # the port cache binds TCP ports
    km.connection_file = f"{stem}.json"
    km.ip = f"{stem}-ipc"


def _ready_client_class():
    """A kernel client (``SlicedKernelClient``: its channels poll in slices) whose
    ``wait_for_ready`` does not wait 0.2 s of silence on IOPub.

    jupyter_client's version ends by draining IOPub until nothing comes for 0.2 s, and
    waits 0.2 s for IOPub after each kernel_info reply: 0.2-0.4 s per kernel, a third of
    grading a short notebook. This one is done as soon as IOPub has carried the status
    "idle" of one of its kernel_info requests (so IOPub is connected and drained up to it).
    """
    if _CLIENT:
        return _CLIENT[0]
    from queue import Empty

    from ..authoring.kernel_client import SlicedKernelClient

    class ReadyClient(SlicedKernelClient):
        async def wait_for_ready(self, timeout=None):
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            sent = set()
            while True:
                sent.add(self.kernel_info())
                reply = None
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                    if msg["msg_type"] == "kernel_info_reply":
                        reply = msg
                except Empty:
                    pass
                if reply is not None:
                    end = time.monotonic() + 0.5
                    while time.monotonic() < end:
                        try:
                            m = await self.iopub_channel.get_msg(timeout=max(0.001, end - time.monotonic()))
                        except Empty:
                            break
                        if (m["msg_type"] == "status" and m["content"].get("execution_state") == "idle"
                                and m["parent_header"].get("msg_id") in sent):
                            self._handle_kernel_info_reply(reply)
                            return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    _CLIENT.append(ReadyClient)
    return ReadyClient


def _provisioner_class():
    if not _PROVISIONER:
        _PROVISIONER.append(zygote.make_provisioner_class())
    return _PROVISIONER[0]


def _write_new(path, data):
    """Write ``data`` (str or bytes) to a new file at ``path``: whatever a notebook put there (a
    named pipe that would block the write, a link to elsewhere) is removed first, not written through."""
    _remove([path])
    with open(path, "xb" if isinstance(data, bytes) else "x") as f:
        f.write(data)


def _remove(paths):
    """Delete the files ``paths`` (a notebook may have put them there before the harness ran)."""
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


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
    env.update(zygote.KERNEL_ENV)
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    return env


def run_job(job, zygote=None):
    """Execute the job's cells; returns the status dict (also written to job["status_path"]).

    ``zygote``: a ``zygote.Zygote`` to fork the kernels from (else each kernel is a new Python).
    """
    memory_limited = _limit_memory(job["memory"]) if job.get("memory") else False
    hidden = HiddenFiles(job.get("hidden", ()))
    try:
        result = _run_cells(job, zygote, hidden)
    except Exception as e:             # the worker's own failure, not the notebook's: the grader grades it again
        result = {"worker_error": f"{type(e).__name__}: {e}"[:500]}
    finally:
        hidden.show()                  # as the grader left them: it checks that they are unchanged
    result["memory_limited"] = memory_limited
    _write_new(job["status_path"] + ".tmp", json.dumps(result))
    os.replace(job["status_path"] + ".tmp", job["status_path"])
    return result


def _run_cells(job, zygote, hidden):
    """The attempts of ``run_job`` (a new kernel after a cell killed or hung the last one)."""
    global _kernel_pid
    cells = job["cells"]
    deadline = time.monotonic() + job["budget"]
    status = {i: {"status": "not_run"} for i in range(len(cells))}
    fatal = set()
    done = set()           # harness cells that completed: not repeated on a new kernel
    output_chars, attempts = 0, 0
    cell_chars = {}
    while attempts < MAX_ATTEMPTS and time.monotonic() < deadline - 1:
        attempts += 1
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c["source"]) for c in cells])
        client = CappedClient(nb, kernel_name="python3", allow_errors=True, timeout=job["cell_timeout"],
                              interrupt_on_timeout=False, startup_timeout=60, iopub_timeout=5,
                              resources={"metadata": {"path": job["cwd"]}}, shutdown_kernel="immediate",
                              output_cap=job["output_cap"], zygote=zygote, memory=job.get("memory"),
                              socket_stem=os.path.join(os.path.dirname(job["status_path"]), f"k{attempts}"))
        restart = False
        try:
            with client.setup_kernel(env=_kernel_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                pid = getattr(getattr(client.km, "provisioner", None), "process", None)
                _kernel_pid = pid.pid if pid is not None else None
                if pid is not None and job.get("pid_path"):
                    _write_new(job["pid_path"], str(pid.pid))
                for i, cell in enumerate(nb.cells):
                    if i in fatal or i in done:
                        continue
                    left = deadline - time.monotonic()
                    if left < 1:
                        break
                    own_limit = cells[i].get("timeout", job["cell_timeout"])
                    client.timeout = max(1, math.floor(min(own_limit, left)))
                    harness = cells[i]["kind"] == "harness"
                    if harness:                # its own function's inputs, and no other's
                        hidden.show(cells[i].get("inputs", ()))
                        _remove(cells[i].get("outputs", ()))   # results only the harness itself writes
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
                    finally:
                        if harness:
                            hidden.hide()
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
            _kernel_pid = None         # it has ended: its pid may soon be another process's
            output_chars += client.output_chars
            for i, n in client.cell_chars.items():
                cell_chars[i] = cell_chars.get(i, 0) + n
        if not restart:
            break
    for i in fatal:
        if status[i]["status"] not in ("timeout", "died"):
            status[i] = {"status": "skipped"}
    result = {"cells": [status[i] for i in range(len(cells))], "attempts": attempts,
              "output_chars": output_chars, "cell_output_chars": {str(i): n for i, n in cell_chars.items()},
              "out_of_time": time.monotonic() >= deadline - 1}
    if "startup_error" in status:
        result["startup_error"] = status["startup_error"]
    return result


def serve(lines=sys.stdin, out=sys.stdout):
    """Run one job per line of ``lines`` (a job file's path), answering "done" after each.

    A long-lived worker saves the start-up of Python and nbclient for every
    submission, and (where ``os.fork`` exists) forks every kernel from a zygote
    that has imported the kernel's modules once; each submission still gets a
    kernel process of its own.
    """
    reaper.become_subreaper()          # before the zygote exists: the flag is not inherited
    z = zygote.Zygote(_kernel_env()).start(fork_here=True) if zygote.available() else None
    try:
        _serve(lines, out, z)
    finally:
        if z is not None:
            z.close()


def _terminate(signum, frame):
    """SIGTERM, from a grader that was interrupted (Ctrl-C): end the job's kernel and every
    process of ours (the zygote, what they left behind) at once, then exit."""
    if _kernel_pid is not None:
        try:
            os.killpg(_kernel_pid, signal.SIGKILL)
        except OSError:
            pass
    reaper.kill_children()             # round after round: the zygote's kernel is adopted when it dies
    os._exit(128 + signum)


def _serve(lines, out, z):
    signal.signal(signal.SIGTERM, _terminate)     # after the zygote forked: its kernels keep the default
    for line in lines:
        path = line.strip()
        if not path:
            continue
        try:
            with open(path) as f:
                run_job(json.load(f), z)
        except Exception as e:         # the grader reads the missing status as a failure
            print(f"worker: {path}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        # the job's kernel has ended: any other child but the zygote is something it left behind
        reaper.kill_children(keep={z.proc.pid} if z is not None and z.proc is not None else ())
        out.write("done\n")
        out.flush()


def main(argv=None):
    """``worker JOB.json`` runs one job; ``worker --serve`` runs the jobs named on stdin."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--serve"]:
        serve()
        return 0
    reaper.become_subreaper()
    with open(argv[0]) as f:
        job = json.load(f)
    try:
        run_job(job)
    finally:
        reaper.kill_children()
    return 0


if __name__ == "__main__":
    sys.exit(main())
