"""The ``ReplicationStarter`` construct: starts a DMS Serverless replication from CloudFormation."""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from aws_cdk import ArnFormat, Aws, CustomResource, Stack, Tags, Token
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
)
from dms_task_starter._lazy import lazy_string
from dms_task_starter.assessment import check_assessment
from dms_task_starter.cdc import validated
from dms_task_starter.endpoints import endpoint_definitions, stack_endpoints
from dms_task_starter.long_wait import LONG_WAIT_FORMS, LongWait, add_long_wait

if TYPE_CHECKING:
    from aws_cdk import Duration
    from aws_cdk import aws_lambda as lambda_
    from constructs import Construct

    from dms_task_starter.assessment import PremigrationAssessment
    from dms_task_starter.cdc import CdcStart, CdcStop

MAX_IDENTIFIER_CHARS: Final = 31
"""DMS: a ResourceIdentifier has at most 31 characters."""
DIGEST_CHARS: Final = 8
"""The definition digest appended to the identifiers: a new definition, a new configuration."""
IDENTIFIER_PATTERN: Final = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-))*")
BASE_IDENTIFIER_CHARS: Final = MAX_IDENTIFIER_CHARS - DIGEST_CHARS - 1


def replication_definition_digest(config: dms.CfnReplicationConfig) -> str:
    """The sha256 hex digest of what DMS refuses to modify once a replication ran.

    The template's tags count: CloudFormation's update handler holds
    ``dms:ModifyReplicationConfig``, and whether a change of ``Tags`` alone goes through it
    is not published. ``dms-task-starter:stack`` (the tag 0.2.0 put on every configuration)
    does not count, and neither does an empty tag list, so that 0.2.0's identifiers stay.

    :param config: The configuration; tokens in it count as their CloudFormation expressions.
    """
    definition: dict[str, Any] = {
        "ReplicationType": config.replication_type,
        "SourceEndpointArn": config.source_endpoint_arn,
        "TargetEndpointArn": config.target_endpoint_arn,
        "ComputeConfig": config.compute_config,
        "ReplicationSettings": config.replication_settings,
        "SupplementalSettings": config.supplemental_settings,
        "TableMappings": config.table_mappings,
    }
    tags = [
        tag
        for tag in Stack.of(config).resolve(config.cdk_tag_manager.render_tags()) or []
        if tag.get("key") != contract.STACK_TAG_KEY
    ]
    if tags:
        definition["Tags"] = tags
    return definition_digest(config, definition)


def replication_endpoints_digest(config: dms.CfnReplicationConfig) -> str:
    """The sha256 hex digest of the endpoints of the stack that ``config`` uses: DMS refuses
    to modify them while its replication runs (the configuration itself is not modified)."""
    return definition_digest(
        config,
        endpoint_definitions(
            config, Source=config.source_endpoint_arn, Target=config.target_endpoint_arn
        ),
    )


def replication_wait_digest(config: dms.CfnReplicationConfig) -> str:
    """The digest whose change makes a long wait wait again: the configuration's definition
    and the endpoints of the stack it uses."""
    return definition_digest(
        config,
        {
            "Config": replication_definition_digest(config),
            "Endpoints": replication_endpoints_digest(config),
        },
    )


