"""Throttling: 100 lifecycles at once against one DMS double that throttles 20% of calls.

Each lifecycle is a Create driven to completion (on_event, then is_complete until done)
in its own thread. The handler's real botocore retry configuration is used (standard
mode, ``dms.CLIENT_CONFIG``); only the back-off delay is shrunk to 1 ms, as
tests/handler/conftest.py does, so the benchmark does not sleep for minutes.
Two client layouts: one client per thread (one per Lambda sandbox, as in AWS) and one
client shared by all threads (its retry quota is shared too).
"""

from __future__ import annotations

import statistics
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import row, use_repo_imports

use_repo_imports()

import boto3  # noqa: E402
from botocore.retries.standard import ExponentialBackoff  # noqa: E402

from tests.handler.dms_double import DmsDouble, ServedDouble, task_arn  # noqa: E402
from tests.handler.provider import cfn_event, run_provider  # noqa: E402

COMMAND: Final = ".venv/bin/python bench/throttling.py"
LIFECYCLES: Final = 100
THROTTLE_RATE: Final = 0.2


def run(per_thread_client: bool) -> tuple[int, list[int], list[str]]:
    """Return the successes, the throttled calls per lifecycle and the failures."""
    from dms_task_starter_runtime import dms

    double = DmsDouble(throttle_rate=THROTTLE_RATE)
    for index in range(LIFECYCLES):
        double.add_task(f"T{index:04d}")
    local = threading.local()
    original = dms.dms_client

    def thread_client() -> Any:
        if not hasattr(local, "client"):
            local.client = boto3.session.Session().client("dms", config=dms.CLIENT_CONFIG)
        return local.client

    throttled_by_arn: dict[str, int] = {}
    failures: list[str] = []
    with ServedDouble(double):
        original.cache_clear()
        if per_thread_client:
            dms.dms_client = thread_client  # type: ignore[assignment]

        def lifecycle(index: int) -> bool:
            arn = task_arn(f"T{index:04d}")
            try:
                run_provider(cfn_event("Create", {"ReplicationTaskArn": arn}), double)
            except Exception as error:
                failures.append(f"{arn}: {error}")
                return False
            return True

        try:
            with ThreadPoolExecutor(max_workers=LIFECYCLES) as pool:
                succeeded = sum(pool.map(lifecycle, range(LIFECYCLES)))
        finally:
            dms.dms_client = original
            original.cache_clear()
    for _, params in double.throttled_calls:
        arn = params.get("ReplicationTaskArn") or params["Filters"][0]["Values"][0]
        throttled_by_arn[arn] = throttled_by_arn.get(arn, 0) + 1
    per_lifecycle = [throttled_by_arn.get(task_arn(f"T{i:04d}"), 0) for i in range(LIFECYCLES)]
    return succeeded, per_lifecycle, failures


def main() -> None:
    ExponentialBackoff.delay_amount = lambda _self, _context: 0.001  # type: ignore[method-assign, assignment]
    print(
        f"{LIFECYCLES} concurrent Create lifecycles, {THROTTLE_RATE:.0%} of calls throttled; "
        "botocore standard retries as configured by the handler, back-off delay SHRUNK to 1 ms"
    )
    for per_thread, label in ((True, "client per thread (per sandbox)"), (False, "shared client")):
        succeeded, per_lifecycle, failures = run(per_thread)
        mean, worst = statistics.mean(per_lifecycle), max(per_lifecycle)
        print(
            f"{label}: {succeeded}/{LIFECYCLES} succeeded; retries (throttled calls) per "
            f"lifecycle mean {mean:.2f}, max {worst}"
        )
        for failure in failures[:3]:
            print(f"  failure: {failure[:300]}")
        row(
            f"throttling 20%, {label}",
            f"{succeeded}/{LIFECYCLES} succeeded; retries/lifecycle mean {mean:.2f}, "
            f"max {worst} (back-off shrunk to 1 ms)",
            "100% succeed",
            succeeded == LIFECYCLES,
            COMMAND,
        )


if __name__ == "__main__":
    main()
