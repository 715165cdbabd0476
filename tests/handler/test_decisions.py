"""The decision table: every task status against every request, and every poll situation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from dms_task_starter_runtime.contract import Attr, StartType, WaitFor
from dms_task_starter_runtime.decisions import (
    ALL_STATUSES,
    FULL_LOAD_ONLY_FINISHED,
    Complete,
    OnEventDecision,
    Outcome,
    Plan,
    Start,
    StarterError,
    StatusClass,
    Stop,
    TaskState,
    Wait,
    cdc_start_unchanged,
    classify_status,
    decide_poll,
    describe_status,
    full_load_task_is_done,
    hands_over_cdc,
    outcome,
    plan_start,
    plan_stop,
    plan_update,
    settings_require_restart,
    start_parameters,
    task_attributes,
    task_state,
)
from dms_task_starter_runtime.settings import StarterSettings

ARN = "arn:aws:dms:eu-west-1:123456789012:task:T1"
OLD_ARN = "arn:aws:dms:eu-west-1:123456789012:task:OLD"
NOW = 1_000_000
MARKER = "2024-01-31T12:00:00+00:00"
SETTINGS = StarterSettings(task_arn=ARN, timeout_seconds=600)
CHANGED = replace(SETTINGS, cdc_start_position="0/5120E10")

ALL = "failed,ready,stopped"
CREATE_TABLE = {
    "creating": "wait-then-start from ready",
    "ready": "start start-replication",
    "starting": "await target",
    "running": "await target",
    "stopping": "wait-then-start from stopped",
    "stopped": "start resume-processing",
    "failed": "start resume-processing",
    "modifying": f"wait-then-start from {ALL}",
    "moving": f"wait-then-start from {ALL}",
    "failed-move": "fail",
    "deleting": "fail",
    "testing": f"wait-then-start from {ALL}",
}
UPDATE_WITH_CHANGED_CDC_TABLE = {
    **CREATE_TABLE,
    "starting": "stop once running, then start from stopped",
    "running": "stop now, then start from stopped",
}
DELETE_TABLE = {
    **dict.fromkeys(ALL_STATUSES, "nothing"),
    "starting": "wait until at rest",
    "running": "stop now",
    "stopping": "wait until at rest",
}


def task(status: str, **fields: Any) -> TaskState:
    return replace(TaskState(arn=ARN, status=status, start_marker=MARKER), **fields)


def summarise(decision: OnEventDecision) -> str:
    """The action of an on_event decision in words, so the tables read like the design."""
    plan = decision.plan
    if decision.start is not None:
        return f"start {decision.start.start_type}"
    start_from = ",".join(sorted(plan.start_from))
    if plan.stop_arn == ARN and plan.start_from:
        when = "now" if decision.stop_arn else "once running"
        return f"stop {when}, then start from {start_from}"
    if plan.start_from:
        return f"wait-then-start from {start_from}"
    if decision.stop_arn:
        return "stop now"
    if plan.stop_arn:
        return "wait until at rest"
    return "await target" if plan.wait_for is not WaitFor.NOTHING else "nothing"


def summarise_or_fail(decide: object) -> str:
    assert callable(decide)
    try:
        return summarise(decide())
    except StarterError:
        return "fail"


def test_tables_cover_every_status() -> None:
    assert len(ALL_STATUSES) == 12
    for table in (CREATE_TABLE, UPDATE_WITH_CHANGED_CDC_TABLE, DELETE_TABLE):
        assert set(table) == set(ALL_STATUSES)


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_on_event_decision_table(request_type: str, status: str) -> None:
    current = task(status)
    if request_type == "Create":
        expected = CREATE_TABLE[status]
        actual = summarise_or_fail(lambda: plan_start(SETTINGS, current, NOW))
    elif request_type == "Update":
        expected = UPDATE_WITH_CHANGED_CDC_TABLE[status]
        actual = summarise_or_fail(lambda: plan_update(SETTINGS, CHANGED, current, NOW))
    else:
        expected = DELETE_TABLE[status]
        actual = summarise_or_fail(lambda: plan_stop(ARN, current, NOW, 600))
    assert actual == expected


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_update_without_changes_is_a_create(status: str) -> None:
    unchanged = summarise_or_fail(lambda: plan_update(SETTINGS, SETTINGS, task(status), NOW))
    assert unchanged == CREATE_TABLE[status]


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_update_with_unreadable_old_settings_is_a_create(status: str) -> None:
    assert (
        summarise_or_fail(lambda: plan_update(None, CHANGED, task(status), NOW))
        == (CREATE_TABLE[status])
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ready", StatusClass.STARTABLE),
        ("stopped", StatusClass.STARTABLE),
        ("failed", StatusClass.STARTABLE),
        ("starting", StatusClass.ALREADY_STARTED),
        ("running", StatusClass.ALREADY_STARTED),
        ("creating", StatusClass.TRANSITIONAL),
        ("stopping", StatusClass.TRANSITIONAL),
        ("modifying", StatusClass.TRANSITIONAL),
        ("moving", StatusClass.TRANSITIONAL),
        ("testing", StatusClass.TRANSITIONAL),
        ("deleting", StatusClass.TERMINAL),
        ("failed-move", StatusClass.TERMINAL),
        ("some-future-status", StatusClass.TRANSITIONAL),
    ],
)
def test_classify_status(status: str, expected: StatusClass) -> None:
    assert classify_status(status) is expected


def test_create_plan_records_deadline_marker_and_target() -> None:
    decision = plan_start(
        replace(SETTINGS, wait_for=WaitFor.FULL_LOAD_FINISHED), task("ready"), NOW
    )
    assert decision.plan == Plan(
        task_arn=ARN,
        deadline=NOW + 600,
        timeout_seconds=600,
        wait_for=WaitFor.FULL_LOAD_FINISHED,
        start_marker=MARKER,
        expects_new_run=True,
    )


def test_create_fails_when_the_task_does_not_exist() -> None:
    with pytest.raises(StarterError, match=f"^Replication task {ARN} was not found"):
        plan_start(SETTINGS, None, NOW)


@pytest.mark.parametrize("status", ["deleting", "failed-move"])
def test_create_failure_names_task_and_status(status: str) -> None:
    with pytest.raises(StarterError) as caught:
        plan_start(SETTINGS, task(status, last_failure_message="boom"), NOW)
    assert str(caught.value) == (
        f"Replication task {ARN} cannot be started: it is {status} (LastFailureMessage 'boom')."
    )


def test_start_with_another_task_to_stop_first_waits() -> None:
    decision = plan_start(SETTINGS, task("stopped"), NOW, stop_arn=OLD_ARN)
    assert decision.start is None
    assert decision.plan.stop_arn == OLD_ARN
    assert decision.plan.start_from == {"stopped"}


def test_delete_of_a_missing_task_does_nothing() -> None:
    assert summarise(plan_stop(ARN, None, NOW, 600)) == "nothing"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start_type", StartType.RELOAD_TARGET),
        ("cdc_start_time", datetime(2024, 1, 1, tzinfo=UTC)),
        ("cdc_start_position", "0/1"),
        ("cdc_stop_position", "server_time:2024-01-01T00:00:00"),
        ("task_definition_digest", "new-digest"),
    ],
)
def test_restart_needed_when_a_start_input_changes(field: str, value: object) -> None:
    changed: dict[str, Any] = {field: value}
    assert settings_require_restart(SETTINGS, replace(SETTINGS, **changed))


@pytest.mark.parametrize(
    ("field", "value"),
    [("wait_for", WaitFor.NOTHING), ("timeout_seconds", 900), ("cdc_handover", False)],
)
def test_no_restart_for_settings_that_do_not_reach_dms(field: str, value: object) -> None:
    changed: dict[str, Any] = {field: value}
    assert not settings_require_restart(SETTINGS, replace(SETTINGS, **changed))


# -- start parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "start_type"),
    [
        ("ready", "start-replication"),
        ("stopped", "reload-target"),
        ("failed", "reload-target"),
    ],
)
def test_start_type_is_decided_from_the_status(status: str, start_type: str) -> None:
    settings = replace(SETTINGS, start_type=StartType.RELOAD_TARGET)
    assert start_parameters(settings, task(status)).start_type == start_type


def test_start_parameters_carry_the_cdc_settings() -> None:
    start_time = datetime(2024, 1, 31, 12, tzinfo=UTC)
    settings = replace(
        SETTINGS, cdc_start_time=start_time, cdc_stop_position="commit_time:2024-02-01T00:00:00"
    )
    parameters = start_parameters(settings, task("stopped"))
    assert (parameters.cdc_start_time, parameters.cdc_start_position) == (start_time, None)
    assert parameters.cdc_stop_position == "commit_time:2024-02-01T00:00:00"


@pytest.mark.parametrize(
    ("status", "resumes_cdc", "sends_cdc_start"),
    [
        ("ready", False, True),
        ("ready", True, True),  # a first run always starts CDC where configured
        ("stopped", False, True),
        ("stopped", True, False),  # applied before: resume at the task's checkpoint
        ("failed", True, False),
    ],
)
def test_the_cdc_start_goes_on_first_runs_and_on_changes_only(
    status: str, resumes_cdc: bool, sends_cdc_start: bool
) -> None:
    stop_at = "server_time:2027-01-01T00:00:00"
    settings = replace(SETTINGS, cdc_start_position="0/5120E10", cdc_stop_position=stop_at)
    parameters = start_parameters(settings, task(status), resumes_cdc=resumes_cdc)
    assert parameters.cdc_start_position == ("0/5120E10" if sends_cdc_start else None)
    assert parameters.cdc_stop_position == stop_at


@pytest.mark.parametrize(
    ("old_position", "new_position", "unchanged"),
    [(None, None, True), ("0/1", "0/1", True), ("0/1", "0/2", False), (None, "0/2", False)],
)
def test_cdc_start_unchanged_compares_time_and_position(
    old_position: str | None, new_position: str | None, unchanged: bool
) -> None:
    old = replace(SETTINGS, cdc_start_position=old_position)
    new = replace(SETTINGS, cdc_start_position=new_position)
    assert cdc_start_unchanged(old, new) is unchanged
    assert cdc_start_unchanged(None, new) is False


def test_handover_continues_from_the_old_checkpoint() -> None:
    old = TaskState(arn=OLD_ARN, status="stopped", recovery_checkpoint="checkpoint:V1#1")
    parameters = start_parameters(SETTINGS, task("ready"), handover_source=old)
    assert (parameters.start_type, parameters.cdc_start_position) == (
        "start-replication",
        "checkpoint:V1#1",
    )


def test_handover_without_checkpoint_starts_without_position() -> None:
    old = TaskState(arn=OLD_ARN, status="stopped")
    assert start_parameters(SETTINGS, task("ready"), old).cdc_start_position is None


@pytest.mark.parametrize(
    ("settings", "migration_type", "status", "expected"),
    [
        (SETTINGS, "cdc", "ready", True),
        (SETTINGS, "full-load-and-cdc", "ready", False),
        (SETTINGS, "cdc", "running", False),
        (replace(SETTINGS, cdc_handover=False), "cdc", "ready", False),
        (CHANGED, "cdc", "ready", False),
    ],
)
def test_hands_over_cdc(
    settings: StarterSettings, migration_type: str, status: str, expected: bool
) -> None:
    assert hands_over_cdc(settings, task(status, migration_type=migration_type)) is expected


# -- outcome -------------------------------------------------------------------------

FINISHED_DATE = "2024-01-31T13:00:00+00:00"


@pytest.mark.parametrize(
    ("state", "wait_for", "expected"),
    [
        (task("running"), WaitFor.RUNNING, Outcome.REACHED),
        (task("starting"), WaitFor.RUNNING, Outcome.PENDING),
        (task("running"), WaitFor.FULL_LOAD_FINISHED, Outcome.PENDING),
        (
            task("running", full_load_progress_percent=100),
            WaitFor.FULL_LOAD_FINISHED,
            Outcome.REACHED,
        ),
        (
            task("running", full_load_finish_date=FINISHED_DATE),
            WaitFor.FULL_LOAD_FINISHED,
            Outcome.REACHED,
        ),
        (task("stopped", stop_reason=FULL_LOAD_ONLY_FINISHED), WaitFor.RUNNING, Outcome.REACHED),
        (
            task("stopped", stop_reason=FULL_LOAD_ONLY_FINISHED),
            WaitFor.FULL_LOAD_FINISHED,
            Outcome.REACHED,
        ),
        (
            task(
                "stopped",
                stop_reason="Stop Reason STOPPED_AFTER_FULL_LOAD",
                full_load_finish_date=FINISHED_DATE,
            ),
            WaitFor.RUNNING,
            Outcome.REACHED,
        ),
        (
            task(
                "stopped",
                stop_reason="Stop Reason FATAL_ERROR",
                full_load_finish_date=FINISHED_DATE,
            ),
            WaitFor.RUNNING,
            Outcome.FAILED,
        ),
        (task("stopped", stop_reason="Stop Reason NORMAL"), WaitFor.RUNNING, Outcome.FAILED),
        (task("failed"), WaitFor.RUNNING, Outcome.FAILED),
        (task("deleting"), WaitFor.RUNNING, Outcome.FAILED),
        (task("failed-move"), WaitFor.FULL_LOAD_FINISHED, Outcome.FAILED),
        (task("stopping"), WaitFor.RUNNING, Outcome.PENDING),
        (task("modifying"), WaitFor.RUNNING, Outcome.PENDING),
        (task("failed"), WaitFor.NOTHING, Outcome.REACHED),
    ],
)
def test_outcome(state: TaskState, wait_for: WaitFor, expected: Outcome) -> None:
    assert outcome(state, wait_for) is expected


# -- polls ---------------------------------------------------------------------------

NEW_MARKER = "2024-02-01T00:00:00+00:00"
PENDING_START = Plan(
    task_arn=ARN,
    deadline=NOW + 600,
    timeout_seconds=600,
    wait_for=WaitFor.RUNNING,
    start_from=frozenset({"ready"}),
    start_marker=MARKER,
    expects_new_run=True,
)
RESTART = replace(PENDING_START, stop_arn=ARN, start_from=frozenset({"stopped"}))
STARTED = replace(PENDING_START, start_from=frozenset())
STOP_ONLY = Plan(
    task_arn=ARN, deadline=NOW + 600, timeout_seconds=600, stop_arn=ARN, start_marker=MARKER
)


def poll(plan: Plan, state: TaskState | None, now: int = NOW) -> str:
    """One poll's decision in words."""
    try:
        decision = decide_poll(plan, state, state, SETTINGS, now)
    except StarterError as error:
        return f"fail: {error}"
    match decision:
        case Wait():
            return "wait"
        case Stop(task_arn=arn):
            return f"stop {arn}"
        case Start(parameters=parameters):
            return f"start {parameters.start_type}"
        case Complete():
            return "complete"


