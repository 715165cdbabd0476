"""What the guards do: stop a task before CloudFormation modifies it, and after a rollback.

- The update guard (one per guarded task, before it in the template) stops the task before
  CloudFormation modifies it, and restarts it if the update is rolled back before the
  starter could.
- The rollback guard (one per stack, after the update guards, before the guarded tasks)
  stops them again before a rollback modifies them back.
- Both come before the endpoints of the stack that guarded tasks use, and their digests
  cover those endpoints: DMS refuses to modify an endpoint while a task using it runs.
  The starter then resumes only the run its update guard stopped
  (``decide_starter_update_behind_guard``).

Pure functions, like ``decisions``, whose plans and shapes they share.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Final

from dms_task_starter_runtime.contract import MAX_TIMEOUT_SECONDS, Kind, WaitFor
from dms_task_starter_runtime.decisions import (
    Context,
    OnEventDecision,
    StackOperation,
    bring_to_rest,
    decide_starter_update,
    restoring,
    start_parameters,
)
from dms_task_starter_runtime.decisions import _plan as starter_plan
from dms_task_starter_runtime.plan import Plan, StarterError
from dms_task_starter_runtime.settings import PHYSICAL_ID_SEPARATOR, StarterSettings
from dms_task_starter_runtime.state import (
    STARTED_PHASES,
    Phase,
    Snapshot,
    State,
    snapshot,
    started_since,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dms_task_starter_runtime.settings import GuardSettings

GUARD_SUFFIX: Final = PHYSICAL_ID_SEPARATOR + "update-guard"
GUARD_STOPPED_RUN: Final = PHYSICAL_ID_SEPARATOR + "stopped-run:"


def guard_physical_id(task_arn: str, stopped: Snapshot | None = None) -> str:
    """The guard's physical id; it names the run the guard stopped, if it stopped one.

    A guard that stopped the task answers with a new id, so CloudFormation deletes that
    id later: in the cleanup after a successful update (the starter restarted the task:
    nothing to do) or in the cleanup after a rollback (the task is back on its previous
    definition and must run again).
    """
    if stopped is None:
        return task_arn + GUARD_SUFFIX
    return f"{task_arn}{GUARD_SUFFIX}{GUARD_STOPPED_RUN}{stopped.to_text()}"


def parse_guard_physical_id(physical_id: str) -> tuple[str, Snapshot | None]:
    """The task ARN and the stopped run a guard's physical id names (None when none)."""
    guarded, _, stopped = physical_id.partition(GUARD_STOPPED_RUN)
    task_arn = guarded.removesuffix(GUARD_SUFFIX)
    try:
        return task_arn, Snapshot.from_text(stopped) if stopped else None
    except ValueError:
        return task_arn, None


def _guard_plan(now: int, kind: Kind = Kind.TASK) -> Plan:
    return Plan(
        deadline=now + MAX_TIMEOUT_SECONDS,
        timeout_seconds=MAX_TIMEOUT_SECONDS,
        kind=kind,
        best_effort=True,
    )


def decide_guard_update(
    old: GuardSettings | None, settings: GuardSettings, task: State | None, context: Context
) -> OnEventDecision:
    """Bring the task to rest before CloudFormation modifies it.

    The guard never fails once it acted: if the task does not come to rest in time,
    CloudFormation's modify fails with DMS's reason and the rollback restores the task.
    In a rollback it keeps its physical id (CloudFormation accepts no new one then).
    """
    if old is not None and context.operation is StackOperation.UPDATE:
        refusal = replacement_refusal(old, settings)
        if refusal:
            raise StarterError(refusal)
    plan = _guard_plan(context.now, settings.kind)
    unchanged = (
        old is None
        or old.task_arn != settings.task_arn
        or old.task_definition_digest == settings.task_definition_digest
    )
    if unchanged:
        note = "the task definition is unchanged (or the task is new or replaced): nothing to stop"
        return OnEventDecision(guard_physical_id(settings.task_arn), plan, note)
    if context.operation.rolls_back:
        # The rollback guard, after every update guard, stops what must rest before
        # CloudFormation modifies a task back; this guard's own update may have failed
        # before the task was touched, and then the task must keep running.
        note = "rollback: the rollback guard brings the task to rest if it is modified back"
        return OnEventDecision(context.physical_id, plan, note)
    tasks = {settings.task_arn: task}
    decision = bring_to_rest((settings.task_arn,), tasks, plan, context.physical_id)
    # Only a run the guard stops is recorded: a task busy with something else had none.
    ran = task is not None and task.phase in STARTED_PHASES
    stopped = snapshot(task) if ran and task is not None else None
    return replace(decision, physical_id=guard_physical_id(settings.task_arn, stopped))


def replacement_refusal(old: GuardSettings, new: GuardSettings) -> str:
    """Why the update must not go on ("" when it may): a create-only property of the task
    changes while its literal resource identifier (its ARN) stays.

    CloudFormation then replaces the task, creating the new one before it deletes the old
    one, and DMS refuses a second task with the identifier ("already exists"). Refused
    here, before anything is stopped; a property the old settings lack (a guard deployed
    before it carried them) is not compared.
    """
    if old.task_arn != new.task_arn:
        return ""
    changed = [
        f"{prop} ({old.create_only[prop]} -> {value})"
        for prop, value in new.create_only.items()
        if prop in old.create_only and old.create_only[prop] != value
    ]
    if not changed:
        return ""
    identifier = new.task_arn.rsplit(":", 1)[-1]
    return (
        f"The update changes {', '.join(changed)} of replication task {new.task_arn}: "
        "CloudFormation replaces the task, creating the new one before deleting the old one, "
        f"and both would have the resource_identifier {identifier!r}, which DMS refuses "
        f"(already exists). Change resource_identifier too (e.g. '{identifier}-v2'): the task "
        "is then replaced cleanly, the old one stopped and deleted, the new one started, CDC "
        "handed over from the old checkpoint where the source is the same. Nothing was stopped "
        "or changed."
    )


