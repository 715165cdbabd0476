"""Whole lifecycles against the DMS double, driven the way the Provider framework drives them.

Each test asserts the exact sequence of write calls (StartReplicationTask,
StopReplicationTask) with their parameters: they are what a stack does to a live task.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from dms_task_starter_runtime import handler
from dms_task_starter_runtime.contract import GUARD_RESOURCE_TYPE
from dms_task_starter_runtime.decisions import StarterError
from dms_task_starter_runtime.dms import DmsCallError
from dms_task_starter_runtime.settings import InvalidSettingError

from .dms_double import DmsDouble, task_arn
from .provider import CONTEXT, CREATE_FAILED_MARKER, cfn_event, run_provider

T1 = task_arn("T1")
OLD = task_arn("OLD")
NEW = task_arn("NEW")
POSITION = "mysql-bin-changelog.000024:373"


def start(arn: str, start_type: str, **cdc: str) -> tuple[str, dict[str, Any]]:
    params = {"ReplicationTaskArn": arn, "StartReplicationTaskType": start_type, **cdc}
    return ("StartReplicationTask", params)


def stop(arn: str) -> tuple[str, dict[str, Any]]:
    return ("StopReplicationTask", {"ReplicationTaskArn": arn})


def props(arn: str = T1, **settings: str) -> dict[str, str]:
    return {"ReplicationTaskArn": arn, **settings}


def create(double: DmsDouble, properties: dict[str, str]) -> str:
    return run_provider(cfn_event("Create", properties), double).physical_id


def update(
    double: DmsDouble, properties: dict[str, str], old: dict[str, str], physical_id: str = T1
) -> str:
    event = cfn_event("Update", properties, old_properties=old, physical_id=physical_id)
    return run_provider(event, double).physical_id


def delete(double: DmsDouble, properties: dict[str, str], physical_id: str = T1) -> None:
    run_provider(cfn_event("Delete", properties, physical_id=physical_id), double)


def test_create_update_with_new_cdc_position_then_delete(double: DmsDouble) -> None:
    double.add_task("T1")
    assert create(double, props()) == T1
    assert double.tasks[T1].status == "running"

    assert update(double, props(CdcStartPosition=POSITION), old=props()) == T1
    assert double.tasks[T1].cdc_start_position == POSITION

    delete(double, props(CdcStartPosition=POSITION))
    assert double.tasks[T1].status == "stopped"
    assert double.writes() == [
        start(T1, "start-replication"),
        stop(T1),
        start(T1, "resume-processing", CdcStartPosition=POSITION),
        stop(T1),
    ]


def test_create_returns_the_task_attributes(double: DmsDouble) -> None:
    double.add_task("T1")
    result = run_provider(cfn_event("Create", props()), double)
    assert result.data["ReplicationTaskArn"] == T1
    assert result.data["Status"] == "running"
    assert result.data["RecoveryCheckpoint"].startswith("checkpoint:V1#")
    assert result.data["ReplicationTaskStartDate"].startswith("2023-11-14T")


def test_delete_after_a_failed_create_makes_no_call(double: DmsDouble) -> None:
    delete(double, props(), physical_id=CREATE_FAILED_MARKER)
    assert double.calls == []


def test_delete_of_a_missing_task_only_describes(double: DmsDouble) -> None:
    delete(double, props())
    assert {operation for operation, _ in double.calls} == {"DescribeReplicationTasks"}


def test_delete_never_fails_on_bad_properties(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    delete(double, {"ReplicationTaskArn": "garbage", "TimeoutSeconds": "x", "OnDelete": "?"})
    assert double.writes() == [stop(T1)]


def test_delete_with_leave_running_makes_no_call(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    delete(double, props(OnDelete="leave-running"))
    assert double.calls == []
    assert double.tasks[T1].status == "running"


def test_delete_of_a_stopping_task_waits_for_it(double: DmsDouble) -> None:
    double.add_task("T1", status="stopping")
    delete(double, props())
    assert double.writes() == []
    assert double.tasks[T1].status == "stopped"


def test_rollback_after_a_restart_restarts_with_the_old_settings(double: DmsDouble) -> None:
    double.add_task("T1")
    create(double, props())
    update(double, props(CdcStartPosition=POSITION), old=props())
    # A later resource fails: CloudFormation sends the old properties back as an Update.
    update(double, props(), old=props(CdcStartPosition=POSITION))
    assert double.writes() == [
        start(T1, "start-replication"),
        stop(T1),
        start(T1, "resume-processing", CdcStartPosition=POSITION),
        stop(T1),
        start(T1, "resume-processing"),
    ]


def test_rollback_of_an_update_that_failed_validation_touches_nothing(double: DmsDouble) -> None:
    double.add_task("T1")
    create(double, props())
    bad = props(CdcStopPosition="tomorrow")
    with pytest.raises(InvalidSettingError, match=r"^CdcStopPosition: "):
        update(double, bad, old=props())
    update(double, props(), old=bad)
    assert double.writes() == [start(T1, "start-replication")]


def test_duplicate_delivery_starts_once(double: DmsDouble) -> None:
    double.add_task("T1")
    event = cfn_event("Create", props())
    first = handler.on_event(event, CONTEXT)
    second = handler.on_event(event, CONTEXT)
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] == T1
    run_provider(event, double)
    assert double.writes() == [start(T1, "start-replication")]
    assert double.tasks[T1].status == "running"


def test_duplicate_is_complete_polls_start_once(double: DmsDouble) -> None:
    double.add_task("T1", status="creating")
    event = cfn_event("Create", props())
    resource_event = {**event, **handler.on_event(event, CONTEXT)}
    double.advance()
    for _ in range(3):
        assert handler.is_complete(resource_event, CONTEXT) == {"IsComplete": False}
    double.advance()
    assert handler.is_complete(resource_event, CONTEXT)["IsComplete"] is True
    assert double.writes() == [start(T1, "start-replication")]


def test_lifecycle_survives_throttling(double: DmsDouble) -> None:
    double.add_task("T1")
    double.throttle_rate = 0.4
    create(double, props())
    delete(double, props())
    assert len(double.throttled_calls) > 5
    assert double.writes() == [start(T1, "start-replication"), stop(T1)]


def test_task_failing_while_starting_fails_with_its_reasons(double: DmsDouble) -> None:
    double.add_task("T1", status="stopped", fails_while_starting="Error connecting to source")
    with pytest.raises(StarterError) as caught:
        create(double, props())
    assert str(caught.value) == (
        f"Replication task {T1} did not reach 'running': it is failed "
        "(StopReason 'Stop Reason FATAL_ERROR', LastFailureMessage 'Error connecting to source')."
    )
    assert double.writes() == [start(T1, "resume-processing")]


@pytest.mark.parametrize("wait_for", ["running", "full-load-finished"])
def test_full_load_task_that_finishes_is_a_success(double: DmsDouble, wait_for: str) -> None:
    double.add_task("T1", migration_type="full-load")
    event = cfn_event("Create", props(WaitFor=wait_for))
    resource_event = {**event, **handler.on_event(event, CONTEXT)}
    double.advance()
    double.advance()  # The full load finished before the first poll.
    answer = handler.is_complete(resource_event, CONTEXT)
    assert answer["IsComplete"] is True
    assert answer["Data"]["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert answer["Data"]["FullLoadProgressPercent"] == "100"


def test_wait_for_full_load_keeps_waiting_while_it_runs(double: DmsDouble) -> None:
    double.add_task("T1", migration_type="full-load")
    result = run_provider(cfn_event("Create", props(WaitFor="full-load-finished")), double)
    assert result.polls == 3
    assert result.data["Status"] == "stopped"


def test_task_still_creating_is_started_once_ready(double: DmsDouble) -> None:
    double.add_task("T1", status="creating")
    result = run_provider(cfn_event("Create", props()), double)
    assert result.data["Status"] == "running"
    assert double.writes() == [start(T1, "start-replication")]


@pytest.mark.parametrize(
    ("status", "start_type"), [("ready", "start-replication"), ("stopped", "reload-target")]
)
def test_wait_for_nothing_completes_at_the_first_poll(
    double: DmsDouble, status: str, start_type: str
) -> None:
    double.add_task("T1", status=status)
    properties = props(WaitFor="nothing", StartReplicationTaskType="reload-target")
    result = run_provider(cfn_event("Create", properties), double)
    assert result.polls == 1
    assert double.writes() == [start(T1, start_type)]


def test_wait_for_nothing_still_makes_a_pending_start(double: DmsDouble) -> None:
    double.add_task("T1", status="modifying", status_after_transition="stopped")
    result = run_provider(cfn_event("Create", props(WaitFor="nothing")), double)
    assert result.polls == 2
    assert result.data["Status"] == "starting"
    assert double.writes() == [start(T1, "resume-processing")]


def test_timeout_names_task_target_and_last_status(
    double: DmsDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    double.add_task("T1", status="modifying")
    clock = itertools.count(1_800_000_000, 50)
    monkeypatch.setattr(handler, "now_epoch_seconds", lambda: next(clock))
    with pytest.raises(StarterError) as caught:
        create(double, props(TimeoutSeconds="120"))
    assert str(caught.value) == (
        f"Timed out after 120 s waiting for task {T1} to run; last status modifying. "
        "The task was left as it is."
    )
    assert double.writes() == []


def test_replacement_hands_cdc_over_from_the_old_task(double: DmsDouble) -> None:
    double.add_task("OLD", migration_type="cdc")
    double.add_task("NEW", migration_type="cdc")
    create(double, props(OLD))
    checkpoint = double.tasks[OLD].recovery_checkpoint
    assert checkpoint

    assert update(double, props(NEW), old=props(OLD), physical_id=OLD) == NEW
    # CloudFormation deletes the old resource in the cleanup phase: already stopped, no call.
    delete(double, props(OLD), physical_id=OLD)

    assert double.writes() == [
        start(OLD, "start-replication"),
        stop(OLD),
        start(NEW, "start-replication", CdcStartPosition=checkpoint),
    ]
    assert double.tasks[OLD].status == "stopped"
    assert double.tasks[NEW].status == "running"


def test_replacement_without_handover_for_a_full_load_and_cdc_task(double: DmsDouble) -> None:
    double.add_task("OLD", status="running")
    double.add_task("NEW")
    assert update(double, props(NEW), old=props(OLD), physical_id=OLD) == NEW
    assert double.writes() == [stop(OLD), start(NEW, "start-replication")]


def test_replacement_leaves_the_old_task_running_if_asked(double: DmsDouble) -> None:
    double.add_task("OLD", status="running", migration_type="cdc")
    double.add_task("NEW", migration_type="cdc")
    new_props = props(NEW, OnDelete="leave-running")
    update(double, new_props, old=props(OLD, OnDelete="leave-running"), physical_id=OLD)
    assert double.writes() == [start(NEW, "start-replication")]
    assert double.tasks[OLD].status == "running"


def test_update_without_changes_of_a_running_task_only_describes(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    update(double, props(WaitFor="running", TimeoutSeconds="900"), old=props())
    assert double.writes() == []
    assert {operation for operation, _ in double.calls} == {"DescribeReplicationTasks"}


def test_update_starts_a_task_that_is_not_running(double: DmsDouble) -> None:
    double.add_task("T1", status="stopped")
    update(double, props(), old=props())
    assert double.writes() == [start(T1, "resume-processing")]


def guard_event(
    request_type: str,
    digest: str,
    old_digest: str | None = None,
    physical_id: str = f"{T1}#update-guard",
) -> dict[str, Any]:
    old = None if old_digest is None else props(TaskDefinitionDigest=old_digest)
    return cfn_event(
        request_type,
        props(TaskDefinitionDigest=digest),
        old_properties=old,
        physical_id=None if request_type == "Create" else physical_id,
        resource_type=GUARD_RESOURCE_TYPE,
    )


def guard_stops_for_a_modification(double: DmsDouble) -> str:
    """Create guard and starter, then the guard's Update for a new definition; its new id."""
    assert run_provider(guard_event("Create", "d1"), double).physical_id == f"{T1}#update-guard"
    double.add_task("T1")
    create(double, props(TaskDefinitionDigest="d1"))
    stopping_guard_id = run_provider(guard_event("Update", "d2", "d1"), double).physical_id
    assert double.tasks[T1].status == "stopped"
    return stopping_guard_id