@pytest.mark.parametrize(
    ("plan", "state", "expected"),
    [
        (PENDING_START, task("creating"), "wait"),
        (PENDING_START, task("ready"), "start start-replication"),
        (PENDING_START, task("starting", start_marker=NEW_MARKER), "wait"),
        (PENDING_START, task("running", start_marker=NEW_MARKER), "complete"),
        (RESTART, task("running"), f"stop {ARN}"),
        (RESTART, task("starting"), "wait"),
        (RESTART, task("stopping"), "wait"),
        (RESTART, task("stopped"), "start resume-processing"),
        (RESTART, task("starting", start_marker=NEW_MARKER), "wait"),
        (RESTART, task("running", start_marker=NEW_MARKER), "complete"),
        (STARTED, task("starting", start_marker=NEW_MARKER), "wait"),
        (STARTED, task("stopped"), "wait"),
        (STOP_ONLY, task("running"), f"stop {ARN}"),
        (STOP_ONLY, task("stopping"), "wait"),
        (STOP_ONLY, task("stopped"), "complete"),
        (STOP_ONLY, task("failed"), "complete"),
        (STOP_ONLY, None, "complete"),
        (replace(STARTED, wait_for=WaitFor.NOTHING), task("stopped"), "complete"),
    ],
)
def test_poll_decisions(plan: Plan, state: TaskState | None, expected: str) -> None:
    assert poll(plan, state) == expected


