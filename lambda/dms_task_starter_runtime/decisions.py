"""What to do with a replication task, decided from its status and the settings.

Pure functions and small value types, no AWS calls: ``handler`` describes the task,
asks this module what to do, and carries the answer out. ``on_event`` records its
plan in the custom resource's ``Data`` (keys prefixed ``Starter``) because the
Provider framework calls ``is_complete`` again and again with the same event and
``is_complete`` keeps no state of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Final

from dms_task_starter_runtime.contract import (
    BOOLEAN_FALSE,
    BOOLEAN_TRUE,
    FIRST_RUN_START_TYPE,
    Attr,
    WaitFor,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from mypy_boto3_dms.type_defs import ReplicationTaskTypeDef

    from dms_task_starter_runtime.settings import StarterSettings

MAX_FAILURE_MESSAGE_CHARS: Final = 1000
MAX_ATTRIBUTE_VALUE_CHARS: Final = 400
"""Caps every returned attribute: the whole response must stay below 4096 bytes."""

FULL_LOAD_ONLY_FINISHED: Final = "Stop Reason FULL_LOAD_ONLY_FINISHED"
ERROR_STOP_REASONS: Final = frozenset(
    {
        "Stop Reason RECOVERABLE_ERROR",
        "Stop Reason FATAL_ERROR",
        "Stop Reason EXPRESS_LICENSE_LIMITS_REACHED",
        "Stop Reason STOPPED_DUE_TO_LOW_MEMORY",
        "Stop Reason STOPPED_DUE_TO_LOW_DISK",
    }
)
CDC_MIGRATION_TYPE: Final = "cdc"
FULL_LOAD_MIGRATION_TYPE: Final = "full-load"


class Status:
    """The statuses DMS reports for a replication task."""

    CREATING: Final = "creating"
    READY: Final = "ready"
    STARTING: Final = "starting"
    RUNNING: Final = "running"
    STOPPING: Final = "stopping"
    STOPPED: Final = "stopped"
    FAILED: Final = "failed"
    MODIFYING: Final = "modifying"
    MOVING: Final = "moving"
    FAILED_MOVE: Final = "failed-move"
    DELETING: Final = "deleting"
    TESTING: Final = "testing"


ALL_STATUSES: Final = (
    Status.CREATING,
    Status.READY,
    Status.STARTING,
    Status.RUNNING,
    Status.STOPPING,
    Status.STOPPED,
    Status.FAILED,
    Status.MODIFYING,
    Status.MOVING,
    Status.FAILED_MOVE,
    Status.DELETING,
    Status.TESTING,
)
STARTABLE_STATUSES: Final = frozenset({Status.READY, Status.STOPPED, Status.FAILED})
STARTED_STATUSES: Final = frozenset({Status.STARTING, Status.RUNNING})
TERMINAL_STATUSES: Final = frozenset({Status.DELETING, Status.FAILED_MOVE})
NOT_AT_REST_STATUSES: Final = frozenset({Status.STARTING, Status.RUNNING, Status.STOPPING})
"""A task in one of these statuses has to be stopped, or waited for, before it is at rest."""

START_FROM_WHEN_TRANSITIONAL: Final[Mapping[str, frozenset[str]]] = {
    Status.CREATING: frozenset({Status.READY}),
    Status.STOPPING: frozenset({Status.STOPPED}),
    Status.MODIFYING: frozenset(STARTABLE_STATUSES),
    Status.MOVING: frozenset(STARTABLE_STATUSES),
    Status.TESTING: frozenset(STARTABLE_STATUSES),
}
"""The statuses a task passes on to from a transitional one, in which the pending start is made."""


class StatusClass(Enum):
    """How a starter treats a task status."""

    STARTABLE = "startable"
    ALREADY_STARTED = "already-started"
    TRANSITIONAL = "transitional"
    TERMINAL = "terminal"


def classify_status(status: str) -> StatusClass:
    """Classify a status; a status DMS adds later is waited out like a transitional one."""
    if status in STARTABLE_STATUSES:
        return StatusClass.STARTABLE
    if status in STARTED_STATUSES:
        return StatusClass.ALREADY_STARTED
    if status in TERMINAL_STATUSES:
        return StatusClass.TERMINAL
    return StatusClass.TRANSITIONAL


def start_from_statuses(status: str) -> frozenset[str]:
    """The statuses in which a start that waits for a task now in ``status`` is made."""
    if status in STARTABLE_STATUSES:
        return frozenset({status})
    return START_FROM_WHEN_TRANSITIONAL.get(status, STARTABLE_STATUSES)


class StarterError(Exception):
    """A failure CloudFormation shows in its console: one readable paragraph, capped."""

    def __init__(self, message: str) -> None:
        super().__init__(truncate(message, MAX_FAILURE_MESSAGE_CHARS))


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in "..." when it was cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


@dataclass(frozen=True)
class TaskState:
    """The parts of a ``DescribeReplicationTasks`` answer the starter looks at."""

    arn: str
    status: str
    migration_type: str = ""
    stop_reason: str = ""
    last_failure_message: str = ""
    start_marker: str = ""
    """The start date of the latest run: it changes with every start, whoever made it."""
    start_date: str = ""
    cdc_start_position: str = ""
    cdc_stop_position: str = ""
    recovery_checkpoint: str = ""
    full_load_progress_percent: int | None = None
    full_load_finish_date: str = ""
    tables_loaded: int | None = None
    tables_errored: int | None = None


def task_state(task: ReplicationTaskTypeDef) -> TaskState:
    """Read the fields the starter needs from a DMS ``ReplicationTask``."""
    stats = task.get("ReplicationTaskStats", {})
    start_date = _iso(task.get("ReplicationTaskStartDate"))
    return TaskState(
        arn=task.get("ReplicationTaskArn", ""),
        status=task.get("Status", ""),
        migration_type=task.get("MigrationType", ""),
        stop_reason=task.get("StopReason", ""),
        last_failure_message=task.get("LastFailureMessage", ""),
        start_marker=_iso(stats.get("StartDate")) or start_date,
        start_date=start_date,
        cdc_start_position=task.get("CdcStartPosition", ""),
        cdc_stop_position=task.get("CdcStopPosition", ""),
        recovery_checkpoint=task.get("RecoveryCheckpoint", ""),
        full_load_progress_percent=stats.get("FullLoadProgressPercent"),
        full_load_finish_date=_iso(stats.get("FullLoadFinishDate")),
        tables_loaded=stats.get("TablesLoaded"),
        tables_errored=stats.get("TablesErrored"),
    )


def describe_status(task: TaskState) -> str:
    """``<status>`` followed by the StopReason and LastFailureMessage DMS gave, if any."""
    details = [
        f"{name} '{value}'"
        for name, value in (
            ("StopReason", task.stop_reason),
            ("LastFailureMessage", task.last_failure_message),
        )
        if value
    ]
    return task.status if not details else f"{task.status} ({', '.join(details)})"


def task_attributes(task: TaskState) -> dict[str, str]:
    """The ``Data`` readable with ``Fn::GetAtt``: strings only, each capped in length."""
    values = {
        Attr.TASK_ARN: task.arn,
        Attr.STATUS: task.status,
        Attr.STOP_REASON: task.stop_reason,
        Attr.START_DATE: task.start_date,
        Attr.CDC_START_POSITION: task.cdc_start_position,
        Attr.CDC_STOP_POSITION: task.cdc_stop_position,
        Attr.RECOVERY_CHECKPOINT: task.recovery_checkpoint,
        Attr.FULL_LOAD_PROGRESS_PERCENT: _optional_int(task.full_load_progress_percent),
        Attr.TABLES_LOADED: _optional_int(task.tables_loaded),
        Attr.TABLES_ERRORED: _optional_int(task.tables_errored),
    }
    return {key: truncate(value, MAX_ATTRIBUTE_VALUE_CHARS) for key, value in values.items()}


def _optional_int(value: int | None) -> str:
    return "" if value is None else str(value)


class Outcome(Enum):
    """Where a started task stands relative to what the resource waits for."""

    REACHED = "reached"
    PENDING = "pending"
    FAILED = "failed"


def full_load_finished_stop(task: TaskState) -> bool:
    """Whether a stopped task stopped because its full load is done: success, not a failure."""
    if task.stop_reason == FULL_LOAD_ONLY_FINISHED:
        return True
    return bool(task.full_load_finish_date) and task.stop_reason not in ERROR_STOP_REASONS


def full_load_task_is_done(task: TaskState) -> bool:
    """Whether a full-load task finished its work: starting it again would load it again."""
    return task.status == Status.STOPPED and (
        task.stop_reason == FULL_LOAD_ONLY_FINISHED
        or (task.migration_type == FULL_LOAD_MIGRATION_TYPE and bool(task.full_load_finish_date))
    )


def outcome(task: TaskState, wait_for: WaitFor) -> Outcome:
    """Judge a task that was started (by us or before us) against ``wait_for``."""
    if wait_for is WaitFor.NOTHING:
        return Outcome.REACHED
    if task.status == Status.RUNNING:
        if wait_for is WaitFor.RUNNING:
            return Outcome.REACHED
        full_load_done = bool(task.full_load_finish_date) or task.full_load_progress_percent == 100
        return Outcome.REACHED if full_load_done else Outcome.PENDING
    if task.status == Status.STOPPED:
        return Outcome.REACHED if full_load_finished_stop(task) else Outcome.FAILED
    if task.status == Status.FAILED or task.status in TERMINAL_STATUSES:
        return Outcome.FAILED
    return Outcome.PENDING


def settings_require_restart(old: StarterSettings, new: StarterSettings) -> bool:
    """Whether a running task must be stopped and started again to apply ``new``."""

    def start_inputs(settings: StarterSettings) -> tuple[object, ...]:
        return (
            settings.start_type,
            settings.cdc_start_time,
            settings.cdc_start_position,
            settings.cdc_stop_position,
            settings.task_definition_digest,
        )

    return start_inputs(old) != start_inputs(new)


@dataclass(frozen=True)
class StartParameters:
    """The arguments of one ``StartReplicationTask`` call."""

    task_arn: str
    start_type: str
    cdc_start_time: datetime | None = None
    cdc_start_position: str | None = None
    cdc_stop_position: str | None = None


def cdc_start_unchanged(old: StarterSettings | None, new: StarterSettings) -> bool:
    """Whether an Update keeps the CDC start (time and position) that was applied before."""
    return old is not None and (old.cdc_start_time, old.cdc_start_position) == (
        new.cdc_start_time,
        new.cdc_start_position,
    )


def start_parameters(
    settings: StarterSettings,
    task: TaskState,
    handover_source: TaskState | None = None,
    resumes_cdc: bool = False,
) -> StartParameters:
    """Decide the start call at the moment of the start: a task that never ran gets
    ``start-replication``; with a CDC handover, CDC continues where ``handover_source`` stopped.

    With ``resumes_cdc`` (the configured CDC start was applied by an earlier start) a task
    that ran before continues from its own checkpoint: sending the old start again would
    replay every change since then.
    """
    first_run = task.status == Status.READY
    start_type = FIRST_RUN_START_TYPE if first_run else settings.start_type.value
    sends_cdc_start = first_run or not resumes_cdc
    cdc_start_position = settings.cdc_start_position if sends_cdc_start else None
    if handover_source is not None and handover_source.recovery_checkpoint:
        cdc_start_position = handover_source.recovery_checkpoint
    return StartParameters(
        task_arn=task.arn,
        start_type=start_type,
        cdc_start_time=settings.cdc_start_time if sends_cdc_start else None,
        cdc_start_position=cdc_start_position,
        cdc_stop_position=settings.cdc_stop_position,
    )


def start_took_effect(marker_before: str, task_after: TaskState | None) -> bool:
    """Whether a start DMS rejected as invalid for the task's state was in fact made.

    botocore retries a call whose answer was lost (5xx, timeout); when DMS had applied the
    first attempt, the retry finds the task starting and is rejected.
    """
    return (
        task_after is not None
        and task_after.status in STARTED_STATUSES
        and task_after.start_marker != marker_before
    )


def stop_took_effect(task_after: TaskState | None) -> bool:
    """Whether a stop DMS rejected as invalid for the task's state left the task stopping
    or stopped, which is all the stop was for."""
    return task_after is not None and task_after.status in {Status.STOPPING, Status.STOPPED}


class PlanKey:
    """Keys of the plan in ``Data``; the prefix keeps them apart from the attributes."""

    TASK_ARN: Final = "StarterTaskArn"
    DEADLINE: Final = "StarterDeadline"
    TIMEOUT_SECONDS: Final = "StarterTimeoutSeconds"
    WAIT_FOR: Final = "StarterWaitFor"
    STOP_ARN: Final = "StarterStopArn"
    START_FROM_STATUSES: Final = "StarterStartFromStatuses"
    START_MARKER: Final = "StarterStartMarker"
    EXPECTS_NEW_RUN: Final = "StarterExpectsNewRun"
    CDC_HANDOVER: Final = "StarterCdcHandover"
    RESUMES_CDC: Final = "StarterResumesCdc"


@dataclass(frozen=True)
class Plan:
    """What ``is_complete`` still has to bring about, as decided by ``on_event``.

    In order: bring ``stop_arn`` to rest (stop it once it runs), make the pending start
    of ``task_arn`` (when it is in one of ``start_from`` and its start marker is still
    ``start_marker``), then wait for ``wait_for``.
    """

    task_arn: str
    deadline: int
    timeout_seconds: int
    wait_for: WaitFor = WaitFor.NOTHING
    stop_arn: str = ""
    start_from: frozenset[str] = field(default_factory=frozenset)
    start_marker: str = ""
    expects_new_run: bool = False
    """A start was made or is pending, so a stopped task with the old marker is a stale view."""
    cdc_handover: bool = False
    """The pending start continues CDC from the RecoveryCheckpoint of the stopped ``stop_arn``."""
    resumes_cdc: bool = False
    """The configured CDC start was applied before: a task that ran resumes at its checkpoint."""

    def to_data(self) -> dict[str, str]:
        """Serialise into ``Data``; the Provider framework hands it to ``is_complete``."""
        return {
            PlanKey.TASK_ARN: self.task_arn,
            PlanKey.DEADLINE: str(self.deadline),
            PlanKey.TIMEOUT_SECONDS: str(self.timeout_seconds),
            PlanKey.WAIT_FOR: self.wait_for.value,
            PlanKey.STOP_ARN: self.stop_arn,
            PlanKey.START_FROM_STATUSES: ",".join(sorted(self.start_from)),
            PlanKey.START_MARKER: self.start_marker,
            PlanKey.EXPECTS_NEW_RUN: _boolean(self.expects_new_run),
            PlanKey.CDC_HANDOVER: _boolean(self.cdc_handover),
            PlanKey.RESUMES_CDC: _boolean(self.resumes_cdc),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> Plan:
        """Read back what ``to_data`` wrote; a plan that cannot be read is a ``StarterError``."""

        def text(key: str) -> str:
            value = data.get(key)
            if not isinstance(value, str):
                raise StarterError(
                    f"The event's Data has no plan key {key}, which on_event writes for "
                    "is_complete: this event did not come from on_event. Nothing was done."
                )
            return value

        task_arn = text(PlanKey.TASK_ARN)
        statuses = text(PlanKey.START_FROM_STATUSES)
        try:
            return cls(
                task_arn=task_arn,
                deadline=int(text(PlanKey.DEADLINE)),
                timeout_seconds=int(text(PlanKey.TIMEOUT_SECONDS)),
                wait_for=WaitFor(text(PlanKey.WAIT_FOR)),
                stop_arn=text(PlanKey.STOP_ARN),
                start_from=frozenset(statuses.split(",")) if statuses else frozenset(),
                start_marker=text(PlanKey.START_MARKER),
                expects_new_run=text(PlanKey.EXPECTS_NEW_RUN) == BOOLEAN_TRUE,
                cdc_handover=text(PlanKey.CDC_HANDOVER) == BOOLEAN_TRUE,
                resumes_cdc=text(PlanKey.RESUMES_CDC) == BOOLEAN_TRUE,
            )
        except ValueError as error:
            raise StarterError(
                f"The plan on_event left in the event's Data for task {task_arn or '(none)'} "
                f"is unreadable ({error}). Nothing was done."
            ) from error


def _boolean(value: bool) -> str:
    return BOOLEAN_TRUE if value else BOOLEAN_FALSE


@dataclass(frozen=True)
class OnEventDecision:
    """At most one write call for ``on_event`` to make now, and the plan for ``is_complete``."""

    plan: Plan
    note: str
    stop_arn: str = ""
    start: StartParameters | None = None


def _not_found(task_arn: str) -> StarterError:
    return StarterError(
        f"Replication task {task_arn} was not found (or this function may not describe it): "
        "check the ARN, the region and the account."
    )


def _cannot_start(task: TaskState) -> StarterError:
    return StarterError(
        f"Replication task {task.arn} cannot be started: it is {describe_status(task)}."
    )


def _starter_plan(settings: StarterSettings, task: TaskState, now: int, resumes_cdc: bool) -> Plan:
    """The plan of a start: wait for the settings' target, measured from the task's marker."""
    return Plan(
        task_arn=task.arn,
        deadline=now + settings.timeout_seconds,
        timeout_seconds=settings.timeout_seconds,
        wait_for=settings.wait_for,
        start_marker=task.start_marker,
        expects_new_run=True,
        resumes_cdc=resumes_cdc,
    )


def plan_start(
    settings: StarterSettings,
    task: TaskState | None,
    now: int,
    *,
    stop_arn: str = "",
    handover_source: TaskState | None = None,
    resumes_cdc: bool = False,
) -> OnEventDecision:
    """Decide how to start ``task`` (Create, and Updates that need no restart).

    With a ``stop_arn`` (another task to bring to rest first) the start always waits
    for ``is_complete``; ``handover_source`` is the task whose checkpoint CDC continues from;
    ``resumes_cdc`` says the configured CDC start was applied before (see ``start_parameters``).
    """
    if task is None:
        raise _not_found(settings.task_arn)
    base = replace(
        _starter_plan(settings, task, now, resumes_cdc),
        stop_arn=stop_arn,
        cdc_handover=handover_source is not None,
    )
    status_class = classify_status(task.status)
    if status_class is StatusClass.TERMINAL:
        raise _cannot_start(task)
    if status_class is StatusClass.ALREADY_STARTED:
        plan = replace(base, expects_new_run=False, cdc_handover=False)
        return OnEventDecision(plan, f"task is {task.status} already: not starting it again")
    if status_class is StatusClass.STARTABLE and not stop_arn:
        start = start_parameters(settings, task, handover_source, resumes_cdc)
        return OnEventDecision(
            base, f"task is {task.status}: starting it with {start.start_type}", start=start
        )
    plan = replace(base, start_from=start_from_statuses(task.status))
    waits_on = f"task {stop_arn} to come to rest" if stop_arn else f"task to leave {task.status}"
    return OnEventDecision(plan, f"task is {task.status}: starting it after waiting for {waits_on}")


def plan_restart(
    settings: StarterSettings, task: TaskState, now: int, resumes_cdc: bool
) -> OnEventDecision:
    """Decide how to apply changed start settings to a task that was started already."""
    plan = replace(
        _starter_plan(settings, task, now, resumes_cdc),
        stop_arn=task.arn,
        start_from=frozenset({Status.STOPPED}),
    )
    if task.status == Status.RUNNING:
        note = "start settings changed: stopping the task to start it again with them"
        return OnEventDecision(plan, note, stop_arn=task.arn)
    note = f"start settings changed: stopping the {task.status} task once it runs, then starting it"
    return OnEventDecision(plan, note)


def plan_update(
    old: StarterSettings | None, settings: StarterSettings, task: TaskState | None, now: int
) -> OnEventDecision:
    """Decide an Update (or rollback) that keeps the task: restart it if its start inputs
    changed while it runs, otherwise treat it like a Create (a task at rest is started).
    A CDC start that the Update keeps was applied already: the task resumes from its checkpoint."""
    resumes_cdc = cdc_start_unchanged(old, settings)
    restart = old is not None and settings_require_restart(old, settings)
    if restart and task is not None and task.status in STARTED_STATUSES:
        return plan_restart(settings, task, now, resumes_cdc)
    if old is not None and not restart and task is not None and full_load_task_is_done(task):
        plan = replace(_starter_plan(settings, task, now, resumes_cdc), expects_new_run=False)
        return OnEventDecision(plan, "the full load is done and no start setting changed: no start")
    return plan_start(settings, task, now, resumes_cdc=resumes_cdc)


def plan_stop(
    task_arn: str, task: TaskState | None, now: int, timeout_seconds: int
) -> OnEventDecision:
    """Bring a task to rest: stop it if it runs, wait if it is starting or stopping."""
    plan = Plan(task_arn=task_arn, deadline=now + timeout_seconds, timeout_seconds=timeout_seconds)
    if task is None:
        return OnEventDecision(plan, "task does not exist: nothing to stop")
    if task.status not in NOT_AT_REST_STATUSES:
        return OnEventDecision(plan, f"task is {task.status}: nothing to stop")
    waiting = replace(plan, stop_arn=task_arn, start_marker=task.start_marker)
    if task.status == Status.RUNNING:
        return OnEventDecision(waiting, "task is running: stopping it", stop_arn=task_arn)
    return OnEventDecision(waiting, f"task is {task.status}: waiting until it can be stopped")


def plan_nothing(task_arn: str, now: int, timeout_seconds: int, note: str) -> OnEventDecision:
    """A plan that ``is_complete`` finishes at once, without a write call."""
    plan = Plan(task_arn=task_arn, deadline=now + timeout_seconds, timeout_seconds=timeout_seconds)
    return OnEventDecision(plan, note)


def hands_over_cdc(settings: StarterSettings, new_task: TaskState) -> bool:
    """Whether a replacing CDC task continues from the replaced task's checkpoint."""
    return (
        settings.cdc_handover
        and not settings.has_cdc_start
        and new_task.migration_type == CDC_MIGRATION_TYPE
        and new_task.status not in STARTED_STATUSES
    )


