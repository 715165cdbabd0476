"""Reading DMS descriptions, and telling one run from the next however late DMS dates it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from dms_task_starter_runtime.contract import Kind
from dms_task_starter_runtime.state import (
    REPLICATION_PHASES,
    TASK_PHASES,
    Phase,
    RunMarks,
    Snapshot,
    State,
    phase_of,
    replication_state,
    snapshot,
    started_since,
    stopped_since,
    task_state,
    unlisted_replication_state,
)

from tests.support.dms_double import SERVERLESS_START_STATUSES

ARN = "arn:aws:dms:eu-west-1:123456789012:task:T1"
CONFIG = "arn:aws:dms:eu-west-1:123456789012:replication-config:R1"
D1 = "2026-03-01T10:00:00+00:00"
D2 = "2026-03-01T11:00:00+00:00"
D3 = "2026-03-01T12:00:00+00:00"

# Every status the DMS API reference lists for a replication task, and its phase.
DOCUMENTED_TASK_STATUSES = {
    "moving": Phase.BUSY,
    "creating": Phase.BUSY,
    "deleting": Phase.GONE,
    "failed": Phase.AT_REST,
    "failed-move": Phase.GONE,
    "modifying": Phase.BUSY,
    "ready": Phase.AT_REST,
    "running": Phase.RUNNING,
    "starting": Phase.STARTING,
    "stopped": Phase.AT_REST,
    "stopping": Phase.STOPPING,
    "testing": Phase.BUSY,
}


def state(status: str, **fields: Any) -> State:
    return State(arn=ARN, status=status, **fields)


def test_every_documented_task_status_has_its_phase() -> None:
    assert dict(TASK_PHASES) == DOCUMENTED_TASK_STATUSES


def test_serverless_provisioning_statuses_are_starting() -> None:
    starting = {phase_of(Kind.REPLICATION, status) for status in SERVERLESS_START_STATUSES}
    assert starting == {Phase.STARTING}
    assert REPLICATION_PHASES["created"] is Phase.AT_REST


@pytest.mark.parametrize("kind", list(Kind))
def test_a_status_dms_adds_later_is_waited_out(kind: Kind) -> None:
    assert phase_of(kind, "rebalancing") is Phase.BUSY


def test_task_state_reads_a_dms_description() -> None:
    description = {
        "ReplicationTaskArn": ARN,
        "Status": "stopped",
        "MigrationType": "cdc",
        "SourceEndpointArn": "arn:aws:dms:eu-west-1:123456789012:endpoint:SRC",
        "StopReason": "Stop Reason STOPPED_AT_SERVER_TIME",
        "LastFailureMessage": "",
        "ReplicationTaskStartDate": datetime(2026, 3, 1, 10, tzinfo=UTC),
        "RecoveryCheckpoint": "checkpoint:V1#1",
        "CdcStartPosition": "0/5120E10",
        "CdcStopPosition": "server_time:2026-03-02T00:00:00",
        "ReplicationTaskStats": {
            "StartDate": datetime(2026, 3, 1, 10, tzinfo=UTC),
            "FreshStartDate": datetime(2026, 3, 1, 9, tzinfo=UTC),
            "StopDate": datetime(2026, 3, 2, tzinfo=UTC),
            "FullLoadProgressPercent": 100,
            "TablesLoaded": 3,
            "TablesErrored": 0,
        },
    }
    read = task_state(description)
    assert read.marks == RunMarks(
        scheduled=D1, start=D1, fresh="2026-03-01T09:00:00+00:00", stop="2026-03-02T00:00:00+00:00"
    )
    assert read.source_endpoint_arn.endswith(":endpoint:SRC")
    assert read.has_run
    assert read.finished
    assert read.attributes()["StopReason"] == "Stop Reason STOPPED_AT_SERVER_TIME"
    assert read.attributes()["ReplicationTaskStartDate"] == D1


def test_replication_state_reads_a_serverless_replication() -> None:
    description = {
        "ReplicationConfigArn": CONFIG,
        "Status": "provisioning_capacity",
        "ReplicationType": "full-load-and-cdc",
        "FailureMessages": ["a", "b"],
        "ProvisionData": {"ProvisionState": "provisioning"},
        "ReplicationStats": {"StartDate": datetime(2026, 3, 1, 10, tzinfo=UTC)},
        "ReplicationLastStopTime": datetime(2026, 3, 1, 11, tzinfo=UTC),
    }
    read = replication_state(description)
    assert read.phase is Phase.STARTING
    assert read.failure == "a; b"
    assert read.marks.stop == D2
    assert read.attributes()["ProvisionState"] == "provisioning"
    assert read.attributes()["ReplicationConfigArn"] == CONFIG
    assert "ProvisionState 'provisioning'" in read.describe()


UNLISTED_CONFIG = {
    "ReplicationConfigArn": CONFIG,
    "ReplicationType": "cdc",
    "SourceEndpointArn": "s",
}


@pytest.mark.parametrize(
    ("started_before", "expected"),
    [
        (False, ("created", Phase.AT_REST, False, True)),
        # DescribeReplications describes provisioned replications: one DMS deprovisioned
        # after its stop is at rest, ran, and DMS cannot say whether it finished.
        (True, ("not listed", Phase.AT_REST, True, False)),
    ],
)
def test_an_unlisted_configuration_reads_by_the_starters_history(
    started_before: bool, expected: tuple[str, Phase, bool, bool]
) -> None:
    read = unlisted_replication_state(UNLISTED_CONFIG, started_before=started_before)
    assert (read.status, read.phase, read.has_run, read.listed) == expected
    assert not read.finished
    assert read.attributes()["Status"] == expected[0]


@pytest.mark.parametrize(
    ("task", "ran"),
    [
        (state("ready"), False),
        (state("running"), True),
        (state("stopped", stop_reason="Stop Reason NORMAL"), True),
        # A first start that failed before the task ran: only dates, no run's evidence.
        (state("failed", marks=RunMarks(scheduled=D1, start=D1, fresh=D1)), False),
        (state("failed", recovery_checkpoint="checkpoint:V1#1"), True),
        (state("failed", full_load_start_date=D1), True),
        (state("modifying"), False),
        (state("modifying", recovery_checkpoint="checkpoint:V1#1"), True),
    ],
)
def test_has_run_needs_evidence_of_a_run(task: State, ran: bool) -> None:
    assert task.has_run is ran


@pytest.mark.parametrize(
    ("reason", "migration_type", "finished"),
    [
        ("Stop Reason FULL_LOAD_ONLY_FINISHED", "full-load", True),
        ("Stop Reason STOPPED_AFTER_FULL_LOAD", "full-load-and-cdc", True),
        ("Stop Reason STOPPED_AFTER_CACHED_EVENTS", "full-load-and-cdc", True),
        ("Stop Reason STOPPED_AT_SERVER_TIME", "cdc", True),
        ("Stop Reason STOPPED_AT_COMMIT_TIME", "cdc", True),
        ("Stop Reason STOPPED_AFTER_DDL_APPLY", "cdc", True),
        ("Stop Reason NORMAL", "cdc", False),
        ("Stop Reason FATAL_ERROR", "full-load", False),
        ("Stop Reason RECOVERABLE_ERROR", "cdc", False),
        ("Stop Reason STOPPED_DUE_TO_LOW_MEMORY", "cdc", False),
    ],
)
def test_finished_means_it_did_what_it_was_configured_to_do(
    reason: str, migration_type: str, finished: bool
) -> None:
    task = state("stopped", stop_reason=reason, migration_type=migration_type)
    assert task.finished is finished


def test_a_full_load_task_with_a_finish_date_is_finished_unless_it_erred() -> None:
    done = state("stopped", migration_type="full-load", full_load_finish_date=D1)
    assert done.finished
    assert not replace(done, stop_reason="Stop Reason FATAL_ERROR").finished
    assert not replace(done, status="failed").finished


def test_snapshot_round_trips_through_text() -> None:
    taken = snapshot(state("running", marks=RunMarks(D1, D1, "", "")))
    assert Snapshot.from_text(taken.to_text()) == taken


@pytest.mark.parametrize("text", ["", "running", "nonsense|x|||", "running|x|a|b|c"])
def test_a_snapshot_text_that_is_not_one_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        Snapshot.from_text(text)


# -- started_since: one table for every way DMS may date a run ------------------------------

RUN_1 = RunMarks(scheduled=D1, start=D1, fresh=D1)
STOPPED_1 = replace(RUN_1, stop=D2)
CASES = [
    # (before, now, a new run began?, why)
    (state("ready"), state("starting"), True, "dated late: the status tells"),
    (state("ready"), state("starting", marks=RunMarks(D3, D3, D3)), True, "dated at the call"),
    (state("ready"), state("ready"), False, "nothing happened"),
    (state("creating"), state("ready"), False, "a created task is no run"),
    (
        state("stopped", marks=STOPPED_1, stop_reason="Stop Reason NORMAL"),
        state(
            "failed",
            marks=STOPPED_1,
            failure="Error connecting",
            stop_reason="Stop Reason FATAL_ERROR",
        ),
        True,
        "began and failed between two looks, undated",
    ),
    (
        state("stopped", marks=STOPPED_1, stop_reason="Stop Reason NORMAL"),
        state("stopped", marks=replace(STOPPED_1, start=D3, scheduled=D3, stop=D3)),
        True,
        "began and ended between two looks, dated",
    ),
    (
        state("modifying", marks=STOPPED_1, stop_reason="Stop Reason NORMAL"),
        state("stopped", marks=STOPPED_1, stop_reason="Stop Reason NORMAL"),
        False,
        "a modify returns the task to the same rest",
    ),
    (state("starting"), state("running", marks=RUN_1), False, "the starting run got its dates"),
    (state("running", marks=RUN_1), state("stopping", marks=RUN_1), False, "the same run stopping"),
    (
        state("running", marks=RUN_1),
        state("starting", marks=replace(RUN_1, stop=D2)),
        True,
        "stopped since, and starting again",
    ),
    (
        state("starting"),
        state("running", marks=RunMarks(D3, D3, D1, D2)),
        True,
        "a starting run stopped and another ran, dated late",
    ),
    (
        state("running", marks=RUN_1),
        state("running", marks=replace(RUN_1, fresh=D3, scheduled=D3)),
        True,
        "reload-target moves only FreshStartDate (and the scheduled date)",
    ),
    (
        state("running", marks=RUN_1),
        state("running", marks=replace(RUN_1, start=D3)),
        True,
        "resume moves only StartDate",
    ),
    (
        state("running", marks=RUN_1),
        state("stopped", marks=replace(RUN_1, stop=D2)),
        False,
        "stopped, not started again",
    ),
]


@pytest.mark.parametrize(("before", "now", "began", "why"), CASES, ids=[case[3] for case in CASES])
def test_started_since(before: State, now: State, began: bool, why: str) -> None:
    assert started_since(snapshot(before), now) is began, why


def test_started_since_a_task_that_vanished_is_no() -> None:
    assert started_since(snapshot(state("running", marks=RUN_1)), None) is False


def test_stopped_since_needs_a_new_stop_date() -> None:
    before = snapshot(state("running", marks=RUN_1))
    assert stopped_since(before, state("stopped", marks=replace(RUN_1, stop=D2)))
    assert not stopped_since(before, state("stopping", marks=RUN_1))
    again = snapshot(state("stopped", marks=replace(RUN_1, stop=D2)))
    assert not stopped_since(again, state("stopped", marks=replace(RUN_1, stop=D2)))


def test_attributes_are_strings_capped_to_keep_the_response_small() -> None:
    long = "x" * 5000
    attributes = state(
        "failed", failure=long, recovery_checkpoint=long, tables_loaded=3
    ).attributes()
    assert all(isinstance(value, str) for value in attributes.values())
    assert max(len(value) for value in attributes.values()) == 400
    assert attributes["TablesLoaded"] == "3"
    assert attributes["FullLoadProgressPercent"] == ""
    assert sum(len(key) + len(value) for key, value in attributes.items()) < 4096 - 1200
