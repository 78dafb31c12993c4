"""The grader's fork server: kernels forked from a zygote are separate processes in the
submission's folder, and a learner who kills the zygote does not stop the grading."""
import json
import os

import pytest

from bpcourse.grading import worker, zygote

pytestmark = pytest.mark.skipif(not zygote.available(), reason="no os.fork here (Windows): kernels start as usual")

FACTS = ("import os, json\n"
         "json.dump({'pid': os.getpid(), 'ppid': os.getppid(), 'cwd': os.getcwd(), 'sid': os.getsid(0)},"
         " open('facts.json', 'w'))")


def job(tmp_path, name, sources):
    cwd = tmp_path / name
    cwd.mkdir()
    return {"cells": [{"source": s, "kind": "learner"} for s in sources], "budget": 60, "cell_timeout": 20,
            "output_cap": 10_000, "cwd": str(cwd), "status_path": str(tmp_path / f"{name}.status.json")}


@pytest.fixture
def server():
    z = zygote.Zygote(worker._kernel_env()).start()        # a new Python: pytest's process has threads
    try:
        yield z
    finally:
        z.close()


def test_a_forked_kernel_runs_in_its_own_session_and_folder(tmp_path, server):
    first = job(tmp_path, "first", [FACTS, "x = 6 * 7"])
    result = worker.run_job(first, zygote=server)
    assert [c["status"] for c in result["cells"]] == ["ok", "ok"]
    facts = json.loads((tmp_path / "first" / "facts.json").read_text())
    assert facts["ppid"] == server.proc.pid                  # forked by the zygote, not started anew
    assert facts["pid"] != server.proc.pid and facts["sid"] == facts["pid"]
    assert os.path.samefile(facts["cwd"], tmp_path / "first")

    second = job(tmp_path, "second", [FACTS, "print(x)"])    # nothing flows from one kernel to the next
    result = worker.run_job(second, zygote=server)
    assert result["cells"][1]["status"] == "error" and result["cells"][1]["ename"] == "NameError"
    assert json.loads((tmp_path / "second" / "facts.json").read_text())["pid"] != facts["pid"]


def test_a_learner_who_kills_the_zygote_does_not_stop_the_grading(tmp_path, server):
    killer = job(tmp_path, "killer", ["import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", "y = 1"])
    result = worker.run_job(killer, zygote=server)
    assert [c["status"] for c in result["cells"]] == ["ok", "ok"]
    after = job(tmp_path, "after", [FACTS])
    result = worker.run_job(after, zygote=server)
    assert result["cells"][0]["status"] == "ok"
    facts = json.loads((tmp_path / "after" / "facts.json").read_text())
    assert facts["ppid"] == server.proc.pid                  # a new zygote took over
