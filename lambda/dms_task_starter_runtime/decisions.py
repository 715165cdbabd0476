"""What a starter does with its task, decided from the request, the stack's operation and
DMS's view of the task.

Pure functions, no AWS calls: ``handler`` reads the tasks (and the stack's status), asks
this module (``guards`` for the guards, ``polls`` for ``is_complete``) what to do, and
carries the answer out. ``on_event`` makes the writes an ``OnEventDecision`` lists and
returns its ``Plan``.

The starter (of a task, or of a Serverless replication) starts on Create and Update,
restores on a rollback Update, and brings the task to rest on Delete.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Final

from dms_task_starter_runtime.contract import (
    FIRST_RUN_START_TYPE,
    MAX_TIMEOUT_SECONDS,
    Kind,
    MigrationType,
    OnDelete,
    StartType,
    WaitFor,
)
from dms_task_starter_runtime.plan import Plan, StarterError
from dms_task_starter_runtime.settings import (
    PHYSICAL_ID_SEPARATOR,
    StarterSettings,
    cdc_stop_time,
    impossible_setting,
)
from dms_task_starter_runtime.state import (
    STARTED_PHASES,
    Phase,
    State,
    snapshot,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dms_task_starter_runtime.settings import DeleteSettings

ADOPTED_SUFFIX: Final = PHYSICAL_ID_SEPARATOR + "adopted"
"""A starter's physical id ends in this when the task was running before the starter
existed: the Delete after a failed Create then leaves that run alone."""
TAKEN_OVER: Final = PHYSICAL_ID_SEPARATOR + "took-over:"
"""A ``ReplicationStarter``'s physical id names, after this, the configuration its Create
took the replication over from (``replace_on_change`` renamed the configuration when the
starter was added): the Delete after a failed Create resumes that one."""
UNSETTLED: Final = frozenset({*STARTED_PHASES, Phase.BUSY})
"""A task in one of these phases is not at rest yet: a Delete or a guard waits it out."""
CDC_MIGRATION_TYPES: Final = frozenset({MigrationType.CDC, MigrationType.FULL_LOAD_AND_CDC})
UNLISTED_NOTE: Final = (
    "DMS no longer lists the replication this starter started (deprovisioned after a stop), "
    "so it cannot say whether it finished"
)


class StackOperation(Enum):
    """The stack operation a request belongs to, read from the stack's status.

    CloudFormation does not say whether an Update is a rollback, nor why a Delete is
    sent; the stack's status (``DescribeStacks``) does.
    """

    CREATE = "CREATE_IN_PROGRESS"
    UPDATE = "UPDATE_IN_PROGRESS"
    UPDATE_CLEANUP = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    CREATE_ROLLBACK = "ROLLBACK_IN_PROGRESS"
    UPDATE_ROLLBACK = "UPDATE_ROLLBACK_IN_PROGRESS"
    ROLLBACK_CLEANUP = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
    DELETE = "DELETE_IN_PROGRESS"
    NESTED_ROLLBACK_DELETE = "DELETE_IN_PROGRESS of a nested stack while its root rolls back"
    """A nested stack that a failed parent create or update created, deleted whole."""
    UNKNOWN = ""
    """The status could not be read (or is one no request comes with)."""

    @classmethod
    def from_status(cls, status: str) -> StackOperation:
        return next((operation for operation in cls if operation.value == status), cls.UNKNOWN)

    @classmethod
    def from_statuses(cls, own: str, root: str | None) -> StackOperation:
        """The operation of a request of a stack (``own``) whose root stack is ``root``
        (None: not nested). A nested stack's own status says all but one thing: its Delete
        while the root rolls back belongs to the rollback."""
        operation = cls.from_status(own)
        if operation is cls.DELETE and root is not None and cls.from_status(root).rolls_back:
            return cls.NESTED_ROLLBACK_DELETE
        return operation

    @property
    def rolls_back(self) -> bool:
        return self in (
            StackOperation.CREATE_ROLLBACK,
            StackOperation.UPDATE_ROLLBACK,
            StackOperation.ROLLBACK_CLEANUP,
            StackOperation.NESTED_ROLLBACK_DELETE,
        )


@dataclass(frozen=True)
class StartParameters:
    """The arguments of one start call (StartReplicationTask or StartReplication)."""

    arn: str
    start_type: str
    kind: Kind = Kind.TASK
    cdc_start_time: datetime | None = None
    cdc_start_position: str | None = None
    cdc_stop_position: str | None = None
    type_if_ran: str | None = None
    """The type to send instead if DMS refuses ``start-replication`` as for a task that ran:
    a failed first start shows no run, but DMS may count it as one (the reference does not
    say), and then accepts only the start type of a task that ran."""
    premigration_assessment: str | None = None
    """A Serverless first start: ``PremigrationAssessmentSettings`` (JSON)."""

    @property
    def as_run(self) -> StartParameters | None:
        """The same start with the type of a task that ran; None if there is none to try."""
        if self.type_if_ran is None:
            return None
        return replace(self, start_type=self.type_if_ran, type_if_ran=None)


@dataclass(frozen=True)
class OnEventDecision:
    """The writes ``on_event`` makes now, in order, and the plan for ``is_complete``."""

    physical_id: str
    plan: Plan
    note: str
    tag: str = ""
    """A task given by ARN: tag it with the stack's tag first (best effort)."""
    stops: tuple[str, ...] = ()
    start: StartParameters | None = None


