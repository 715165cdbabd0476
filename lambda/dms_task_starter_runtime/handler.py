"""``on_event`` and ``is_complete`` for the CDK ``custom_resources.Provider``.

Each entry point reads (the tasks, and the stack's status where a decision depends on
it), asks ``decisions`` what to do, and carries that out. Neither sleeps nor answers
CloudFormation itself: the Provider framework does both. The event carries a
presigned ResponseURL, a credential, so the event is never logged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent

from dms_task_starter_runtime import dms, executions, stack
from dms_task_starter_runtime.assessments import (
    Assessment,
    ended_badly,
    individual_assessment,
    reads_individual_assessments,
    this_run,
)
from dms_task_starter_runtime.contract import (
    CLOUDFORMATION_STACK_TAG_KEY,
    GUARD_RESOURCE_TYPE,
    LONG_WAIT_RESOURCE_TYPE,
    MAX_TIMEOUT_SECONDS,
    REPLICATION_STARTER_RESOURCE_TYPE,
    ROLLBACK_GUARD_RESOURCE_TYPE,
    SERVICE_NAME,
    STACK_TAG_KEY,
    STARTER_RESOURCE_TYPE,
    STATE_MACHINE_ARN_ENV,
    Kind,
    Prop,
    WaitFor,
)
from dms_task_starter_runtime.decisions import (
    Context,
    OnEventDecision,
    StackOperation,
    StartParameters,
    decide_starter_create,
    decide_starter_delete,
    delete_reads_task,
    rest_later,
    started_before,
    taken_over_from,
)
from dms_task_starter_runtime.gates import (
    TESTING,
    Connection,
    connection,
    endpoints_to_test,
    gate_first_start,
    needs_connections,
    needs_runs,
)
from dms_task_starter_runtime.guards import (
    changed_tasks,
    decide_guard_delete,
    decide_guard_update,
    decide_rollback_guard_update,
    decide_starter_update_behind_guard,
    parse_guard_physical_id,
)
from dms_task_starter_runtime.plan import Plan, StarterError
from dms_task_starter_runtime.polls import (
    BeginAssessmentRun,
    BeginConnectionTests,
    Complete,
    PollDecision,
    Start,
    Stop,
    Wait,
    decide_call_failure,
    decide_poll,
)
from dms_task_starter_runtime.settings import (
    InvalidSettingError,
    StarterSettings,
    arn_kind,
    parse_delete_settings,
    parse_guard_settings,
    parse_long_wait_settings,
    parse_rollback_guard_settings,
    parse_starter_settings,
    task_arn_in_stack,
)
from dms_task_starter_runtime.state import (
    NO_ASSESSMENT_ATTRIBUTES,
    AssessmentRun,
    Phase,
    Snapshot,
    State,
    assessment_run,
    replication_state,
    snapshot,
    started_since,
    task_state,
    unlisted_replication_state,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dms.type_defs import (
        StartReplicationMessageTypeDef,
        StartReplicationTaskMessageTypeDef,
    )

EntryPoint = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]
Step = Callable[[CloudFormationCustomResourceEvent, int], dict[str, Any]]
REQUEST_TYPES: Final = ("Create", "Update", "Delete")
REQUIRED_EVENT_KEYS: Final = ("RequestType", "ResourceType", "LogicalResourceId", "StackId")
PROPERTY_EVENT_KEYS: Final = ("ResourceProperties", "OldResourceProperties")
STARTER_KINDS: Final = {
    STARTER_RESOURCE_TYPE: Kind.TASK,
    REPLICATION_STARTER_RESOURCE_TYPE: Kind.REPLICATION,
}
RESOURCE_TYPES: Final = (
    *STARTER_KINDS,
    GUARD_RESOURCE_TYPE,
    ROLLBACK_GUARD_RESOURCE_TYPE,
    LONG_WAIT_RESOURCE_TYPE,
)
EXECUTION_ARN_MARK: Final = ":execution:"
"""In a long wait's physical id: an execution ARN (the Delete stops it)."""
TRUTHY: Final = frozenset({"1", "true", "yes", "y", "t", "on"})
CONFIG_RESOURCE: Final = "replication-config"
"""The resource type in a replication configuration's ARN."""

logger = Logger(service=SERVICE_NAME)


