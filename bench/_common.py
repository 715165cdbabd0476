"""What the benchmark modules share: the Lambda environment, result rows, small statistics."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

REPO: Final = Path(__file__).resolve().parent.parent
PYTHON: Final = ".venv/bin/python"
"""The interpreter every command runs with, relative to the repository root."""
ROW_PREFIX: Final = "ROW "
"""Lines starting with this (then one JSON object) are the rows of bench/RESULTS.md."""

LAMBDA_ENV: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "dms-task-starter",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}
"""The environment the provider gives the handler functions (tracing off), with test
credentials, and jsii's Node.js banners silenced."""


def module_command(module: str) -> str:
    """The command that runs a benchmark module from the repository root."""
    return f"{PYTHON} -m {module}"


@dataclass(frozen=True)
class Row:
    """One row of the results table; ``met`` None: informational, no target."""

    benchmark: str
    figure: str
    target: str
    met: bool | None
    command: str

    @property
    def verdict(self) -> str:
        return "n/a" if self.met is None else ("yes" if self.met else "NO")

    def markdown(self) -> str:
        cells = (self.benchmark, self.figure, self.target, self.verdict, f"`{self.command}`")
        for cell in cells:
            if "|" in cell or "\n" in cell:
                raise ValueError(f"a table cell cannot hold '|' or a line break: {cell!r}")
        return "| " + " | ".join(cells) + " |"


def emit(row: Row) -> None:
    """Print ``row`` for bench/report.py (and readably for whoever runs the module)."""
    print(f"{row.benchmark}: {row.figure} [target {row.target}: {row.verdict}]")
    print(ROW_PREFIX + json.dumps(asdict(row)))


def parse_rows(output: str) -> list[Row]:
    """The rows a benchmark module printed."""
    return [
        Row(**json.loads(line.removeprefix(ROW_PREFIX)))
        for line in output.splitlines()
        if line.startswith(ROW_PREFIX)
    ]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.95: the 95th)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
