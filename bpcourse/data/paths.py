"""Where the course keeps its data: the bundled files and the download cache."""
import os
import sys
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
"""The folder holding the bundled data files (``bpcourse/data`` itself)."""


def cache_dir():
    """The folder where downloaded data (MNIST) is cached; it is not created here.

    In order of preference:
    - the environment variable ``BPCOURSE_CACHE``, if set;
    - on Windows, ``%LOCALAPPDATA%\\bpcourse``;
    - otherwise ``$XDG_CACHE_HOME/bpcourse``, or ``~/.cache/bpcourse``.

    Returns a pathlib.Path.
    """
    env = os.environ.get("BPCOURSE_CACHE")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "bpcourse"
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "bpcourse"
    return Path.home() / ".cache" / "bpcourse"
