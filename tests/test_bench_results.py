"""The benchmark table of docs/benchmarks.md is the one ``bash bench/run_all.sh`` last wrote.

``bench/report.py`` writes the table (and the legend of the DMS double's readings) into
bench/RESULTS.md between the ``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers;
docs/benchmarks.md carries an exact copy between the same markers, so every figure the
documentation publishes was printed by a benchmark.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS_PAGE = REPO / "docs" / "benchmarks.md"
RESULTS = REPO / "bench" / "RESULTS.md"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"
HOW = (
    "run `bash bench/run_all.sh`, then copy everything between the markers "
    f"{START} and {END} in bench/RESULTS.md, markers included, into docs/benchmarks.md"
)


def marked(path: Path) -> str | None:
    """The text between the markers (None when the file has no complete pair)."""
    text = path.read_text(encoding="utf-8")
    if text.count(START) != 1 or text.count(END) != 1:
        return None
    _, _, rest = text.partition(START)
    inside, _, _ = rest.partition(END)
    return inside.strip("\n")


def table_rows(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.startswith("|")]


def test_results_have_the_marked_table() -> None:
    block = marked(RESULTS)
    assert block is not None, f"bench/RESULTS.md has no marked table: {HOW}"
    rows = table_rows(block)
    assert rows[:2] == [
        "| benchmark | figure | target | met? | command |",
        "|---|---|---|---|---|",
    ]
    assert len(rows) > 2, "bench/RESULTS.md's table has no rows"


def test_benchmarks_page_table_is_the_results_table() -> None:
    results = marked(RESULTS)
    page = marked(BENCHMARKS_PAGE)
    if page is None or not table_rows(page):
        pytest.fail(f"docs/benchmarks.md has no benchmark table between markers: {HOW}")
    assert results is not None, f"bench/RESULTS.md has no marked table: {HOW}"
    page_rows, results_rows = table_rows(page), table_rows(results)
    missing = [row for row in results_rows if row not in page_rows]
    unknown = [row for row in page_rows if row not in results_rows]
    assert page == results, (
        f"docs/benchmarks.md's table differs from bench/RESULTS.md ({HOW}); rows only in "
        f"RESULTS.md: {missing}; rows only in docs/benchmarks.md: {unknown}"
    )


LONG_WAIT_COUNTS = re.compile(
    r"\| long wait \(12 h maximum, target never reached\): counts \| "
    r"waited [\d.]+ h \(stack \w+\); "
    r"(?P<transitions>\d+) state transitions; (?P<invocations>\d+) signaller invocations"
)
LONG_WAIT_COST = re.compile(
    r"\| long wait \(12 h maximum\): cost per wait \| (?P<total>\$[\d.]+) ="
)


@pytest.mark.parametrize("page", [REPO / "README.md", REPO / "docs" / "long-waits.md"])
def test_the_long_wait_cost_quoted_is_the_benchmarks(page: Path) -> None:
    """The README and docs/long-waits.md quote the cost of a 12-hour wait that
    ``bench/long_wait_cost.py`` printed in the last run."""
    results = RESULTS.read_text(encoding="utf-8")
    counts, cost = LONG_WAIT_COUNTS.search(results), LONG_WAIT_COST.search(results)
    assert counts is not None, f"bench/RESULTS.md has no long wait counts: {HOW}"
    assert cost is not None, f"bench/RESULTS.md has no long wait cost: {HOW}"
    quoted = (
        f"{cost['total']} per 12-hour wait ({counts['transitions']} state transitions, "
        f"{counts['invocations']} signaller invocations"
    )
    text = " ".join(page.read_text(encoding="utf-8").split())
    assert quoted in text, f"{page.name} does not quote {quoted!r} from bench/RESULTS.md"
