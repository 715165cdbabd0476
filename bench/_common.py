"""Helpers shared by the benchmark scripts: paths, environment and the result rows."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parent.parent
ROW_PREFIX: Final = "ROW\t"
"""Lines starting with this are collected into bench/RESULTS.md by bench/report.py."""

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
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}


def use_repo_imports() -> None:
    """Make ``tests.handler`` (the DMS double, the provider driver) importable."""
    os.environ.update(LAMBDA_ENV)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def median(values: list[float]) -> float:
    return statistics.median(values)


def row(benchmark: str, figure: str, target: str, met: bool | None, command: str) -> None:
    """Print one result row for RESULTS.md (``met`` None: informational, no target)."""
    verdict = "n/a" if met is None else ("yes" if met else "NO")
    print(ROW_PREFIX + "\t".join((benchmark, figure, target, verdict, command)))