def test_guard_stops_the_task_before_a_modification_and_the_starter_restarts_it(
    double: DmsDouble,
) -> None:
    stopping_guard_id = guard_stops_for_a_modification(double)
    update(double, props(TaskDefinitionDigest="d2"), old=props(TaskDefinitionDigest="d1"))
    # Cleanup after success: CloudFormation deletes the guard's previous id.
    run_provider(guard_event("Delete", "d1"), double)

    assert stopping_guard_id.startswith(f"{T1}#update-guard#stopped-run:")
    assert double.writes() == [
        start(T1, "start-replication"),
        stop(T1),
        start(T1, "resume-processing"),
    ]
    assert double.tasks[T1].status == "running"


def test_guard_restarts_the_task_when_the_modification_is_rolled_back(double: DmsDouble) -> None:
    stopping_guard_id = guard_stops_for_a_modification(double)
    # CloudFormation fails to modify the task and rolls back: the guard gets the old
    # properties back, then the rollback cleanup deletes the id the failed update returned.
    rollback = guard_event("Update", "d1", "d2", physical_id=stopping_guard_id)
    assert run_provider(rollback, double).physical_id == f"{T1}#update-guard"
    run_provider(guard_event("Delete", "d2", physical_id=stopping_guard_id), double)

    assert double.writes() == [
        start(T1, "start-replication"),
        stop(T1),
        start(T1, "resume-processing"),
    ]
    assert double.tasks[T1].status == "running"


