"""Authoring tools for instructors and maintainers (never imported by the maths)."""
from pathlib import Path


def course_root():
    """The course's folder, holding notebooks/, solutions/ and exercises/.

    The checkout this package runs from (``pip install -e .``); with a plain
    ``pip install .`` only the package is copied, so then the current folder.
    """
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "solutions").is_dir() else Path.cwd()