class ReplicationStarter(StarterBase):
    """Starts a DMS Serverless replication from CloudFormation and waits for it.

    CloudFormation creates an ``AWS::DMS::ReplicationConfig`` but never starts it, and
    once a replication ran DMS refuses every modification of its configuration. This
    construct adds one ``Custom::DmsReplicationStarter`` resource that starts, waits for
    and stops the replication, and (by default) turns every change of the configuration's
    definition into a replacement that DMS accepts: a new configuration, started with
    CDC handed over from the old one, after which CloudFormation deletes the old one.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        replication_config: dms.CfnReplicationConfig | str,
        start_type: StartType | None = None,
        cdc_start: CdcStart | None = None,
        cdc_stop: CdcStop | None = None,
        wait_for: WaitFor | None = None,
        on_delete: OnDelete = OnDelete.STOP,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        powertools_layer: lambda_.ILayerVersion | None = None,
        cdc_handover: bool = True,
        replace_on_change: bool = True,
        premigration_assessment: PremigrationAssessment | None = None,
        long_wait: LongWait | None = None,
    ) -> None:
        """Start the replication of ``replication_config`` on create (and on changes).

        :param scope: The parent construct (the starter's stack or a construct in it).
        :param id: The construct id, unique within ``scope``.
        :param replication_config: The configuration: a ``CfnReplicationConfig`` (its ``Ref``
            is the ARN) or a replication config ARN (literal or token).
        :param start_type: The start type for a replication that ran before; a first run is
            always ``start-replication``. Default: ``resume-processing``, or ``reload-target``
            for a ``full-load`` replication, which DMS cannot resume.
        :param cdc_start: Where CDC starts. Default: none.
        :param cdc_stop: Where CDC stops. Default: none.
        :param wait_for: What the resource waits for (capacity provisioning included), within
            the custom resource's hour. Default: ``WaitFor.RUNNING``, or ``WaitFor.NOTHING``
            with ``long_wait``.
        :param on_delete: What happens to the replication when the resource is deleted.
            Default: ``OnDelete.STOP``.
        :param timeout: How long a create or update waits, from 1 to 50 minutes. Default: 30
            minutes.
        :param poll_interval: Provider-wide. Default: 10 seconds.
        :param powertools_layer: Provider-wide. Default: the public layer published by AWS.
        :param cdc_handover: When the configuration is replaced by a ``cdc`` one reading the
            same source, start the new replication's CDC where the old one stopped.
            Default: ``True``.
        :param replace_on_change: Give a ``CfnReplicationConfig`` identifiers that end in a
            digest of its definition, so that every change of the definition creates a new
            configuration instead of a modification DMS refuses after the first run. Needs a
            literal ``replication_config_identifier`` (the base, at most 22 characters).
            Default: ``True``; with ``False`` a configuration can be modified only before its
            replication first ran.
        :param premigration_assessment: Have DMS run a premigration assessment as part of the
            first start (``PremigrationAssessmentSettings``; DMS keeps the results in a bucket
            it manages, so no ``bucket`` or ``role``); a failed assessment fails the deployment
            with nothing started (or, with ``on_failure=OnAssessmentFailure.WARN``, DMS
            starts the replication all the same). Default: none.
        :param long_wait: Keep the deployment waiting beyond the custom resource's hour, up
            to 12 hours, until the replication reaches ``long_wait.until`` (capacity
            provisioning included), through a CloudFormation wait condition
            (``wait_condition``) that the stack's long-wait state machine signals.
            Default: none.
        """
        _checks.check_type(
            "replication_config",
            replication_config,
            (dms.CfnReplicationConfig, str),
            "a CfnReplicationConfig or a replication config ARN (str)",
        )
        _checks.check_bool("replace_on_change", replace_on_change)
        check_assessment(premigration_assessment)
        _checks.check_optional("long_wait", long_wait, LongWait, LONG_WAIT_FORMS)
        super().__init__(scope, id, poll_interval=poll_interval, powertools_layer=powertools_layer)
        self.provider.enable_replications()
        properties = start_properties(
            kind=Kind.REPLICATION,
            start_type=start_type,
            cdc_start=cdc_start,
            cdc_stop=cdc_stop,
            wait_for=effective_wait_for(wait_for, long_wait=long_wait),
            on_delete=on_delete,
            timeout=timeout,
            cdc_handover=cdc_handover,
        )
        self._premigration_assessment(premigration_assessment, Kind.REPLICATION, properties)
        self.guard: CustomResource | None = None
        """The update guard, when the configuration uses endpoints of its stack."""
        if isinstance(replication_config, dms.CfnReplicationConfig):
            check_possible(Kind.REPLICATION, properties, replication_config.replication_type)
            if replace_on_change:
                properties[Prop.BASE_CONFIG_IDENTIFIER] = _replace_on_change(replication_config)
                self.guard = self._guard_endpoints(replication_config, properties)
            properties[Prop.CONFIG_ARN] = replication_config.ref
            properties[Prop.MIGRATION_TYPE] = replication_config.replication_type
        else:
            properties[Prop.CONFIG_ARN] = validated(
                "replication_config", replication_config, settings.parse_config_arn
            )
        self._create_resource(
            contract.REPLICATION_STARTER_RESOURCE_TYPE,
            properties,
            kind=Kind.REPLICATION,
            target=replication_config,
        )
        if long_wait is not None:
            digest = (
                None
                if isinstance(replication_config, str)
                else partial(replication_wait_digest, replication_config)
            )
            self._wait_condition = add_long_wait(
                self, long_wait, kind=Kind.REPLICATION, properties=properties, definition=digest
            )

    def _guard_endpoints(
        self, config: dms.CfnReplicationConfig, properties: dict[str, str]
    ) -> CustomResource | None:
        """An update guard that stops the replication before CloudFormation modifies an
        endpoint of the stack that the configuration uses (None when it uses none).

        ``replace_on_change`` makes the configuration's ARN known before it exists (its
        resource identifier is literal), so the guard can come before the endpoints.
        """
        endpoints = stack_endpoints(config, config.source_endpoint_arn, config.target_endpoint_arn)
        if not endpoints:
            return None
        identifier = config.resource_identifier
        assert identifier is not None, "set by _replace_on_change"
        digest = lazy_string(partial(replication_endpoints_digest, config))
        config_arn = Stack.of(config).format_arn(
            service="dms",
            resource="replication-config",
            resource_name=identifier,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        guard = self._update_guard(
            {Prop.CONFIG_ARN: config_arn, Prop.TASK_DEFINITION_DIGEST: digest}
        )
        self.provider.guard_replication(identifier=identifier, guard=guard, digest=digest)
        for endpoint in endpoints:
            self.provider.guard_endpoint(endpoint, guard)
        # The guard's id names the run it stopped: the starter resumes that run only.
        properties[Prop.UPDATE_GUARD] = guard.ref
        return guard

    @property
    def replication_config_arn(self) -> str:
        """The ARN of the configuration whose replication the resource last started."""
        return self.resource.get_att_string(Attr.CONFIG_ARN)

    @property
    def provision_state(self) -> str:
        """The replication's ``ProvisionData.ProvisionState`` when the resource finished."""
        return self.resource.get_att_string(Attr.PROVISION_STATE)