def test_guard_delete_leaves_a_task_that_ran_again_since_it_stopped_it(double: DmsDouble) -> None:
    stopping_guard_id = guard_stops_for_a_modification(double)
    update(double, props(TaskDefinitionDigest="d2"), old=props(TaskDefinitionDigest="d1"))
    double.tasks[T1].status = "stopped"  # a full load finished, or someone stopped it by hand
    run_provider(guard_event("Delete", "d2", physical_id=stopping_guard_id), double)
    assert double.writes() == [
        start(T1, "start-replication"),
        stop(T1),
        start(T1, "resume-processing"),
    ]


@pytest.mark.parametrize(
    ("status", "digest", "writes"),
    [
        ("running", "d1", []),
        ("stopped", "d2", []),
        ("stopping", "d2", []),
        ("starting", "d2", [stop(T1)]),
    ],
)
def test_guard_update_stops_only_a_started_task_with_a_new_digest(
    double: DmsDouble, status: str, digest: str, writes: list[tuple[str, dict[str, Any]]]
) -> None:
    double.add_task("T1", status=status)
    run_provider(guard_event("Update", digest, "d1"), double)
    assert double.writes() == writes


def test_guard_ignores_a_replaced_task(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    event = guard_event("Update", "d2", "d1")
    event["OldResourceProperties"]["ReplicationTaskArn"] = OLD
    run_provider(event, double)
    assert double.calls == []


def test_guard_of_a_task_not_created_yet_succeeds(double: DmsDouble) -> None:
    run_provider(guard_event("Update", "d2", "d1"), double)
    assert double.writes() == []


def test_invalid_settings_fail_before_any_dms_call(double: DmsDouble) -> None:
    double.add_task("T1")
    with pytest.raises(InvalidSettingError) as caught:
        create(double, props(CdcStartTime="2024-01-31T12:00:00", CdcStartPosition=POSITION))
    assert str(caught.value).startswith("CdcStartTime and CdcStartPosition: both are set")
    assert double.calls == []


def test_create_of_a_missing_task_fails_naming_it(double: DmsDouble) -> None:
    with pytest.raises(StarterError, match=f"^Replication task {T1} was not found"):
        create(double, props())
    assert double.writes() == []


def test_access_denied_names_the_task(double: DmsDouble) -> None:
    double.add_task("T1")
    double.denied.add(("StartReplicationTask", T1))
    with pytest.raises(DmsCallError) as caught:
        create(double, props())
    assert str(caught.value) == (
        f"StartReplicationTask for replication task {T1} failed, this function is not allowed "
        f"to do that: AccessDeniedFault: User is not authorized to perform: "
        f"dms:StartReplicationTask on resource: {T1}"
    )


def test_unknown_resource_type_fails(double: DmsDouble) -> None:
    event = cfn_event("Create", props(), resource_type="Custom::Other")
    with pytest.raises(StarterError, match=r"^Unknown resource type Custom::Other"):
        handler.on_event(event, CONTEXT)
    assert double.calls == []


@pytest.mark.parametrize("new_status", [None, "deleting"])
def test_replacement_that_cannot_start_leaves_the_old_task_running(
    double: DmsDouble, new_status: str | None
) -> None:
    double.add_task("OLD", status="running")
    if new_status is not None:
        double.add_task("NEW", status=new_status)
    with pytest.raises(StarterError, match=NEW):
        update(double, props(NEW), old=props(OLD), physical_id=OLD)
    assert double.writes() == []
    assert double.tasks[OLD].status == "running"


def test_replacement_of_a_starting_task_stops_it_once_it_runs(double: DmsDouble) -> None:
    double.add_task("OLD", status="starting", migration_type="cdc")
    double.add_task("NEW", migration_type="cdc")
    update(double, props(NEW), old=props(OLD), physical_id=OLD)
    checkpoint = double.tasks[OLD].recovery_checkpoint
    assert double.writes() == [
        stop(OLD),
        start(NEW, "start-replication", CdcStartPosition=checkpoint),
    ]


def test_replacement_with_own_cdc_start_does_not_hand_over(double: DmsDouble) -> None:
    double.add_task("OLD", status="stopped", migration_type="cdc", recovery_checkpoint="cp")
    double.add_task("NEW", migration_type="cdc")
    update(double, props(NEW, CdcStartPosition=POSITION), old=props(OLD), physical_id=OLD)
    assert double.writes() == [start(NEW, "start-replication", CdcStartPosition=POSITION)]


def test_start_whose_answer_was_lost_counts_as_made(double: DmsDouble) -> None:
    double.add_task("T1")
    double.lose_answer_of.add("StartReplicationTask")
    assert run_provider(cfn_event("Create", props()), double).data["Status"] == "running"
    assert double.writes() == [start(T1, "start-replication")]
    rejected_retry = double.calls[2]
    assert rejected_retry == start(T1, "start-replication")


def test_stop_whose_answer_was_lost_counts_as_made(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    double.lose_answer_of.add("StopReplicationTask")
    delete(double, props())
    assert double.writes() == [stop(T1)]
    assert double.tasks[T1].status == "stopped"


def test_start_rejected_for_another_reason_still_fails(double: DmsDouble) -> None:
    double.add_task("T1", status="stopped")
    double.denied.add(("StartReplicationTask", T1))
    with pytest.raises(DmsCallError, match="AccessDeniedFault"):
        create(double, props())


def test_unknown_request_type_fails_without_a_dms_call(double: DmsDouble) -> None:
    double.add_task("T1")
    with pytest.raises(StarterError, match=r"^Unknown request type Bogus"):
        handler.on_event(cfn_event("Bogus", props()), CONTEXT)
    assert double.calls == []


def test_restart_for_another_stop_position_resumes_cdc_at_the_checkpoint(double: DmsDouble) -> None:
    """The CDC start was applied by the first run; sending it again would replay changes."""
    double.add_task("T1")
    create(double, props(CdcStartPosition=POSITION))
    stop_at = "server_time:2027-01-31T12:00:00"
    update(
        double,
        props(CdcStartPosition=POSITION, CdcStopPosition=stop_at),
        old=props(CdcStartPosition=POSITION),
    )
    assert double.writes() == [
        start(T1, "start-replication", CdcStartPosition=POSITION),
        stop(T1),
        start(T1, "resume-processing", CdcStopPosition=stop_at),
    ]


def test_update_that_starts_a_stopped_task_keeps_its_checkpoint(double: DmsDouble) -> None:
    double.add_task("T1", status="stopped", start_date=1_700_000_000.0)
    update(double, props(CdcStartPosition=POSITION), old=props(CdcStartPosition=POSITION))
    assert double.writes() == [start(T1, "resume-processing")]


def test_update_of_a_task_that_never_ran_sends_the_configured_cdc_start(double: DmsDouble) -> None:
    double.add_task("T1")
    update(double, props(CdcStartPosition=POSITION), old=props(CdcStartPosition=POSITION))
    assert double.writes() == [start(T1, "start-replication", CdcStartPosition=POSITION)]


def finished_full_load_task(double: DmsDouble) -> None:
    double.add_task("T1", migration_type="full-load")
    create(double, props())
    double.advance()  # the full load finishes after the stack was deployed
    assert double.tasks[T1].stop_reason == "Stop Reason FULL_LOAD_ONLY_FINISHED"


def test_update_leaves_a_finished_full_load_alone(double: DmsDouble) -> None:
    finished_full_load_task(double)
    result = run_provider(
        cfn_event("Update", props(TimeoutSeconds="900"), old_properties=props(), physical_id=T1),
        double,
    )
    assert result.data["Status"] == "stopped"
    assert double.writes() == [start(T1, "start-replication")]


def test_update_with_new_start_settings_loads_a_finished_full_load_again(
    double: DmsDouble,
) -> None:
    finished_full_load_task(double)
    update(double, props(StartReplicationTaskType="reload-target"), old=props())
    assert double.writes() == [start(T1, "start-replication"), start(T1, "reload-target")]


def test_update_restarts_a_stopped_cdc_task_whose_full_load_had_finished(
    double: DmsDouble,
) -> None:
    double.add_task(
        "T1",
        status="stopped",
        stop_reason="Stop Reason NORMAL",
        start_date=1_700_000_000.0,
        full_load_finish_date=1_700_000_600.0,
    )
    update(double, props(), old=props())
    assert double.writes() == [start(T1, "resume-processing")]
