#!/usr/bin/env python3
"""Example: a DMS migration (PostgreSQL -> PostgreSQL) whose task is started by CloudFormation.

Fill in the "context" of cdk.json (subnets, security groups, secrets, endpoints), then
``./scripts/synth.sh`` or ``npx cdk deploy``. No VPC lookup: the stack is environment-agnostic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_dms as dms
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from dms_task_starter import CdcStart, ReplicationTaskStarter, WaitFor

if TYPE_CHECKING:
    from constructs import Construct

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


class DmsMigrationStack(Stack):
    """Replication instance, endpoints (credentials in Secrets Manager), task and its starter."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        ctx = self._context

        subnet_group = dms.CfnReplicationSubnetGroup(
            self,
            "SubnetGroup",
            replication_subnet_group_description="Subnets of the DMS replication instance",
            subnet_ids=list(ctx("subnetIds")),
        )
        instance = dms.CfnReplicationInstance(
            self,
            "ReplicationInstance",
            replication_instance_class=str(ctx("replicationInstanceClass")),
            allocated_storage=50,
            publicly_accessible=False,
            multi_az=bool(ctx("multiAz")),
            auto_minor_version_upgrade=True,
            replication_subnet_group_identifier=subnet_group.ref,
            vpc_security_group_ids=list(ctx("securityGroupIds")),
        )

        # DMS reads the endpoint credentials from Secrets Manager with this role.
        secret_access_role = iam.Role(
            self,
            "SecretAccessRole",
            assumed_by=iam.ServicePrincipal(f"dms.{self.region}.amazonaws.com"),
            description="Lets DMS read the source and target database secrets",
        )
        source_secret = secretsmanager.Secret.from_secret_complete_arn(
            self, "SourceSecret", str(ctx("sourceSecretArn"))
        )
        target_secret = secretsmanager.Secret.from_secret_complete_arn(
            self, "TargetSecret", str(ctx("targetSecretArn"))
        )
        source_secret.grant_read(secret_access_role)
        target_secret.grant_read(secret_access_role)

        source = self._postgres_endpoint(
            "SourceEndpoint",
            endpoint_type="source",
            database_name=str(ctx("sourceDatabaseName")),
            secret_arn=source_secret.secret_arn,
            secret_access_role=secret_access_role,
            slot_name=str(ctx("sourceSlotName")),
        )
        target = self._postgres_endpoint(
            "TargetEndpoint",
            endpoint_type="target",
            database_name=str(ctx("targetDatabaseName")),
            secret_arn=target_secret.secret_arn,
            secret_access_role=secret_access_role,
        )
        # DMS checks the secrets when the endpoints are created: grant first.
        secret_grants = secret_access_role.node.find_child("DefaultPolicy")
        for endpoint in (source, target):
            endpoint.node.add_dependency(secret_grants)

        task = dms.CfnReplicationTask(
            self,
            "ReplicationTask",
            migration_type="full-load-and-cdc",
            replication_instance_arn=instance.ref,
            source_endpoint_arn=source.ref,
            target_endpoint_arn=target.ref,
            table_mappings=json.dumps(TABLE_MAPPINGS),
            replication_task_settings=json.dumps(TASK_SETTINGS),
            # A literal identifier makes the ARN known in advance: needed by the update guard.
            resource_identifier=str(ctx("taskResourceIdentifier")),
        )

        # PostgreSQL sources take a native start position (an LSN of the slot named in the
        # source endpoint's SlotName), not a start time; other engines may use cdcStartTime.
        cdc_start_position = str(ctx("cdcStartPosition"))
        cdc_start_time = str(ctx("cdcStartTime"))
        cdc_start = None
        if cdc_start_position:
            cdc_start = CdcStart.at_position(cdc_start_position)
        elif cdc_start_time:
            cdc_start = CdcStart.at_time(datetime.fromisoformat(cdc_start_time).replace(tzinfo=UTC))
        self.starter = ReplicationTaskStarter(
            self,
            "TaskStarter",
            task=task,
            cdc_start=cdc_start,
            wait_for=WaitFor.RUNNING,
            timeout=Duration.minutes(30),
        )

    def _postgres_endpoint(
        self,
        id: str,
        *,
        endpoint_type: str,
        database_name: str,
        secret_arn: str,
        secret_access_role: iam.IRole,
        slot_name: str | None = None,
    ) -> dms.CfnEndpoint:
        """A PostgreSQL endpoint over TLS whose credentials DMS reads from Secrets Manager."""
        return dms.CfnEndpoint(
            self,
            id,
            endpoint_type=endpoint_type,
            engine_name="postgres",
            database_name=database_name,
            ssl_mode="require",
            postgre_sql_settings=dms.CfnEndpoint.PostgreSqlSettingsProperty(
                secrets_manager_secret_id=secret_arn,
                secrets_manager_access_role_arn=secret_access_role.role_arn,
                slot_name=slot_name,
            ),
        )

    def _context(self, key: str) -> Any:  # noqa: ANN401 - context values are JSON
        value = self.node.try_get_context(key)
        if value is None:
            raise ValueError(f'context {key!r} is missing: set it in cdk.json ("context")')
        return value


app = App()
DmsMigrationStack(app, "DmsMigrationStack")
app.synth()
