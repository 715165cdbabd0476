"""The ``ReplicationTaskStarter`` construct and its CDC position helpers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from aws_cdk import (
    Annotations,
    ArnFormat,
    CustomResource,
    Duration,
    Stack,
    Token,
)
from aws_cdk import aws_dms as dms
from constructs import Construct
from dms_task_starter_runtime import contract, settings
from dms_task_starter_runtime.contract import Kind, OnDelete, Prop, StartType, WaitFor

from dms_task_starter._lazy import lazy_string
from dms_task_starter.provider import ReplicationTaskStarterProvider

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_cdk import aws_lambda as lambda_

CHECKPOINT_PREFIX: Final = "checkpoint:"


def _validated(prop: str, value: str, parse: Callable[[str], object]) -> str:
    """Run the handler's validator on a literal value; tokens are checked at deploy time."""
    if not Token.is_unresolved(value):
        try:
            parse(value)
        except settings.InvalidSettingError as error:
            raise ValueError(f"{prop}: {error}") from error
    return value


def _utc(prop: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{prop}: the datetime {value.isoformat()} has no time zone; pass an aware "
            "datetime such as datetime(2024, 1, 31, 12, 0, tzinfo=timezone.utc)"
        )
    return value.astimezone(UTC)


class CdcStart:
    """Where change data capture starts (``CdcStartTime`` or ``CdcStartPosition``).

    DMS accepts a start time or a start position, never both; the two factories make
    that choice explicit.
    """

    def __init__(self, prop: str, value: str) -> None:
        """Use the factories :meth:`at_time`, :meth:`at_position` or :meth:`at_checkpoint`."""
        self.prop: Final = prop
        """The resource property this value is passed in."""
        self.value: Final = value
        """The value in the form the handler parses."""

    @classmethod
    def at_time(cls, time: datetime) -> CdcStart:
        """Start CDC at ``time`` (timezone-aware; sent as ISO 8601 UTC, whole seconds).

        Not every source engine supports a start time; use :meth:`at_position` then.
        """
        rendered = _utc("cdc_start", time).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(
            Prop.CDC_START_TIME, _validated("cdc_start", rendered, settings.parse_cdc_start_time)
        )

    @classmethod
    def at_position(cls, position: str) -> CdcStart:
        """Start CDC at a native position (MySQL ``mysql-bin-changelog.000024:373``,
        PostgreSQL LSN ``0/5120E10``, Oracle SCN), a date string ``2018-03-08T12:12:12``
        or a checkpoint. Tokens are passed through and validated at deploy time.
        """
        return cls(
            Prop.CDC_START_POSITION,
            _validated("cdc_start", position, settings.parse_cdc_start_position),
        )

    @classmethod
    def at_checkpoint(cls, checkpoint: str) -> CdcStart:
        """Start CDC at a DMS checkpoint, e.g. a task's ``RecoveryCheckpoint``
        (``checkpoint:V1#27#...``). Tokens are passed through.
        """
        value = _validated("cdc_start", checkpoint, settings.parse_cdc_start_position)
        if not Token.is_unresolved(value) and not value.startswith(CHECKPOINT_PREFIX):
            raise ValueError(
                f"cdc_start: a checkpoint starts with {CHECKPOINT_PREFIX!r} "
                f"(got {value[: settings.MAX_SHOWN_VALUE_CHARS]!r}); use CdcStart.at_position for "
                "native positions"
            )
        return cls(Prop.CDC_START_POSITION, value)


class CdcStop:
    """Where change data capture stops (``CdcStopPosition``)."""

    def __init__(self, value: str) -> None:
        """Use the factories :meth:`at_server_time`, :meth:`at_commit_time` or
        :meth:`at_position`.
        """
        self.value: Final = value
        """The ``CdcStopPosition`` value."""

    @classmethod
    def at_server_time(cls, time: datetime) -> CdcStop:
        """Stop CDC when the replication instance's clock reaches ``time`` (aware; UTC)."""
        return cls._at("server_time", time)

    @classmethod
    def at_commit_time(cls, time: datetime) -> CdcStop:
        """Stop CDC at the first transaction committed at or after ``time`` (aware; UTC)."""
        return cls._at("commit_time", time)

    @classmethod
    def at_position(cls, position: str) -> CdcStop:
        """A raw ``server_time:YYYY-MM-DDThh:mm:ss`` or ``commit_time:...`` position.

        Tokens are passed through and validated at deploy time.
        """
        return cls(_validated("cdc_stop", position, settings.parse_cdc_stop_position))

    @classmethod
    def _at(cls, kind: str, time: datetime) -> CdcStop:
        rendered = f"{kind}:{_utc('cdc_stop', time).strftime('%Y-%m-%dT%H:%M:%S')}"
        return cls(_validated("cdc_stop", rendered, settings.parse_cdc_stop_position))