@dataclass(frozen=True)
class Context:
    """Where a request stands: its resource's physical id, the stack's operation, the time."""

    physical_id: str
    operation: StackOperation = StackOperation.UNKNOWN
    now: int = 0


# -- reading the situation --------------------------------------------------------------


def started_before(physical_id: str, old_arn: str | None, arn: str) -> bool:
    """Whether this starter started ``arn`` in an earlier request, whatever DMS lists now.

    ``physical_id`` is the ARN its Create started (or adopted), "" for a Create itself;
    ``old_arn`` is the ARN its previous properties named, which that deployment started.
    """
    first = physical_id.removesuffix(ADOPTED_SUFFIX)
    return bool(physical_id) and arn in (first, old_arn)


def not_found(kind: Kind, arn: str) -> StarterError:
    return StarterError(
        f"{kind.noun} {arn} was not found (or this function may not describe it): "
        "check the ARN, the region and the account."
    )


def cannot_start(task: State) -> StarterError:
    return StarterError(f"{task.kind.noun} {task.arn} cannot be started: it is {task.describe()}.")


def _checked_task(settings: StarterSettings, task: State | None) -> State:
    """The task to start, or the failure that names why it cannot be started at all."""
    if task is None:
        raise not_found(settings.kind, settings.arn)
    if task.phase is Phase.GONE:
        raise cannot_start(task)
    impossible = impossible_setting(settings, task.migration_type)
    if impossible is not None:
        raise StarterError(
            f"{impossible} (the {task.kind.noun.lower()} {task.arn}). Nothing was done."
        )
    return task


def check_cdc_stop_ahead(settings: StarterSettings, now: int) -> None:
    """A start with a CdcStopPosition already past would stop the task at once."""
    if settings.cdc_stop_position is None:
        return
    stop = cdc_stop_time(settings.cdc_stop_position)
    if stop.timestamp() <= now:
        current = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        raise StarterError(
            f"CdcStopPosition: {settings.cdc_stop_position} is not in the future (it is now "
            f"{current} UTC): DMS would stop the task as soon as it starts. Set a later "
            f"cdc_stop, or none. Nothing was started for {settings.arn}."
        )


def start_inputs(settings: StarterSettings) -> tuple[object, ...]:
    """What an Update must change for a running task to be stopped and started again."""
    return (
        settings.start_type,
        settings.cdc_start_time,
        settings.cdc_start_position,
        settings.cdc_stop_position,
        settings.task_definition_digest,
    )


