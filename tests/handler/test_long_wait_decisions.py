"""The signaller's decision, row by row: what each DMS status means for a long wait, and the
exact Reason the wait condition shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import pytest
from dms_task_starter_runtime.contract import Kind, WaitFor
from dms_task_starter_runtime.executions import execution_name
from dms_task_starter_runtime.long_wait import (
    FAILURE,
    SUCCESS,
    LongWaitCheck,
    Signal,
    decide_check,
    duration,
)
from dms_task_starter_runtime.state import State, replication_state, task_state

from tests.support.dms_double import config_arn, task_arn

TASK: Final = task_arn("ORDERS")
CONFIG: Final = config_arn("ORDERS")
DEADLINE: Final = 1_000_000
BEFORE: Final = DEADLINE - 1
FINISHED: Final = datetime(2026, 3, 1, 12, tzinfo=UTC)
FAILED_LOAD: Final = "Last Error Table public.orders was errored/suspended."


def wait(kind: Kind = Kind.TASK, until: WaitFor = WaitFor.FULL_LOAD_FINISHED) -> LongWaitCheck:
    return LongWaitCheck(
        kind=kind,
        arn=TASK if kind is Kind.TASK else CONFIG,
        until=until,
        deadline=DEADLINE,
        maximum_seconds=6 * 3600,
        url="https://example.invalid/handle?X-Amz-Signature=SECRET",
    )


def task(status: str, migration_type: str = "full-load-and-cdc", **fields: Any) -> State:
    stats = fields.pop("stats", {})
    return task_state(
        {
            "ReplicationTaskArn": TASK,
            "Status": status,
            "MigrationType": migration_type,
            "ReplicationTaskStats": stats,
            **fields,
        }
    )


def replication(status: str, **fields: Any) -> State:
    stats = fields.pop("stats", {})
    return replication_state(
        {
            "ReplicationConfigArn": CONFIG,
            "Status": status,
            "ReplicationType": "full-load-and-cdc",
            "ReplicationStats": stats,
            **fields,
        }
    )


LOADING: Final = {"FullLoadProgressPercent": 42, "TablesLoaded": 3}
LOADED: Final = {"FullLoadProgressPercent": 100, "TablesLoaded": 7, "FullLoadFinishDate": FINISHED}

# (kind, until, state, expected status: SUCCESS / FAILURE / None = check again)
ROWS: Final[list[tuple[str, Kind, WaitFor, State | None, str | None]]] = [
    # tasks, waiting for RUNNING
    ("task starting", Kind.TASK, WaitFor.RUNNING, task("starting"), None),
    ("task running", Kind.TASK, WaitFor.RUNNING, task("running"), SUCCESS),
    ("task ready (a read that lags)", Kind.TASK, WaitFor.RUNNING, task("ready"), None),
    ("task modifying", Kind.TASK, WaitFor.RUNNING, task("modifying"), None),
    ("task a status DMS adds later", Kind.TASK, WaitFor.RUNNING, task("upgrading"), None),
    (
        "full-load task finished",
        Kind.TASK,
        WaitFor.RUNNING,
        task("stopped", "full-load", StopReason="Stop Reason FULL_LOAD_ONLY_FINISHED"),
        SUCCESS,
    ),
    (
        "cdc task at its stop position",
        Kind.TASK,
        WaitFor.RUNNING,
        task("stopped", "cdc", StopReason="Stop Reason STOPPED_AT_SERVER_TIME"),
        SUCCESS,
    ),
    (
        "task stopped by someone",
        Kind.TASK,
        WaitFor.RUNNING,
        task("stopped", StopReason="Stop Reason NORMAL"),
        FAILURE,
    ),
    ("task failed", Kind.TASK, WaitFor.RUNNING, task("failed"), FAILURE),
    ("task being deleted", Kind.TASK, WaitFor.RUNNING, task("deleting"), FAILURE),
    ("task gone", Kind.TASK, WaitFor.RUNNING, None, FAILURE),
    # tasks, waiting for FULL_LOAD_FINISHED
    ("task loading", Kind.TASK, WaitFor.FULL_LOAD_FINISHED, task("running", stats=LOADING), None),
    (
        "task loaded, cdc runs",
        Kind.TASK,
        WaitFor.FULL_LOAD_FINISHED,
        task("running", stats=LOADED),
        SUCCESS,
    ),
    (
        "task stopped after the full load",
        Kind.TASK,
        WaitFor.FULL_LOAD_FINISHED,
        task("stopped", StopReason="Stop Reason STOPPED_AFTER_FULL_LOAD", stats=LOADED),
        SUCCESS,
    ),
    (
        "full-load task finished its load",
        Kind.TASK,
        WaitFor.FULL_LOAD_FINISHED,
        task("stopped", "full-load", StopReason="Stop Reason FULL_LOAD_ONLY_FINISHED"),
        SUCCESS,
    ),
    (
        "cdc task at its stop position has no full load",
        Kind.TASK,
        WaitFor.FULL_LOAD_FINISHED,
        task("stopped", "cdc", StopReason="Stop Reason STOPPED_AT_SERVER_TIME"),
        FAILURE,
    ),
    (
        "cdc task running has no full load",
        Kind.TASK,
        WaitFor.FULL_LOAD_FINISHED,
        task("running", "cdc"),
        FAILURE,
    ),
    (
        "task stopped by someone during the load",
        Kind.TASK,
        WaitFor.FULL_LOAD_FINISHED,
        task("stopped", StopReason="Stop Reason NORMAL", stats=LOADING),
        FAILURE,
    ),
    (
        "task failed during the load",
        Kind.TASK,
        WaitFor.FULL_LOAD_FINISHED,
        task(
            "failed",
            StopReason="Stop Reason FATAL_ERROR",
            LastFailureMessage=FAILED_LOAD,
            stats=LOADING,
        ),
        FAILURE,
    ),
    (
        "task stopped on a recoverable error",
        Kind.TASK,
        WaitFor.FULL_LOAD_FINISHED,
        task("stopped", StopReason="Stop Reason RECOVERABLE_ERROR", stats=LOADED),
        FAILURE,
    ),
    # Serverless replications (capacity provisioning included)
    (
        "replication provisioning",
        Kind.REPLICATION,
        WaitFor.RUNNING,
        replication("provisioning_capacity", ProvisionData={"ProvisionState": "provisioning"}),
        None,
    ),
    (
        "replication starting",
        Kind.REPLICATION,
        WaitFor.RUNNING,
        replication("replication_starting"),
        None,
    ),
    ("replication running", Kind.REPLICATION, WaitFor.RUNNING, replication("running"), SUCCESS),
    (
        "replication loading",
        Kind.REPLICATION,
        WaitFor.FULL_LOAD_FINISHED,
        replication("running", stats=LOADING),
        None,
    ),
    (
        "replication loaded",
        Kind.REPLICATION,
        WaitFor.FULL_LOAD_FINISHED,
        replication("running", stats=LOADED),
        SUCCESS,
    ),
    (
        "full-load replication finished",
        Kind.REPLICATION,
        WaitFor.FULL_LOAD_FINISHED,
        replication("stopped", StopReason="Stop Reason FULL_LOAD_ONLY_FINISHED"),
        SUCCESS,
    ),
    (
        "replication failed",
        Kind.REPLICATION,
        WaitFor.FULL_LOAD_FINISHED,
        replication("failed", FailureMessages=["Insufficient capacity"]),
        FAILURE,
    ),
    (
        "replication stopped by someone",
        Kind.REPLICATION,
        WaitFor.RUNNING,
        replication("stopped"),
        FAILURE,
    ),
    ("replication not listed", Kind.REPLICATION, WaitFor.RUNNING, None, FAILURE),
]


@pytest.mark.parametrize(
    ("kind", "until", "state", "expected"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS]
)
def test_each_status_before_the_deadline(
    kind: Kind, until: WaitFor, state: State | None, expected: str | None
) -> None:
    signal = decide_check(wait(kind, until), state, BEFORE)
    assert (signal.status if signal else None) == expected


@pytest.mark.parametrize(
    ("kind", "until", "state", "expected"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS]
)
def test_at_the_deadline_only_a_reached_target_succeeds(
    kind: Kind, until: WaitFor, state: State | None, expected: str | None
) -> None:
    signal = decide_check(wait(kind, until), state, DEADLINE)
    assert signal is not None
    assert signal.status == (SUCCESS if expected == SUCCESS else FAILURE)


def test_the_reason_of_a_task_that_failed_during_the_load() -> None:
    state = task(
        "failed",
        StopReason="Stop Reason FATAL_ERROR",
        LastFailureMessage=FAILED_LOAD,
        stats=LOADING,
    )
    assert decide_check(wait(), state, BEFORE) == Signal(
        FAILURE,
        f"Replication task {TASK} will not reach 'full-load-finished': it is failed "
        f"(StopReason 'Stop Reason FATAL_ERROR', LastFailureMessage '{FAILED_LOAD}'); "
        "full load 42 %, 3 tables loaded. It was left as it is.",
    )


def test_the_reason_of_a_full_load_that_finished() -> None:
    assert decide_check(wait(), task("running", stats=LOADED), BEFORE) == Signal(
        SUCCESS,
        f"Replication task {TASK} reached 'full-load-finished': it is running; "
        "full load 100 %, 7 tables loaded.",
    )


def test_the_reason_when_the_maximum_is_reached() -> None:
    assert decide_check(wait(), task("running", stats=LOADING), DEADLINE) == Signal(
        FAILURE,
        f"Waited the maximum of 6 h (long_wait.maximum) for replication task {TASK} to finish "
        "its full load; it is running; full load 42 %, 3 tables loaded. It was left as it is.",
    )


def test_the_reason_of_a_replication_that_dms_no_longer_lists() -> None:
    assert decide_check(wait(Kind.REPLICATION, WaitFor.RUNNING), None, BEFORE) == Signal(
        FAILURE,
        f"Serverless replication {CONFIG} will not reach 'running': DMS lists no replication "
        "of the configuration (deleted, or deprovisioned). It was left as it is.",
    )


def test_a_failed_read_waits_until_the_deadline_then_names_the_failure() -> None:
    failure = "DescribeReplicationTasks for x failed, DMS did not answer: NoAnswer: timeout"
    assert decide_check(wait(), None, BEFORE, failure) is None
    assert decide_check(wait(), None, DEADLINE, failure) == Signal(
        FAILURE,
        f"Waited the maximum of 6 h (long_wait.maximum) for replication task {TASK} to finish "
        f"its full load; the last DMS read failed: {failure}. It was left as it is.",
    )


def test_a_twelve_hour_maximum_is_capped_before_the_wait_conditions_limit() -> None:
    twelve_hours = LongWaitCheck(**{**wait().__dict__, "maximum_seconds": 12 * 3600})
    signal = decide_check(twelve_hours, task("running", stats=LOADING), DEADLINE)
    assert signal is not None
    assert signal.reason.startswith("Waited the maximum of 11 h 56 min (long_wait.maximum)")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(60, "1 min"), (3600, "1 h"), (5400, "1 h 30 min"), (42960, "11 h 56 min")],
)
def test_durations_read_in_hours_and_minutes(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_execution_names_are_one_per_request_and_fit_step_functions() -> None:
    logical_id = "OrdersStarterLongWait" + "A" * 100
    name = execution_name("stack-1", logical_id, "request-1")
    assert name == execution_name("stack-1", logical_id, "request-1")
    assert name != execution_name("stack-1", logical_id, "request-2")
    assert name != execution_name("stack-2", logical_id, "request-1")
    assert len(name) == 80
    assert name.startswith("OrdersStarterLongWait")


def test_a_malformed_input_names_its_keys_and_never_the_url() -> None:
    with pytest.raises(ValueError, match="kind, until") as raised:
        LongWaitCheck.from_input({**_input(), "kind": "pipeline", "until": "nothing"})
    assert "SECRET" not in str(raised.value)
    with pytest.raises(ValueError, match="deadline"):
        LongWaitCheck.from_input({**_input(), "deadline": "soon"})
    assert LongWaitCheck.from_input(_input()) == wait()


def _input() -> dict[str, Any]:
    return {
        "kind": "task",
        "arn": TASK,
        "until": "full-load-finished",
        "deadline": DEADLINE,
        "maximumSeconds": 6 * 3600,
        "url": wait().url,
    }
