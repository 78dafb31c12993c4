"""A fork server ("zygote") that starts grading kernels in milliseconds instead of a second.

A fresh ipykernel spends most of its start-up importing (IPython, ipykernel, zmq,
then numpy, matplotlib and bpcourse in the notebook's first cell). A worker
(``worker --serve``) starts one zygote: a Python process that imports all that
once, starts no thread, and then, for each kernel the worker asks for, forks a
child that becomes the kernel (``IPKernelApp.launch_instance``, as
``ipykernel_launcher`` does). The child is an ordinary process of its own:

- a session of its own (``os.setsid``), in the submission's temporary folder,
  with the environment jupyter_client prepared and the memory limit applied;
- fds 0/1/2 on /dev/null and every other inherited fd closed, so it holds
  nothing of the zygote (its request pipes) or of other submissions;
- nothing flows back: what the learner's code changes is the child's copy.

jupyter_client drives it like any kernel through :class:`ZygoteProvisioner`, a
``LocalProvisioner`` whose ``launch_kernel`` asks the zygote for a fork instead
of running ``python -m ipykernel_launcher``; shutdown, interrupt, kill and the
dead-kernel checks go through a Popen-like :class:`ForkedKernel`.

Only where ``os.fork`` exists (not on Windows); elsewhere, or when the zygote
fails, kernels start the usual way. ``BPCOURSE_GRADER_ZYGOTE=0`` turns it off.

The protocol (worker <-> zygote, one JSON object per line on the zygote's
stdin/stdout): the zygote first says ``{"ready": true, ...}``; then each request
``{"argv": [...], "cwd": ..., "env": {...}, "memory": bytes or null}`` gets
``{"pid": N}`` once the child has set itself up, or ``{"error": "..."}``.
"""
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

from . import reaper

PRELOAD = (                            # what a grading kernel imports anyway; each is optional
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.iostream",
    "ipykernel.comm", "ipykernel.displayhook", "ipykernel.eventloops", "ipykernel.heartbeat",
    "ipykernel.kernelbase", "ipykernel.control", "ipykernel.subshell_manager",
    "IPython.core.interactiveshell", "IPython.core.completer", "IPython.core.magics",
    "IPython.core.history", "IPython.core.formatters", "IPython.core.pylabtools",
    "ipykernel.debugger", "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.oinspect",
    "IPython.extensions.storemagic", "sqlite3", "pdb", "psutil", "tornado.platform.asyncio",
    "faulthandler", "resource",
    "jupyter_client.session", "comm", "zmq", "tornado.ioloop", "anyio",
    "numpy", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
    "bpcourse", "bpcourse.selfcheck", "tqdm.auto", "inspect", "json",
)
SETUP_TIMEOUT = 20                     # seconds for a child to set itself up
# the kernels' environment; also the worker's (it imports numpy before it forks its zygote,
# and a BLAS that has started threads cannot be forked)
KERNEL_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def available():
    """True when kernels can be forked from a zygote here."""
    return hasattr(os, "fork") and hasattr(os, "setsid") and sys.platform != "win32" \
        and os.environ.get("BPCOURSE_GRADER_ZYGOTE", "1") != "0"


# ------------------------------------------------------------------ the zygote process

def _preload():
    failed = []
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception as e:         # a missing optional module: the kernel imports what it needs
            failed.append(f"{name}: {type(e).__name__}")
    return failed


def _threads():
    """The number of OS threads of this process (Linux), else Python's count."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _child(request, ready_w):
    """In the forked child: become the kernel. Never returns."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        # everything else the zygote holds (its request pipes, /dev/null) is closed
        os.closerange(3, ready_w)
        os.closerange(ready_w + 1, max(os.sysconf("SC_OPEN_MAX"), 1 << 16))
        os.chdir(request["cwd"])
        env = dict(request["env"])
        env["JPY_PARENT_PID"] = str(os.getppid())   # the kernel ends if the zygote goes
        os.environ.clear()
        os.environ.update(env)
        if request.get("memory"):
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (request["memory"], request["memory"]))
        import random
        random.seed()                  # forked children would otherwise share the zygote's state
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        sys.argv = [sys.argv[0]] + list(request["argv"])
        # IPKernelApp.launch_instance in two steps: the worker hears "ok" once the kernel's
        # sockets are bound, so its client connects at once (no reconnect wait)
        from ipykernel.kernelapp import IPKernelApp
        app = IPKernelApp.instance()
        app.initialize(list(request["argv"]))
        os.write(ready_w, b"ok")
        os.close(ready_w)
        ready_w = -1
        app.start()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:
        if ready_w >= 0:
            try:
                os.write(ready_w, f"{type(e).__name__}: {e}"[:1000].encode())
            except OSError:
                pass
    finally:
        os._exit(code)