def _replace_on_change(config: dms.CfnReplicationConfig) -> str:
    """Make every definition change a replacement: identifiers end in the definition's digest.

    ``ResourceIdentifier`` is the configuration's only create-only property, and its
    ``ReplicationConfigIdentifier`` must be unique while the old and the new exist. Return
    the base identifier: the configuration had it before the starter was added, and the
    starter's Create takes its replication over.
    """
    base = config.replication_config_identifier
    if Token.is_unresolved(base) or not IDENTIFIER_PATTERN.fullmatch(base) or base.endswith("-"):
        raise ValueError(
            "replace_on_change: the CfnReplicationConfig needs a literal "
            "replication_config_identifier to derive its identifiers from (a letter, then "
            f"letters, digits and single hyphens; got {base!r}); set one, or pass "
            "replace_on_change=False"
        )
    if len(base) > BASE_IDENTIFIER_CHARS:
        raise ValueError(
            f"replace_on_change: replication_config_identifier {base!r} is longer than "
            f"{BASE_IDENTIFIER_CHARS} characters; DMS identifiers have at most "
            f"{MAX_IDENTIFIER_CHARS}, and {DIGEST_CHARS + 1} go to the definition's digest"
        )
    identifier = lazy_string(partial(_identifier, config, base))
    config.replication_config_identifier = identifier
    config.resource_identifier = identifier
    # 0.2.0 put this tag on every configuration; dropping it from a configuration that ran
    # would be a tag-only update, which may go through the modify DMS refuses. It is kept
    # (outside the digest): a configuration gets it only when it is created, as this one is
    # (a new identifier), so it never changes an existing configuration.
    Tags.of(config).add(contract.STACK_TAG_KEY, Aws.STACK_ID)
    return base


def _identifier(config: dms.CfnReplicationConfig, base: str) -> str:
    return f"{base}-{replication_definition_digest(config)[:DIGEST_CHARS]}"