def check_restart_recognisable(
    old: StarterSettings | None, settings: StarterSettings, task: State
) -> None:
    """A restart must tell the run it stops from the run it starts.

    A task still starting shows neither start dates nor a StopDate where DMS dates a run
    only once it runs and clears StopDate when a run starts (the reference says neither).
    Then only what the new start sends marks the new run: a new CDC start position or a
    new CdcStopPosition. Without one, a restart would stop its own run again and again.
    """
    if task.phase is not Phase.STARTING or any(task.marks.starts) or task.marks.stop:
        return
    new_position = settings.cdc_start_position is not None and cdc_start_changed(old, settings)
    stop = settings.cdc_stop_position
    new_stop = stop is not None and (old is None or old.cdc_stop_position != stop)
    if not (new_position or new_stop):
        raise StarterError(
            f"{task.kind.noun} {task.arn} is still starting and DMS has not dated that run "
            "yet: restarting it now for the new start settings could not tell that run from "
            "its own. Nothing was done; deploy again once it runs."
        )


def cdc_start_changed(old: StarterSettings | None, new: StarterSettings) -> bool:
    """Whether an Update asks for a CDC start that was not applied before."""
    if not new.has_cdc_start:
        return False
    return old is None or (old.cdc_start_time, old.cdc_start_position) != (
        new.cdc_start_time,
        new.cdc_start_position,
    )


def hands_over_cdc(
    settings: StarterSettings, new: State, old: State | None, previous: StarterSettings | None
) -> bool:
    """Whether a replacing task continues CDC from the replaced task's checkpoint.

    Only a fresh ``cdc`` task reading the same source as a replaced task that captured
    changes: a checkpoint is a position in one source's log, meaningless in another's.
    A CDC start that the update changed (``previous``: the settings before it) wins; one
    it did not change was applied already, and sending it again would replay every
    change since.
    """
    return (
        settings.cdc_handover
        and not cdc_start_changed(previous, settings)
        and old is not None
        and new.migration_type == MigrationType.CDC
        and not new.has_run
        and new.phase not in STARTED_PHASES
        and old.migration_type in CDC_MIGRATION_TYPES
        and bool(new.source_endpoint_arn)
        and new.source_endpoint_arn == old.source_endpoint_arn
    )


def start_parameters(
    settings: StarterSettings,
    task: State,
    plan: Plan,
    handover_source: State | None = None,
) -> StartParameters:
    """Decide the start call at the moment of the start.

    - A task that never ran: ``start-replication``, with the configured CDC start (or,
      handing over, the replaced task's RecoveryCheckpoint).
    - A new CDC start on a task that ran: ``start-replication`` for a ``cdc`` task (the
      API reference: "to start from a specific position, you must use start-replication"),
      the configured type with the position for a task with a full load.
    - Otherwise the configured type (``resume-processing`` by default), no CDC start:
      sending an old start again would replay every change since then.
    - A restoring start (rollback, guard) always resumes at the task's own checkpoint.
    - A task whose first start failed (no run's evidence) gets ``start-replication``, and
      ``type_if_ran`` in case DMS counts that failed start as a run and refuses it.
    """
    first_run = not task.has_run
    sends_cdc_start = first_run or (plan.send_cdc_start and not plan.resume_only)
    ran_type = (
        _restoring_type(task)
        if plan.resume_only
        else settings.restart_type(task.migration_type).value
    )
    new_cdc_position = (
        sends_cdc_start and settings.has_cdc_start and task.migration_type == MigrationType.CDC
    )
    start_type = FIRST_RUN_START_TYPE if first_run or new_cdc_position else ran_type
    cdc_start_time = settings.cdc_start_time if sends_cdc_start else None
    cdc_start_position = settings.cdc_start_position if sends_cdc_start else None
    if handover_source is not None and handover_source.recovery_checkpoint:
        cdc_start_time, cdc_start_position = None, handover_source.recovery_checkpoint
    return StartParameters(
        arn=task.arn,
        start_type=start_type,
        kind=task.kind,
        cdc_start_time=cdc_start_time,
        cdc_start_position=cdc_start_position,
        cdc_stop_position=settings.cdc_stop_position,
        type_if_ran=ran_type if first_run and task.status == "failed" else None,
    )


