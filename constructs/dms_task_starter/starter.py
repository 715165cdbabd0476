"""The ``ReplicationTaskStarter`` construct: starts a DMS replication task from CloudFormation."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from aws_cdk import Annotations, ArnFormat, CustomResource, Duration, Stack, Token
from aws_cdk import aws_dms as dms
from dms_task_starter_runtime import contract, settings
from dms_task_starter_runtime.contract import Attr, Kind, OnDelete, Prop, StartType, WaitFor

from dms_task_starter import _checks
from dms_task_starter._base import (
    StarterBase,
    check_possible,
    definition_digest,
    effective_wait_for,
    start_properties,
    template_expression,
)
from dms_task_starter._lazy import lazy_string
from dms_task_starter.assessment import check_assessment
from dms_task_starter.cdc import validated
from dms_task_starter.endpoints import endpoint_definitions, stack_endpoints
from dms_task_starter.long_wait import LONG_WAIT_FORMS, LongWait, add_long_wait
from dms_task_starter.metrics import DEFAULT_STATISTIC, ReplicationTaskMetrics

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_lambda as lambda_
    from constructs import Construct

    from dms_task_starter.assessment import PremigrationAssessment
    from dms_task_starter.cdc import CdcStart, CdcStop


def task_definition_digest(task: dms.CfnReplicationTask) -> str:
    """Return the sha256 hex digest of everything in ``task`` that DMS would modify.

    :param task: The task; tokens in it count as their CloudFormation expressions.
    """
    return definition_digest(
        task,
        {
            "MigrationType": task.migration_type,
            "ReplicationInstanceArn": task.replication_instance_arn,
            "SourceEndpointArn": task.source_endpoint_arn,
            "TargetEndpointArn": task.target_endpoint_arn,
            "TableMappings": task.table_mappings,
            "ReplicationTaskSettings": task.replication_task_settings,
            "ReplicationTaskIdentifier": task.replication_task_identifier,
            "ResourceIdentifier": task.resource_identifier,
            "CdcStartPosition": task.cdc_start_position,
            "CdcStartTime": task.cdc_start_time,
            "CdcStopPosition": task.cdc_stop_position,
            "TaskData": task.task_data,
            "Tags": task.tags.render_tags(),
        },
    )


def guarded_definition_digest(task: dms.CfnReplicationTask) -> str:
    """The digest the guards watch: the task's definition and the endpoints of its stack
    that it uses (DMS refuses to modify those while the task runs). Without such
    endpoints it is the task's own digest."""
    digest = task_definition_digest(task)
    endpoints = endpoint_definitions(
        task, Source=task.source_endpoint_arn, Target=task.target_endpoint_arn
    )
    if not endpoints:
        return digest
    return definition_digest(task, {"Task": digest, "Endpoints": endpoints})