def test_poll_fails_when_the_new_run_fails() -> None:
    failed = task(
        "failed",
        start_marker=NEW_MARKER,
        stop_reason="Stop Reason FATAL_ERROR",
        last_failure_message="Error connecting to source",
    )
    assert poll(STARTED, failed) == (
        f"fail: Replication task {ARN} did not reach 'running': it is failed "
        "(StopReason 'Stop Reason FATAL_ERROR', LastFailureMessage 'Error connecting to source')."
    )


@pytest.mark.parametrize("status", ["stopped", "deleting"])
def test_pending_start_fails_on_an_unexpected_status(status: str) -> None:
    assert poll(PENDING_START, task(status)) == (
        f"fail: Replication task {ARN} was to be started once ready, but it is {status}."
    )


@pytest.mark.parametrize("wait_for", list(WaitFor))
def test_pending_start_fails_when_the_task_is_gone(wait_for: WaitFor) -> None:
    plan = replace(PENDING_START, wait_for=wait_for)
    assert poll(plan, None).startswith(f"fail: Replication task {ARN} was not found")


def test_poll_times_out_with_the_last_status() -> None:
    stuck = task("modifying")
    plan = replace(PENDING_START, start_from=frozenset({"ready", "stopped", "failed"}))
    assert poll(plan, stuck, now=NOW + 599) == "wait"
    assert poll(plan, stuck, now=NOW + 600) == (
        f"fail: Timed out after 600 s waiting for task {ARN} to run; last status modifying. "
        "The task was left as it is."
    )


