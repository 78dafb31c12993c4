"""Processes a graded notebook leaves behind are killed when its job ends (Linux).

A kernel can start a process that outlives it: ``subprocess.Popen(...,
start_new_session=True)``, or a double fork after ``os.setsid()``. Such a process is
in no process group of ours, so killing the kernel's group misses it, and it could
go on running (and, for instance, rewrite the grades table) after its kernel ended.

The worker makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``):
every process orphaned below it, however it detached itself, becomes the worker's
child instead of init's. Between two jobs the worker has no legitimate child but its
zygote, so after each job it kills (and reaps) every other child it has, again and
again while killing them orphans more.

What this does not reach: a process started through a system service (cron, at,
systemd-run, ssh to localhost), which was never below the worker; and the time
while the job runs. INSTRUCTORS.md says to grade untrusted work as a separate user
or in a container.
"""
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36            # <linux/prctl.h>
MAX_ROUNDS = 100


def become_subreaper():
    """Adopt this process's orphaned descendants. True where it worked (Linux 3.4+)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def stat_fields(pid):
    """The fields of /proc/<pid>/stat after "pid (name) ": state, ppid, ...; None when the
    process is gone or there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2:].split()


def is_zombie(pid):
    """True when ``pid`` has ended but is not reaped yet (state Z or X in /proc)."""
    fields = stat_fields(pid)
    return bool(fields) and fields[0] in (b"Z", b"X")


def children(pid):
    """The pids whose parent is ``pid``, read from /proc (empty where there is no /proc)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for entry in entries:
        fields = stat_fields(entry) if entry.isdigit() else None   # None: it ended while we looked
        if fields and len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def kill_children(keep=()):
    """SIGKILL and reap every child of this process except the pids in ``keep``.

    Returns how many were killed. A killed process's own children are orphaned and
    adopted by us (we are their subreaper), so this repeats until none is left.
    """
    me, killed = os.getpid(), 0
    for _ in range(MAX_ROUNDS):
        left = [pid for pid in children(me) if pid not in keep]
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in left:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # reaped elsewhere (subprocess) or not ours after all
                pass
        killed += len(left)
    return killed