class ReplicationTaskStarter(StarterBase):
    """Starts an AWS DMS replication task from CloudFormation and waits for it.

    Creates one ``Custom::DmsReplicationTaskStarter`` resource (plus, for a guarded
    ``CfnReplicationTask``, one ``Custom::DmsReplicationTaskUpdateGuard``). The Lambda
    functions, role and grants are shared by every starter of the stack
    (:class:`ReplicationTaskStarterProvider`).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        task: dms.CfnReplicationTask | str,
        start_type: StartType = StartType.RESUME_PROCESSING,
        cdc_start: CdcStart | None = None,
        cdc_stop: CdcStop | None = None,
        wait_for: WaitFor | None = None,
        on_delete: OnDelete = OnDelete.STOP,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        powertools_layer: lambda_.ILayerVersion | None = None,
        cdc_handover: bool = True,
        guard_task_updates: bool | None = None,
        replication_instance: dms.CfnReplicationInstance | str | None = None,
        test_connections: bool = False,
        premigration_assessment: PremigrationAssessment | None = None,
        long_wait: LongWait | None = None,
    ) -> None:
        """Start ``task`` on create (and on update when its settings change).

        :param scope: The parent construct (the starter's stack or a construct in it).
        :param id: The construct id, unique within ``scope``.
        :param task: The task: a ``CfnReplicationTask`` (its ``Ref`` is the ARN) or a task
            ARN (literal or token).
        :param start_type: The start type for a task that ran before; a first run is always
            ``start-replication``. Default: ``StartType.RESUME_PROCESSING``.
        :param cdc_start: Where CDC starts. Default: none (DMS decides: from now on, or from
            the last checkpoint when resuming).
        :param cdc_stop: Where CDC stops. Default: none (CDC runs until stopped).
        :param wait_for: What the resource waits for before it succeeds (within the custom
            resource's hour). Default: ``WaitFor.RUNNING``, or ``WaitFor.NOTHING`` with
            ``long_wait``.
        :param on_delete: What happens to the task when the resource is deleted. Default:
            ``OnDelete.STOP`` (stop it, so CloudFormation can delete or modify it).
        :param timeout: How long a create or update waits, from 1 to 50 minutes, whole
            seconds (deletes and rollbacks always get 50 minutes). Default: 30 minutes.
        :param poll_interval: How often the task's status is checked. Provider-wide: all
            starters of a stack share it. Default: 10 seconds.
        :param powertools_layer: The Powertools for AWS Lambda (Python) v3 layer (python3.13,
            arm64). Provider-wide. Default: the public layer published by AWS.
        :param cdc_handover: When the task is replaced by a ``cdc`` task reading the same
            source, start the new task's CDC where the old task stopped. Default: ``True``.
        :param guard_task_updates: Stop the task before CloudFormation modifies it (needs a
            ``CfnReplicationTask`` with a literal ``resource_identifier`` in the starter's
            stack). Default: on for such a task; for a ``CfnReplicationTask`` without one, off
            with a synth warning; off for an ARN string. ``True`` makes a missing
            ``resource_identifier`` an error.
        :param replication_instance: The task's replication instance, for the metric methods
            (CloudWatch names it by its identifier, which no ARN contains): a
            ``CfnReplicationInstance`` with a ``replication_instance_identifier``, or that
            identifier. Default: none (the metric methods then raise ``ValueError``).
        :param test_connections: Before the task's first start, test both endpoints'
            connections from its replication instance (``TestConnection``; one that already
            succeeded from that instance is not tested again), wait for the results within
            ``timeout``, and start only if both succeed; a failed test fails the deployment
            with DMS's message and nothing started. Later starts are not gated. Grants
            ``dms:TestConnection`` on the task's endpoints and instance (on the account's, for
            a task given by ARN). Default: ``False``.
        :param premigration_assessment: Before the task's first start (after the connection
            tests, with ``test_connections``), run a premigration assessment, wait for it
            within ``timeout``, and start only if it passed; a failed assessment fails the
            deployment (or, with ``on_failure=OnAssessmentFailure.WARN``, logs a warning and
            starts). Later starts are not gated. Creates the results bucket and DMS's role
            unless given; grants the assessment actions on the stack's tasks and
            ``iam:PassRole`` on that role only. Default: none.
        :param long_wait: Keep the deployment waiting beyond the custom resource's hour, up
            to 12 hours, until the task reaches ``long_wait.until``, through a CloudFormation
            wait condition (``wait_condition``) that the stack's long-wait state machine
            signals. Default: none.
        """
        _checks.check_type(
            "task", task, (dms.CfnReplicationTask, str), "a CfnReplicationTask or a task ARN (str)"
        )
        _checks.check_bool("guard_task_updates", guard_task_updates, optional=True)
        _checks.check_bool("test_connections", test_connections)
        check_assessment(premigration_assessment)
        _checks.check_optional("long_wait", long_wait, LongWait, LONG_WAIT_FORMS)
        _checks.check_optional(
            "replication_instance",
            replication_instance,
            (dms.CfnReplicationInstance, str),
            "a CfnReplicationInstance or its identifier (str)",
        )
        super().__init__(scope, id, poll_interval=poll_interval, powertools_layer=powertools_layer)
        properties = start_properties(
            kind=Kind.TASK,
            start_type=start_type,
            cdc_start=cdc_start,
            cdc_stop=cdc_stop,
            wait_for=effective_wait_for(wait_for, long_wait=long_wait),
            on_delete=on_delete,
            timeout=timeout,
            cdc_handover=cdc_handover,
        )
        self.guard: CustomResource | None = None
        """The update guard resource, when the task is guarded."""
        if isinstance(task, dms.CfnReplicationTask):
            check_possible(Kind.TASK, properties, task.migration_type)
            check_resource_identifier(task)
            properties.update({Prop.TASK_ARN: task.ref, Prop.MIGRATION_TYPE: task.migration_type})
            self.guard = self._guard(task, guard_task_updates, properties)
        else:
            properties[Prop.TASK_ARN] = _arn_string(task, guard_task_updates)
        if test_connections:
            properties[Prop.TEST_CONNECTIONS] = contract.BOOLEAN_TRUE
        self._premigration_assessment(premigration_assessment, Kind.TASK, properties)
        self._create_resource(
            contract.STARTER_RESOURCE_TYPE, properties, kind=Kind.TASK, target=task
        )
        if test_connections:
            self.provider.grant_connection_tests(_connection_test_resources(task))
        if long_wait is not None:
            digest = None if isinstance(task, str) else partial(guarded_definition_digest, task)
            self._wait_condition = add_long_wait(
                self, long_wait, kind=Kind.TASK, properties=properties, definition=digest
            )
        self._task = task
        self._replication_instance = replication_instance

    def _guard(
        self,
        task: dms.CfnReplicationTask,
        guard_task_updates: bool | None,
        properties: dict[str, str],
    ) -> CustomResource | None:
        """The update guard of ``task`` (None when it cannot or should not have one)."""
        guard_arn = _guarded_task_arn(self, task, guard_task_updates)
        if guard_arn is None:
            return None
        properties[Prop.TASK_DEFINITION_DIGEST] = lazy_string(partial(task_definition_digest, task))
        digest = lazy_string(partial(guarded_definition_digest, task))
        guard = self._update_guard(
            {
                Prop.TASK_ARN: guard_arn,
                Prop.TASK_DEFINITION_DIGEST: digest,
                **_create_only_properties(task),
            }
        )
        # The guard's id names the run it stopped: the starter resumes that run after an
        # endpoint change, and only that run.
        properties[Prop.UPDATE_GUARD] = guard.ref
        # The guard comes before the task: CloudFormation updates it before it modifies the task.
        task.node.add_dependency(guard)
        self.provider.guard_task(task=task, guard=guard, digest=digest)
        # CloudFormation modifies an endpoint the task uses only after its guards stopped it.
        for endpoint in stack_endpoints(task, task.source_endpoint_arn, task.target_endpoint_arn):
            self.provider.guard_endpoint(endpoint, guard)
        return guard

    @property
    def task_arn(self) -> str:
        """The ARN of the task the resource last started (``ReplicationTaskArn``)."""
        return self.resource.get_att_string(Attr.TASK_ARN)

    @property
    def metrics(self) -> ReplicationTaskMetrics:
        """The task's CloudWatch metrics (namespace ``AWS/DMS``); needs ``replication_instance``."""
        if self._replication_instance is None:
            raise ValueError(
                "replication_instance: the metrics of a task are named by its replication "
                "instance's identifier; pass replication_instance=<CfnReplicationInstance with "
                "a replication_instance_identifier, or the identifier> to the starter"
            )
        return ReplicationTaskMetrics.for_task(
            self._task, replication_instance=self._replication_instance
        )

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = DEFAULT_STATISTIC,
        period: Duration | None = None,
    ) -> cloudwatch.Metric:
        """The task's metric ``metric_name`` (``AWS/DMS``).

        :param metric_name: A DMS replication task metric, e.g. ``CDCLatencyTarget``.
        :param statistic: Default: ``Average``.
        :param period: Default: 5 minutes.
        """
        return self.metrics.metric(metric_name, statistic=statistic, period=period)

    def metric_cdc_latency_source(self) -> cloudwatch.Metric:
        """Seconds between the last event captured from the source and now (Average, 5 min)."""
        return self.metrics.metric_cdc_latency_source()

    def metric_cdc_latency_target(self) -> cloudwatch.Metric:
        """Seconds between the first event waiting to be applied and now (Average, 5 min)."""
        return self.metrics.metric_cdc_latency_target()

    def metric_cdc_incoming_changes(self) -> cloudwatch.Metric:
        """Change events waiting to be applied to the target (Average, 5 min)."""
        return self.metrics.metric_cdc_incoming_changes()

    def metric_full_load_throughput_rows_target(self) -> cloudwatch.Metric:
        """Rows per second loaded into the target during the full load (Average, 5 min)."""
        return self.metrics.metric_full_load_throughput_rows_target()