def test_stop_times_out_naming_the_task_to_stop() -> None:
    message = poll(STOP_ONLY, task("stopping"), now=NOW + 601)
    assert message.startswith(
        f"fail: Timed out after 600 s waiting for task {ARN} to come to rest (stopped); "
        "last status stopping."
    )


def test_reached_target_wins_over_the_deadline() -> None:
    assert poll(STARTED, task("running", start_marker=NEW_MARKER), now=NOW + 10_000) == "complete"


def test_full_load_wait_times_out_naming_the_goal() -> None:
    plan = replace(STARTED, wait_for=WaitFor.FULL_LOAD_FINISHED)
    message = poll(plan, task("running", start_marker=NEW_MARKER), now=NOW + 600)
    assert "to finish its full load; last status running" in message


def test_handover_start_uses_the_stopped_old_task() -> None:
    plan = replace(
        PENDING_START, stop_arn=OLD_ARN, cdc_handover=True, start_from=frozenset({"ready"})
    )
    old = TaskState(arn=OLD_ARN, status="stopped", recovery_checkpoint="checkpoint:V1#9")
    decision = decide_poll(plan, task("ready", migration_type="cdc"), old, SETTINGS, NOW)
    assert isinstance(decision, Start)
    assert decision.parameters.cdc_start_position == "checkpoint:V1#9"


