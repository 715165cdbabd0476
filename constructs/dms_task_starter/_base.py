"""What every starter has: the resource, its start properties and its attributes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from aws_cdk import CfnResource, CustomResource, Duration, Stack, Token
from constructs import Construct
from dms_task_starter_runtime import contract, settings
from dms_task_starter_runtime.contract import Attr, Kind, OnDelete, Prop, StartType, WaitFor

from dms_task_starter import _checks
from dms_task_starter.cdc import CdcStart, CdcStop
from dms_task_starter.provider import ReplicationTaskStarterProvider

if TYPE_CHECKING:
    from aws_cdk import aws_cloudformation as cfn
    from aws_cdk import aws_lambda as lambda_

    from dms_task_starter.assessment import PremigrationAssessment

DURATION_FORMS: Final = "an aws_cdk.Duration (e.g. Duration.minutes(30))"
CDC_START_FORMS: Final = (
    "CdcStart.at_time(datetime), CdcStart.at_position(str) or CdcStart.at_checkpoint(str)"
)
CDC_STOP_FORMS: Final = (
    "CdcStop.at_server_time(datetime), CdcStop.at_commit_time(datetime) or CdcStop.at_position(str)"
)

CONSTRUCT_PARAMS: Final = {
    Prop.WAIT_FOR: "wait_for",
    Prop.START_TYPE: "start_type",
    Prop.REPLICATION_START_TYPE: "start_type",
    Prop.CDC_START_TIME: "cdc_start",
    Prop.CDC_START_POSITION: "cdc_start",
    Prop.CDC_STOP_POSITION: "cdc_stop",
}
"""The construct parameter behind each resource property, for synth-time messages."""


class StarterBase(Construct):
    """A starter's custom resource, its shared provider, and the attributes it reports."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        poll_interval: Duration | None,
        powertools_layer: lambda_.ILayerVersion | None,
    ) -> None:
        _checks.check_optional("poll_interval", poll_interval, Duration, DURATION_FORMS)
        _checks.check_layer("powertools_layer", powertools_layer)
        super().__init__(scope, id)
        self.provider: Final[ReplicationTaskStarterProvider] = ReplicationTaskStarterProvider.of(
            self, poll_interval=poll_interval, powertools_layer=powertools_layer
        )
        """The provider shared by the stack's starters."""
        self._resource: CustomResource | None = None
        self._assesses = False
        self._assessment_dependencies: list[object] = []
        self._wait_condition: cfn.CfnWaitCondition | None = None

    @property
    def resource(self) -> CustomResource:
        """The starter's custom resource."""
        assert self._resource is not None, "the subclass creates the resource in __init__"
        return self._resource

    def _create_resource(
        self,
        resource_type: str,
        properties: dict[str, str],
        *,
        kind: Kind,
        target: CfnResource | str,
    ) -> None:
        """Create the resource for ``target`` (the ARN in ``properties[kind.arn_prop]``).

        The stack tags its own tasks (configurations); any other target is tagged by the
        handler and granted by ARN.
        """
        tagged_by_stack = isinstance(target, CfnResource) and Stack.of(target) is Stack.of(self)
        if not tagged_by_stack:
            properties[Prop.TAG_RESOURCE] = contract.BOOLEAN_TRUE
        self._resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type=resource_type,
            properties=properties,
        )
        # The grants outlive the resource: created before it, deleted after it.
        self._resource.node.add_dependency(self.provider.role, *self._assessment_dependencies)
        if not tagged_by_stack:
            self._grant_by_arn(properties[kind.arn_prop], kind)

    def _premigration_assessment(
        self, assessment: PremigrationAssessment | None, kind: Kind, properties: dict[str, str]
    ) -> None:
        """Gate the first start on ``assessment`` (none: no gate, no grant)."""
        if assessment is None:
            return
        rendered, self._assessment_dependencies = assessment._properties(self, kind)
        properties.update(rendered)
        self._assesses = True
        self.provider.grant_assessments(kind, rendered.get(Prop.ASSESSMENT_ROLE_ARN))

    @property
    def assessment_run_arn(self) -> str:
        """With ``premigration_assessment``: the ARN of the run that gated the first start
        (``AssessmentRunArn``; empty before a run)."""
        return self._assessment_attribute(Attr.ASSESSMENT_RUN_ARN)

    @property
    def assessment_run_status(self) -> str:
        """With ``premigration_assessment``: that run's status (``AssessmentRunStatus``)."""
        return self._assessment_attribute(Attr.ASSESSMENT_RUN_STATUS)

    def _assessment_attribute(self, attribute: str) -> str:
        if not self._assesses:
            raise ValueError(
                f"{attribute}: the starter has no premigration_assessment, so it reports no "
                "assessment run; pass premigration_assessment=PremigrationAssessment(...)"
            )
        return self.resource.get_att_string(attribute)

    def _update_guard(self, properties: dict[str, str]) -> CustomResource:
        """The ``Custom::DmsReplicationTaskUpdateGuard`` of the starter's task (configuration).

        Like the starter, it is created after the grants and deleted before them.
        """
        guard = CustomResource(
            self,
            "UpdateGuard",
            service_token=self.provider.service_token,
            resource_type=contract.GUARD_RESOURCE_TYPE,
            properties=properties,
        )
        guard.node.add_dependency(self.provider.role)
        return guard

    def _grant_by_arn(self, arn: str, kind: Kind) -> None:
        """Grant the resource's task (or configuration) by ARN.

        The ARN the resource last reported keeps a grant until after the resource's update
        (the retention policy depends on the resource), so a replaced one can be stopped.
        """
        self.resource.node.add_dependency(self.provider.grant_by_arn(arn, kind))
        self.provider.retain_grant(self.resource.get_att_string(kind.arn_attr), kind)

    @property
    def wait_condition(self) -> cfn.CfnWaitCondition | None:
        """The wait condition of ``long_wait`` (None without). Resources that depend on it,
        or on the starter (``consumer.node.add_dependency(starter)``), are created only once
        DMS reached ``long_wait.until``."""
        return self._wait_condition

    @property
    def status(self) -> str:
        """The status when the resource finished (``Status``)."""
        return self.resource.get_att_string(Attr.STATUS)

    @property
    def stop_reason(self) -> str:
        """The ``StopReason`` when the resource finished (may be empty)."""
        return self.resource.get_att_string(Attr.STOP_REASON)

    @property
    def start_date(self) -> str:
        """The start date of the run the resource last saw (ISO 8601, may be empty)."""
        return self.resource.get_att_string(Attr.START_DATE)

    @property
    def cdc_start_position(self) -> str:
        """The ``CdcStartPosition`` as DMS reports it."""
        return self.resource.get_att_string(Attr.CDC_START_POSITION)

    @property
    def recovery_checkpoint(self) -> str:
        """The ``RecoveryCheckpoint`` (usable with :meth:`CdcStart.at_checkpoint`)."""
        return self.resource.get_att_string(Attr.RECOVERY_CHECKPOINT)


