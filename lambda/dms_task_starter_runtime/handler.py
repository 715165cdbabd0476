"""``on_event`` and ``is_complete`` for the CDK ``custom_resources.Provider``.

``on_event`` validates the properties, makes at most one write call and records its
plan in ``Data``; ``is_complete`` re-reads the tasks on every poll and carries the plan
out (see ``decisions``). Neither sleeps nor answers CloudFormation itself: the Provider
framework does both. The event carries a presigned ResponseURL, a credential, so the
event is never logged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Final, TypeVar

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.shared.constants import TRACER_DISABLED_ENV
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent

from dms_task_starter_runtime import dms
from dms_task_starter_runtime.contract import (
    DEFAULT_TIMEOUT_SECONDS,
    GUARD_RESOURCE_TYPE,
    STARTER_RESOURCE_TYPE,
    OnDelete,
    Prop,
    WaitFor,
)
from dms_task_starter_runtime.decisions import (
    NOT_AT_REST_STATUSES,
    Complete,
    OnEventDecision,
    Plan,
    Start,
    StarterError,
    StartParameters,
    Status,
    StatusClass,
    Stop,
    TaskState,
    Wait,
    classify_status,
    decide_poll,
    hands_over_cdc,
    plan_nothing,
    plan_start,
    plan_stop,
    plan_update,
    start_took_effect,
    stop_took_effect,
    task_attributes,
    task_state,
)
from dms_task_starter_runtime.settings import (
    TASK_ARN_PATTERN,
    InvalidSettingError,
    StarterSettings,
    parse_delete_settings,
    parse_guard_settings,
    parse_starter_settings,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dms.type_defs import ReplicationTaskTypeDef

SERVICE: Final = "dms-task-starter"
EntryPoint = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]
GUARD_PHYSICAL_ID_SUFFIX: Final = "#update-guard"
GUARD_STOPPED_RUN_SEPARATOR: Final = "#stopped-run:"
REQUEST_TYPES: Final = ("Create", "Update", "Delete")
REQUIRED_EVENT_KEYS: Final = ("RequestType", "ResourceType", "LogicalResourceId")
PROPERTY_EVENT_KEYS: Final = ("ResourceProperties", "OldResourceProperties")
SettingsT = TypeVar("SettingsT")

logger = Logger(service=SERVICE)


def tracing_disabled() -> bool:
    """Whether POWERTOOLS_TRACE_DISABLED is set, as Powertools itself reads it."""
    return resolve_truthy_env_var_choice(env=os.getenv(TRACER_DISABLED_ENV, "false"))


# Powertools' Tracer imports the X-Ray SDK even when tracing is disabled, which costs
# every cold start; so the Tracer exists only when tracing is on.
tracer: Tracer | None = None if tracing_disabled() else Tracer(service=SERVICE)


def traced(entry_point: EntryPoint) -> EntryPoint:
    """``tracer.capture_lambda_handler`` when tracing is on, the entry point itself otherwise."""
    return entry_point if tracer is None else tracer.capture_lambda_handler(entry_point)


def now_epoch_seconds() -> int:
    """The clock the plan's deadline is measured with (tests replace it)."""
    return int(time.time())


def _describe(task_arn: str) -> TaskState | None:
    description = dms.describe_task(task_arn)
    return None if description is None else task_state(description)


def _log_task(message: str, task: TaskState | None, **details: object) -> None:
    status = "not-found" if task is None else task.status
    logger.info(message, extra={"task_status": status, **details})


def _append_request_keys(request: CloudFormationCustomResourceEvent) -> None:
    """Every log line of this invocation names the request and the task."""
    raw_arn = request.resource_properties.get(Prop.TASK_ARN)
    logger.append_keys(
        request_type=request.request_type,
        logical_resource_id=request.logical_resource_id,
        resource_type=request.resource_type,
        task_arn=raw_arn if isinstance(raw_arn, str) else request.physical_resource_id,
    )