def test_handover_waits_while_the_old_task_stops() -> None:
    plan = replace(PENDING_START, stop_arn=OLD_ARN, cdc_handover=True)
    old = TaskState(arn=OLD_ARN, status="stopping")
    assert isinstance(decide_poll(plan, task("ready"), old, SETTINGS, NOW), Wait)


# -- data ----------------------------------------------------------------------------


@pytest.mark.parametrize("plan", [PENDING_START, RESTART, STARTED, STOP_ONLY])
def test_plan_round_trips_through_data(plan: Plan) -> None:
    data = plan.to_data()
    assert all(key.startswith("Starter") and isinstance(value, str) for key, value in data.items())
    assert Plan.from_data(data) == plan


def test_plan_from_data_names_a_missing_key() -> None:
    with pytest.raises(StarterError, match="has no plan key StarterDeadline"):
        Plan.from_data({k: v for k, v in STARTED.to_data().items() if k != "StarterDeadline"})


def test_task_state_reads_a_dms_description() -> None:
    start = datetime(2024, 1, 31, 12, tzinfo=UTC)
    state = task_state(
        {
            "ReplicationTaskArn": ARN,
            "Status": "running",
            "MigrationType": "cdc",
            "ReplicationTaskStartDate": datetime(2023, 1, 1, tzinfo=UTC),
            "RecoveryCheckpoint": "checkpoint:V1#1",
            "ReplicationTaskStats": {
                "StartDate": start,
                "FullLoadProgressPercent": 100,
                "TablesLoaded": 4,
                "TablesErrored": 1,
                "FullLoadFinishDate": start,
            },
        }
    )
    assert state == TaskState(
        arn=ARN,
        status="running",
        migration_type="cdc",
        start_marker=start.isoformat(),
        start_date="2023-01-01T00:00:00+00:00",
        recovery_checkpoint="checkpoint:V1#1",
        full_load_progress_percent=100,
        full_load_finish_date=start.isoformat(),
        tables_loaded=4,
        tables_errored=1,
    )


