"""Reaction time: from the task reaching ``running`` to ``is_complete`` reporting done.

The Provider framework calls ``is_complete`` right after ``on_event`` and then every P
seconds. Time is virtual: the handler's clock and the double's task status follow it.
The task becomes running at a random moment; the reaction time is the time from that
moment to the first ``is_complete`` that answers complete. The real handler runs every
poll against the DMS double over HTTP.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, row, use_repo_imports

use_repo_imports()

from tests.handler.dms_double import DmsDouble, ServedDouble, task_arn  # noqa: E402
from tests.handler.provider import CONTEXT, cfn_event  # noqa: E402

COMMAND: Final = ".venv/bin/python bench/reaction_time.py"
POLL_INTERVALS: Final = (5, 10, 30, 60)
TRIALS: Final = 200
MAX_STARTUP_SECONDS: Final = 300.0
"""The task becomes running uniformly at random within this many seconds of the start."""
T0: Final = 1_800_000_000


def trial(double: DmsDouble, arn: str, interval: int, rng: random.Random) -> tuple[float, int]:
    from dms_task_starter_runtime import handler

    now = [float(T0)]
    handler.now_epoch_seconds = lambda: int(now[0])
    task = double.tasks[arn]
    task.status, task.start_date, task.stop_reason = "ready", None, ""
    event = cfn_event("Create", {"ReplicationTaskArn": arn, "TimeoutSeconds": "3000"})
    resource_event = {**event, **handler.on_event(event, CONTEXT)}
    running_at = T0 + rng.uniform(0, MAX_STARTUP_SECONDS)
    polls = 0
    while True:
        if now[0] >= running_at and task.status == "starting":
            task.status = "running"
        polls += 1
        if handler.is_complete(resource_event, CONTEXT)["IsComplete"]:
            return now[0] - running_at, polls
        now[0] += interval


def main() -> None:
    from dms_task_starter_runtime import dms

    rng = random.Random(20240131)
    arn = task_arn("T1")
    double = DmsDouble()
    double.add_task("T1")
    figures: list[tuple[int, float, float, float]] = []
    with ServedDouble(double):
        dms.dms_client.cache_clear()
        for interval in POLL_INTERVALS:
            results = [trial(double, arn, interval, rng) for _ in range(TRIALS)]
            reactions = [reaction for reaction, _ in results]
            polls = [float(count) for _, count in results]
            figures.append((interval, median(reactions), max(reactions), median(polls)))
    print(f"{TRIALS} trials per poll interval; running at U(0, {MAX_STARTUP_SECONDS:.0f}) s")
    print(f"{'P (s)':>6} {'median (s)':>11} {'max (s)':>8} {'median polls':>13}  max <= P")
    for interval, med, worst, med_polls in figures:
        met = worst <= interval
        print(f"{interval:>6} {med:>11.1f} {worst:>8.1f} {med_polls:>13.0f}  {met}")
    for interval, med, worst, _ in figures:
        row(
            f"reaction time, P={interval} s",
            f"median {med:.1f} s, max {worst:.1f} s ({TRIALS} trials)",
            f"max <= {interval} s",
            worst <= interval,
            COMMAND,
        )


if __name__ == "__main__":
    main()