def decide_guard_delete(task: State | None, context: Context) -> OnEventDecision:
    """Restart a task the guard stopped if the update was rolled back and no one started it.

    After a successful update the starter has started the task again, and the stack's
    cleanup says so; when the stack's status is unknown, the task's own runs tell.
    """
    physical_id, now = context.physical_id, context.now
    plan = _guard_plan(now)
    task_arn, stopped = parse_guard_physical_id(physical_id)
    # A nested stack deleted whole in its root's rollback deletes the task with it.
    forward = context.operation in (
        StackOperation.UPDATE_CLEANUP,
        StackOperation.DELETE,
        StackOperation.NESTED_ROLLBACK_DELETE,
    )
    if stopped is None or forward or task is None:
        return OnEventDecision(
            physical_id, plan, "guard deleted: nothing it stopped is left to restart"
        )
    moved_on = task.finished or started_since(stopped, task)
    if moved_on or task.phase in (Phase.STARTING, Phase.RUNNING, Phase.GONE):
        note = f"guard deleted: the task is {task.status} in another run, nothing to do"
        return OnEventDecision(physical_id, plan, note)
    restore = restoring(
        replace(
            plan,
            kind=task.kind,
            subject=task_arn,
            wait_for=WaitFor.RUNNING,
            snapshot=snapshot(task),
        ),
        now,
    )
    note = "the update the guard stopped the task for was rolled back: resuming it"
    if task.phase is not Phase.AT_REST:
        return OnEventDecision(
            physical_id, replace(restore, start_pending=True), note + " once at rest"
        )
    start = start_parameters(StarterSettings(arn=task_arn), task, restore)
    return OnEventDecision(physical_id, restore, note, start=start)


def decide_rollback_guard_update(
    old: Mapping[str, str] | None,
    new: Mapping[str, str],
    tasks: Mapping[str, State | None],
    context: Context,
) -> OnEventDecision:
    """Bring every task whose definition changes to rest before CloudFormation modifies it.

    Forward, the update guards stopped them already; in a rollback, the starters may
    have started them again since, and CloudFormation modifies them back next.
    """
    changed = changed_tasks(old, new)
    return bring_to_rest(changed, tasks, _guard_plan(context.now), context.physical_id)


def changed_tasks(old: Mapping[str, str] | None, new: Mapping[str, str]) -> tuple[str, ...]:
    """The guarded tasks whose definition digest differs between ``old`` and ``new``."""
    if old is None:
        return ()
    return tuple(sorted(arn for arn, digest in new.items() if arn in old and old[arn] != digest))


def guard_only_change(old: StarterSettings | None, settings: StarterSettings) -> bool:
    """Whether an Update changes the starter's update guard id and nothing else.

    The task's own definition is the same (its digest did not change): an endpoint of
    the stack that the task uses changed, and the guard stopped the task, or not.
    """
    return (
        old is not None
        and old.update_guard != settings.update_guard
        and replace(old, update_guard=settings.update_guard) == settings
    )


def decide_starter_update_behind_guard(
    old: StarterSettings | None,
    settings: StarterSettings,
    task: State | None,
    old_task: State | None,
    context: Context,
) -> OnEventDecision:
    """A starter's Update; when only its update guard's id changed, resume only what the
    guard stopped in this update, at its checkpoint, and leave anything else as it is.

    Forward, the guard's new id names the run it stopped (if any); in a rollback, the
    forward update's id (``old``) does. A task stopped by hand before the update is
    never started for an endpoint change, forward or back.
    """
    rolls_back = context.operation is StackOperation.UPDATE_ROLLBACK
    if not guard_only_change(old, settings) or task is None or task.phase is Phase.GONE:
        decision = decide_starter_update(old, settings, task, old_task, context)
        if rolls_back or not _guard_stopped_a_run(old, settings):
            return decision
        return replace(decision, plan=replace(decision.plan, waits_out_refusals=True))
    stopping_guard = (old if rolls_back else settings) or settings
    _, stopped = parse_guard_physical_id(stopping_guard.update_guard or "")
    if stopped is not None and rolls_back:
        return decide_starter_update(old, settings, task, old_task, context)
    plan = starter_plan(settings, task, context.now, resume_only=True, best_effort=rolls_back)
    ours = stopped is not None and not started_since(stopped, task)
    if not ours or task.phase not in (Phase.AT_REST, Phase.BUSY):
        if task.phase is Phase.AT_REST:
            plan = replace(plan, wait_for=WaitFor.NOTHING)
        note = f"{task.status}, and no run the update guard stopped in this update: left so"
        return OnEventDecision(context.physical_id, plan, note)
    note = "an endpoint the task uses changed: resuming the run the update guard stopped"
    if task.phase is Phase.BUSY:
        return OnEventDecision(
            context.physical_id, replace(plan, start_pending=True), note + " once at rest"
        )
    start = start_parameters(settings, task, plan)
    return OnEventDecision(context.physical_id, plan, note, start=start)


def _guard_stopped_a_run(old: StarterSettings | None, settings: StarterSettings) -> bool:
    """Whether this update changed the update guard's id to one that names a stopped run."""
    if old is None or old.update_guard == settings.update_guard:
        return False
    return parse_guard_physical_id(settings.update_guard or "")[1] is not None
