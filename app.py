#!/usr/bin/env python3
"""Example: a DMS migration (PostgreSQL -> PostgreSQL) started by CloudFormation, twice.

- ``DmsMigrationStack``: a replication instance and a ``full-load-and-cdc`` task, started by
  ``ReplicationTaskStarter`` (with the update guard), and an alarm on the task's CDC latency.
- ``DmsServerlessMigrationStack``: the same migration on DMS Serverless, a
  ``CfnReplicationConfig`` started by ``ReplicationStarter``.

Fill in the "context" of cdk.json (subnets, security groups, secrets, identifiers), then
``./scripts/synth.sh`` or ``npx cdk deploy --all``. No VPC lookup: the stacks are
environment-agnostic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dms as dms
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from dms_task_starter import CdcStart, ReplicationStarter, ReplicationTaskStarter, WaitFor

TABLE_MAPPINGS: dict[str, Any] = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "include-public-schema",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "include",
        }
    ]
}

TASK_SETTINGS: dict[str, Any] = {
    "TargetMetadata": {"SupportLobs": True, "LimitedSizeLobMode": True, "LobMaxSize": 32},
    "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"},
    "Logging": {"EnableLogging": True},
}

CDC_LATENCY_ALARM_SECONDS = 600
"""The alarm fires when changes reach the target more than 10 minutes late for 15 minutes."""


def context(scope: Construct, key: str) -> Any:  # noqa: ANN401 - context values are JSON
    value = scope.node.try_get_context(key)
    if value is None:
        raise ValueError(f'context {key!r} is missing: set it in cdk.json ("context")')
    return value


def cdc_start(scope: Construct) -> CdcStart | None:
    """PostgreSQL sources take a native start position (an LSN of the slot named in the source
    endpoint's SlotName), not a start time; other engines may use cdcStartTime."""
    position, start_time = (
        str(context(scope, "cdcStartPosition")),
        str(context(scope, "cdcStartTime")),
    )
    if position:
        return CdcStart.at_position(position)
    if start_time:
        return CdcStart.at_time(datetime.fromisoformat(start_time).replace(tzinfo=UTC))
    return None


class PostgresEndpoints(Construct):
    """The source and target endpoints, reading their credentials from Secrets Manager."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        # DMS reads the endpoint credentials from Secrets Manager with this role.
        secret_access_role = iam.Role(
            self,
            "SecretAccessRole",
            assumed_by=iam.ServicePrincipal(f"dms.{Stack.of(self).region}.amazonaws.com"),
            description="Lets DMS read the source and target database secrets",
        )
        self.subnet_group = dms.CfnReplicationSubnetGroup(
            self,
            "SubnetGroup",
            replication_subnet_group_description="Subnets of the DMS replication",
            subnet_ids=list(context(self, "subnetIds")),
        )
        self.source = self._endpoint("Source", "source", secret_access_role, "sourceDatabaseName")
        self.target = self._endpoint("Target", "target", secret_access_role, "targetDatabaseName")
        # DMS checks the secrets when the endpoints are created: grant first.
        secret_grants = secret_access_role.node.find_child("DefaultPolicy")
        for endpoint in (self.source, self.target):
            endpoint.node.add_dependency(secret_grants)

    def _endpoint(
        self, id: str, endpoint_type: str, role: iam.IRole, database_key: str
    ) -> dms.CfnEndpoint:
        """A PostgreSQL endpoint over TLS whose credentials DMS reads from Secrets Manager."""
        secret = secretsmanager.Secret.from_secret_complete_arn(
            self, f"{id}Secret", str(context(self, f"{endpoint_type}SecretArn"))
        )
        secret.grant_read(role)
        slot_name = str(context(self, "sourceSlotName")) if endpoint_type == "source" else None
        return dms.CfnEndpoint(
            self,
            f"{id}Endpoint",
            endpoint_type=endpoint_type,
            engine_name="postgres",
            database_name=str(context(self, database_key)),
            ssl_mode="require",
            postgre_sql_settings=dms.CfnEndpoint.PostgreSqlSettingsProperty(
                secrets_manager_secret_id=secret.secret_arn,
                secrets_manager_access_role_arn=role.role_arn,
                slot_name=slot_name,
            ),
        )


class DmsMigrationStack(Stack):
    """Replication instance, endpoints, a task, its starter and an alarm on its CDC latency."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        endpoints = PostgresEndpoints(self, "Endpoints")
        instance = dms.CfnReplicationInstance(
            self,
            "ReplicationInstance",
            replication_instance_identifier=str(context(self, "replicationInstanceIdentifier")),
            replication_instance_class=str(context(self, "replicationInstanceClass")),
            allocated_storage=50,
            publicly_accessible=False,
            multi_az=bool(context(self, "multiAz")),
            auto_minor_version_upgrade=True,
            replication_subnet_group_identifier=endpoints.subnet_group.ref,
            vpc_security_group_ids=list(context(self, "securityGroupIds")),
        )
        task = dms.CfnReplicationTask(
            self,
            "ReplicationTask",
            migration_type="full-load-and-cdc",
            replication_instance_arn=instance.ref,
            source_endpoint_arn=endpoints.source.ref,
            target_endpoint_arn=endpoints.target.ref,
            table_mappings=json.dumps(TABLE_MAPPINGS),
            replication_task_settings=json.dumps(TASK_SETTINGS),
            # A literal identifier makes the ARN known in advance: needed by the update guard.
            resource_identifier=str(context(self, "taskResourceIdentifier")),
        )
        self.starter = ReplicationTaskStarter(
            self,
            "TaskStarter",
            task=task,
            cdc_start=cdc_start(self),
            wait_for=WaitFor.RUNNING,
            timeout=Duration.minutes(30),
            replication_instance=instance,
        )
        self.starter.metric_cdc_latency_target().create_alarm(
            self,
            "CdcLatencyTargetAlarm",
            alarm_description=(
                "DMS applies changes to the target more than 10 minutes after they happened"
            ),
            threshold=CDC_LATENCY_ALARM_SECONDS,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


class DmsServerlessMigrationStack(Stack):
    """The same migration on DMS Serverless: no instance to size, capacity on start."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        endpoints = PostgresEndpoints(self, "Endpoints")
        config = dms.CfnReplicationConfig(
            self,
            "ReplicationConfig",
            # The base of the identifiers: the starter appends a digest of the definition,
            # so that a changed definition is a new configuration DMS accepts.
            replication_config_identifier=str(context(self, "replicationConfigIdentifier")),
            replication_type="full-load-and-cdc",
            source_endpoint_arn=endpoints.source.ref,
            target_endpoint_arn=endpoints.target.ref,
            table_mappings=TABLE_MAPPINGS,
            replication_settings=TASK_SETTINGS,
            compute_config=dms.CfnReplicationConfig.ComputeConfigProperty(
                max_capacity_units=int(context(self, "maxCapacityUnits")),
                replication_subnet_group_id=endpoints.subnet_group.ref,
                vpc_security_group_ids=list(context(self, "securityGroupIds")),
                multi_az=bool(context(self, "multiAz")),
            ),
        )
        self.starter = ReplicationStarter(
            self,
            "ReplicationStarter",
            replication_config=config,
            cdc_start=cdc_start(self),
            wait_for=WaitFor.RUNNING,
            timeout=Duration.minutes(45),
        )


app = App()
DmsMigrationStack(app, "DmsMigrationStack")
DmsServerlessMigrationStack(app, "DmsServerlessMigrationStack")
app.synth()