def tracing_enabled() -> bool:
    """Whether ``POWERTOOLS_TRACE_DISABLED`` (the variable Powertools documents) leaves
    tracing on. Powertools' Tracer imports the X-Ray SDK even when disabled, which costs
    every cold start, so the Tracer is created only when tracing is on."""
    return os.getenv("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in TRUTHY


tracer: Tracer | None = Tracer(service=SERVICE_NAME) if tracing_enabled() else None


def traced(entry_point: EntryPoint) -> EntryPoint:
    """``tracer.capture_lambda_handler`` when tracing is on, the entry point itself otherwise."""
    return entry_point if tracer is None else tracer.capture_lambda_handler(entry_point)


def now_epoch_seconds() -> int:
    """The clock the plan's deadline is measured with (tests replace it)."""
    return int(time.time())


# -- reading ------------------------------------------------------------------------------


def read(kind: Kind, arn: str, *, started: bool = False) -> State | None:
    """A task or Serverless replication as DMS reports it; None when it does not exist.

    ``started``: this starter started it before, which tells a replication DMS no longer
    lists (deprovisioned after a stop) from one that never started.
    """
    listed = dms.read_listed(kind, arn)
    if listed is not None or kind is Kind.TASK:
        return listed
    config = dms.describe_replication_config(arn)
    return None if config is None else unlisted_replication_state(config, started_before=started)


def read_history(kind: Kind, arn: str, request: CloudFormationCustomResourceEvent) -> State | None:
    """``read``, knowing from the request whether this starter started ``arn`` before."""
    physical_id = "" if request.request_type == "Create" else request.physical_resource_id
    old_arn = (request.old_resource_properties or {}).get(kind.arn_prop)
    old = old_arn if isinstance(old_arn, str) else None
    return read(kind, arn, started=started_before(physical_id, old, arn))


def read_replaced(settings: StarterSettings, config: State | None, stack_id: str) -> State | None:
    """The configuration of this stack that a never-run configuration replaces: the one with
    the base identifier (``replace_on_change`` renamed it when the starter was added)."""
    if settings.base_config_identifier is None or (config is not None and config.has_run):
        return None
    try:
        replication = dms.describe_replication(
            settings.base_config_identifier, dms.CONFIG_ID_FILTER
        )
        if replication is None or replication.get("ReplicationConfigArn") in (None, settings.arn):
            return None
        arn = replication["ReplicationConfigArn"]
        owner = dms.tags_of(arn).get(CLOUDFORMATION_STACK_TAG_KEY)
    except dms.DmsCallError as error:
        # Without an answer the new configuration starts as it did before take-overs existed.
        logger.warning(
            "could not look for a configuration to take over", extra={"reason": str(error)}
        )
        return None
    if owner != stack_id:
        _log("a configuration of another stack has the base identifier: not taken over", arn=arn)
        return None
    return replication_state(replication)


def read_operation(request: CloudFormationCustomResourceEvent) -> StackOperation:
    """The stack operation the request belongs to (for a nested stack, read with its root's
    status); UNKNOWN (and a warning) if unreadable."""
    try:
        statuses = stack.stack_statuses(request.stack_id)
        operation = StackOperation.from_statuses(statuses.own, statuses.root)
    except stack.StackStatusUnknownError as error:
        logger.warning("stack status unknown", extra={"reason": str(error)})
        return StackOperation.UNKNOWN
    logger.append_keys(stack_operation=operation.name)
    return operation


def read_connections(task: State) -> list[Connection]:
    """The connections of ``task``'s endpoints from its replication instance."""
    described = dms.describe_connections(task.endpoint_arns, task.replication_instance_arn)
    return [connection(item) for item in described]


def read_assessment(
    plan: Plan, subject: State | None, connections: Sequence[Connection]
) -> Assessment:
    """The task's assessment runs while a start gated on one is pending (after the connection
    gate), and the individual assessments of a gating run that ended badly."""
    runs: tuple[AssessmentRun, ...] = ()
    if needs_runs(plan, subject, connections):
        assert subject is not None
        runs = tuple(assessment_run(item) for item in dms.describe_assessment_runs(subject.arn))
    run = this_run(runs, plan.assessment_run)
    if run is None and subject is not None and reads_individual_assessments(plan, subject):
        run = subject.assessment
    if run is None or not ended_badly(run):
        return Assessment(runs)
    try:
        described = dms.describe_individual_assessments(run.arn)
    except dms.DmsCallError as error:  # the failure is reported all the same, less the names
        logger.warning("could not read the individual assessments", extra={"reason": str(error)})
        described = []
    return Assessment(runs, tuple(individual_assessment(item) for item in described))


def _log(message: str, task: State | None = None, **details: object) -> None:
    status = {} if task is None else {"task_status": task.status}
    logger.info(message, extra={**status, **details})


# -- carrying out -------------------------------------------------------------------------


def start(parameters: StartParameters, before: Snapshot) -> State:
    """Make a start call. When its answer was lost (botocore retried a 5xx or a timeout,
    and a retry found the task starting), the task itself shows whether it took effect."""
    try:
        if parameters.kind is Kind.TASK:
            return task_state(dms.start_task(_task_start_request(parameters)))
        return replication_state(dms.start_replication(_replication_start_request(parameters)))
    except dms.DmsCallError as error:
        as_run = parameters.as_run
        if error.code == dms.INVALID_COMBINATION_CODE and as_run is not None:
            _log(f"DMS counts the failed first start as a run: starting with {as_run.start_type}")
            return start(as_run, before)
        if not _may_have_started(error):
            raise
        try:
            after = read(parameters.kind, parameters.arn)
        except dms.DmsCallError:
            raise error from None  # the start's outcome stays unknown
        if after is None or not started_since(before, after):
            raise
        _log("the start was made; DMS rejected or lost only the answer", after)
        return after


def _may_have_started(error: dms.DmsCallError) -> bool:
    """A start refused as invalid for the task's state (a retry found it starting, or someone
    started it meanwhile), or whose answer was lost: the task itself tells what happened."""
    return error.code == dms.INVALID_STATE_CODE or error.answer_unknown


def stop(kind: Kind, arn: str) -> None:
    """Make a stop call; one whose answer was lost counts when the task is coming to rest."""
    try:
        if kind is Kind.TASK:
            dms.stop_task(arn)
        else:
            dms.stop_replication(arn)
    except dms.DmsCallError as error:
        if (
            error.code not in (dms.INVALID_STATE_CODE, dms.NOT_FOUND_CODE)
            and not error.answer_unknown
        ):
            raise
        after = read(kind, arn)
        if after is not None and after.phase not in (Phase.STOPPING, Phase.AT_REST):
            raise
        _log("the task is gone, at rest or stopping: nothing left to stop", after)


def start_may_wait(error: dms.DmsCallError, plan: Plan, subject: State | None) -> bool:
    """Whether a start refused for the state of a task at rest stays pending until the
    deadline instead of failing now.

    A start that restores a run (after an endpoint change, a rollback, a guard), or that
    follows a stop of this update's guard, waits out whatever DMS refuses it for: the modify
    of an endpoint tests its connections, and DMS may not list that test. Any other start
    waits only while DMS reports a connection of the task's endpoints as ``testing``; if
    the connections cannot be read, the refusal stands.
    """
    if error.code != dms.INVALID_STATE_CODE or subject is None:
        return False
    if plan.resume_only or plan.waits_out_refusals:
        return True
    try:
        described = dms.describe_connections(subject.endpoint_arns)
    except dms.DmsCallError as unread:
        logger.warning("could not read the endpoints' connections", extra={"reason": str(unread)})
        return False
    return any(connection(item).status == TESTING for item in described)


def _task_start_request(parameters: StartParameters) -> StartReplicationTaskMessageTypeDef:
    request: StartReplicationTaskMessageTypeDef = {
        "ReplicationTaskArn": parameters.arn,
        # The stubs list only the three documented types; the decision picks one of them.
        "StartReplicationTaskType": parameters.start_type,  # type: ignore[typeddict-item]
    }
    request.update(_cdc_fields(parameters))  # type: ignore[typeddict-item]
    return request


def _replication_start_request(parameters: StartParameters) -> StartReplicationMessageTypeDef:
    request: StartReplicationMessageTypeDef = {
        "ReplicationConfigArn": parameters.arn,
        "StartReplicationType": parameters.start_type,
    }
    request.update(_cdc_fields(parameters))  # type: ignore[typeddict-item]
    if parameters.premigration_assessment is not None:
        request["PremigrationAssessmentSettings"] = parameters.premigration_assessment
    return request


def _cdc_fields(parameters: StartParameters) -> dict[str, object]:
    """The CDC parameters a start call carries: only those that are set."""
    fields = {
        "CdcStartTime": parameters.cdc_start_time,
        "CdcStartPosition": parameters.cdc_start_position,
        "CdcStopPosition": parameters.cdc_stop_position,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _tag(arn: str, stack_id: str) -> None:
    """Tag a task given by ARN with its stack's tag, so that the grant by tag covers it even
    after its starter left the template; a failure is logged, the ARN grant still holds."""
    try:
        dms.tag(arn, STACK_TAG_KEY, stack_id)
    except dms.DmsCallError as error:
        logger.warning("could not tag the task", extra={"reason": str(error)})


def begin_connection_tests(task: State, endpoint_arns: Sequence[str], *, denied_ok: bool) -> None:
    """Begin the connection tests of ``endpoint_arns`` from ``task``'s instance. A test DMS
    refuses as already under way (a modify of the endpoint tests it), whose answer was lost,
    or (``denied_ok``: in ``on_event``) denied while a new grant propagates, is left to
    ``is_complete``, which tests what DMS does not list and waits for the results."""
    for endpoint_arn in endpoint_arns:
        try:
            dms.begin_connection_test(task.replication_instance_arn, endpoint_arn)
        except dms.DmsCallError as error:
            left = error.code == dms.INVALID_STATE_CODE or error.answer_unknown
            if not (left or (denied_ok and error.access_denied)):
                raise
            _log("the connection test was not begun: is_complete sees to it", reason=str(error))


def _prepare(decision: OnEventDecision, subject: State | None, stack_id: str) -> None:
    """What comes before the decision's stops and start: the tag, the connection tests."""
    if decision.tag:
        _tag(decision.tag, stack_id)
    if decision.plan.tests_connections and subject is not None:
        untested = endpoints_to_test(subject, read_connections(subject))
        begin_connection_tests(subject, untested, denied_ok=True)


def carry_out(
    decision: OnEventDecision, subject: State | None, request: CloudFormationCustomResourceEvent
) -> dict[str, Any]:
    """Make the decision's writes and answer with the subject's attributes and the plan.

    A write whose answer stays unknown is left to ``is_complete``: the plan makes the
    start (or stop) that did not happen, and a failure there keeps the physical id, so
    the Delete of a rollback stops whatever did start.
    """
    _log(decision.note, subject, decision="on_event")
    plan = decision.plan
    _prepare(decision, subject, request.stack_id)
    for arn in decision.stops:
        try:
            stop(arn_kind(arn, plan.kind), arn)
        except dms.DmsCallError as error:
            if not error.answer_unknown:
                raise
            _log("the stop's answer is unknown: is_complete stops the task", reason=str(error))
    if decision.start is not None:
        try:
            subject = start(decision.start, snapshot(subject))
        except dms.DmsCallError as error:
            if not (_may_have_started(error) or error.access_denied):
                raise
            # Denied: a grant this deployment just made may not have propagated yet.
            _log("the start's outcome is unknown: is_complete finishes it", reason=str(error))
            plan = replace(plan, start_pending=True)
    attributes = {} if subject is None else subject.attributes()
    return {"PhysicalResourceId": decision.physical_id, "Data": {**attributes, **plan.to_data()}}


def _nothing_done(physical_id: str, kind: Kind, error: Exception) -> dict[str, Any]:
    """The answer of a best-effort request that could not act: success, and a warning."""
    logger.warning("gave up, leaving everything as it is", extra={"reason": str(error)})
    plan = Plan(deadline=0, timeout_seconds=0, kind=kind, best_effort=True)
    return {"PhysicalResourceId": physical_id, "Data": plan.to_data()}


# -- the requests -------------------------------------------------------------------------


def _old_properties(
    parse: Callable[[Mapping[str, object]], Any], request: CloudFormationCustomResourceEvent
) -> Any:  # noqa: ANN401 - the settings type of ``parse``
    """The settings before an Update; None if they never were valid (nothing was done then)."""
    try:
        return parse(request.old_resource_properties)
    except InvalidSettingError:
        return None


def _starter_on_event(
    request: CloudFormationCustomResourceEvent, kind: Kind, now: int
) -> dict[str, Any]:
    physical_id = request.physical_resource_id
    if request.request_type == "Delete":
        return _starter_on_delete(request, kind, now)
    if request.request_type == "Create":
        settings = parse_starter_settings(request.resource_properties, kind)
        task = read(kind, settings.arn)
        replaced = read_replaced(settings, task, request.stack_id)
        decision = decide_starter_create(settings, task, now, replaced)
        return carry_out(gate_first_start(settings, task, decision), task, request)
    operation = read_operation(request)
    context = Context(physical_id, operation, now)
    try:
        settings = parse_starter_settings(request.resource_properties, kind)
        old = _old_properties(lambda props: parse_starter_settings(props, kind), request)
        task = read_history(kind, settings.arn, request)
        old_task = (
            read_history(kind, old.arn, request)
            if old is not None and old.arn != settings.arn
            else None
        )
        decision = decide_starter_update_behind_guard(old, settings, task, old_task, context)
        return carry_out(gate_first_start(settings, task, decision), task, request)
    except (StarterError, InvalidSettingError, dms.DmsCallError) as error:
        if operation is not StackOperation.UPDATE_ROLLBACK:
            raise
        return _nothing_done(physical_id, kind, error)


def _starter_on_delete(
    request: CloudFormationCustomResourceEvent, kind: Kind, now: int
) -> dict[str, Any]:
    """Delete never fails on properties: the physical id names the task if they do not."""
    physical_id = request.physical_resource_id
    settings = parse_delete_settings(request.resource_properties, kind, physical_id)
    operation = read_operation(request)
    context = Context(physical_id, operation, now)
    try:
        task = (
            read(kind, settings.arn)
            if settings.arn and delete_reads_task(settings, context)
            else None
        )
        taken_over = taken_over_from(physical_id) if operation.rolls_back else ""
        previous = read(kind, taken_over) if taken_over else None
        decision = decide_starter_delete(settings, task, context, previous)
        return carry_out(decision, task, request)
    except dms.DmsCallError as error:
        if not operation.rolls_back:
            raise
        if error.answer_unknown and settings.arn is not None:
            plan = Plan(
                kind=kind, deadline=now + MAX_TIMEOUT_SECONDS, timeout_seconds=MAX_TIMEOUT_SECONDS
            )
            decision = rest_later((settings.arn,), plan, physical_id, str(error))
            return carry_out(decision, None, request)
        return _nothing_done(physical_id, kind, error)


def _guard_on_event(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    """Stop the task before CloudFormation modifies it; restart it if the update rolls back."""
    physical_id = request.physical_resource_id
    if request.request_type == "Create":
        settings = parse_guard_settings(request.resource_properties)
        decision = decide_guard_update(None, settings, None, Context(physical_id, now=now))
        return carry_out(decision, None, request)
    operation = read_operation(request)
    context = Context(physical_id, operation, now)
    try:
        if request.request_type == "Delete":
            task_arn, _ = parse_guard_physical_id(physical_id)
            task = read(arn_kind(task_arn), task_arn) if task_arn.startswith("arn:") else None
            return carry_out(decide_guard_delete(task, context), task, request)
        settings = parse_guard_settings(request.resource_properties)
        old = _old_properties(parse_guard_settings, request)
        task = read(settings.kind, settings.task_arn)
        return carry_out(decide_guard_update(old, settings, task, context), task, request)
    except (InvalidSettingError, dms.DmsCallError) as error:
        if request.request_type == "Update" and not operation.rolls_back:
            raise
        return _nothing_done(physical_id, Kind.TASK, error)


def _rollback_guard_on_event(
    request: CloudFormationCustomResourceEvent, now: int
) -> dict[str, Any]:
    """Bring tasks whose definition changes to rest; it never fails (a rollback goes through
    it), and it keeps its physical id so that CloudFormation sends it the rollback Update."""
    physical_id = (
        request.physical_resource_id or f"{request.stack_id}#{request.logical_resource_id}"
    )
    try:
        new = _guarded_tasks(request, request.resource_properties)
        old = None
        if request.request_type == "Update":
            old = _old_properties(lambda props: _guarded_tasks(request, props), request)
        changed = changed_tasks(old, new)
        try:
            tasks = {arn: read(arn_kind(arn), arn) for arn in changed}
        except dms.DmsCallError as error:
            if not error.answer_unknown:
                raise
            plan = Plan(deadline=now + MAX_TIMEOUT_SECONDS, timeout_seconds=MAX_TIMEOUT_SECONDS)
            return carry_out(rest_later(changed, plan, physical_id, str(error)), None, request)
        context = Context(physical_id, now=now)
        return carry_out(decide_rollback_guard_update(old, new, tasks, context), None, request)
    except (InvalidSettingError, dms.DmsCallError) as error:
        return _nothing_done(physical_id, Kind.TASK, error)


def _guarded_tasks(
    request: CloudFormationCustomResourceEvent, properties: Mapping[str, object]
) -> dict[str, str]:
    """The rollback guard's tasks (and replication configurations) as ARN -> digest."""
    guarded = parse_rollback_guard_settings(properties)
    by_resource = {"task": guarded.guarded_tasks, CONFIG_RESOURCE: guarded.guarded_replications}
    return {
        task_arn_in_stack(request.stack_id, ident, resource): digest
        for resource, digests in by_resource.items()
        for ident, digest in digests.items()
    }


def _long_wait_on_event(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    """Start the execution that signals the wait condition; stop it on Delete.

    The wait's settings are in its logical id (a digest): an Update with the same settings
    keeps its execution; one with others (not expected) starts a new one, and the Delete
    that CloudFormation sends for the old physical id stops the old one.
    """
    physical_id = request.physical_resource_id
    if request.request_type == "Delete":
        return _stop_long_wait(request)
    settings = parse_long_wait_settings(request.resource_properties)
    if request.request_type == "Update" and settings == _old_properties(
        parse_long_wait_settings, request
    ):
        _log("the long wait's settings did not change: its execution goes on", arn=physical_id)
        return {"PhysicalResourceId": physical_id}
    state_machine = os.environ.get(STATE_MACHINE_ARN_ENV, "")
    if not state_machine:
        raise StarterError(
            f"This function has no {STATE_MACHINE_ARN_ENV}: the provider of a stack with a "
            "long_wait sets it. Nothing was started."
        )
    name = executions.execution_name(
        request.stack_id, request.logical_resource_id, request.request_id
    )
    try:
        url = stack.wait_handle_url(request.stack_id, settings.handle)
        arn = executions.start_execution(
            state_machine, name, executions.execution_input(settings, url, now)
        )
    except (stack.WaitHandleUnknownError, executions.ExecutionCallError) as error:
        raise StarterError(f"The long wait for {settings.arn} did not start: {error}") from None
    _log("long wait started", arn=arn, until=settings.until.value)
    return {"PhysicalResourceId": arn}


def _stop_long_wait(request: CloudFormationCustomResourceEvent) -> dict[str, Any]:
    """Stop the long wait's execution, so that no wait outlives its resource. It never fails:
    an execution that ended or is unknown is fine, and one that cannot be stopped ends at its
    deadline on its own (at most 12 hours), which costs less than a stack left in
    DELETE_FAILED or ROLLBACK_FAILED."""
    physical_id = request.physical_resource_id
    if EXECUTION_ARN_MARK in physical_id:
        try:
            stopped = executions.stop_execution(physical_id)
            _log("long wait stopped" if stopped else "no such execution", arn=physical_id)
        except executions.ExecutionCallError as error:
            logger.warning(
                "could not stop the long wait; it ends at its deadline",
                extra={"reason": str(error)},
            )
    return {"PhysicalResourceId": physical_id}


def _is_complete(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    if request.resource_type == LONG_WAIT_RESOURCE_TYPE:
        return {"IsComplete": True}  # on_event did all there was to do
    plan = Plan.from_data(request.get("Data") or {})
    arns = {plan.subject, *plan.rest, plan.handover_from} - {""}
    try:
        tasks = {arn: read_history(arn_kind(arn, plan.kind), arn, request) for arn in sorted(arns)}
        settings = _poll_settings(request, plan)
        replaced = _replaced_settings(request) if settings is not None else None
        subject = tasks.get(plan.subject)
        connections = (
            read_connections(subject)
            if subject is not None and needs_connections(plan, subject)
            else []
        )
        assessment = read_assessment(plan, subject, connections)
        decision = decide_poll(
            plan, tasks, settings, now, replaced, connections=connections, assessment=assessment
        )
        _log(decision.note, tasks.get(plan.subject), decision=type(decision).__name__.lower())
        return _carry_out_poll(decision, plan, tasks)
    except dms.DmsCallError as error:
        after = decide_call_failure(
            plan,
            str(error),
            transient=error.answer_unknown,
            out_of_time=error.code == dms.OUT_OF_TIME_CODE,
            denied=error.access_denied,
            now=now,
        )
        if after is None:
            return _give_up(plan, error)
        _log(after.note, decision=type(after).__name__.lower())
        return _carry_out_poll(after, plan, {})
    except (StarterError, InvalidSettingError) as error:
        return _give_up(plan, error)


def _give_up(plan: Plan, error: Exception) -> dict[str, Any]:
    """A failure of a poll: raised, but a best-effort plan completes with a warning."""
    if not plan.best_effort:
        raise error
    logger.warning("gave up, leaving everything as it is", extra={"reason": str(error)})
    return {"IsComplete": True, "Data": {}}


def _poll_settings(
    request: CloudFormationCustomResourceEvent, plan: Plan
) -> StarterSettings | None:
    """The starter's settings, which a pending start needs (a guard's start is made at once)."""
    if not plan.start_pending:
        return None
    kind = STARTER_KINDS.get(request.resource_type)
    if kind is None:
        return StarterSettings(arn=plan.subject, kind=plan.kind)
    return parse_starter_settings(request.resource_properties, kind)


def _replaced_settings(request: CloudFormationCustomResourceEvent) -> StarterSettings | None:
    """A starter's settings before the Update this poll belongs to, if they were valid."""
    kind = STARTER_KINDS.get(request.resource_type)
    if kind is None or request.request_type != "Update":
        return None
    replaced: StarterSettings | None = _old_properties(
        lambda props: parse_starter_settings(props, kind), request
    )
    return replaced


def _carry_out_poll(
    decision: PollDecision,
    plan: Plan,
    tasks: Mapping[str, State | None],
) -> dict[str, Any]:
    match decision:
        case Wait():
            return {"IsComplete": False}
        case BeginConnectionTests(endpoint_arns=endpoint_arns):
            return _poll_connection_tests(endpoint_arns, tasks.get(plan.subject))
        case BeginAssessmentRun(request=request):
            return begin_assessment_run(request)
        case Stop(arns=arns):
            for arn in arns:
                stop(arn_kind(arn, plan.kind), arn)
            return {"IsComplete": False}
        case Start():
            return _poll_start(decision, plan, tasks.get(plan.subject))
        case Complete():
            return _complete(decision, plan)


def begin_assessment_run(request: dict[str, object]) -> dict[str, Any]:
    """Begin the gating assessment run; one DMS says exists (a retry of a call whose answer
    was lost) is the run the next poll finds by its name."""
    try:
        dms.start_assessment_run(request)  # type: ignore[arg-type]  # built by start_run_request
    except dms.DmsCallError as error:
        if error.code != dms.ALREADY_EXISTS_CODE:
            raise
        _log("the assessment run exists already: the next poll finds it", reason=str(error))
    return {"IsComplete": False}


def assessment_attributes(plan: Plan, final: State | None) -> dict[str, str]:
    """A task starter with the option reports the run that gated its first start (the one
    this request named, else the latest of its runs that passed); empty if unreadable: the
    request succeeded, a report does not fail it."""
    if not plan.assessment_run or final is None or final.kind is not Kind.TASK:
        return {}
    try:
        described = dms.describe_assessment_runs(final.arn)
    except dms.DmsCallError as error:
        logger.warning("could not read the assessment runs", extra={"reason": str(error)})
        described = []
    run = this_run([assessment_run(item) for item in described], plan.assessment_run)
    return NO_ASSESSMENT_ATTRIBUTES if run is None else run.attributes()


def _poll_connection_tests(endpoint_arns: Sequence[str], subject: State | None) -> dict[str, Any]:
    """Begin the connection tests the gate found unlisted; a denial is left to
    ``decide_call_failure`` (a grant that is still propagating: the next poll)."""
    if subject is not None:  # the gate decided on the subject it read
        begin_connection_tests(subject, endpoint_arns, denied_ok=False)
    return {"IsComplete": False}


def _complete(decision: Complete, plan: Plan) -> dict[str, Any]:
    if decision.warning:
        logger.warning("gave up, leaving the task as it is", extra={"reason": decision.warning})
    final = decision.task
    data = {} if final is None else final.attributes()
    return {"IsComplete": True, "Data": data | assessment_attributes(plan, final)}


def _poll_start(decision: Start, plan: Plan, subject: State | None) -> dict[str, Any]:
    """Make the pending start; one that an endpoint's connection test refuses stays pending."""
    if decision.warning:
        logger.warning("premigration assessment not passed", extra={"reason": decision.warning})
    try:
        started = start(decision.parameters, plan.snapshot)
    except dms.DmsCallError as error:
        if not start_may_wait(error, plan, subject):
            raise
        _log("DMS refused the start for now (an endpoint's test?): next poll", reason=str(error))
        return {"IsComplete": False}
    if plan.wait_for is WaitFor.NOTHING:
        return {"IsComplete": True, "Data": started.attributes()}
    return {"IsComplete": False}


def _dispatch_on_event(request: CloudFormationCustomResourceEvent, now: int) -> dict[str, Any]:
    if request.request_type not in REQUEST_TYPES:
        raise StarterError(
            f"Unknown request type {request.request_type}: CloudFormation sends "
            f"{', '.join(REQUEST_TYPES)}. Nothing was done."
        )
    kind = STARTER_KINDS.get(request.resource_type)
    if kind is not None:
        return _starter_on_event(request, kind, now)
    if request.resource_type == GUARD_RESOURCE_TYPE:
        return _guard_on_event(request, now)
    if request.resource_type == ROLLBACK_GUARD_RESOURCE_TYPE:
        return _rollback_guard_on_event(request, now)
    if request.resource_type == LONG_WAIT_RESOURCE_TYPE:
        return _long_wait_on_event(request, now)
    raise StarterError(
        f"Unknown resource type {request.resource_type}: this function handles "
        f"{', '.join(RESOURCE_TYPES)}. Nothing was done."
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


def _append_request_keys(event: Mapping[str, object]) -> None:
    """Every log line of this invocation names the request and the task(s), as far as the
    event, malformed or not, says them (never the ResponseURL)."""
    properties = event.get("ResourceProperties")
    props: Mapping[str, object] = properties if isinstance(properties, dict) else {}
    raw_arn = props.get(Prop.TASK_ARN) or props.get(Prop.CONFIG_ARN)
    if raw_arn is None and isinstance(props.get(Prop.GUARDED_TASKS), str):
        raw_arn = ",".join(_guarded_task_arns(event, props))
    keys = {
        "request_type": event.get("RequestType"),
        "logical_resource_id": event.get("LogicalResourceId"),
        "resource_type": event.get("ResourceType"),
        "task_arn": raw_arn if isinstance(raw_arn, str) else event.get("PhysicalResourceId"),
    }
    logger.append_keys(**{key: value for key, value in keys.items() if isinstance(value, str)})


def _guarded_task_arns(event: Mapping[str, object], props: Mapping[str, object]) -> list[str]:
    stack_id = event.get("StackId")
    try:
        guarded = parse_rollback_guard_settings(props).guarded_tasks
        return sorted(task_arn_in_stack(str(stack_id), ident) for ident in guarded)
    except InvalidSettingError:
        return []


def _run_logged(step: Step, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run one entry point's step with the request keys on every log line and failures logged;
    no AWS call is made unless its whole retry budget fits in the invocation's time left."""
    dms.use_remaining_time(context.get_remaining_time_in_millis)
    try:
        _append_request_keys(event)
        check_event_shape(event)
        return step(CloudFormationCustomResourceEvent(event), now_epoch_seconds())
    except (StarterError, InvalidSettingError, dms.DmsCallError) as error:
        logger.error("request failed", extra={"reason": str(error)})
        raise


@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def on_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Validate, make the decided writes, and return the plan for ``is_complete``."""
    return _run_logged(_dispatch_on_event, event, context)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def is_complete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Carry the plan one step further; ``Data`` only once complete (the framework insists)."""
    return _run_logged(_is_complete, event, context)