def task_definition_digest(task: dms.CfnReplicationTask) -> str:
    """Return the sha256 hex digest of everything in ``task`` that DMS would modify.

    Tokens (Refs of endpoints, instance ...) are resolved to their CloudFormation
    expressions, so the digest changes exactly when the task's template changes.
    """
    definition: dict[str, Any] = {
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
    }
    resolved = Stack.of(task).resolve(definition)
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ReplicationTaskStarter(Construct):
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
        wait_for: WaitFor = WaitFor.RUNNING,
        on_delete: OnDelete = OnDelete.STOP,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        powertools_layer: lambda_.ILayerVersion | None = None,
        cdc_handover: bool = True,
        guard_task_updates: bool | None = None,
    ) -> None:
        """Start ``task`` on create (and on update when its settings change).

        :param task: The task: a ``CfnReplicationTask`` (its ``Ref`` is the ARN) or a task
            ARN (literal or token).
        :param start_type: The start type for a task that ran before; a first run is always
            ``start-replication``. Default: ``StartType.RESUME_PROCESSING``.
        :param cdc_start: Where CDC starts. Default: none (DMS decides: from now on, or from
            the last checkpoint when resuming).
        :param cdc_stop: Where CDC stops. Default: none (CDC runs until stopped).
        :param wait_for: What the resource waits for before it succeeds. Default:
            ``WaitFor.RUNNING``.
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
        """
        super().__init__(scope, id)
        provider = ReplicationTaskStarterProvider.of(
            self, poll_interval=poll_interval, powertools_layer=powertools_layer
        )
        self.provider: Final = provider
        """The provider shared by the stack's starters."""
        properties = start_properties(
            kind=Kind.TASK,
            start_type=StartType(start_type),
            cdc_start=cdc_start,
            cdc_stop=cdc_stop,
            wait_for=WaitFor(wait_for),
            on_delete=OnDelete(on_delete),
            timeout=timeout,
            cdc_handover=cdc_handover,
        )
        self.guard: CustomResource | None = None
        """The update guard resource, when the task is guarded."""
        if isinstance(task, dms.CfnReplicationTask):
            properties.update(_task_properties(task, properties))
            self.guard = self._guard(task, guard_task_updates, properties)
        else:
            properties.update(_arn_properties(task, guard_task_updates))
        self.resource: Final = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=contract.STARTER_RESOURCE_TYPE,
            properties=properties,
        )
        # The grants outlive the resource: created before it, deleted after it.
        self.resource.node.add_dependency(provider.role)
        if not isinstance(task, dms.CfnReplicationTask):
            self.resource.node.add_dependency(provider.grant_task_by_arn(task))
            # The ARN the resource last reported keeps its grant until after the resource's
            # update (this policy depends on the resource), so a replaced task can be stopped.
            provider.retain_grant(self.task_arn)

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
        digest = lazy_string(partial(task_definition_digest, task))
        properties[Prop.TASK_DEFINITION_DIGEST] = digest
        guard = CustomResource(
            self,
            "UpdateGuard",
            service_token=self.provider.service_token,
            resource_type=contract.GUARD_RESOURCE_TYPE,
            properties={Prop.TASK_ARN: guard_arn, Prop.TASK_DEFINITION_DIGEST: digest},
        )
        guard.node.add_dependency(self.provider.role)
        # The guard comes before the task: CloudFormation updates it before it modifies the task.
        task.node.add_dependency(guard)
        self.provider.guard_task(task=task, guard=guard, digest=digest)
        return guard

    @property
    def task_arn(self) -> str:
        """The ARN of the task the resource last started (``ReplicationTaskArn``)."""
        return self.resource.get_att_string(contract.Attr.TASK_ARN)

    @property
    def status(self) -> str:
        """The task's status when the resource finished (``Status``)."""
        return self.resource.get_att_string(contract.Attr.STATUS)

    @property
    def stop_reason(self) -> str:
        """The task's ``StopReason`` when the resource finished (may be empty)."""
        return self.resource.get_att_string(contract.Attr.STOP_REASON)

    @property
    def start_date(self) -> str:
        """The task's ``ReplicationTaskStartDate`` (ISO 8601)."""
        return self.resource.get_att_string(contract.Attr.START_DATE)

    @property
    def cdc_start_position(self) -> str:
        """The task's ``CdcStartPosition`` as DMS reports it."""
        return self.resource.get_att_string(contract.Attr.CDC_START_POSITION)

    @property
    def recovery_checkpoint(self) -> str:
        """The task's ``RecoveryCheckpoint`` (usable with :meth:`CdcStart.at_checkpoint`)."""
        return self.resource.get_att_string(contract.Attr.RECOVERY_CHECKPOINT)