def _start(parameters: StartParameters, marker_before: str) -> TaskState:
    """Start the task; a start whose lost answer botocore retried counts as made."""
    return _write(
        lambda: dms.start_task(parameters),
        parameters.task_arn,
        partial(start_took_effect, marker_before),
        "the start was made; DMS rejected only a retry of it",
    )


def _stop(task_arn: str) -> TaskState:
    """Stop the task; a stop whose lost answer botocore retried counts as made."""
    return _write(
        lambda: dms.stop_task(task_arn),
        task_arn,
        stop_took_effect,
        "the task is stopping already; DMS rejected only the stop",
    )


def _write(
    call: Callable[[], ReplicationTaskTypeDef],
    task_arn: str,
    took_effect: Callable[[TaskState | None], bool],
    note_when_rejected: str,
) -> TaskState:
    """Make a write call. botocore retries a call whose answer was lost (5xx, timeout); if
    DMS had carried out the first attempt, the retry is rejected as invalid for the task's
    state, and the task itself shows whether the write took effect."""
    try:
        return task_state(call())
    except dms.DmsCallError as error:
        if error.code != dms.INVALID_STATE_CODE:
            raise
        task_after = _describe(task_arn)
        if task_after is None or not took_effect(task_after):
            raise
        _log_task(note_when_rejected, task_after)
        return task_after


def _carry_out(decision: OnEventDecision, task: TaskState | None) -> TaskState | None:
    """Make the decision's write call, if any; return the task as DMS reports it afterwards."""
    _log_task(decision.note, task, decision="on_event")
    if decision.stop_arn:
        stopped = _stop(decision.stop_arn)
        return stopped if stopped.arn == decision.plan.task_arn else task
    if decision.start is not None:
        return _start(decision.start, decision.plan.start_marker)
    return task


def _respond(
    physical_id: str, decision: OnEventDecision, task: TaskState | None = None
) -> dict[str, Any]:
    """Carry the decision out and answer with the task's attributes and the plan."""
    final = _carry_out(decision, task)
    attributes = task_attributes(final) if final is not None else {}
    return {"PhysicalResourceId": physical_id, "Data": {**attributes, **decision.plan.to_data()}}


def _old_settings(
    parse: Callable[[Mapping[str, object]], SettingsT], request: CloudFormationCustomResourceEvent
) -> SettingsT | None:
    """The settings before an Update; None if they never were valid (nothing was done then)."""
    if request.request_type != "Update":
        return None
    try:
        return parse(request.old_resource_properties)
    except InvalidSettingError:
        return None