def _connection_test_resources(task: dms.CfnReplicationTask | str) -> list[str] | None:
    """What ``dms:TestConnection`` is granted on: the task's instance and endpoints, or None
    (every endpoint and instance of the account) for a task given by ARN."""
    if isinstance(task, str):
        return None
    return [task.replication_instance_arn, task.source_endpoint_arn, task.target_endpoint_arn]


def _create_only_properties(task: dms.CfnReplicationTask) -> dict[str, str]:
    """The task's create-only properties, for the guard to refuse a replacement that keeps
    the literal resource identifier (``TASK_CREATE_ONLY_PROPS``). Rendered as literal
    expressions: a ``Ref`` would make the guard depend on the endpoints and instance, which
    come after the guards."""
    values = {
        Prop.MIGRATION_TYPE: lambda: task.migration_type,
        Prop.REPLICATION_INSTANCE_ARN: lambda: task.replication_instance_arn,
        Prop.SOURCE_ENDPOINT_ARN: lambda: task.source_endpoint_arn,
        Prop.TARGET_ENDPOINT_ARN: lambda: task.target_endpoint_arn,
    }
    assert set(values) == set(contract.TASK_CREATE_ONLY_PROPS)
    return {
        prop: lazy_string(partial(_expression_of, task, value)) for prop, value in values.items()
    }


