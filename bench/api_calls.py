"""DMS API calls per lifecycle, counted by operation, against the DMS double.

Lifecycles: create + start of a ready task; update with a changed CdcStartPosition of a
running task (stop, then start again); delete with stop. Target: one describe before
acting, one start (per start), and describes only while waiting (one per poll).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import row, use_repo_imports

use_repo_imports()

from tests.handler.dms_double import DmsDouble, ServedDouble, task_arn  # noqa: E402
from tests.handler.provider import cfn_event, run_provider  # noqa: E402

COMMAND: Final = ".venv/bin/python bench/api_calls.py"
DESCRIBE: Final = "DescribeReplicationTasks"
START: Final = "StartReplicationTask"
STOP: Final = "StopReplicationTask"
POSITION: Final = "mysql-bin-changelog.000024:373"


def lifecycle(
    double: DmsDouble, name: str, event: dict[str, Any], starts: int, stops: int
) -> tuple[str, Counter[str], int, bool, list[str]]:
    double.calls.clear()
    result = run_provider(event, double)
    operations = [operation for operation, _ in double.calls]
    counts = Counter(operations)
    first_write = next(i for i, op in enumerate(operations) if op in (START, STOP))
    met = (
        operations[:first_write] == [DESCRIBE]
        and counts[START] == starts
        and counts[STOP] == stops
        # on_event's describe, then exactly one describe per is_complete poll.
        and counts[DESCRIBE] == 1 + result.polls
    )
    return name, counts, result.polls, met, operations


def main() -> None:
    from dms_task_starter_runtime import dms

    arn = task_arn("T1")
    props = {"ReplicationTaskArn": arn}
    new_props = {**props, "CdcStartPosition": POSITION}
    double = DmsDouble()
    double.add_task("T1")
    with ServedDouble(double):
        dms.dms_client.cache_clear()
        results = [
            lifecycle(double, "create (ready task)", cfn_event("Create", props), 1, 0),
            lifecycle(
                double,
                "update (new CdcStartPosition, running task)",
                cfn_event("Update", new_props, old_properties=props, physical_id=arn),
                1,
                1,
            ),
            lifecycle(
                double, "delete (stop)", cfn_event("Delete", new_props, physical_id=arn), 0, 1
            ),
        ]
    header = f"{'lifecycle':45} {'Describe':>8} {'Start':>5} {'Stop':>4} {'polls':>5}  met"
    print(header)
    print("-" * len(header))
    for name, counts, polls, met, _ in results:
        print(
            f"{name:45} {counts[DESCRIBE]:>8} {counts[START]:>5} {counts[STOP]:>4} "
            f"{polls:>5}  {'yes' if met else 'NO'}"
        )
    print()
    for name, _, _, _, operations in results:
        short = [
            op.replace("ReplicationTasks", "").replace("ReplicationTask", "") for op in operations
        ]
        print(f"{name}: {' -> '.join(short)}")
    for name, counts, polls, met, _ in results:
        writes = "1 start" if counts[START] else "no start"
        target = f"1 describe before acting, {writes}, 1 describe per poll only"
        figure = (
            f"{counts[DESCRIBE]} describe, {counts[START]} start, {counts[STOP]} stop, "
            f"{polls} polls"
        )
        row(f"API calls: {name}", figure, target, met, COMMAND)


if __name__ == "__main__":
    main()
