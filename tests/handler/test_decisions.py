"""The decision table: every task status against every request and stack operation.

Expected values come from the DMS API reference (which start type a task accepts, which
statuses can be started or stopped) and from the README's lifecycle table, never from the
implementation. Each row reads as what ``on_event`` does: its writes, then what it leaves
for ``is_complete`` ("then start" = a pending start, "rest" = tasks to bring to rest).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from dms_task_starter_runtime.contract import (
    MAX_TIMEOUT_SECONDS,
    Kind,
    MigrationType,
    OnDelete,
    StartType,
    WaitFor,
)
from dms_task_starter_runtime.decisions import (
    Context,
    OnEventDecision,
    StackOperation,
    decide_starter_create,
    decide_starter_delete,
    decide_starter_update,
    hands_over_cdc,
    start_parameters,
    started_before,
)
from dms_task_starter_runtime.guards import (
    changed_tasks,
    decide_guard_delete,
    decide_guard_update,
    decide_rollback_guard_update,
    guard_physical_id,
    parse_guard_physical_id,
)
from dms_task_starter_runtime.plan import Plan, StarterError
from dms_task_starter_runtime.polls import (
    Complete,
    Outcome,
    Start,
    Stop,
    Wait,
    decide_poll,
    outcome,
)
from dms_task_starter_runtime.settings import DeleteSettings, GuardSettings, StarterSettings
from dms_task_starter_runtime.state import (
    TASK_PHASES,
    UNLISTED_STATUS,
    Phase,
    RunMarks,
    State,
    snapshot,
)

ARN = "arn:aws:dms:eu-west-1:123456789012:task:T1"
OLD = "arn:aws:dms:eu-west-1:123456789012:task:OLD"
SOURCE = "arn:aws:dms:eu-west-1:123456789012:endpoint:SOURCE"
NOW = 1_772_360_000  # 2026-03-01T10:13:20Z
D1 = "2026-03-01T09:00:00+00:00"
D2 = "2026-03-01T10:00:00+00:00"
T1 = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = StarterSettings(arn=ARN, start_type=StartType.RESUME_PROCESSING, timeout_seconds=600)
NEW_CDC = replace(SETTINGS, cdc_start_position="0/5120E10")
RAN: dict[str, Any] = {"marks": RunMarks(D1, D1, D1, D2), "recovery_checkpoint": "checkpoint:V1#1"}
ALL_STATUSES = tuple(TASK_PHASES)


def task(status: str, arn: str = ARN, **fields: Any) -> State:
    """A full-load-and-cdc task; one that is not ready has run before, unless told."""
    ran = {} if status in ("ready", "creating") else RAN
    defaults = {"migration_type": "full-load-and-cdc", "source_endpoint_arn": SOURCE, **ran}
    return State(arn=arn, status=status, **{**defaults, **fields})


def context(operation: StackOperation = StackOperation.UPDATE, physical_id: str = ARN) -> Context:
    return Context(physical_id, operation, NOW)


def summary(decision: OnEventDecision) -> str:
    """What ``on_event`` does, then what it leaves to ``is_complete``."""
    parts = [f"stop {_name(arn)}" for arn in decision.stops]
    if decision.start is not None:
        parts.append(f"start {decision.start.start_type}{_cdc(decision.start)}")
    plan = decision.plan
    resting = [arn for arn in plan.rest if arn not in decision.stops]
    if resting:
        parts.append("rest " + ",".join(_name(arn) for arn in resting))
    if plan.start_pending:
        parts.append("then start")
    if plan.subject and plan.wait_for is not WaitFor.NOTHING:
        parts.append(f"await {plan.wait_for.value}")
    return "; ".join(parts) or "nothing"


def _name(arn: str) -> str:
    return arn.rsplit(":", 1)[1]


def _cdc(start: Any) -> str:
    fields = [
        f"{name}={value}"
        for name, value in (
            ("time", start.cdc_start_time),
            ("position", start.cdc_start_position),
            ("stop", start.cdc_stop_position),
        )
        if value is not None
    ]
    return f" ({', '.join(fields)})" if fields else ""


def failure(call: Any) -> str:
    with pytest.raises(StarterError) as caught:
        call()
    return str(caught.value)


# -- Create ---------------------------------------------------------------------------------

CANNOT_START = "cannot be started: it is"
CREATE_TABLE = {
    "creating": "then start; await running",
    "ready": "start start-replication; await running",
    "starting": "await running",
    "running": "adopt; await running",
    "stopping": "then start; await running",
    "stopped": "start resume-processing; await running",
    "failed": "start resume-processing; await running",
    "modifying": "then start; await running",
    "moving": "then start; await running",
    "testing": "then start; await running",
    "failed-move": CANNOT_START,
    "deleting": CANNOT_START,
}


def test_the_tables_cover_every_documented_status() -> None:
    for table in (CREATE_TABLE, UPDATE_CHANGED_TABLE, UPDATE_ROLLBACK_TABLE, DELETE_TABLE):
        assert set(table) == set(ALL_STATUSES)


def create_summary(settings: StarterSettings, current: State | None) -> str:
    try:
        decision = decide_starter_create(settings, current, NOW)
    except StarterError as error:
        return f"fail: {error}"
    adopted = "adopt; " if decision.physical_id.endswith("#adopted") else ""
    return adopted + summary(decision)


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_create(status: str) -> None:
    expected = CREATE_TABLE[status]
    actual = create_summary(SETTINGS, task(status))
    assert (expected in actual) if expected == CANNOT_START else (actual == expected)


def test_create_keeps_the_task_arn_as_physical_id_forever() -> None:
    assert decide_starter_create(SETTINGS, task("ready"), NOW).physical_id == ARN


def test_create_of_a_missing_task_fails_naming_it() -> None:
    assert failure(lambda: decide_starter_create(SETTINGS, None, NOW)) == (
        f"Replication task {ARN} was not found (or this function may not describe it): "
        "check the ARN, the region and the account."
    )


def test_create_of_a_task_that_cannot_start_names_its_status() -> None:
    gone = task("failed-move", stop_reason="", failure="move failed")
    assert failure(lambda: decide_starter_create(SETTINGS, gone, NOW)) == (
        f"Replication task {ARN} cannot be started: it is failed-move "
        "(LastFailureMessage 'move failed')."
    )


def test_create_sends_the_cdc_start_on_the_first_run() -> None:
    at_time = replace(
        SETTINGS, cdc_start_time=T1, cdc_stop_position="server_time:2027-01-01T00:00:00"
    )
    assert create_summary(at_time, task("ready")) == (
        "start start-replication (time=2026-01-01 00:00:00+00:00, "
        "stop=server_time:2027-01-01T00:00:00); await running"
    )


def test_a_failed_first_start_is_retried_with_start_replication() -> None:
    never_ran = task("failed", marks=RunMarks(D1, D1, D1, ""), recovery_checkpoint="")
    assert create_summary(SETTINGS, never_ran) == "start start-replication; await running"


def test_create_on_a_cdc_task_that_ran_starts_from_the_new_position() -> None:
    # The API reference: for a cdc task, a start from a given position is start-replication.
    cdc = task("stopped", migration_type="cdc")
    assert create_summary(NEW_CDC, cdc) == (
        "start start-replication (position=0/5120E10); await running"
    )


def test_create_on_a_task_with_a_full_load_that_ran_resumes_from_the_new_position() -> None:
    assert create_summary(NEW_CDC, task("stopped")) == (
        "start resume-processing (position=0/5120E10); await running"
    )


@pytest.mark.parametrize(
    ("settings", "migration_type", "message"),
    [
        (
            replace(SETTINGS, wait_for=WaitFor.FULL_LOAD_FINISHED),
            "cdc",
            "WaitFor: a cdc task has no full load, so the wait could only time out",
        ),
        (
            replace(SETTINGS, start_type=StartType.RELOAD_TARGET),
            "cdc",
            "StartReplicationTaskType: a cdc task has no tables to reload",
        ),
        (NEW_CDC, "full-load", "CdcStartPosition: a full-load task captures no changes"),
    ],
)
def test_impossible_settings_fail_before_any_write(
    settings: StarterSettings, migration_type: str, message: str
) -> None:
    error = failure(
        lambda: decide_starter_create(settings, task("ready", migration_type=migration_type), NOW)
    )
    assert error.startswith(message)
    assert error.endswith(f"(the replication task {ARN}). Nothing was done.")


def test_a_cdc_stop_in_the_past_fails_before_the_start() -> None:
    past = replace(SETTINGS, cdc_stop_position="server_time:2026-02-01T00:00:00")
    assert failure(lambda: decide_starter_create(past, task("ready"), NOW)) == (
        "CdcStopPosition: server_time:2026-02-01T00:00:00 is not in the future (it is now "
        "2026-03-01T10:13:20 UTC): DMS would stop the task as soon as it starts. Set a later "
        f"cdc_stop, or none. Nothing was started for {ARN}."
    )


def test_a_cdc_stop_at_this_very_second_is_not_in_the_future() -> None:
    """DMS would stop the task the moment it starts: the same refusal as for a past stop."""
    now = replace(SETTINGS, cdc_stop_position="server_time:2026-03-01T10:13:20")
    assert failure(lambda: decide_starter_create(now, task("ready"), NOW)).startswith(
        "CdcStopPosition: server_time:2026-03-01T10:13:20 is not in the future (it is now "
        "2026-03-01T10:13:20 UTC)"
    )
    one_second_later = replace(SETTINGS, cdc_stop_position="server_time:2026-03-01T10:13:21")
    assert create_summary(one_second_later, task("ready")) == (
        "start start-replication (stop=server_time:2026-03-01T10:13:21); await running"
    )


def test_a_task_given_by_arn_is_tagged_first() -> None:
    decision = decide_starter_create(replace(SETTINGS, tag_resource=True), task("ready"), NOW)
    assert decision.tag == ARN


# -- Update ---------------------------------------------------------------------------------


def update_summary(
    old: StarterSettings | None,
    new: StarterSettings,
    current: State | None,
    operation: StackOperation = StackOperation.UPDATE,
    old_task: State | None = None,
) -> str:
    try:
        decision = decide_starter_update(old, new, current, old_task, context(operation))
    except StarterError as error:
        return f"fail: {error}"
    assert decision.physical_id == ARN, "a starter never changes its physical id"
    return summary(decision)


UPDATE_UNCHANGED_TABLE = {**CREATE_TABLE, "running": "await running"}
UPDATE_CHANGED_TABLE = {
    **UPDATE_UNCHANGED_TABLE,
    "ready": "start start-replication (position=0/5120E10); await running",
    "stopped": "start resume-processing (position=0/5120E10); await running",
    "failed": "start resume-processing (position=0/5120E10); await running",
    "starting": "rest T1; then start; await running",
    "running": "stop T1; then start; await running",
}


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_update_without_start_changes_starts_what_rests(status: str) -> None:
    expected = UPDATE_UNCHANGED_TABLE[status]
    actual = update_summary(SETTINGS, replace(SETTINGS, timeout_seconds=900), task(status))
    assert (expected in actual) if expected == CANNOT_START else (actual == expected)


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_update_with_a_new_cdc_start_restarts_a_started_task(status: str) -> None:
    expected = UPDATE_CHANGED_TABLE[status]
    actual = update_summary(SETTINGS, NEW_CDC, task(status))
    assert (expected in actual) if expected == CANNOT_START else (actual == expected)


@pytest.mark.parametrize(
    "reason",
    [
        "Stop Reason FULL_LOAD_ONLY_FINISHED",
        "Stop Reason STOPPED_AT_SERVER_TIME",
        "Stop Reason STOPPED_AT_COMMIT_TIME",
        "Stop Reason STOPPED_AFTER_FULL_LOAD",
    ],
)
def test_a_finished_task_is_left_alone_by_an_update_that_changes_nothing_about_starting(
    reason: str,
) -> None:
    done = task("stopped", stop_reason=reason)
    assert update_summary(SETTINGS, replace(SETTINGS, on_delete=OnDelete.LEAVE_RUNNING), done) == (
        "nothing"
    )


def test_a_finished_task_is_started_when_the_update_changes_its_cdc_stop() -> None:
    done = task("stopped", stop_reason="Stop Reason STOPPED_AT_SERVER_TIME", migration_type="cdc")
    later = replace(SETTINGS, cdc_stop_position="server_time:2027-01-01T00:00:00")
    assert update_summary(SETTINGS, later, done) == (
        "start resume-processing (stop=server_time:2027-01-01T00:00:00); await running"
    )


def test_an_update_that_keeps_the_cdc_start_resumes_at_the_checkpoint() -> None:
    kept = replace(NEW_CDC, start_type=StartType.RELOAD_TARGET)
    assert update_summary(NEW_CDC, kept, task("stopped")) == "start reload-target; await running"


def test_a_new_cdc_start_on_a_cdc_task_that_ran_is_a_start_replication() -> None:
    cdc = task("running", migration_type="cdc")
    decision = decide_starter_update(SETTINGS, NEW_CDC, cdc, None, context())
    assert decision.stops == (ARN,)
    after_stop = replace(
        cdc, status="stopped", marks=replace(cdc.marks, stop="2026-03-01T11:00:00")
    )
    poll = decide_poll(decision.plan, {ARN: after_stop}, NEW_CDC, NOW + 60)
    assert isinstance(poll, Start)
    assert (poll.parameters.start_type, poll.parameters.cdc_start_position) == (
        "start-replication",
        "0/5120E10",
    )


UNDATED_STARTING = task("starting", marks=RunMarks(), recovery_checkpoint="")
NEW_DEFINITION = replace(SETTINGS, task_definition_digest="d2")


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (UNDATED_STARTING, NEW_DEFINITION, "fail"),
        (UNDATED_STARTING, replace(SETTINGS, cdc_start_time=T1), "fail"),
        # What the new start sends marks its run: a new position, a new stop.
        (UNDATED_STARTING, NEW_CDC, "rest T1; then start; await running"),
        (
            UNDATED_STARTING,
            replace(SETTINGS, cdc_stop_position="server_time:2027-01-01T00:00:00"),
            "rest T1; then start; await running",
        ),
        # Dated, or with a StopDate: its dates tell the runs apart.
        (task("starting"), NEW_DEFINITION, "rest T1; then start; await running"),
        (
            replace(UNDATED_STARTING, marks=RunMarks(stop=D1)),
            NEW_DEFINITION,
            "rest T1; then start; await running",
        ),
    ],
)
def test_a_restart_of_a_starting_task_needs_a_way_to_tell_its_run(
    current: State, new: StarterSettings, expected: str
) -> None:
    actual = update_summary(SETTINGS, new, current)
    if expected != "fail":
        assert actual == expected
        return
    assert actual == (
        f"fail: Replication task {ARN} is still starting and DMS has not dated that run yet: "
        "restarting it now for the new start settings could not tell that run from its own. "
        "Nothing was done; deploy again once it runs."
    )


def test_update_with_unreadable_old_settings_does_not_restart() -> None:
    assert update_summary(None, NEW_CDC, task("running")) == "await running"


# -- Update: a Serverless replication DMS no longer lists ----------------------------------

CONFIG = "arn:aws:dms:eu-west-1:123456789012:replication-config:R1"
REPLICATION_SETTINGS = StarterSettings(arn=CONFIG, kind=Kind.REPLICATION, timeout_seconds=600)


def unlisted(migration_type: str = MigrationType.CDC) -> State:
    """What the handler reads for a configuration this starter started, DMS lists none."""
    return State(
        arn=CONFIG, status=UNLISTED_STATUS, kind=Kind.REPLICATION, migration_type=migration_type
    )


@pytest.mark.parametrize(
    ("physical_id", "old_arn", "arn", "expected"),
    [
        ("", None, CONFIG, False),  # a Create: no history
        (CONFIG, None, CONFIG, True),  # the physical id is the ARN the Create started
        (CONFIG + "#adopted", None, CONFIG, True),
        (ARN, CONFIG, CONFIG, True),  # the last deployment's properties named it
        (ARN, ARN, CONFIG, False),  # a replacing configuration, never started here
        ("", CONFIG, CONFIG, False),
    ],
)
def test_started_before_reads_the_starters_own_history(
    physical_id: str, old_arn: str | None, arn: str, expected: bool
) -> None:
    assert started_before(physical_id, old_arn, arn) is expected


def replication_update(
    old: StarterSettings, new: StarterSettings, current: State, operation: StackOperation
) -> OnEventDecision:
    return decide_starter_update(old, new, current, None, context(operation, CONFIG))


def test_an_unlisted_replication_is_left_by_an_update_that_changes_nothing_about_starting() -> None:
    """Finished or stopped, DMS cannot say: a start could reload or run past a stop."""
    slower = replace(REPLICATION_SETTINGS, timeout_seconds=900)
    for migration_type in MigrationType:
        decision = replication_update(
            REPLICATION_SETTINGS, slower, unlisted(migration_type), StackOperation.UPDATE
        )
        assert summary(decision) == "nothing"
        assert "DMS no longer lists the replication this starter started" in decision.note


@pytest.mark.parametrize(
    ("migration_type", "new", "expected"),
    [
        # A new cdc_stop: a start of one that ran, with its restart type.
        (
            MigrationType.CDC,
            replace(REPLICATION_SETTINGS, cdc_stop_position="server_time:2027-01-01T00:00:00"),
            "start resume-processing (stop=server_time:2027-01-01T00:00:00); await running",
        ),
        # A new CDC start of a cdc replication that ran: start-replication from the new one.
        (
            MigrationType.CDC,
            replace(REPLICATION_SETTINGS, cdc_start_position="0/5120E10"),
            "start start-replication (position=0/5120E10); await running",
        ),
        (
            MigrationType.FULL_LOAD_AND_CDC,
            replace(REPLICATION_SETTINGS, cdc_start_position="0/5120E10"),
            "start resume-processing (position=0/5120E10); await running",
        ),
        # A full-load replication cannot resume (API reference): a changed start setting
        # reloads it, as for a listed one.
        (
            MigrationType.FULL_LOAD,
            replace(REPLICATION_SETTINGS, start_type=StartType.RELOAD_TARGET),
            "start reload-target; await running",
        ),
    ],
)
def test_a_changed_start_setting_starts_an_unlisted_replication_as_one_that_ran(
    migration_type: str, new: StarterSettings, expected: str
) -> None:
    decision = replication_update(
        REPLICATION_SETTINGS, new, unlisted(migration_type), StackOperation.UPDATE
    )
    assert summary(decision) == expected


def test_a_rollback_leaves_an_unlisted_replication_at_rest() -> None:
    forward = replace(REPLICATION_SETTINGS, cdc_start_position="0/5120E10")
    decision = replication_update(
        forward, REPLICATION_SETTINGS, unlisted(), StackOperation.UPDATE_ROLLBACK
    )
    assert summary(decision) == "nothing"


def failed_replication(migration_type: str = MigrationType.CDC, **fields: Any) -> State:
    return State(
        arn=CONFIG,
        status="failed",
        kind=Kind.REPLICATION,
        migration_type=migration_type,
        stop_reason="Stop Reason FATAL_ERROR",
        **{**RAN, **fields},
    )


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (failed_replication(), "start resume-processing; await running"),
        # A first start that failed before it ran: it never ran.
        (
            failed_replication(marks=RunMarks(), recovery_checkpoint=""),
            "start start-replication; await running",
        ),
    ],
)
def test_a_failed_serverless_replication_is_started(current: State, expected: str) -> None:
    assert summary(decide_starter_create(REPLICATION_SETTINGS, current, NOW)) == expected


@pytest.mark.parametrize(
    ("migration_type", "expected"),
    [
        (MigrationType.CDC, "resume-processing"),
        (MigrationType.FULL_LOAD_AND_CDC, "resume-processing"),
        # "The resume-processing option isn't applicable for a full-load replication."
        (MigrationType.FULL_LOAD, "reload-target"),
    ],
)
def test_a_rollback_restores_a_failed_serverless_replication(
    migration_type: str, expected: str
) -> None:
    forward = replace(REPLICATION_SETTINGS, timeout_seconds=900)
    decision = replication_update(
        forward,
        REPLICATION_SETTINGS,
        failed_replication(migration_type),
        StackOperation.UPDATE_ROLLBACK,
    )
    assert summary(decision) == f"start {expected}; await running"


# -- Update: the task is replaced -----------------------------------------------------------

NEW_TASK = task("ready", migration_type="cdc", arn=ARN)


@pytest.mark.parametrize(
    ("old_status", "on_delete", "expected"),
    [
        ("running", OnDelete.STOP, "stop OLD; then start; await running"),
        ("starting", OnDelete.STOP, "rest OLD; then start; await running"),
        ("stopping", OnDelete.LEAVE_RUNNING, "rest OLD; then start; await running"),
        ("running", OnDelete.LEAVE_RUNNING, "start start-replication; await running"),
        (
            "stopped",
            OnDelete.STOP,
            "start start-replication (position=checkpoint:V1#1); await running",
        ),
    ],
)
def test_replacement(old_status: str, on_delete: OnDelete, expected: str) -> None:
    settings = replace(SETTINGS, on_delete=on_delete)
    old = replace(settings, arn=OLD)
    assert update_summary(old, settings, NEW_TASK, old_task=task(old_status, arn=OLD)) == expected


def test_replacement_that_cannot_start_fails_before_touching_the_old_task() -> None:
    error = update_summary(
        replace(SETTINGS, arn=OLD), SETTINGS, None, old_task=task("running", arn=OLD)
    )
    assert error.startswith(f"fail: Replication task {ARN} was not found")


@pytest.mark.parametrize(
    ("settings", "new", "old", "hands_over"),
    [
        (SETTINGS, NEW_TASK, task("stopped", arn=OLD), True),
        (SETTINGS, NEW_TASK, task("stopped", arn=OLD, migration_type="cdc"), True),
        (SETTINGS, NEW_TASK, task("stopped", arn=OLD, source_endpoint_arn=SOURCE + "2"), False),
        (SETTINGS, NEW_TASK, task("stopped", arn=OLD, migration_type="full-load"), False),
        (
            SETTINGS,
            task("ready", migration_type="full-load-and-cdc"),
            task("stopped", arn=OLD),
            False,
        ),
        (SETTINGS, replace(NEW_TASK, **RAN, status="stopped"), task("stopped", arn=OLD), False),
        (replace(SETTINGS, cdc_handover=False), NEW_TASK, task("stopped", arn=OLD), False),
        (NEW_CDC, NEW_TASK, task("stopped", arn=OLD), False),
        (SETTINGS, NEW_TASK, None, False),
    ],
)
def test_cdc_handover_needs_the_same_source_and_a_fresh_cdc_task(
    settings: StarterSettings, new: State, old: State | None, hands_over: bool
) -> None:
    assert hands_over_cdc(settings, new, old) is hands_over


# -- Update: a rollback ---------------------------------------------------------------------

UPDATE_ROLLBACK_TABLE = {
    "creating": "then start; await running",
    # A task that never ran gets its first start, with the CDC start it never had.
    "ready": "start start-replication (time=2026-01-01 00:00:00+00:00); await running",
    "starting": "await running",
    "running": "await running",
    "stopping": "then start; await running",
    "stopped": "start resume-processing; await running",
    "failed": "start resume-processing; await running",
    "modifying": "then start; await running",
    "moving": "then start; await running",
    "testing": "then start; await running",
    "failed-move": "nothing",
    "deleting": "nothing",
}


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_a_rollback_never_sends_the_old_cdc_start_again(status: str) -> None:
    # The rollback of a CDC start change: CloudFormation sends the previous properties.
    rolled_back = replace(SETTINGS, cdc_start_time=T1)
    forward = replace(SETTINGS, cdc_start_position="0/5120E10")
    actual = update_summary(forward, rolled_back, task(status), StackOperation.UPDATE_ROLLBACK)
    assert actual == UPDATE_ROLLBACK_TABLE[status]


def test_a_rollback_gets_all_the_time_there_is_and_never_fails() -> None:
    decision = decide_starter_update(
        SETTINGS, SETTINGS, task("stopped"), None, context(StackOperation.UPDATE_ROLLBACK)
    )
    assert decision.plan.timeout_seconds == MAX_TIMEOUT_SECONDS
    assert decision.plan.best_effort
    assert decision.plan.resume_only


def test_a_rolled_back_replacement_stops_the_new_task_and_resumes_the_old() -> None:
    forward = replace(SETTINGS, arn=OLD)
    restored = task("stopped")
    decision = decide_starter_update(
        forward,
        SETTINGS,
        restored,
        task("running", arn=OLD),
        context(StackOperation.UPDATE_ROLLBACK),
    )
    assert summary(decision) == "stop OLD; then start; await running"


@pytest.mark.parametrize(
    ("previous", "forward"),
    [
        # The update changed the cdc_stop: the previous one is put back.
        ("server_time:2027-01-01T00:00:00", "server_time:2028-01-01T00:00:00"),
        # The update added one: the task is resumed without one (where DMS clears a stored
        # stop on such a start, it is gone; where it keeps it, no start can take it back).
        (None, "server_time:2028-01-01T00:00:00"),
    ],
)
def test_a_rollback_puts_back_the_previous_cdc_stop(previous: str | None, forward: str) -> None:
    restored = replace(SETTINGS, cdc_stop_position=previous)
    decision = decide_starter_update(
        replace(SETTINGS, cdc_stop_position=forward),
        restored,
        task("running"),
        None,
        context(StackOperation.UPDATE_ROLLBACK),
    )
    assert summary(decision) == "stop T1; then start; await running"
    stopped = task("stopped", marks=replace(RAN["marks"], stop="2026-03-01T11:00:00"))
    poll = decide_poll(decision.plan, {ARN: stopped}, restored, NOW + 60)
    assert isinstance(poll, Start)
    assert (poll.parameters.start_type, poll.parameters.cdc_stop_position) == (
        "resume-processing",
        previous,
    )


def test_a_rollback_leaves_a_finished_task_finished() -> None:
    done = task("stopped", stop_reason="Stop Reason FULL_LOAD_ONLY_FINISHED")
    assert update_summary(SETTINGS, SETTINGS, done, StackOperation.UPDATE_ROLLBACK) == "nothing"


# -- Delete ---------------------------------------------------------------------------------

DELETE_TABLE = {
    **dict.fromkeys(ALL_STATUSES, "nothing"),
    # The README: wait until it can be stopped (or is at rest), then CloudFormation deletes it.
    "creating": "rest T1",
    "modifying": "rest T1",
    "moving": "rest T1",
    "testing": "rest T1",
    "starting": "rest T1",
    "running": "stop T1",
    "stopping": "rest T1",
}


def delete_summary(
    current: State | None,
    operation: StackOperation,
    *,
    on_delete: OnDelete = OnDelete.STOP,
    physical_id: str = ARN,
) -> str:
    settings = DeleteSettings(ARN, Kind.TASK, on_delete)
    decision = decide_starter_delete(settings, current, context(operation, physical_id))
    assert decision.plan.timeout_seconds == MAX_TIMEOUT_SECONDS
    return summary(decision)


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize(
    "operation",
    [StackOperation.DELETE, StackOperation.UPDATE_CLEANUP, StackOperation.UNKNOWN],
)
def test_delete_brings_the_task_to_rest(status: str, operation: StackOperation) -> None:
    assert delete_summary(task(status), operation) == DELETE_TABLE[status]


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_delete_with_leave_running_does_nothing(status: str) -> None:
    actual = delete_summary(task(status), StackOperation.DELETE, on_delete=OnDelete.LEAVE_RUNNING)
    assert actual == "nothing"


@pytest.mark.parametrize(
    "operation", [StackOperation.CREATE_ROLLBACK, StackOperation.ROLLBACK_CLEANUP]
)
def test_delete_after_a_failed_create_stops_only_a_run_this_starter_started(
    operation: StackOperation,
) -> None:
    ours = delete_summary(task("starting"), operation, on_delete=OnDelete.LEAVE_RUNNING)
    adopted = delete_summary(task("running"), operation, physical_id=ARN + "#adopted")
    assert (ours, adopted) == ("rest T1", "nothing")


def test_delete_of_a_missing_task_does_nothing() -> None:
    assert delete_summary(None, StackOperation.DELETE) == "nothing"


# -- the guards -----------------------------------------------------------------------------

GUARD = GuardSettings(task_arn=ARN, task_definition_digest="d2")
OLD_GUARD = replace(GUARD, task_definition_digest="d1")


@pytest.mark.parametrize(
    ("status", "expected", "records_the_run"),
    [
        ("running", "stop T1", True),
        ("starting", "rest T1", True),
        ("stopping", "rest T1", True),
        ("stopped", "nothing", False),
        ("ready", "nothing", False),
        ("modifying", "rest T1", False),
    ],
)
def test_guard_brings_the_task_to_rest_before_a_modify(
    status: str, expected: str, records_the_run: bool
) -> None:
    current = task(status)
    decision = decide_guard_update(
        OLD_GUARD, GUARD, current, context(physical_id=ARN + "#update-guard")
    )
    assert summary(decision) == expected
    assert decision.plan.best_effort  # once it acted, CloudFormation's modify tells the rest
    recorded = (
        guard_physical_id(ARN, snapshot(current)) if records_the_run else ARN + "#update-guard"
    )
    assert decision.physical_id == recorded


@pytest.mark.parametrize(
    ("old", "new"),
    [(GUARD, GUARD), (OLD_GUARD, replace(GUARD, task_arn=OLD)), (None, GUARD)],
)
def test_guard_does_nothing_without_a_modify(old: GuardSettings | None, new: GuardSettings) -> None:
    decision = decide_guard_update(old, new, task("running"), context(physical_id="g"))
    assert summary(decision) == "nothing"
    assert decision.physical_id == new.task_arn + "#update-guard"


def test_guard_keeps_its_id_and_does_nothing_in_a_rollback() -> None:
    decision = decide_guard_update(
        GUARD, OLD_GUARD, task("running"), context(StackOperation.UPDATE_ROLLBACK, "g-id")
    )
    assert (summary(decision), decision.physical_id) == ("nothing", "g-id")


def test_guard_physical_id_round_trips() -> None:
    stopped = snapshot(task("running"))
    assert parse_guard_physical_id(guard_physical_id(ARN, stopped)) == (ARN, stopped)
    assert parse_guard_physical_id(guard_physical_id(ARN)) == (ARN, None)
    assert parse_guard_physical_id(ARN + "#update-guard#stopped-run:garbage") == (ARN, None)


STOPPED_RUN = snapshot(task("running"))
AFTER_OUR_STOP = task(
    "stopped",
    stop_reason="Stop Reason NORMAL",
    marks=replace(RAN["marks"], stop="2026-03-01T11:00:00"),
)


@pytest.mark.parametrize(
    ("operation", "current", "expected"),
    [
        (StackOperation.ROLLBACK_CLEANUP, AFTER_OUR_STOP, "start resume-processing; await running"),
        (StackOperation.UNKNOWN, AFTER_OUR_STOP, "start resume-processing; await running"),
        (
            StackOperation.ROLLBACK_CLEANUP,
            replace(AFTER_OUR_STOP, status="modifying"),
            "then start; await running",
        ),
        (StackOperation.UPDATE_CLEANUP, AFTER_OUR_STOP, "nothing"),
        (StackOperation.DELETE, AFTER_OUR_STOP, "nothing"),
        (
            StackOperation.ROLLBACK_CLEANUP,
            task("running", marks=RunMarks(D2, D2, D1, "x")),
            "nothing",
        ),
        (StackOperation.ROLLBACK_CLEANUP, None, "nothing"),
        (
            StackOperation.ROLLBACK_CLEANUP,
            replace(AFTER_OUR_STOP, stop_reason="Stop Reason FULL_LOAD_ONLY_FINISHED"),
            "nothing",
        ),
    ],
)
def test_guard_delete_restarts_what_a_rolled_back_update_left_stopped(
    operation: StackOperation, current: State | None, expected: str
) -> None:
    decision = decide_guard_delete(current, context(operation, guard_physical_id(ARN, STOPPED_RUN)))
    assert summary(decision) == expected


def test_guard_delete_without_a_stopped_run_does_nothing() -> None:
    decision = decide_guard_delete(
        AFTER_OUR_STOP, context(StackOperation.ROLLBACK_CLEANUP, ARN + "#update-guard")
    )
    assert summary(decision) == "nothing"


def test_rollback_guard_stops_the_tasks_whose_definition_changes_back() -> None:
    other = "arn:aws:dms:eu-west-1:123456789012:task:T2"
    old = {ARN: "d2", other: "e1", OLD: "x"}
    new = {ARN: "d1", other: "e1"}
    assert changed_tasks(old, new) == (ARN,)
    decision = decide_rollback_guard_update(
        old, new, {ARN: task("running"), other: task("running")}, context()
    )
    assert summary(decision) == "stop T1"
    assert decision.plan.best_effort
    assert changed_tasks(None, new) == ()


# -- is_complete ------------------------------------------------------------------------------


def plan(**fields: Any) -> Plan:
    base = Plan(deadline=NOW + 600, timeout_seconds=600, subject=ARN, wait_for=WaitFor.RUNNING)
    return replace(base, **fields)


def poll(plan_: Plan, tasks: dict[str, State | None], now: int = NOW) -> str:
    try:
        decision = decide_poll(plan_, tasks, SETTINGS, now)
    except StarterError as error:
        return f"fail: {error}"
    match decision:
        case Stop(arns=arns):
            return "stop " + ",".join(_name(arn) for arn in arns)
        case Start(parameters=parameters):
            return f"start {parameters.start_type}"
        case Wait():
            return "wait"
        case Complete(warning=warning):
            return "complete" + (f" with warning: {warning}" if warning else "")
    raise AssertionError(decision)


RUNNING = task("running")
RESTART = plan(rest=(ARN,), start_pending=True, snapshot=snapshot(RUNNING))
STOPPED_NOW = replace(
    RUNNING,
    status="stopped",
    stop_reason="Stop Reason NORMAL",
    marks=replace(RUNNING.marks, stop="2026-03-01T11:00:00"),
)


@pytest.mark.parametrize(
    ("label", "current", "expected"),
    [
        ("the old run still runs", RUNNING, "stop T1"),
        ("stopping", replace(RUNNING, status="stopping"), "wait"),
        ("stopped by our stop", STOPPED_NOW, "start resume-processing"),
        ("our start, undated", replace(STOPPED_NOW, status="starting"), "wait"),
        (
            "our start, dated at the call",
            replace(
                STOPPED_NOW, status="starting", marks=RunMarks(D2, D2, D1, "2026-03-01T11:00:00")
            ),
            "wait",
        ),
        ("our run runs", replace(STOPPED_NOW, status="running", stop_reason=""), "complete"),
        (
            "our start failed before DMS dated it",
            replace(
                STOPPED_NOW, status="failed", stop_reason="Stop Reason FATAL_ERROR", failure="boom"
            ),
            f"fail: Replication task {ARN} did not reach 'running': it is failed "
            "(StopReason 'Stop Reason FATAL_ERROR', LastFailureMessage 'boom').",
        ),
    ],
)
def test_a_restart_stops_the_old_run_once_and_starts_once(
    label: str, current: State, expected: str
) -> None:
    assert poll(RESTART, {ARN: current}) == expected, label


def test_a_restart_of_a_starting_task_waits_for_it_to_run_then_stops_it() -> None:
    starting = task("starting", marks=RunMarks(), recovery_checkpoint="")
    restart = plan(rest=(ARN,), start_pending=True, snapshot=snapshot(starting))
    dated = replace(starting, status="running", marks=RunMarks(D2, D2, D2, ""))
    assert poll(restart, {ARN: starting}) == "wait"
    assert poll(restart, {ARN: dated}) == "stop T1"  # its date came late: still the old run
    stopped = replace(
        dated, status="stopped", marks=replace(dated.marks, stop="2026-03-01T11:00:00")
    )
    assert poll(restart, {ARN: stopped}) == "start resume-processing"
    ours = replace(stopped, status="running")
    assert poll(restart, {ARN: ours}) == "complete"


def test_a_restart_of_a_starting_task_knows_its_run_by_the_new_position_without_stop_dates() -> (
    None
):
    """For a DMS that dates no stop: the run from the position the plan sends is the new one."""
    starting = task("starting", migration_type="cdc", marks=RunMarks(), recovery_checkpoint="")
    restart = plan(
        rest=(ARN,), start_pending=True, snapshot=snapshot(starting), send_cdc_start=True
    )
    ours = replace(
        starting, status="running", marks=RunMarks(D2, D2, D2, ""), cdc_start_position="0/5120E10"
    )
    old_run = replace(ours, cdc_start_position="0/1")
    decision = decide_poll(restart, {ARN: ours}, NEW_CDC, NOW)
    assert isinstance(decision, Complete)
    assert isinstance(decide_poll(restart, {ARN: old_run}, NEW_CDC, NOW), Stop)


def test_a_restart_of_a_starting_task_knows_its_run_by_the_new_cdc_stop_without_stop_dates() -> (
    None
):
    """For a DMS that clears StopDate when a run starts: the run with the CdcStopPosition the
    previous settings did not have is the new one."""
    stop = "server_time:2027-01-01T00:00:00"
    new = replace(SETTINGS, cdc_stop_position=stop)
    starting = task("starting", migration_type="cdc", marks=RunMarks(), recovery_checkpoint="")
    restart = plan(rest=(ARN,), start_pending=True, snapshot=snapshot(starting))
    old_run = replace(starting, status="running", marks=RunMarks(D2, D2, D2, ""))
    ours = replace(old_run, cdc_stop_position=stop)
    assert isinstance(decide_poll(restart, {ARN: ours}, new, NOW, SETTINGS), Complete)
    assert isinstance(decide_poll(restart, {ARN: old_run}, new, NOW, SETTINGS), Stop)
    # The same stop as before is no sign: the old run may have it too.
    assert isinstance(decide_poll(restart, {ARN: ours}, new, NOW, new), Stop)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (task("creating"), "wait"),
        (task("ready"), "start start-replication"),
        (task("starting", marks=RunMarks()), "wait"),
        (task("running", marks=RunMarks(D2, D2, D2, "")), "complete"),
        (
            task("deleting", marks=RunMarks(), recovery_checkpoint=""),
            f"fail: Replication task {ARN} cannot be started: it is deleting.",
        ),
    ],
)
def test_a_pending_start_waits_until_it_can_start(current: State, expected: str) -> None:
    pending = plan(start_pending=True, snapshot=snapshot(task("creating")))
    assert poll(pending, {ARN: current}) == expected


def test_a_replacement_stops_the_old_task_before_starting_the_new_one() -> None:
    replacing = plan(
        rest=(OLD,), start_pending=True, snapshot=snapshot(NEW_TASK), handover_from=OLD
    )
    assert poll(replacing, {ARN: NEW_TASK, OLD: task("running", arn=OLD)}) == "stop OLD"
    assert poll(replacing, {ARN: NEW_TASK, OLD: task("stopping", arn=OLD)}) == "wait"
    decision = decide_poll(replacing, {ARN: NEW_TASK, OLD: task("stopped", arn=OLD)}, SETTINGS, NOW)
    assert isinstance(decision, Start)
    assert decision.parameters.cdc_start_position == "checkpoint:V1#1"


def test_a_handover_to_a_task_not_yet_startable_waits_then_starts_from_the_checkpoint() -> None:
    """The new task is still being created: the start waits for it, and still hands over."""
    creating = replace(NEW_TASK, status="creating")
    replaced = task("stopped", arn=OLD)
    decision = decide_starter_update(
        replace(SETTINGS, arn=OLD), SETTINGS, creating, replaced, context()
    )
    assert summary(decision) == "then start; await running"
    assert poll(decision.plan, {ARN: creating, OLD: replaced}) == "wait"
    start = decide_poll(decision.plan, {ARN: NEW_TASK, OLD: replaced}, SETTINGS, NOW + 60)
    assert isinstance(start, Start)
    assert (start.parameters.start_type, start.parameters.cdc_start_position) == (
        "start-replication",
        "checkpoint:V1#1",
    )


def test_a_read_that_still_shows_ready_after_the_start_is_waited_out() -> None:
    """A start was made; DMS's answer to the next look may lag: not a failure yet."""
    started = plan(snapshot=snapshot(task("ready")))
    assert poll(started, {ARN: task("ready")}) == "wait"
    assert poll(started, {ARN: task("starting", marks=RunMarks())}) == "wait"
    assert poll(started, {ARN: task("running")}) == "complete"