def _starter_on_event(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    if request.request_type == "Delete":
        return _starter_on_delete(request, now)
    settings = parse_starter_settings(request.resource_properties)
    task = _describe(settings.task_arn)
    old = _old_settings(parse_starter_settings, request)
    if old is not None and old.task_arn != settings.task_arn:
        decision = _plan_replacement(settings, old.task_arn, task, now)
    else:
        decision = plan_update(old, settings, task, now)
    return _respond(settings.task_arn, decision, task)


def _plan_replacement(
    settings: StarterSettings, old_arn: str, new_task: TaskState | None, now: int
) -> OnEventDecision:
    """Decide an Update that points the resource at another task.

    The old task is stopped now if ``OnDelete`` says so: the grant for its ARN still
    exists during the Update but no longer when CloudFormation deletes the old resource.
    """
    if new_task is None or classify_status(new_task.status) is StatusClass.TERMINAL:
        # Fails before the old task is touched: a replacement that cannot start changes nothing.
        return plan_start(settings, new_task, now)
    old_task = _describe(old_arn)
    stops_old = old_task is not None and (
        old_task.status == Status.STOPPING
        or (old_task.status in NOT_AT_REST_STATUSES and settings.on_delete is OnDelete.STOP)
    )
    old_run_over = stops_old or (
        old_task is not None and old_task.status in {Status.STOPPED, Status.FAILED}
    )
    handover_source = old_task if old_run_over and hands_over_cdc(settings, new_task) else None
    if handover_source is not None:
        _log_task(
            "CDC handover: the new task continues from the replaced task's RecoveryCheckpoint",
            old_task,
            replaced_task_arn=old_arn,
        )
    if not stops_old:
        return plan_start(settings, new_task, now, handover_source=handover_source)
    _log_task("bringing the replaced task to rest first", old_task, replaced_task_arn=old_arn)
    if old_task is not None and old_task.status == Status.RUNNING:
        _stop(old_arn)
    return plan_start(settings, new_task, now, stop_arn=old_arn, handover_source=handover_source)


def _starter_on_delete(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    """Delete never fails on properties: only the physical id and OnDelete matter."""
    physical_id = request.physical_resource_id
    delete_settings = parse_delete_settings(request.resource_properties)
    on_delete, timeout_seconds = delete_settings.on_delete, delete_settings.timeout_seconds
    if not TASK_ARN_PATTERN.fullmatch(physical_id):
        decision = plan_nothing("", now, timeout_seconds, "no task was started: nothing to do")
        return _respond(physical_id, decision)
    if on_delete is OnDelete.LEAVE_RUNNING:
        decision = plan_nothing("", now, timeout_seconds, "OnDelete is leave-running: no call")
        return _respond(physical_id, decision)
    task = _describe(physical_id)
    decision = plan_stop(physical_id, task, now, timeout_seconds)
    return _respond(physical_id, decision, task)


def guard_physical_id(task_arn: str, stopped_marker: str | None = None) -> str:
    """The guard's physical id; it names the run the guard stopped, if it stopped one.

    A guard that stopped the task answers with a new id, so CloudFormation deletes that id
    later: in the cleanup after a successful update (the starter restarted the task, so
    nothing is left to do) or in the cleanup after a rollback, when the task is back on its
    previous definition and must run again.
    """
    if stopped_marker is None:
        return task_arn + GUARD_PHYSICAL_ID_SUFFIX
    return f"{task_arn}{GUARD_PHYSICAL_ID_SUFFIX}{GUARD_STOPPED_RUN_SEPARATOR}{stopped_marker}"


def _guard_on_event(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    """Stop the task before CloudFormation modifies it; the starter starts it again."""
    if request.request_type == "Delete":
        return _guard_on_delete(request.physical_resource_id, now)
    settings = parse_guard_settings(request.resource_properties)
    old = _old_settings(parse_guard_settings, request)
    if old is None:
        note = "guard in place: CloudFormation creates the task, nothing to stop"
    elif old.task_arn != settings.task_arn:
        note = "the task is replaced, not modified: nothing to stop"
    elif old.task_definition_digest == settings.task_definition_digest:
        note = "the task definition is unchanged: nothing to stop"
    else:
        task = _describe(settings.task_arn)
        decision = plan_stop(settings.task_arn, task, now, DEFAULT_TIMEOUT_SECONDS)
        stopped_marker = task.start_marker if task is not None and decision.plan.stop_arn else None
        return _respond(guard_physical_id(settings.task_arn, stopped_marker), decision, task)
    decision = plan_nothing("", now, DEFAULT_TIMEOUT_SECONDS, note)
    return _respond(guard_physical_id(settings.task_arn), decision)


def _guard_on_delete(physical_id: str, now: int) -> dict[str, Any]:
    """Restart a task this guard stopped if no one started it since: a rolled-back update.

    After a successful update the starter has started the task again (a new run), and on
    stack delete the task is gone; in both cases there is nothing to do.
    """
    guarded, _, stopped_marker = physical_id.partition(GUARD_STOPPED_RUN_SEPARATOR)
    task_arn = guarded.removesuffix(GUARD_PHYSICAL_ID_SUFFIX)
    task = _describe(task_arn) if stopped_marker and TASK_ARN_PATTERN.fullmatch(task_arn) else None
    if task is None or task.status != Status.STOPPED or task.start_marker != stopped_marker:
        note = "guard deleted: the task was not left stopped by this guard, nothing to do"
        return _respond(physical_id, plan_nothing("", now, DEFAULT_TIMEOUT_SECONDS, note))
    _log_task("the update this guard stopped the task for was rolled back: starting it again", task)
    decision = plan_start(StarterSettings(task_arn=task_arn), task, now)
    return _respond(physical_id, decision, task)


def _is_complete(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    plan = Plan.from_data(request.get("Data") or {})
    task = _describe(plan.task_arn) if plan.task_arn else None
    stop_subject = task
    if plan.stop_arn and plan.stop_arn != plan.task_arn:
        stop_subject = _describe(plan.stop_arn)
    settings = None
    if plan.start_from:
        settings = parse_starter_settings(request.resource_properties)
    decision = decide_poll(plan, task, stop_subject, settings, now)
    _log_task(decision.note, task, decision=type(decision).__name__.lower())
    match decision:
        case Wait():
            return {"IsComplete": False}
        case Stop(task_arn=stop_arn):
            _stop(stop_arn)
            return {"IsComplete": False}
        case Start(parameters=parameters):
            started = _start(parameters, plan.start_marker)
            if plan.wait_for is WaitFor.NOTHING:
                return {"IsComplete": True, "Data": task_attributes(started)}
            return {"IsComplete": False}
        case Complete(task=final):
            return {"IsComplete": True, "Data": task_attributes(final) if final else {}}


def _dispatch_on_event(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    if request.request_type not in REQUEST_TYPES:
        raise StarterError(
            f"Unknown request type {request.request_type}: CloudFormation sends "
            f"{', '.join(REQUEST_TYPES)}. Nothing was done."
        )
    if request.resource_type == STARTER_RESOURCE_TYPE:
        return _starter_on_event(request, now)
    if request.resource_type == GUARD_RESOURCE_TYPE:
        return _guard_on_event(request, now)
    raise StarterError(
        f"Unknown resource type {request.resource_type}: this function handles "
        f"{STARTER_RESOURCE_TYPE} and {GUARD_RESOURCE_TYPE}."
    )


def check_event_shape(event: Mapping[str, object]) -> None:
    """Fail with a readable message on an event that is no CloudFormation request.

    Only key names are reported: the event holds the presigned ResponseURL.
    """
    missing = [key for key in REQUIRED_EVENT_KEYS if not isinstance(event.get(key), str)]
    if missing:
        raise StarterError(
            f"Malformed CloudFormation event: {', '.join(missing)} missing or not a string; "
            f"a custom resource request carries {', '.join(REQUIRED_EVENT_KEYS)}. "
            "Nothing was done."
        )
    for key in PROPERTY_EVENT_KEYS:
        if event.get(key) is not None and not isinstance(event[key], dict):
            raise StarterError(
                f"Malformed CloudFormation event: {key} is a {type(event[key]).__name__}, "
                "not an object of properties. Nothing was done."
            )


def _run_logged(
    step: Callable[[CloudFormationCustomResourceEvent, int], dict[str, Any]],
    event: dict[str, Any],
) -> dict[str, Any]:
    """Run one entry point's step with the request keys on every log line and failures logged."""
    try:
        check_event_shape(event)
        request = CloudFormationCustomResourceEvent(event)
        _append_request_keys(request)
        return step(request, now_epoch_seconds())
    except (StarterError, InvalidSettingError, dms.DmsCallError) as error:
        logger.error("request failed", extra={"reason": str(error)})
        raise


@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def on_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Validate, make at most one write call, and return the plan for ``is_complete``."""
    return _run_logged(_dispatch_on_event, event)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def is_complete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Carry the plan one step further; ``Data`` only once complete (the framework insists)."""
    return _run_logged(_is_complete, event)
