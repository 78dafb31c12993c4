"""Every lesson has the parts the course promises, and every relative link in the
lessons, solutions and exercises leads to a file that exists.

(nbval checks what the lessons compute; this checks what they say.)"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ALL = LESSONS + sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))


def markdown(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_the_nine_lessons_are_there():
    assert [p.name[:2] for p in LESSONS] == [f"{i:02d}" for i in range(9)]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_has_goals_mistakes_summary_and_an_exercise(path):
    text = markdown(path)
    assert re.search(r"(?i)learning goals", text), f"{path.name}: no learning goals"
    assert re.search(r"(?im)^#+ .*common mistakes", text), f"{path.name}: no 'Common mistakes' section"
    assert re.search(r"(?im)^#+ .*summary", text), f"{path.name}: no 'Summary' section"
    links = re.findall(r"\]\((\.\./exercises/ex\d_\w+\.ipynb)\)", text)
    assert links, f"{path.name}: links to no exercise"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_relative_links_resolve(path):
    broken = [link for link in re.findall(r"\]\(([^)#\s]+)", markdown(path))
              if not re.match(r"[a-z]+:", link) and not (path.parent / link).exists()]
    assert not broken, f"{path.relative_to(ROOT)}: broken links {broken}"