@pytest.mark.parametrize(
    ("current", "wait_for", "expected"),
    [
        (task("ready"), WaitFor.RUNNING, Outcome.PENDING),
        (task("running"), WaitFor.RUNNING, Outcome.REACHED),
        (task("running"), WaitFor.FULL_LOAD_FINISHED, Outcome.PENDING),
        (task("running", full_load_finish_date=D2), WaitFor.FULL_LOAD_FINISHED, Outcome.REACHED),
        (
            task(
                "stopped",
                stop_reason="Stop Reason FULL_LOAD_ONLY_FINISHED",
                migration_type="full-load",
            ),
            WaitFor.FULL_LOAD_FINISHED,
            Outcome.REACHED,
        ),
        (
            task("stopped", stop_reason="Stop Reason STOPPED_AT_SERVER_TIME"),
            WaitFor.RUNNING,
            Outcome.REACHED,
        ),
        (
            task("stopped", stop_reason="Stop Reason STOPPED_AT_SERVER_TIME"),
            WaitFor.FULL_LOAD_FINISHED,
            Outcome.FAILED,
        ),
        (task("stopped", stop_reason="Stop Reason NORMAL"), WaitFor.RUNNING, Outcome.FAILED),
        (task("failed"), WaitFor.RUNNING, Outcome.FAILED),
        (task("deleting"), WaitFor.RUNNING, Outcome.FAILED),
        (task("starting"), WaitFor.RUNNING, Outcome.PENDING),
        (task("failed"), WaitFor.NOTHING, Outcome.REACHED),
    ],
)
def test_outcome(current: State, wait_for: WaitFor, expected: Outcome) -> None:
    assert outcome(current, wait_for) is expected