def _expression_of(task: dms.CfnReplicationTask, value: Callable[[], object]) -> str:
    return template_expression(task, value())


def _arn_string(task_arn: str, guard_task_updates: bool | None) -> str:
    """A task given by ARN (no update guard can run before it)."""
    if guard_task_updates:
        raise ValueError(
            "guard_task_updates: the update guard needs the CfnReplicationTask itself "
            "(to run before CloudFormation modifies it), not an ARN string; pass the "
            "CfnReplicationTask or guard_task_updates=False"
        )
    return validated("task", task_arn, settings.parse_task_arn)


def check_resource_identifier(task: dms.CfnReplicationTask) -> None:
    """A literal ``resource_identifier`` must be one DMS accepts: it becomes the task's ARN."""
    identifier = task.resource_identifier
    if identifier is None or Token.is_unresolved(identifier):
        return
    problem = settings.resource_identifier_problem(identifier)
    if problem:
        raise ValueError(f"task: resource_identifier {identifier!r} {problem}")


def _guard_blocker(scope: Construct, task: dms.CfnReplicationTask) -> str | None:
    """Why the update guard cannot protect ``task``, or None if it can."""
    identifier = task.resource_identifier
    if identifier is None or Token.is_unresolved(identifier):
        return (
            f"the task {task.node.path} has no literal resource_identifier, so its ARN is "
            "unknown before it exists and the update guard cannot be ordered before it. Set "
            "resource_identifier on the CfnReplicationTask (e.g. resource_identifier='orders-cdc')"
        )
    if Stack.of(task) is not Stack.of(scope):
        return (
            f"the task {task.node.path} is in another stack than the starter; the guard must "
            "be ordered before the task in the same stack. Create the starter in the task's stack"
        )
    return None


def _guarded_task_arn(
    scope: Construct, task: dms.CfnReplicationTask, guard_task_updates: bool | None
) -> str | None:
    """The ARN the update guard protects, known before the task exists; None without a guard.

    Asked for explicitly, a guard that cannot work is an error; by default it is a warning.
    """
    if guard_task_updates is False:
        return None
    blocker = _guard_blocker(scope, task)
    if blocker is None:
        assert task.resource_identifier is not None
        return Stack.of(task).format_arn(
            service="dms",
            resource="task",
            resource_name=task.resource_identifier,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
    if guard_task_updates:
        raise ValueError(f"guard_task_updates: {blocker}, or pass guard_task_updates=False.")
    Annotations.of(scope).add_warning_v2(
        "dms-task-starter:update-guard-off",
        f"The update guard is off: {blocker}. Without it, CloudFormation cannot modify the "
        "task while it runs. Pass guard_task_updates=False to silence this warning.",
    )
    return None