def effective_wait_for(wait_for: WaitFor | None, *, long_wait: object) -> WaitFor:
    """``wait_for`` as given; by default RUNNING, or NOTHING with a long wait (the wait
    condition waits instead, beyond the custom resource's hour)."""
    if wait_for is not None:
        return wait_for
    return WaitFor.NOTHING if long_wait is not None else WaitFor.RUNNING


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
    _checks.check_optional("cdc_start", cdc_start, CdcStart, CDC_START_FORMS)
    _checks.check_optional("cdc_stop", cdc_stop, CdcStop, CDC_STOP_FORMS)
    _checks.check_optional("timeout", timeout, Duration, DURATION_FORMS)
    _checks.check_bool("cdc_handover", cdc_handover)
    timeout_seconds = _timeout_seconds(
        timeout or Duration.seconds(contract.DEFAULT_TIMEOUT_SECONDS)
    )
    properties: dict[str, str] = {
        Prop.WAIT_FOR: _checks.member("wait_for", WaitFor, wait_for).value,
        Prop.ON_DELETE: _checks.member("on_delete", OnDelete, on_delete).value,
        Prop.TIMEOUT_SECONDS: str(timeout_seconds),
        Prop.CDC_HANDOVER: contract.BOOLEAN_TRUE if cdc_handover else contract.BOOLEAN_FALSE,
    }
    if start_type is not None:
        properties[kind.start_type_prop] = _checks.member("start_type", StartType, start_type).value
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


def template_expression(scope: Construct, value: object) -> str:
    """``value`` as the template will hold it, as a literal string: a literal as it is, a
    token as its CloudFormation expression (``{"Ref":"SourceEndpoint"}``). A resource that
    carries it does not depend on what the expression references."""
    resolved = Stack.of(scope).resolve(value)
    if isinstance(resolved, str):
        return resolved
    return json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)


def definition_digest(scope: Construct, definition: dict[str, Any]) -> str:
    """The sha256 hex digest of ``definition`` as CloudFormation will receive it.

    Tokens (Refs of endpoints, instance ...) are resolved to their CloudFormation
    expressions, so the digest changes exactly when the template changes.
    """
    resolved = Stack.of(scope).resolve(definition)
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
        raise ValueError(f"timeout: {error}") from None