def _fork(request):
    """Fork a kernel for ``request``; returns the reply dict."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        _child(request, ready_w)       # does not return
    os.close(ready_w)
    try:
        ready, _, _ = select.select([ready_r], [], [], SETUP_TIMEOUT)
        said = os.read(ready_r, 1000) if ready else b""
    finally:
        os.close(ready_r)
    if said == b"ok":
        return {"pid": pid}
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    return {"error": said.decode(errors="replace") or "the kernel process did not start"}


def serve():
    """The zygote's main loop (``python -m bpcourse.grading.zygote``)."""
    return _serve(os.dup(0), os.dup(1), None)


def _serve(request_fd, reply_fd, failed):
    """Answer fork requests read from ``request_fd`` on ``reply_fd`` until EOF.

    ``failed``: the preload's result when it was done before (in the worker, before it
    forked this zygote), else None and it is done here.
    """
    # fd 0 becomes /dev/null and fd 1 the log (stderr) so that nothing printed by an
    # import can garble a reply
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if sys.path and sys.path[0] in ("", os.getcwd()):   # as ipykernel_launcher does
        del sys.path[0]
    if failed is None:
        failed = _preload()
    threads = _threads()
    out = os.fdopen(reply_fd, "w", buffering=1)
    inp = os.fdopen(request_fd, "r")
    if threads != 1:                   # forking a threaded process is unsafe: refuse, the worker falls back
        out.write(json.dumps({"ready": False, "error": f"{threads} threads after the imports"}) + "\n")
        return 1
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)        # children are reaped automatically
    out.write(json.dumps({"ready": True, "pid": os.getpid(), "not_preloaded": failed}) + "\n")
    for line in inp:
        if not line.strip():
            continue
        try:
            reply = _fork(json.loads(line))
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
    return 0


class _ForkedServer:
    """A Popen-like handle on a zygote forked from the worker itself (our child: waitpid works)."""

    def __init__(self, pid, stdin, stdout):
        self.pid, self.stdin, self.stdout = pid, stdin, stdout
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("zygote", timeout)
            time.sleep(0.01)
        return self.returncode

    def kill(self):
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)


def fork_server_here():
    """Make this process's first zygote a fork of itself: call before any thread starts.

    The caller (the worker) then shares the zygote's imports instead of starting another
    Python to import them again: ``_preload`` runs here, then the fork. Returns the
    handle (a Popen-like object) or None when this process is not fit to be forked
    (threads running, e.g. OpenBLAS started without OPENBLAS_NUM_THREADS=1).
    """
    failed = _preload()
    if _threads() != 1:
        return None
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    pid = os.fork()
    if pid == 0:                       # the zygote: never returns into the worker's code
        code = 1
        try:
            os.close(req_w)
            os.close(rep_r)
            code = _serve(req_r, rep_w, failed)
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(req_r)
    os.close(rep_w)
    return _ForkedServer(pid, os.fdopen(req_w, "w", buffering=1), os.fdopen(rep_r, "r"))


# ------------------------------------------------------------------ the worker's side

class ZygoteError(RuntimeError):
    pass