CONSTRUCT_PARAMS: Final = {
    Prop.WAIT_FOR: "wait_for",
    Prop.START_TYPE: "start_type",
    Prop.REPLICATION_START_TYPE: "start_type",
    Prop.CDC_START_TIME: "cdc_start",
    Prop.CDC_START_POSITION: "cdc_start",
    Prop.CDC_STOP_POSITION: "cdc_stop",
}
"""The construct parameter behind each resource property, for synth-time messages."""


def start_properties(
    *,
    kind: Kind,
    start_type: StartType | None,
    cdc_start: CdcStart | None,
    cdc_stop: CdcStop | None,
    wait_for: WaitFor,
    on_delete: OnDelete,
    timeout: Duration | None,
    cdc_handover: bool,
) -> dict[str, str]:
    """The resource properties every starter has, rendered as the handler parses them."""
    timeout_seconds = _timeout_seconds(
        timeout or Duration.seconds(contract.DEFAULT_TIMEOUT_SECONDS)
    )
    properties: dict[str, str] = {
        Prop.WAIT_FOR: wait_for.value,
        Prop.ON_DELETE: on_delete.value,
        Prop.TIMEOUT_SECONDS: str(timeout_seconds),
        Prop.CDC_HANDOVER: contract.BOOLEAN_TRUE if cdc_handover else contract.BOOLEAN_FALSE,
    }
    if start_type is not None:
        properties[kind.start_type_prop] = start_type.value
    if cdc_start is not None:
        properties[cdc_start.prop] = cdc_start.value
    if cdc_stop is not None:
        properties[Prop.CDC_STOP_POSITION] = cdc_stop.value
    return properties


def check_possible(kind: Kind, properties: dict[str, str], migration_type: str | None) -> None:
    """Refuse at synth time a combination that can never succeed with a literal migration type.

    The handler refuses the same before any DMS call (``impossible_setting``).
    """
    if migration_type is None or Token.is_unresolved(migration_type):
        return
    start_type = properties.get(kind.start_type_prop)
    planned = settings.StarterSettings(
        arn="",
        kind=kind,
        start_type=None if start_type is None else StartType(start_type),
        cdc_start_position=properties.get(Prop.CDC_START_POSITION),
        cdc_stop_position=properties.get(Prop.CDC_STOP_POSITION),
        wait_for=WaitFor(properties[Prop.WAIT_FOR]),
    )
    if Prop.CDC_START_TIME in properties:
        planned = replace(planned, cdc_start_time=datetime.now(UTC))
    impossible = settings.impossible_setting(planned, migration_type)
    if impossible is not None:
        raise ValueError(f"{CONSTRUCT_PARAMS.get(impossible.prop, impossible.prop)}: {impossible}")


def _task_properties(task: dms.CfnReplicationTask, properties: dict[str, str]) -> dict[str, str]:
    """A task of the template: granted by the stack's tag, checked against its migration type."""
    check_possible(Kind.TASK, properties, task.migration_type)
    return {Prop.TASK_ARN: task.ref, Prop.MIGRATION_TYPE: task.migration_type}


def _arn_properties(task_arn: str, guard_task_updates: bool | None) -> dict[str, str]:
    """A task given by ARN: the handler tags it with the stack's tag."""
    if guard_task_updates:
        raise ValueError(
            "guard_task_updates: the update guard needs the CfnReplicationTask itself "
            "(to run before CloudFormation modifies it), not an ARN string; pass the "
            "CfnReplicationTask or guard_task_updates=False"
        )
    return {
        Prop.TASK_ARN: _validated("task", task_arn, settings.parse_task_arn),
        Prop.TAG_TASK: contract.BOOLEAN_TRUE,
    }


def _timeout_seconds(timeout: Duration) -> int:
    seconds = timeout.to_seconds(integral=False)
    if seconds != int(seconds):
        raise ValueError(
            f"timeout: {seconds} seconds is not a whole number of seconds "
            f"({settings.TIMEOUT_SECONDS_FORMS})"
        )
    try:
        return settings.parse_timeout_seconds(int(seconds))
    except settings.InvalidSettingError as error:
        raise ValueError(f"timeout: {error}") from error


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
