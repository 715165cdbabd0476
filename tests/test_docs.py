"""The README is a short front page for users, and every relative link of the hand-written
documentation leads to a file of the repository and, with an #anchor, to one of its headings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

REPO: Final = Path(__file__).resolve().parent.parent
README: Final = REPO / "README.md"
MAX_README_LINES: Final = 250
FIRST_EXAMPLE_BY_LINE: Final = 60
MAX_LINE_CHARS: Final = 200

HAND_WRITTEN: Final = sorted(
    [README, REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")],
)
"""docs/API.md is generated (its type links are griffe2md's own): tests/test_api_docs.py."""
GENERATED: Final = REPO / "docs" / "API.md"

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.MULTILINE)


def prose(path: Path) -> str:
    """The text of ``path`` without its fenced code blocks."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(path)):
        slug = anchor(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(path))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # https:, mailto: ...
    ]


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES
    long_lines = [n for n, line in enumerate(lines, 1) if len(line) > MAX_LINE_CHARS]
    assert long_lines == []


def test_readme_shows_python_early_and_has_no_placeholder() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    first_python = lines.index("```python") + 1
    assert first_python <= FIRST_EXAMPLE_BY_LINE
    text = "\n".join(lines)
    assert not re.search(r"<your-[a-z-]+>|\bTODO\b|example\.com", text)
    assert "Python 3.11" in text
    assert "Node.js" in text


def test_readme_states_the_declared_floors() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    text = README.read_text(encoding="utf-8")
    for package in ("aws-cdk-lib", "constructs"):
        match = re.search(rf'"{package}>=([0-9.]+),', pyproject)
        assert match, package
        assert f"`{package}` {match.group(1)} or later" in text


def test_readme_gives_the_quick_start_that_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    assert "./scripts/synth.sh" in text
    assert "./scripts/test.sh" in text
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == "./scripts/test.sh"


@pytest.mark.parametrize("page", HAND_WRITTEN, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        file_part, _, fragment = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif fragment and fragment not in anchors(destination):
            broken.append(f"{target}: no heading #{fragment} in {destination.name}")
    assert broken == []


def test_readme_links_every_docs_page() -> None:
    linked = {
        (README.parent / target.partition("#")[0]).resolve() for target in relative_links(README)
    }
    pages = {page.resolve() for page in (REPO / "docs").glob("*.md")}
    assert pages - linked == set()


def test_anchor_rules() -> None:
    assert anchor("`cdc_stop`") == "cdc_stop"
    assert anchor('Which run is "ours"') == "which-run-is-ours"
    assert anchor("The update guard and the rollback guard") == (
        "the-update-guard-and-the-rollback-guard"
    )
    assert anchor("Physical ids") == "physical-ids"
