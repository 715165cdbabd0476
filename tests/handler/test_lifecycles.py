"""Whole requests against the DMS double, driven the way the Provider framework drives them.

Every test runs under both readings of what the DMS reference leaves open (the ``double``
fixture: start dates at the start call or only once the task runs, one or three steps per
status, ...) and asserts the exact write calls with their parameters: they are what a
stack does to a live task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from dms_task_starter_runtime import handler
from dms_task_starter_runtime.plan import StarterError

from tests.support.dms_double import (
    BEHAVIOURS,
    FAILED_FIRST_START_RAN,
    Call,
    DmsDouble,
    StartDates,
    endpoint_arn,
    start_task,
    stop_task,
    task_arn,
)
from tests.support.provider import (
    CONTEXT,
    CREATE_FAILED_MARKER,
    ProviderFailedError,
    cfn_event,
    double_clock,
    run_provider,
)

if TYPE_CHECKING:
    from tests.support.served import FixedStack

T1 = task_arn("T1")
OLD = task_arn("OLD")
NEW = task_arn("NEW")
POSITION = "mysql-bin-changelog.000024:373"


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


def reason(call: Any) -> str:
    with pytest.raises(ProviderFailedError) as caught:
        call()
    return caught.value.reason


def test_create_update_with_a_new_cdc_position_then_delete(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("T1", migration_type="cdc")
    assert create(double, props()) == T1
    assert double.tasks[T1].status == "running"
    stack_status.status = "UPDATE_IN_PROGRESS"
    assert update(double, props(CdcStartPosition=POSITION), old=props()) == T1
    assert double.tasks[T1].cdc_start_position == POSITION
    stack_status.status = "DELETE_IN_PROGRESS"
    delete(double, props(CdcStartPosition=POSITION))
    assert double.tasks[T1].status == "stopped"
    assert double.writes() == [
        start_task(T1, "start-replication"),
        stop_task(T1),
        # A cdc task that ran restarts at a new position with start-replication (API reference).
        start_task(T1, "start-replication", CdcStartPosition=POSITION),
        stop_task(T1),
    ]
    assert double.rejected == []


def test_create_returns_the_task_attributes(double: DmsDouble) -> None:
    double.add_task("T1")
    result = run_provider(cfn_event("Create", props()), double)
    assert result.data["ReplicationTaskArn"] == T1
    assert result.data["Status"] == "running"
    assert result.data["RecoveryCheckpoint"].startswith("checkpoint:V1#")
    assert result.data["ReplicationTaskStartDate"].startswith("2026-03-01T")
    assert result.data["StarterSubject"] == T1


def test_the_delete_after_a_failed_on_event_create_never_reaches_the_handler(
    double: DmsDouble,
) -> None:
    delete(double, props(), physical_id=CREATE_FAILED_MARKER)
    assert double.calls == []


def test_delete_of_a_missing_task_only_describes(double: DmsDouble) -> None:
    delete(double, props())
    assert {operation for operation, _ in double.calls} == {"DescribeReplicationTasks"}


def test_delete_never_fails_on_bad_properties(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    delete(double, {"ReplicationTaskArn": "garbage", "TimeoutSeconds": "x", "OnDelete": "?"})
    assert double.writes() == [stop_task(T1)]


def test_delete_with_leave_running_makes_no_dms_call(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    delete(double, props(OnDelete="leave-running"))
    assert double.calls == []
    assert double.tasks[T1].status == "running"


def test_delete_of_a_stopping_task_waits_for_it(double: DmsDouble) -> None:
    double.add_task("T1", status="stopping")
    delete(double, props())
    assert double.writes() == []
    assert double.tasks[T1].status == "stopped"


def test_delete_of_a_starting_task_waits_until_it_runs_and_stops_it(double: DmsDouble) -> None:
    double.add_task("T1")
    run_provider(cfn_event("Create", props(WaitFor="nothing")), double)
    assert double.tasks[T1].status == "starting"
    delete(double, props(WaitFor="nothing"))
    assert double.writes() == [start_task(T1, "start-replication"), stop_task(T1)]
    assert double.tasks[T1].status == "stopped"


def test_a_delete_gets_the_longest_wait_whatever_the_create_had(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    double.default_start_steps = 0
    event = cfn_event("Delete", props(TimeoutSeconds="60"), physical_id=T1)
    with double_clock(double):
        answer = handler.on_event(event, CONTEXT)
    assert answer["Data"]["StarterTimeoutSeconds"] == "3000"


@pytest.mark.parametrize(
    ("change", "restart"),
    [
        (
            {"CdcStartPosition": POSITION},
            start_task(T1, "start-replication", CdcStartPosition=POSITION),
        ),
        # No new position to know the new run by: its dates, or its new CdcStopPosition.
        (
            {"CdcStopPosition": "server_time:2026-06-01T00:00:00"},
            start_task(T1, "resume-processing", CdcStopPosition="server_time:2026-06-01T00:00:00"),
        ),
    ],
)
def test_a_start_setting_changed_while_the_task_is_starting_is_applied_once(
    double: DmsDouble, stack_status: FixedStack, change: dict[str, str], restart: Call
) -> None:
    double.add_task("T1", migration_type="cdc")
    run_provider(cfn_event("Create", props(WaitFor="nothing")), double)
    assert double.tasks[T1].status == "starting"
    stack_status.status = "UPDATE_IN_PROGRESS"
    update(double, props(**change), old=props(WaitFor="nothing"))
    assert double.writes() == [
        start_task(T1, "start-replication"),
        stop_task(T1),  # once it runs, however late DMS dated that run
        restart,
    ]
    assert double.tasks[T1].status == "running"
    assert double.tasks[T1].cdc_start_position == change.get("CdcStartPosition", "")


def test_a_definition_change_while_the_task_is_starting_never_restarts_it_twice(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    """Nothing the new start sends marks its run: dated at the start call, the run is told
    by its dates; dated only once it runs, with StopDate cleared by a start, it cannot be,
    and the Update fails before any write rather than stop its own run again and again."""
    double.add_task("T1")
    run_provider(cfn_event("Create", props(WaitFor="nothing")), double)
    assert double.tasks[T1].status == "starting"
    stack_status.status = "UPDATE_IN_PROGRESS"
    new, old = props(TaskDefinitionDigest="d2"), props(WaitFor="nothing", TaskDefinitionDigest="d1")
    first = start_task(T1, "start-replication")
    if double.behaviour.start_dates is StartDates.AT_START_CALL:
        update(double, new, old)
        assert double.writes() == [first, stop_task(T1), start_task(T1, "resume-processing")]
        assert double.tasks[T1].status == "running"
        return
    assert reason(lambda: update(double, new, old)) == (
        f"Replication task {T1} is still starting and DMS has not dated that run yet: "
        "restarting it now for the new start settings could not tell that run from its own. "
        "Nothing was done; deploy again once it runs."
    )
    assert double.writes() == [first]


def test_a_rollback_after_a_restart_does_not_replay_the_old_start(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("T1", migration_type="cdc")
    create(double, props(CdcStartPosition="0/1"))
    stack_status.status = "UPDATE_IN_PROGRESS"
    update(double, props(CdcStartPosition=POSITION), old=props(CdcStartPosition="0/1"))
    # A later resource fails: CloudFormation sends the old properties back as an Update.
    stack_status.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    update(double, props(CdcStartPosition="0/1"), old=props(CdcStartPosition=POSITION))
    assert double.writes() == [
        start_task(T1, "start-replication", CdcStartPosition="0/1"),
        stop_task(T1),
        start_task(T1, "start-replication", CdcStartPosition=POSITION),
    ]


def test_without_the_stack_status_a_rollback_looks_like_an_update(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    """The README says so: without DescribeStacks the starter cannot know it is a rollback."""
    double.add_task("T1", migration_type="cdc")
    create(double, props())
    stack_status.denied = True
    update(double, props(CdcStartPosition=POSITION), old=props())
    assert double.writes()[-1] == start_task(T1, "start-replication", CdcStartPosition=POSITION)


def test_the_rollback_of_an_update_that_failed_validation_touches_nothing(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("T1")
    create(double, props())
    stack_status.status = "UPDATE_IN_PROGRESS"
    bad = props(CdcStopPosition="tomorrow")
    assert reason(lambda: update(double, bad, old=props())).startswith("CdcStopPosition: ")
    stack_status.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    update(double, props(), old=bad)
    assert double.writes() == [start_task(T1, "start-replication")]


def test_duplicate_delivery_starts_once(double: DmsDouble) -> None:
    double.add_task("T1")
    event = cfn_event("Create", props())
    with double_clock(double):
        first = handler.on_event(event, CONTEXT)
        second = handler.on_event(event, CONTEXT)
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] == T1
    run_provider(event, double)
    assert double.writes() == [start_task(T1, "start-replication")]
    assert double.tasks[T1].status == "running"


def test_duplicate_is_complete_polls_start_once(double: DmsDouble) -> None:
    double.add_task("T1", status="creating")
    event = cfn_event("Create", props())
    with double_clock(double):
        resource_event = {**event, **handler.on_event(event, CONTEXT)}
        while double.tasks[T1].status == "creating":
            double.advance()
        for _ in range(3):
            handler.is_complete(resource_event, CONTEXT)
    assert double.writes() == [start_task(T1, "start-replication")]


def test_a_lifecycle_survives_throttling(double: DmsDouble) -> None:
    double.add_task("T1")
    double.throttle_rate = 0.4
    create(double, props())
    delete(double, props())
    assert len(double.throttled_calls) > 5
    assert double.writes() == [start_task(T1, "start-replication"), stop_task(T1)]


def test_a_task_failing_while_starting_fails_with_its_reasons(double: DmsDouble) -> None:
    double.add_task("T1", status="stopped", fails_while_starting="Error connecting to source")
    assert reason(lambda: create(double, props())) == (
        f"Replication task {T1} did not reach 'running': it is failed "
        "(StopReason 'Stop Reason FATAL_ERROR', LastFailureMessage 'Error connecting to source')."
    )
    assert double.writes() == [start_task(T1, "resume-processing")]


@pytest.mark.parametrize(
    "behaviour", [*BEHAVIOURS, FAILED_FIRST_START_RAN], indirect=True, ids=lambda b: b.name
)
def test_a_failed_first_start_is_started_again_as_dms_counts_it(double: DmsDouble) -> None:
    """No run's evidence: ``start-replication``; if DMS counts the failed start as a run and
    refuses it, the start type of a task that ran; if DMS cannot start a failed task at all,
    its refusal is the failure."""
    double.add_task("T1", fails_while_starting="Error connecting to source")
    reason(lambda: create(double, props()))
    first = start_task(T1, "start-replication")
    if not double.behaviour.failed_is_startable:
        assert reason(lambda: create(double, props())) == (
            f"StartReplicationTask for {T1} failed, it is not in a state that allows it: "
            "InvalidResourceStateFault: Replication cannot be started, current status is failed"
        )
        assert double.writes() == [first]
        return
    create(double, props())
    if double.behaviour.failed_first_start_is_a_run:
        assert double.writes() == [first, start_task(T1, "resume-processing")]
        assert double.rejected == [("StartReplicationTask", "InvalidParameterCombinationException")]
    else:
        assert double.writes() == [first, first]
        assert double.rejected == []
    assert double.tasks[T1].status == "running"


@pytest.mark.parametrize("wait_for", ["running", "full-load-finished"])
def test_a_full_load_task_that_finishes_is_a_success(double: DmsDouble, wait_for: str) -> None:
    double.add_task("T1", migration_type="full-load", full_load_steps=1)
    result = run_provider(cfn_event("Create", props(WaitFor=wait_for)), double)
    assert result.data["Status"] in ("running", "stopped")
    if wait_for == "full-load-finished":
        assert result.data["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
        assert result.data["FullLoadProgressPercent"] == "100"


def test_a_full_load_and_cdc_task_reports_its_finished_full_load_while_running(
    double: DmsDouble,
) -> None:
    double.add_task("T1", full_load_steps=3)
    result = run_provider(cfn_event("Create", props(WaitFor="full-load-finished")), double)
    assert result.data["Status"] == "running"
    assert result.data["FullLoadProgressPercent"] == "100"


def test_an_update_leaves_a_task_that_stopped_at_its_cdc_stop(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    stop_at = "server_time:2026-03-01T00:05:00"
    double.add_task("T1", migration_type="cdc")
    double.clock -= 600  # the stop position lies five minutes ahead
    create(double, props(CdcStopPosition=stop_at))
    while double.tasks[T1].status == "running":
        double.advance()
    assert double.tasks[T1].stop_reason == "Stop Reason STOPPED_AT_SERVER_TIME"
    stack_status.status = "UPDATE_IN_PROGRESS"
    # A change that is not about starting: nothing to start, success.
    result = run_provider(
        cfn_event(
            "Update",
            props(CdcStopPosition=stop_at, OnDelete="leave-running"),
            old_properties=props(CdcStopPosition=stop_at),
            physical_id=T1,
        ),
        double,
    )
    assert result.data["StopReason"] == "Stop Reason STOPPED_AT_SERVER_TIME"
    assert double.writes() == [start_task(T1, "start-replication", CdcStopPosition=stop_at)]


def test_the_rollback_of_an_update_that_added_a_cdc_stop_takes_it_back(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    """The rollback resumes the task without a CdcStopPosition. Where a start without one
    clears the stored one, the task runs on with no stop, as before the update; where DMS
    keeps it, no start can take it back (docs/dms-readings.md)."""
    stop_at = "server_time:2026-06-01T00:00:00"
    double.add_task("T1", migration_type="cdc", status="running")
    stack_status.status = "UPDATE_IN_PROGRESS"
    update(double, props(CdcStopPosition=stop_at), old=props())
    assert double.tasks[T1].cdc_stop_position == stop_at
    stack_status.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    update(double, props(), old=props(CdcStopPosition=stop_at))
    assert double.writes() == [
        stop_task(T1),
        start_task(T1, "resume-processing", CdcStopPosition=stop_at),
        stop_task(T1),
        start_task(T1, "resume-processing"),
    ]
    assert double.tasks[T1].status == "running"
    kept = stop_at if double.behaviour.start_keeps_cdc_stop else ""
    assert double.tasks[T1].cdc_stop_position == kept


def test_a_wait_for_the_full_load_of_a_cdc_task_fails_before_any_call(double: DmsDouble) -> None:
    double.add_task("T1", migration_type="cdc")
    message = reason(
        lambda: create(double, props(WaitFor="full-load-finished", MigrationType="cdc"))
    )
    assert message.startswith("WaitFor: a cdc task has no full load")
    assert double.calls == []


def test_a_wait_for_the_full_load_of_a_cdc_task_given_by_arn_fails_before_any_start(
    double: DmsDouble,
) -> None:
    double.add_task("T1", migration_type="cdc")
    message = reason(lambda: create(double, props(WaitFor="full-load-finished")))
    assert message.startswith("WaitFor: a cdc task has no full load")
    assert double.writes() == []


def test_a_task_still_creating_is_started_once_ready(double: DmsDouble) -> None:
    double.add_task("T1", status="creating")
    result = run_provider(cfn_event("Create", props()), double)
    assert result.data["Status"] == "running"
    assert double.writes() == [start_task(T1, "start-replication")]


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
    assert double.writes() == [start_task(T1, start_type)]


def test_a_reload_target_restart_is_made_once(double: DmsDouble, stack_status: FixedStack) -> None:
    double.add_task("T1", status="running")
    stack_status.status = "UPDATE_IN_PROGRESS"
    update(double, props(StartReplicationTaskType="reload-target"), old=props())
    # reload-target moves FreshStartDate only: the starter still knows its run began.
    assert double.writes() == [stop_task(T1), start_task(T1, "reload-target")]
    assert double.tasks[T1].status == "running"


def test_a_timeout_names_the_task_the_goal_and_the_last_status(double: DmsDouble) -> None:
    double.add_task("T1", status="modifying", then="modifying")
    double.tasks[T1]._queue = ["modifying"] * 100
    message = reason(lambda: create(double, props(TimeoutSeconds="120")))
    assert message == (
        f"Timed out after 120 s waiting for replication task {T1} to run; last status "
        "modifying. It was left as it is."
    )
    assert double.writes() == []


def test_a_replacement_hands_cdc_over_from_the_old_task(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("OLD", migration_type="cdc")
    double.add_task("NEW", migration_type="cdc")
    create(double, props(OLD))
    checkpoint = double.tasks[OLD].recovery_checkpoint
    stack_status.status = "UPDATE_IN_PROGRESS"
    # The starter's physical id never changes: CloudFormation sends no Delete for it.
    assert update(double, props(NEW), old=props(OLD), physical_id=OLD) == OLD
    written = double.writes()
    assert written[:2] == [start_task(OLD, "start-replication"), stop_task(OLD)]
    assert written[2][1]["CdcStartPosition"].startswith("checkpoint:")
    assert written[2][1]["CdcStartPosition"] >= checkpoint
    assert written[2] == start_task(
        NEW, "start-replication", CdcStartPosition=written[2][1]["CdcStartPosition"]
    )
    assert double.tasks[OLD].status == "stopped"
    assert double.tasks[NEW].status == "running"


def test_a_replacement_reading_another_source_starts_fresh(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("OLD", status="running", migration_type="cdc")
    double.add_task("NEW", migration_type="cdc", source_endpoint_arn=endpoint_arn("OTHER"))
    stack_status.status = "UPDATE_IN_PROGRESS"
    update(double, props(NEW), old=props(OLD), physical_id=OLD)
    assert double.writes() == [stop_task(OLD), start_task(NEW, "start-replication")]


def test_a_replacement_leaves_the_old_task_running_if_asked(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("OLD", status="running", migration_type="cdc")
    double.add_task("NEW", migration_type="cdc")
    stack_status.status = "UPDATE_IN_PROGRESS"
    new_props = props(NEW, OnDelete="leave-running")
    update(double, new_props, old=props(OLD, OnDelete="leave-running"), physical_id=OLD)
    assert double.writes() == [start_task(NEW, "start-replication")]
    assert double.tasks[OLD].status == "running"


def test_an_update_without_changes_of_a_running_task_only_reads(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("T1", status="running")
    stack_status.status = "UPDATE_IN_PROGRESS"
    update(double, props(WaitFor="running", TimeoutSeconds="900"), old=props())
    assert double.writes() == []
    assert {operation for operation, _ in double.calls} == {"DescribeReplicationTasks"}


def test_an_update_starts_a_task_that_is_not_running(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("T1", status="stopped")
    stack_status.status = "UPDATE_IN_PROGRESS"
    update(double, props(), old=props())
    assert double.writes() == [start_task(T1, "resume-processing")]


def test_a_lost_start_answer_is_confirmed_from_the_task(double: DmsDouble) -> None:
    double.add_task("T1")
    double.lose_answer_of.add("StartReplicationTask")
    create(double, props())
    assert double.writes() == [start_task(T1, "start-replication")]
    assert double.tasks[T1].status == "running"


def test_a_start_whose_every_answer_is_lost_leaves_nothing_starting_behind_a_failed_create(
    double: DmsDouble,
) -> None:
    """DMS started the task; every answer, and every look at the task, is lost."""
    double.add_task("T1")
    original = double.handle

    def flaky(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = original(operation, params)
        if double.accepted_writes and len(double.calls) < 40:
            from tests.support.dms_double import DmsError

            raise DmsError("InternalFailure", "answer lost", status=500)
        return answer

    double.handle = flaky  # type: ignore[method-assign]
    failed = None
    try:
        create(double, props())
    except ProviderFailedError as error:
        failed = error
    double.handle = original  # type: ignore[method-assign]
    assert double.writes() == [start_task(T1, "start-replication")]
    if failed is not None:
        # The failed Create kept the task's ARN as physical id: its rollback Delete stops it.
        assert failed.physical_id == T1
        delete(double, props())
        assert double.tasks[T1].status == "stopped"
    else:
        assert double.tasks[T1].status == "running"


def test_a_failed_create_leaves_a_run_it_did_not_start(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("T1", status="running", full_load_steps=50)
    failed = reason(
        lambda: create(double, props(WaitFor="full-load-finished", TimeoutSeconds="60"))
    )
    assert failed.startswith("Timed out after 60 s")
    stack_status.status = "ROLLBACK_IN_PROGRESS"
    delete(double, props(), physical_id=T1 + "#adopted")
    assert double.writes() == []
    assert double.tasks[T1].status == "running"


def test_a_failed_create_stops_the_run_it_started(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("T1", full_load_steps=50)
    failed = reason(
        lambda: create(double, props(WaitFor="full-load-finished", TimeoutSeconds="60"))
    )
    assert failed.startswith("Timed out after 60 s")
    stack_status.status = "ROLLBACK_IN_PROGRESS"
    delete(double, props(WaitFor="full-load-finished", TimeoutSeconds="60"))
    assert double.writes() == [start_task(T1, "start-replication"), stop_task(T1)]


def test_start_dates_may_appear_only_once_the_task_runs(double: DmsDouble) -> None:
    """Both readings: the suite's other tests pass under each; this one shows the difference."""
    double.add_task("T1")
    event = cfn_event("Create", props(WaitFor="nothing"))
    run_provider(event, double)
    dated = double.tasks[T1].run.replication_task_start_date is not None
    assert dated is (double.behaviour.start_dates is StartDates.AT_START_CALL)


def test_a_malformed_plan_fails_with_a_readable_message(double: DmsDouble) -> None:
    event = {**cfn_event("Create", props()), "Data": {"StarterSubject": T1}}
    expected = r"has no plan key Starter\w+, which on_event writes"
    with double_clock(double), pytest.raises(StarterError, match=expected):
        handler.is_complete(event, CONTEXT)
    assert double.calls == []
