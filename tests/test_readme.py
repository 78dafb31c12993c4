"""README's first command opens the course in JupyterLab with the whole repository served,
so that the lessons' links to ``../exercises/`` and ``../solutions/`` open too.

The command is read from README.md and run as written (plus the options a test needs:
no browser, a free port, a known token, no network lookups); the server's REST API then
says which files a learner can open.
"""
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lab_arguments():
    """The arguments of ``jupyter lab`` in README set-up command 1 (the bash one)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*1\. .*?```bash\n(.*?)\n```", text, re.S)
    assert block, "README.md has no bash block under its set-up step 1"
    last = block.group(1).split("&&")[-1].strip()
    args = shlex.split(last)
    assert args[:2] == ["jupyter", "lab"], f"README command 1 does not end with jupyter lab: {last!r}"
    return args[2:]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_readme_command_serves_the_whole_course(tmp_path):
    pytest.importorskip("jupyterlab")
    port, token = _free_port(), "readme-test"
    env = {**os.environ}
    for var, name in {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data",
                      "JUPYTER_RUNTIME_DIR": "runtime", "IPYTHONDIR": "ipython"}.items():
        (tmp_path / name).mkdir()
        env[var] = str(tmp_path / name)
    env.pop("JUPYTER_TOKEN", None)
    command = [sys.executable, "-m", "jupyterlab", *_lab_arguments(),
               "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
    log = tmp_path / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/api/contents"
        deadline = time.monotonic() + 90
        while _status_or_none(f"{base}?token={token}&content=0") != 200:
            assert proc.poll() is None, f"JupyterLab exited: {log.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < deadline, f"JupyterLab did not answer: {log.read_text(errors='replace')[-2000:]}"
            time.sleep(0.3)
        for relpath in ("notebooks/00_welcome.ipynb", "exercises/ex1_forward.ipynb", "solutions/ex1_forward.ipynb"):
            assert _status(f"{base}/{relpath}?token={token}&content=0") == 200, \
                f"{relpath} is outside what README's command lets JupyterLab open"
        with urllib.request.urlopen(f"{base}/notebooks?token={token}", timeout=5) as response:
            names = {item["name"] for item in json.load(response)["content"]}
        assert "00_welcome.ipynb" in names
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _status_or_none(url):
    try:
        return _status(url)
    except (urllib.error.URLError, OSError):
        return None