def test_start_marker_falls_back_to_the_task_start_date() -> None:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    state = task_state(
        {"ReplicationTaskArn": ARN, "Status": "stopped", "ReplicationTaskStartDate": start}
    )
    assert state.start_marker == start.isoformat()
    assert task_state({"ReplicationTaskArn": ARN, "Status": "ready"}).start_marker == ""


def test_attributes_are_strings_and_stay_small() -> None:
    huge = task(
        "failed",
        stop_reason="r" * 5000,
        last_failure_message="m" * 5000,
        recovery_checkpoint="c" * 5000,
        cdc_start_position="p" * 5000,
        cdc_stop_position="s" * 5000,
        full_load_progress_percent=12,
    )
    data = {**task_attributes(huge), **RESTART.to_data()}
    assert set(task_attributes(huge)) == {
        Attr.TASK_ARN,
        Attr.STATUS,
        Attr.STOP_REASON,
        Attr.START_DATE,
        Attr.CDC_START_POSITION,
        Attr.CDC_STOP_POSITION,
        Attr.RECOVERY_CHECKPOINT,
        Attr.FULL_LOAD_PROGRESS_PERCENT,
        Attr.TABLES_LOADED,
        Attr.TABLES_ERRORED,
    }
    assert data[Attr.FULL_LOAD_PROGRESS_PERCENT] == "12"
    assert data[Attr.TABLES_LOADED] == ""
    assert len(json.dumps({"Data": data}).encode()) < 3500


def test_failure_messages_are_capped() -> None:
    assert len(str(StarterError("x" * 5000))) == 1000


def test_describe_status_without_details() -> None:
    assert describe_status(task("running")) == "running"


@pytest.mark.parametrize(
    ("fields", "done"),
    [
        ({"status": "stopped", "stop_reason": FULL_LOAD_ONLY_FINISHED}, True),
        ({"status": "stopped", "migration_type": "full-load", "full_load_finish_date": "x"}, True),
        ({"status": "stopped", "migration_type": "full-load"}, False),
        (
            {
                "status": "stopped",
                "migration_type": "full-load-and-cdc",
                "stop_reason": "Stop Reason NORMAL",
                "full_load_finish_date": "x",
            },
            False,
        ),
        ({"status": "running", "stop_reason": FULL_LOAD_ONLY_FINISHED}, False),
    ],
)
def test_full_load_task_is_done_only_for_a_finished_full_load_task(
    fields: dict[str, str], done: bool
) -> None:
    assert full_load_task_is_done(task(**fields)) is done