class Zygote:
    """The worker's handle on its zygote process."""

    def __init__(self, env, startup_timeout=60):
        self.env = env
        self.startup_timeout = startup_timeout
        self.proc = None
        self.lock = threading.Lock()
        self.failures = 0
        self.disabled = False
        self.ready = None

    def start(self, fork_here=False):
        """Start the zygote process (it imports in the background until the first fork).

        ``fork_here``: fork it from this process (see ``fork_server_here``) when possible.
        A zygote started again later (it died) is always a new Python.
        """
        if self.proc is None or self.proc.poll() is not None:
            self.close()               # a dead zygote's pipes
            self.ready = None
            if fork_here:
                self.proc = fork_server_here()
                if self.proc is not None:
                    return self
            self.proc = subprocess.Popen([sys.executable, "-m", "bpcourse.grading.zygote"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env,
                                         text=True, bufsize=1)
        return self

    def _readline(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise ZygoteError(f"the zygote did not answer within {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            raise ZygoteError("the zygote exited")
        return json.loads(line)

    def fork(self, argv, cwd, env, memory=None):
        """The pid of a new kernel process; raises ZygoteError when the zygote cannot make one."""
        with self.lock:
            if self.disabled:
                raise ZygoteError("the zygote is disabled after earlier failures")
            for attempt in range(2):   # a zygote that died (killed by a learner?) is restarted once
                try:
                    self.start()
                    if self.ready is None:
                        hello = self._readline(self.startup_timeout)
                        if not hello.get("ready"):
                            raise ZygoteError(f"the zygote is not usable: {hello.get('error')}")
                        self.ready = hello
                    self.proc.stdin.write(json.dumps({"argv": list(argv), "cwd": str(cwd), "env": dict(env),
                                                      "memory": memory}) + "\n")
                    self.proc.stdin.flush()
                    reply = self._readline(SETUP_TIMEOUT + 10)
                    if "pid" in reply:
                        return reply["pid"]
                    raise ZygoteError(reply.get("error", "no pid"))
                except (OSError, ValueError, ZygoteError) as e:
                    self.failures += 1
                    died = self.proc is None or self.proc.poll() is not None
                    unusable = self.ready is not None and not self.ready.get("ready") or "not usable" in str(e)
                    self.close()
                    if unusable or self.failures > 3:
                        self.disabled = True
                    if attempt or not died or self.disabled:
                        raise ZygoteError(str(e)) from e

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        self.proc = None


class ForkedKernel:
    """A Popen-like handle on a kernel forked by the zygote (not our child: no waitpid).

    The zygote reaps its children itself, so a kernel that ended is simply gone.
    """
    stdin = stdout = stderr = None

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -signal.SIGKILL
            except PermissionError:    # the pid now belongs to someone else
                self.returncode = -signal.SIGKILL
            else:
                if reaper.is_zombie(self.pid):   # reparented to an init that does not reap
                    self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def make_provisioner_class():
    """ZygoteProvisioner (built on first use: jupyter_client is imported only by the worker)."""
    from jupyter_client.provisioning import LocalProvisioner

    class ZygoteProvisioner(LocalProvisioner):
        """A LocalProvisioner that forks ipykernel from the worker's zygote."""
        zygote = None                  # the worker's Zygote, set on the instance
        memory = None                  # RLIMIT_AS for the kernel, bytes (the limit is set in the child)
        forked = False

        async def launch_kernel(self, cmd, **kwargs):
            z = self.zygote
            if z is not None and len(cmd) >= 3 and list(cmd[1:3]) == ["-m", "ipykernel_launcher"]:
                try:
                    pid = z.fork(cmd[3:], cwd=kwargs.get("cwd") or os.getcwd(),
                                 env=kwargs.get("env") or os.environ, memory=self.memory)
                except ZygoteError:
                    pid = None         # the usual way below
                if pid is not None:
                    self.process = ForkedKernel(pid)
                    self.pid = self.pgid = pid
                    self.cwd = kwargs.get("cwd", os.getcwd())
                    self.forked = True
                    return self.connection_info
            return await super().launch_kernel(cmd, **kwargs)

        async def kill(self, restart=False):
            """SIGKILL (to the kernel's process group), then wait up to 0.2 s for it to be gone,
            so that the kernel manager's next check (every 0.1 s) finds it ended."""
            import asyncio
            process = self.process
            await super().kill(restart=restart)
            end = time.monotonic() + 0.2
            while process is not None and process.poll() is None and time.monotonic() < end:
                await asyncio.sleep(0.002)

        async def wait(self):
            if isinstance(self.process, ForkedKernel):   # poll faster than every 0.1 s
                import asyncio
                while self.process.poll() is None:
                    await asyncio.sleep(0.01)
                ret = self.process.returncode
                self.process = None
                return ret
            return await super().wait()

    return ZygoteProvisioner


if __name__ == "__main__":
    sys.exit(serve())