@dataclass(frozen=True)
class Wait:
    """Nothing to do on this poll."""

    note: str


@dataclass(frozen=True)
class Stop:
    """Stop a running task on this poll."""

    task_arn: str
    note: str


@dataclass(frozen=True)
class Start:
    """Make the pending start on this poll."""

    parameters: StartParameters
    note: str


@dataclass(frozen=True)
class Complete:
    """The plan is carried out; report success with the attributes of ``task``."""

    task: TaskState | None
    note: str


PollDecision = Wait | Stop | Start | Complete


def _goal(plan: Plan, stopping: bool) -> str:
    if stopping:
        return "come to rest (stopped)"
    if plan.wait_for is WaitFor.FULL_LOAD_FINISHED:
        return "finish its full load"
    if plan.wait_for is WaitFor.RUNNING:
        return "run"
    return "become startable"


def _unless_timed_out(
    plan: Plan, now: int, task: TaskState | None, stopping: bool, decision: PollDecision
) -> PollDecision:
    if now < plan.deadline:
        return decision
    subject = plan.stop_arn if stopping else plan.task_arn
    last = "it no longer exists" if task is None else f"last status {describe_status(task)}"
    raise StarterError(
        f"Timed out after {plan.timeout_seconds} s waiting for task {subject} to "
        f"{_goal(plan, stopping)}; {last}. The task was left as it is."
    )