def _restoring_type(task: State) -> str:
    full_load_replication = (
        task.kind is Kind.REPLICATION and task.migration_type == MigrationType.FULL_LOAD
    )
    return (StartType.RELOAD_TARGET if full_load_replication else StartType.RESUME_PROCESSING).value


def _plan(settings: StarterSettings, task: State, now: int, **fields: object) -> Plan:
    """A plan that waits for the settings' target, measured from the task as it is now."""
    base = Plan(
        kind=settings.kind,
        deadline=now + settings.timeout_seconds,
        timeout_seconds=settings.timeout_seconds,
        subject=task.arn,
        wait_for=settings.wait_for,
        snapshot=snapshot(task),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def restoring(plan: Plan, now: int) -> Plan:
    """The same plan, as a rollback needs it: all the time there is, never failing."""
    return replace(
        plan,
        deadline=now + MAX_TIMEOUT_SECONDS,
        timeout_seconds=MAX_TIMEOUT_SECONDS,
        resume_only=True,
        send_cdc_start=False,
        best_effort=True,
    )


def _start_or_wait(
    settings: StarterSettings,
    task: State,
    now: int,
    physical_id: str,
    *,
    send_cdc_start: bool,
    rest: tuple[str, ...] = (),
    handover_source: State | None = None,
) -> OnEventDecision:
    """Start ``task`` now when it rests and nothing else must rest first; else plan it."""
    plan = _plan(
        settings,
        task,
        now,
        rest=rest,
        send_cdc_start=send_cdc_start,
        handover_from="" if handover_source is None else handover_source.arn,
    )
    if task.phase in (Phase.STARTING, Phase.RUNNING):
        note = f"{task.status} already: not starting it again"
        return OnEventDecision(physical_id, replace(plan, handover_from=""), note)
    check_cdc_stop_ahead(settings, now)
    if task.phase is Phase.AT_REST and not rest:
        start = start_parameters(settings, task, plan, handover_source)
        note = f"{task.status}: starting it with {start.start_type}"
        return OnEventDecision(physical_id, plan, note, start=start)
    waits_on = f"{', '.join(rest)} to come to rest" if rest else f"it to leave {task.status}"
    note = f"{task.status}: starting it after waiting for {waits_on}"
    return OnEventDecision(physical_id, replace(plan, start_pending=True), note)


def decide_starter_create(
    settings: StarterSettings, task: State | None, now: int, replaced: State | None = None
) -> OnEventDecision:
    """Create: start the task, or adopt a run that was there before the starter.

    The physical id is the task's ARN and never changes afterwards, so CloudFormation
    always sends this resource its Updates, rollback Updates included. ``replaced`` is the
    configuration of the stack that a ``ReplicationStarter``'s new, never-run configuration
    replaces (its base identifier): its replication is taken over.
    """
    if replaced is not None and replaced.has_run:
        return _take_over(settings, task, replaced, Context(settings.arn, now=now))
    checked = _checked_task(settings, task)
    physical_id = settings.arn + (ADOPTED_SUFFIX if checked.phase is Phase.RUNNING else "")
    # A task that ran before the starter existed resumes at its checkpoint: its CDC start
    # (whoever applied it) is behind it, and sending it again would replay the changes since.
    decision = _start_or_wait(
        settings, checked, now, physical_id, send_cdc_start=not checked.has_run
    )
    return replace(decision, tag=settings.arn if settings.tag_resource else "")


def decide_starter_update(
    old: StarterSettings | None,
    settings: StarterSettings,
    task: State | None,
    old_task: State | None,
    context: Context,
) -> OnEventDecision:
    """Update: apply changed start settings, start a replacing task, or restore a rollback."""
    if context.operation is StackOperation.UPDATE_ROLLBACK:
        return _decide_restore(old, settings, task, old_task, context)
    if old is not None and old.arn != settings.arn:
        decision = _decide_replacement(old, settings, task, old_task, context)
    else:
        decision = _decide_same_task(old, settings, task, context)
    return replace(decision, tag=settings.arn if settings.tag_resource else "")


def _decide_same_task(
    old: StarterSettings | None, settings: StarterSettings, task: State | None, context: Context
) -> OnEventDecision:
    physical_id, now = context.physical_id, context.now
    checked = _checked_task(settings, task)
    changed = old is not None and start_inputs(old) != start_inputs(settings)
    send_cdc_start = cdc_start_changed(old, settings)
    if changed and checked.phase in (Phase.STARTING, Phase.RUNNING):
        check_cdc_stop_ahead(settings, now)
        check_restart_recognisable(old, settings, checked)
        plan = _plan(
            settings,
            checked,
            now,
            rest=(checked.arn,),
            start_pending=True,
            send_cdc_start=send_cdc_start,
        )
        if checked.phase is Phase.RUNNING:
            note = "start settings changed: stopping the task to start it again with them"
            return OnEventDecision(physical_id, plan, note, stops=(checked.arn,))
        note = "start settings changed: stopping the starting task once it runs, then starting it"
        return OnEventDecision(physical_id, plan, note)
    if not changed and checked.finished:
        plan = _plan(settings, checked, now, wait_for=WaitFor.NOTHING)
        note = f"finished ({checked.stop_reason}) and no start setting changed: not starting it"
        return OnEventDecision(physical_id, plan, note)
    if not changed and not checked.listed:
        # Finished or stopped, DMS cannot say: a start could reload a finished full load or
        # run on past a CdcStopPosition it reached, so only a changed start setting starts it.
        plan = _plan(settings, checked, now, wait_for=WaitFor.NOTHING)
        note = f"{UNLISTED_NOTE} and no start setting changed: not starting it"
        return OnEventDecision(physical_id, plan, note)
    return _start_or_wait(settings, checked, now, physical_id, send_cdc_start=send_cdc_start)


def _take_over(
    settings: StarterSettings, config: State | None, replaced: State, context: Context
) -> OnEventDecision:
    """Create of a starter whose configuration replaces one whose replication ran (the
    starter was added to a stack where it ran, and ``replace_on_change`` renamed it).

    CloudFormation deletes the replaced configuration after the update: its replication is
    stopped and its CDC handed over at its checkpoint. Where the new configuration cannot
    continue it (not ``cdc``, another source, ``cdc_handover`` off), starting it would read
    the source again while the old one ran: refused before anything is touched.
    """
    new = _checked_task(settings, config)
    if not hands_over_cdc(settings, new, replaced, settings):
        raise StarterError(
            f"{replaced.kind.noun} {replaced.arn} is {replaced.status} and ran before this "
            f"starter existed; replace_on_change gives its configuration a new identifier, "
            f"and the new configuration {new.arn} ({new.migration_type}) cannot continue its "
            "CDC at its checkpoint (only a cdc configuration reading the same source, with "
            "cdc_handover on, can): starting it would load or read the source again. Add the "
            "starter with replace_on_change=False (it then adopts the replication as it is). "
            "Nothing was started or stopped."
        )
    decision = _decide_replacement(settings, settings, config, replaced, context, always_stops=True)
    return replace(decision, physical_id=f"{settings.arn}{TAKEN_OVER}{replaced.arn}")


def taken_over_from(physical_id: str) -> str:
    """The configuration a starter's Create took over from ("" when none)."""
    return physical_id.partition(TAKEN_OVER)[2]


def _decide_replacement(
    previous: StarterSettings | None,
    settings: StarterSettings,
    task: State | None,
    old_task: State | None,
    context: Context,
    *,
    always_stops: bool = False,
) -> OnEventDecision:
    """The resource now names another task: bring the old one to rest, start the new one.

    It fails before the old task is touched when the new one cannot start. The old one
    is stopped when ``OnDelete`` says so, or ``always_stops`` (CloudFormation deletes it).
    """
    physical_id, now = context.physical_id, context.now
    new = _checked_task(settings, task)
    stops = always_stops or settings.on_delete is OnDelete.STOP
    stops_old = old_task is not None and (
        old_task.phase is Phase.STOPPING or (old_task.phase in STARTED_PHASES and stops)
    )
    old_run_over = stops_old or (old_task is not None and old_task.phase is Phase.AT_REST)
    hands_over = hands_over_cdc(settings, new, old_task, previous)
    handover = old_task if old_run_over and hands_over else None
    rest = (old_task.arn,) if stops_old and old_task is not None else ()
    decision = _start_or_wait(
        settings, new, now, physical_id, send_cdc_start=True, rest=rest, handover_source=handover
    )
    if handover is not None:
        decision = replace(
            decision, note=decision.note + ", CDC from the replaced task's checkpoint"
        )
    if old_task is not None and stops_old and old_task.phase is Phase.RUNNING:
        return replace(
            decision, stops=(old_task.arn,), note="stopping the replaced task; " + decision.note
        )
    return decision


def _decide_restore(
    forward: StarterSettings | None,
    settings: StarterSettings,
    task: State | None,
    forward_task: State | None,
    context: Context,
) -> OnEventDecision:
    """A rollback Update: leave the task as it was before the update, never failing.

    The restored settings are ``settings`` (CloudFormation sends the old properties);
    ``forward`` are those of the update being rolled back. A replacing task is stopped
    and the replaced one resumed; a task that runs is left running (its CDC start is
    never sent again: that would replay the changes since), unless its previous
    CdcStopPosition must be put back (or the one the update added taken back); a task at
    rest that did not finish is resumed at its checkpoint.
    """
    physical_id, now = context.physical_id, context.now
    rest: tuple[str, ...] = ()
    replaced = forward is not None and forward.arn != settings.arn
    if replaced and forward_task is not None and forward_task.phase in STARTED_PHASES:
        rest = (forward_task.arn,)
    stops = tuple(arn for arn in rest if forward_task and forward_task.phase is Phase.RUNNING)
    if task is None or task.phase is Phase.GONE:
        plan = restoring(Plan(kind=settings.kind, deadline=now, timeout_seconds=0, rest=rest), now)
        return OnEventDecision(
            physical_id, plan, "rollback: the task to restore is gone", stops=stops
        )
    plan = restoring(_plan(settings, task, now, rest=rest), now)
    # A cdc_stop the update added is taken back too: a start without one clears the stored
    # one where DMS does so (the reference does not say; elsewhere it stays).
    stop_changed = forward is not None and settings.cdc_stop_position != forward.cdc_stop_position
    if task.phase is Phase.RUNNING and stop_changed:
        plan = replace(plan, rest=(*rest, task.arn), start_pending=True)
        note = "rollback: restarting the task at its checkpoint with its previous CdcStopPosition"
        return OnEventDecision(physical_id, plan, note, stops=(*stops, task.arn))
    if task.phase in (Phase.STARTING, Phase.RUNNING):
        return OnEventDecision(physical_id, plan, f"rollback: {task.status}, left so", stops=stops)
    if task.phase is Phase.AT_REST and (task.finished or not task.listed):
        plan = replace(plan, wait_for=WaitFor.NOTHING)
        return OnEventDecision(
            physical_id, plan, f"rollback: {task.describe()}, left so", stops=stops
        )
    note = f"rollback: {task.status}, resuming it at its checkpoint"
    if task.phase is Phase.AT_REST and not rest:
        return OnEventDecision(
            physical_id, plan, note, start=start_parameters(settings, task, plan)
        )
    return OnEventDecision(physical_id, replace(plan, start_pending=True), note, stops=stops)


def delete_reads_task(settings: DeleteSettings, context: Context) -> bool:
    """Whether a Delete's decision depends on the task (a Delete that leaves it reads nothing)."""
    if settings.arn is None:
        return False
    if context.operation.rolls_back:
        return not context.physical_id.endswith(ADOPTED_SUFFIX)
    return settings.on_delete is OnDelete.STOP


def decide_starter_delete(
    settings: DeleteSettings, task: State | None, context: Context, taken_over: State | None = None
) -> OnEventDecision:
    """Delete: bring the task to rest so that CloudFormation can delete or modify it.

    After a failed Create (or a starter the failed update created) only a run this
    resource started is stopped, whatever ``OnDelete`` says; otherwise ``OnDelete``
    decides. A Delete always gets the longest wait, whatever ``timeout`` the Create had.
    """
    physical_id, now = context.physical_id, context.now
    plan = Plan(
        kind=settings.kind, deadline=now + MAX_TIMEOUT_SECONDS, timeout_seconds=MAX_TIMEOUT_SECONDS
    )
    if context.operation.rolls_back:
        plan = replace(plan, best_effort=True)
        if physical_id.endswith(ADOPTED_SUFFIX):
            return OnEventDecision(
                physical_id, plan, "the run was there before this starter: left running"
            )
        if taken_over_from(physical_id):
            return _hand_back(task, taken_over, plan, context)
    elif settings.on_delete is OnDelete.LEAVE_RUNNING:
        return OnEventDecision(physical_id, plan, "OnDelete is leave-running: nothing to do")
    if settings.arn is None:
        return OnEventDecision(physical_id, plan, "no task was named: nothing to do")
    return bring_to_rest((settings.arn,), {settings.arn: task}, plan, physical_id)


def _hand_back(
    config: State | None, taken_over: State | None, plan: Plan, context: Context
) -> OnEventDecision:
    """The Delete after a failed Create that took a replication over: stop the new one and
    resume the replaced configuration (which CloudFormation keeps) at its checkpoint."""
    moving = config is not None and config.phase in UNSETTLED
    rest = (config.arn,) if config is not None and moving else ()
    stops = rest if config is not None and config.phase is Phase.RUNNING else ()
    if taken_over is None or taken_over.phase is Phase.GONE:
        note = "the replication this starter took over is gone: nothing to resume"
        return OnEventDecision(context.physical_id, replace(plan, rest=rest), note, stops=stops)
    restore = restoring(
        replace(
            plan,
            subject=taken_over.arn,
            rest=rest,
            start_pending=taken_over.phase is not Phase.RUNNING,
            wait_for=WaitFor.RUNNING,
            snapshot=snapshot(taken_over),
        ),
        context.now,
    )
    note = f"the update that took over {taken_over.arn} failed: resuming it at its checkpoint"
    return OnEventDecision(context.physical_id, restore, note, stops=stops)


def rest_later(arns: Sequence[str], plan: Plan, physical_id: str, reason: str) -> OnEventDecision:
    """A backward request that could not read or stop its tasks now (``reason``: throttled,
    no answer, out of time): success, and ``is_complete`` brings them to rest instead."""
    deferred = replace(plan, rest=tuple(arns), best_effort=True)
    return OnEventDecision(physical_id, deferred, f"left to is_complete: {reason}")


def bring_to_rest(
    arns: Sequence[str], tasks: Mapping[str, State | None], plan: Plan, physical_id: str
) -> OnEventDecision:
    """Stop the tasks that run, wait for those starting, stopping or busy, leave the rest."""
    moving = tuple(
        arn for arn in arns if (task := tasks.get(arn)) is not None and task.phase in UNSETTLED
    )
    running = tuple(
        arn for arn in moving if (task := tasks.get(arn)) and task.phase is Phase.RUNNING
    )
    if not moving:
        states = ", ".join(_status_of(tasks.get(arn)) for arn in arns) or "no task"
        return OnEventDecision(physical_id, plan, f"at rest ({states}): nothing to stop")
    note = f"bringing {', '.join(moving)} to rest" + (
        f", stopping {', '.join(running)}" if running else ""
    )
    return OnEventDecision(physical_id, replace(plan, rest=moving), note, stops=running)


def _status_of(task: State | None) -> str:
    return "not found" if task is None else task.status