def test_a_timeout_names_the_task_its_goal_and_last_status() -> None:
    late = NOW + 601
    assert poll(plan(), {ARN: task("starting")}, late) == (
        f"fail: Timed out after 600 s waiting for replication task {ARN} to run; last status "
        "starting. It was left as it is."
    )
    assert poll(plan(rest=(OLD,)), {ARN: NEW_TASK, OLD: task("stopping", arn=OLD)}, late) == (
        f"fail: Timed out after 600 s waiting for replication task {OLD} to come to rest "
        "(stopped); last status stopping. It was left as it is."
    )


def test_a_best_effort_plan_completes_with_a_warning_instead_of_failing() -> None:
    relaxed = plan(best_effort=True)
    assert poll(relaxed, {ARN: task("starting")}, NOW + 601).startswith(
        "complete with warning: Timed out after 600 s"
    )
    assert poll(relaxed, {ARN: None}).startswith(
        f"complete with warning: Replication task {ARN} was not found"
    )


def test_reached_wins_over_the_deadline() -> None:
    assert poll(plan(), {ARN: task("running")}, NOW + 10_000) == "complete"


def test_a_plan_that_only_brings_tasks_to_rest() -> None:
    resting = Plan(deadline=NOW + 60, timeout_seconds=60, rest=(ARN,))
    assert poll(resting, {ARN: task("running")}) == "stop T1"
    assert poll(resting, {ARN: task("stopped")}) == "complete"
    assert poll(resting, {ARN: None}) == "complete"