def decide_poll(
    plan: Plan,
    task: TaskState | None,
    stop_subject: TaskState | None,
    settings: StarterSettings | None,
    now: int,
) -> PollDecision:
    """Decide one ``is_complete`` poll from the plan and the tasks as they are now.

    ``task`` is the task ``plan.task_arn`` names; ``stop_subject`` the one ``plan.stop_arn``
    names (the same object when both ARNs are equal). ``settings`` are needed for a pending start.
    """
    marker_unchanged = task is not None and task.start_marker == plan.start_marker
    stop_pending = plan.stop_arn and (plan.stop_arn != plan.task_arn or marker_unchanged)
    if stop_pending and stop_subject is not None and stop_subject.status in NOT_AT_REST_STATUSES:
        if stop_subject.status == Status.RUNNING:
            action: PollDecision = Stop(stop_subject.arn, f"stopping task {stop_subject.arn}")
        else:
            action = Wait(f"waiting for task {stop_subject.arn}: it is {stop_subject.status}")
        return _unless_timed_out(plan, now, stop_subject, True, action)
    if plan.start_from and (task is None or marker_unchanged):
        if task is None:
            raise _not_found(plan.task_arn)
        return _decide_pending_start(plan, task, stop_subject, settings, now)
    if not plan.task_arn or plan.wait_for is WaitFor.NOTHING:
        return Complete(task, "nothing left to wait for")
    if task is None:
        raise _not_found(plan.task_arn)
    stale = plan.expects_new_run and marker_unchanged and task.status in STARTABLE_STATUSES
    result = Outcome.PENDING if stale else outcome(task, plan.wait_for)
    if result is Outcome.FAILED:
        raise StarterError(
            f"Replication task {task.arn} did not reach '{plan.wait_for.value}': "
            f"it is {describe_status(task)}."
        )
    if result is Outcome.REACHED:
        return Complete(task, f"task is {task.status}: '{plan.wait_for.value}' reached")
    return _unless_timed_out(plan, now, task, False, Wait(f"waiting: task is {task.status}"))


def _decide_pending_start(
    plan: Plan,
    task: TaskState,
    stop_subject: TaskState | None,
    settings: StarterSettings | None,
    now: int,
) -> PollDecision:
    if task.status in plan.start_from:
        if settings is None:
            raise ValueError("a pending start needs the starter settings")
        handover_source = stop_subject if plan.cdc_handover else None
        start = start_parameters(settings, task, handover_source, plan.resumes_cdc)
        note = f"task is {task.status}: starting it with {start.start_type}"
        if handover_source is not None:
            note += f", CDC from the RecoveryCheckpoint of {handover_source.arn}"
        action: PollDecision = Start(start, note)
    elif task.status in STARTABLE_STATUSES or task.status in TERMINAL_STATUSES:
        expected = " or ".join(sorted(plan.start_from))
        raise StarterError(
            f"Replication task {task.arn} was to be started once {expected}, "
            f"but it is {describe_status(task)}."
        )
    else:
        action = Wait(f"waiting to start: task is {task.status}")
    return _unless_timed_out(plan, now, task, False, action)
