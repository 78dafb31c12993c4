"""Drive a real JupyterLab in headless Chromium, the way a learner uses the course.

Used by tests/test_browser.py. Two pieces:

- ``JupyterLabServer``: ``python -m jupyterlab`` (the current interpreter) on
  127.0.0.1, a free port and a random token, with its settings, workspaces,
  runtime, config, data and IPython folders in a temporary directory; news,
  update checks and autosave off; no browser opened. Only the notebook a test
  opens starts a kernel (its workspace is reset on opening, so nothing else is
  restored). ``stop()`` terminates it, then kills it.
- ``LabNotebook``: a notebook opened in a Playwright page, with the few actions a
  test needs: wait for the kernel to be idle, Run > Run All Cells from the menu,
  wait for every cell to finish, read prompts, error outputs, widgets.

Playwright drives the system Chromium (``/usr/bin/chromium``); it never downloads
its own browsers.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HOW_TO_ENABLE = "install Chromium: apt-get install chromium, and pip install playwright"

# User settings written into the temporary settings folder before the server starts.
LAB_SETTINGS = {
    # no news feed, no update check: nothing may reach the network
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
    # never write the test's outputs back into the notebook file
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

# Stderr that is not an error: matplotlib's one-off notice on a fresh machine.
HARMLESS_STDERR = ("Matplotlib is building the font cache",)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_requirement():
    """None when Chromium and Playwright are available, else what is missing."""
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append(f"{CHROMIUM} not found")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed")
    return "; ".join(missing) or None


class JupyterLabServer:
    """A JupyterLab server serving ``root_dir``, its state kept in ``state_dir``.

    Inputs:
    - root_dir: the folder the file browser shows (notebooks open relative to it)
    - state_dir: an empty folder for settings, workspaces, runtime files and the log
    """

    def __init__(self, root_dir, state_dir):
        self.root_dir = Path(root_dir)
        self.state_dir = Path(state_dir)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = self.state_dir / "jupyterlab.log"
        self.process = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, relpath):
        """The URL that opens ``relpath`` (relative to root_dir) alone in JupyterLab
        (``reset``: the workspace starts empty), token included."""
        return f"{self.base_url}/lab/tree/{Path(relpath).as_posix()}?reset&token={self.token}"

    def _environment(self):
        env = dict(os.environ)
        folders = {
            "JUPYTERLAB_SETTINGS_DIR": "settings",
            "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTER_CONFIG_DIR": "config",    # ignore the user's jupyter_server_config
            "JUPYTER_DATA_DIR": "data",        # their kernel specs; notebook-signing key
            "IPYTHONDIR": "ipython",           # their IPython startup files
        }
        for var, name in folders.items():
            (self.state_dir / name).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.state_dir / name)
        env.pop("JUPYTER_TOKEN", None)
        env.pop("MPLBACKEND", None)   # the kernel chooses the inline backend only when unset
        return env

    def _write_settings(self):
        for relpath, settings in LAB_SETTINGS.items():
            path = self.state_dir / "settings" / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings, indent=2), encoding="utf-8")

    def command(self):
        return [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",   # no PyPI queries from the extension manager
        ]

    def start(self, timeout=90):
        """Start the server and wait until its REST API answers (at most ``timeout`` s)."""
        env = self._environment()
        self._write_settings()
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                        env=env, cwd=self.root_dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode} before "
                                   f"answering; its log:\n{self.log_tail()}")
            try:
                url = f"{self.base_url}/api/status?token={self.token}"
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer on {self.base_url} within {timeout} s; "
                           f"its log:\n{self.log_tail()}")

    def stop(self):
        """Terminate the server (it shuts its kernels down), kill it if it lingers."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if getattr(self, "_log", None):
            self._log.close()

    def _api(self, method, path):
        request = urllib.request.Request(f"{self.base_url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """Shut down every running kernel (REST API), so the next notebook has the machine."""
        for kernel in self._api("GET", "/api/kernels"):
            self._api("DELETE", f"/api/kernels/{kernel['id']}")

    def log_tail(self, chars=4000):
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def copy_course_folders(repo_root, dest, folders):
    """Copy ``folders`` of the repository into ``dest``, so that running the
    notebooks in the browser never touches the repository's files."""
    for name in folders:
        shutil.copytree(Path(repo_root) / name, Path(dest) / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


def launch_chromium(playwright, user_data_dir):
    """Headless system Chromium with a fresh profile in ``user_data_dir``."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 1000},
    )


# JavaScript run in the page. The notebook in view is the one not hidden.
_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

_CELLS_JS = """
() => {
  const panel = document.querySelector('%s');
  if (!panel) return [];
  return Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')).map(cell => {
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    const line = cell.querySelector('.jp-InputArea-editor .cm-line');
    return {prompt: prompt ? prompt.textContent.trim() : '',
            source: line ? line.textContent.trim().slice(0, 80) : ''};
  });
}
""" % _PANEL

# The kernel item of the status bar: "Python 3 (ipykernel) | Idle", "No Kernel | Initializing", ...
_KERNEL_STATUS_JS = """
() => {
  const items = Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'));
  const item = items.find(e => (e.getAttribute('title') || '').startsWith('Change kernel'));
  return item ? item.textContent.trim() : '';
}
"""

_STDERR_JS = """
() => Array.from(document.querySelectorAll(
  '%s .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
)).map(el => el.textContent)
""" % _PANEL

# What a widget's cell shows besides its sliders: the figures (PNG data or SVG
# markup) and the text of everything else. Moving a slider must change it.
_VIEW_JS = """
(handle) => {
  const cell = handle.closest('.jp-Cell');
  const outputs = cell.querySelector('.jp-OutputArea').cloneNode(true);
  outputs.querySelectorAll('.widget-slider, .jupyter-widget-slider').forEach(e => e.remove());
  const figures = Array.from(outputs.querySelectorAll('img, svg'))
      .filter(e => !e.closest('.jp-OutputArea-promptOverlay'))
      .map(e => e.tagName === 'IMG' ? e.getAttribute('src') : e.outerHTML);
  return {figures: figures, text: outputs.textContent.replace(/\\s+/g, ' ').trim()};
}
"""


class LabNotebook:
    """A notebook open in JupyterLab in a Playwright ``page``; ``name`` labels failures."""

    def __init__(self, page, name):
        self.page = page
        self.name = name

    def fail(self, message):
        raise AssertionError(f"{self.name}: {message}")

    def wait_until(self, condition, what, timeout_s, describe=lambda: ""):
        """Poll ``condition()`` until true; fail naming ``what`` was not seen."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                self.fail(f"{what} not seen within {timeout_s} s. {describe()}")
            time.sleep(0.25)

    def open(self, url, timeout_s=90):
        """Load JupyterLab at ``url`` and wait for the notebook's cells."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        self.page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
        try:
            self.page.wait_for_selector(f"{_PANEL} .jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            self.fail(f"the notebook's cells not seen within {timeout_s} s of opening {url}")

    def kernel_status(self):
        return self.page.evaluate(_KERNEL_STATUS_JS)

    def kernel_idle(self):
        status = self.kernel_status()
        return status.endswith("| Idle") and not status.startswith("No Kernel")

    def wait_kernel_idle(self, timeout_s=90):
        self.wait_until(self.kernel_idle, "the kernel status 'Idle' in the status bar", timeout_s,
                        lambda: f"Kernel status: {self.kernel_status()!r}.")

    def menu(self, menu_label, command):
        """Open ``menu_label`` in the menu bar and click the item running ``command``."""
        self.page.locator(".lm-MenuBar-item", has_text=menu_label).first.click()
        item = self.page.locator(f'.lm-Menu-item[data-command="{command}"]')
        item.wait_for(state="visible", timeout=10_000)
        if item.get_attribute("aria-disabled") == "true":
            self.fail(f"menu {menu_label} > {item.text_content()!r} is disabled")
        item.click()

    def clear_outputs(self):
        """Edit > Clear Outputs of All Cells: stored outputs must not pass for new ones."""
        self.menu("Edit", "editmenu:clear-all")
        self.wait_until(lambda: not any(_executed(c["prompt"]) for c in self.code_cells()),
                        "every prompt cleared to '[ ]:'", 30, lambda: f"Prompts: {self.prompts()}")

    def run_all_cells(self):
        """Run > Run All Cells, as a learner would."""
        self.menu("Run", "runmenu:run-all")

    def code_cells(self):
        """[{"prompt": "[3]:", "source": its first line}, ...] for every code cell."""
        return self.page.evaluate(_CELLS_JS)

    def code_cell(self, index):
        """The locator of code cell ``index`` (0 = the first code cell)."""
        return self.page.locator(f"{_PANEL} .jp-Notebook .jp-Cell.jp-CodeCell").nth(index)

    def stdout_of_code_cell(self, index):
        """The printed (stdout) text of code cell ``index``."""
        return "".join(self.code_cell(index).locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]').all_text_contents())

    def prompts(self):
        return [c["prompt"] for c in self.code_cells()]

    def wait_all_executed(self, timeout_s=90):
        """Wait until every code cell shows an execution count and the kernel is idle.

        Run All stops at the first cell that raises, so a failing cell shows up
        here as the cells after it never executing; the error itself is named by
        ``error_outputs``. Returns the code cells.
        """
        def done():
            cells = self.code_cells()
            return cells and all(_executed(c["prompt"]) for c in cells) and self.kernel_idle()

        def describe():
            pending = [f"  code cell {i}: prompt {c['prompt']!r}, first line {c['source']!r}"
                       for i, c in enumerate(self.code_cells()) if not _executed(c["prompt"])]
            errors = "".join(f"\n  error output: {e[:1500]}" for e in self.error_outputs())
            return (f"Kernel status {self.kernel_status()!r}; not executed:\n" + "\n".join(pending)
                    + errors)

        self.wait_until(done, "every code cell executed", timeout_s, describe)
        return self.code_cells()

    def error_outputs(self):
        """The text of every error and stderr output, harmless notices left out."""
        texts = self.page.evaluate(_STDERR_JS)
        return [t for t in texts if not any(t.strip().startswith(h) for h in HARMLESS_STDERR)]

    # -- widgets -----------------------------------------------------------

    def slider_handles(self):
        """The handles of every ipywidgets slider in the notebook."""
        return self.page.locator(f'{_PANEL} .widget-slider .noUi-handle[role="slider"], '
                                 f'{_PANEL} .jupyter-widget-slider .noUi-handle[role="slider"]')

    def wait_for_slider(self, timeout_s=30):
        self.wait_until(lambda: self.slider_handles().count() > 0,
                        "an ipywidgets slider (.widget-slider with a noUi-handle)", timeout_s)

    def widget_view(self, handle):
        """The figures and text of the cell holding slider ``handle``, sliders left out."""
        return handle.evaluate(_VIEW_JS)

    def wait_for_figure(self, handle, timeout_s=30):
        """Wait until the cell of slider ``handle`` shows a figure (an image or SVG)."""
        self.wait_until(lambda: self.widget_view(handle)["figures"],
                        "a figure in the slider's cell", timeout_s,
                        lambda: f"The cell shows: {self.widget_view(handle)['text'][:500]!r}")

    def move_slider(self, handle, timeout_s=30):
        """Move ``handle`` three steps with the arrow keys, as a keyboard user would,
        and wait until its cell's figure changes (its text, when the cell has no
        figure) and the kernel is idle again. Returns the views (before, after)."""
        handle.scroll_into_view_if_needed()
        before = self.widget_view(handle)
        key = "figures" if before["figures"] else "text"
        value = handle.get_attribute("aria-valuenow")
        handle.focus()
        for arrow in ("ArrowRight", "ArrowLeft"):   # ArrowLeft if it starts at its maximum
            for _ in range(3):
                handle.press(arrow)
            if handle.get_attribute("aria-valuenow") != value:
                break
        else:
            self.fail(f"the slider did not move with the arrow keys (its value stays {value})")
        what = "figure" if key == "figures" else "text"
        self.wait_until(lambda: self.widget_view(handle)[key] != before[key] and self.kernel_idle(),
                        f"a change of the slider cell's {what} after moving the slider from {value} "
                        f"to {handle.get_attribute('aria-valuenow')}", timeout_s,
                        lambda: f"Kernel status {self.kernel_status()!r}.")
        return before, self.widget_view(handle)

    PROGRESS = (".widget-hprogress", ".widget-progress", ".jupyter-widget-progress")

    def progress_bar_locator(self):
        return self.page.locator(", ".join(f"{_PANEL} {p}" for p in self.PROGRESS))

    def progress_bars(self):
        """Every ipywidgets progress bar (tqdm's in a notebook) as
        {"text": the text of its row, e.g. "training: 100% 200/200 [...]",
         "width": the filled width, e.g. "100%", "style": the bar's classes}."""
        return self.progress_bar_locator().evaluate_all("""
        bars => bars.map(p => {
          const bar = p.querySelector('.progress-bar');
          const row = p.closest('.widget-hbox') || p;
          return {text: row.textContent.replace(/\\s+/g, ' ').trim(),
                  width: bar ? bar.style.width : '', style: bar ? bar.className : ''};
        })""")

    def screenshot(self, path, scroll_to=None, block="start"):
        """Save a screenshot of the page as ``path``, the cell holding ``scroll_to``
        (a locator) scrolled to the top ("start") or the middle ("center")."""
        if scroll_to is not None:
            scroll_to.evaluate("(e, block) => (e.closest('.jp-Cell') || e).scrollIntoView({block})", block)
            self.page.wait_for_timeout(300)   # let the notebook lay out what came into view
        self.page.screenshot(path=str(path))
        return path


def _executed(prompt):
    """True for '[12]:', False for '[ ]:', '[*]:' or ''."""
    inner = prompt.strip().removesuffix(":").strip("[] ")
    return inner.isdigit()