# -- start parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "plan_fields", "expected"),
    [
        (task("ready"), {}, ("start-replication", "0/5120E10")),
        (task("stopped"), {"send_cdc_start": True}, ("resume-processing", "0/5120E10")),
        (
            task("stopped", migration_type="cdc"),
            {"send_cdc_start": True},
            ("start-replication", "0/5120E10"),
        ),
        (task("stopped"), {}, ("resume-processing", None)),
        (
            task("stopped"),
            {"send_cdc_start": True, "resume_only": True},
            ("resume-processing", None),
        ),
        (task("ready"), {"resume_only": True}, ("start-replication", "0/5120E10")),
    ],
)
def test_start_parameters(
    current: State, plan_fields: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    parameters = start_parameters(NEW_CDC, current, plan(**plan_fields))
    assert (parameters.start_type, parameters.cdc_start_position) == expected


@pytest.mark.parametrize(
    ("current", "kind", "type_if_ran"),
    [
        # A failed first start: no run's evidence, but DMS may count it as a run.
        (task("failed", marks=RunMarks(), recovery_checkpoint=""), Kind.TASK, "resume-processing"),
        (
            task("failed", marks=RunMarks(), recovery_checkpoint="", migration_type="full-load"),
            Kind.REPLICATION,
            "reload-target",  # a full-load replication cannot resume
        ),
        (task("ready"), Kind.TASK, None),
        (task("stopped"), Kind.TASK, None),
    ],
)
def test_a_start_after_a_failed_first_start_carries_the_type_of_a_task_that_ran(
    current: State, kind: Kind, type_if_ran: str | None
) -> None:
    parameters = start_parameters(
        replace(NEW_CDC, kind=kind, start_type=None),
        replace(current, kind=kind),
        plan(send_cdc_start=True),
    )
    assert parameters.type_if_ran == type_if_ran
    as_run = parameters.as_run
    if type_if_ran is None:
        assert as_run is None
        return
    assert parameters.start_type == "start-replication"
    assert as_run == replace(parameters, start_type=type_if_ran, type_if_ran=None)
    assert as_run.cdc_start_position == "0/5120E10"  # the same CDC settings
    assert as_run.as_run is None  # tried once


def test_a_restoring_start_of_a_full_load_serverless_replication_reloads() -> None:
    replication = State(
        arn=ARN,
        status="stopped",
        kind=Kind.REPLICATION,
        migration_type=MigrationType.FULL_LOAD,
        **RAN,
    )
    parameters = start_parameters(
        replace(SETTINGS, kind=Kind.REPLICATION), replication, plan(resume_only=True)
    )
    assert parameters.start_type == "reload-target"


def test_stack_operation_reads_the_stack_status() -> None:
    assert (
        StackOperation.from_status("UPDATE_ROLLBACK_IN_PROGRESS") is StackOperation.UPDATE_ROLLBACK
    )
    assert StackOperation.from_status("IMPORT_IN_PROGRESS") is StackOperation.UNKNOWN
    assert StackOperation.ROLLBACK_CLEANUP.rolls_back
    assert not StackOperation.UPDATE_CLEANUP.rolls_back


def test_every_phase_is_covered_by_the_decisions() -> None:
    assert {TASK_PHASES[status] for status in ALL_STATUSES} == set(Phase)
