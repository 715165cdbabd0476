#!/usr/bin/env python3
"""Integration test of ReplicationTaskStarter against real AWS DMS resources in your account.

A CDK integ-tests app (``aws_cdk.integ_tests_alpha.IntegTest``): the test stack defines a
``CfnReplicationTask`` on *existing* endpoints and replication instance (taken from CDK
context) and its ``ReplicationTaskStarter``; the assertion stack calls
``DescribeReplicationTasks`` and expects the task to be ``running``.

Two phases, selected with the context key ``integ:phase``:

- ``initial`` (default): create the task; the starter starts it.
- ``update``: the same stack with a new CDC stop position for the starter. CloudFormation
  updates the starter, which must stop the running task and start it again with that stop
  position; the assertion then also expects the task's ``CdcStopPosition`` to be the new one.
  DMS only takes a stop position on a start call and refuses to start a running task, so a
  running task reporting it was stopped and restarted by this update.

Context keys (``--context key=value``); without them, obviously fake placeholder ARNs in the
documentation account 123456789012 are used so that the app synthesizes offline:

- ``integ:sourceEndpointArn``, ``integ:targetEndpointArn``: existing DMS endpoint ARNs.
- ``integ:replicationInstanceArn``: existing replication instance ARN.
- ``integ:replicationInstanceIdentifier`` (optional): that instance's identifier (its name);
  when given, a CloudWatch alarm on the task's CDC target latency is created too.
- ``integ:taskResourceIdentifier`` (default ``dms-task-starter-integ``): the task's
  resource identifier (the end of its ARN).
- ``integ:migrationType`` (default ``cdc``): ``cdc`` or ``full-load-and-cdc``.
- ``integ:schemaName`` (default ``public``): the source schema whose tables are replicated.
- ``integ:phase`` (default ``initial``): ``initial`` or ``update``.

See integ/README.md for how to deploy it, what it costs and how to destroy it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from aws_cdk import App, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dms as dms
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest
from dms_task_starter import CdcStop, OnDelete, ReplicationTaskStarter, WaitFor
from dms_task_starter.metrics import ReplicationTaskMetrics

if TYPE_CHECKING:
    from constructs import Construct

CONTEXT_PREFIX: Final = "integ:"
PLACEHOLDER_ACCOUNT_ARN: Final = "arn:aws:dms:us-east-1:123456789012"
PLACEHOLDERS: Final = {
    "sourceEndpointArn": f"{PLACEHOLDER_ACCOUNT_ARN}:endpoint:PLACEHOLDERSOURCEENDPOINT",
    "targetEndpointArn": f"{PLACEHOLDER_ACCOUNT_ARN}:endpoint:PLACEHOLDERTARGETENDPOINT",
    "replicationInstanceArn": f"{PLACEHOLDER_ACCOUNT_ARN}:rep:PLACEHOLDERINSTANCE",
}
DEFAULTS: Final = {
    "taskResourceIdentifier": "dms-task-starter-integ",
    "migrationType": "cdc",
    "schemaName": "public",
    "phase": "initial",
}
PHASES: Final = ("initial", "update")
MIGRATION_TYPES: Final = ("cdc", "full-load-and-cdc")

UPDATE_CDC_STOP: Final = CdcStop.at_server_time(datetime(2099, 1, 1, tzinfo=UTC))
"""The start setting the ``update`` phase changes: far enough away never to stop the test."""

STACK_NAME: Final = "DmsTaskStarterIntegStack"
TEST_NAME: Final = "DmsTaskStarterInteg"
LATENCY_ALARM_SECONDS: Final = 600
LATENCY_ALARM_PERIODS: Final = 3


@dataclass(frozen=True)
class IntegSettings:
    """What the test runs against, read from CDK context."""

    source_endpoint_arn: str
    target_endpoint_arn: str
    replication_instance_arn: str
    replication_instance_identifier: str | None
    task_resource_identifier: str
    migration_type: str
    schema_name: str
    phase: str

    @classmethod
    def from_context(cls, scope: Construct) -> IntegSettings:
        def get(key: str) -> str | None:
            value = scope.node.try_get_context(CONTEXT_PREFIX + key)
            return None if value in (None, "") else str(value)

        def get_or(key: str, fallback: str) -> str:
            value = get(key)
            return fallback if value is None else value

        settings = cls(
            source_endpoint_arn=get_or("sourceEndpointArn", PLACEHOLDERS["sourceEndpointArn"]),
            target_endpoint_arn=get_or("targetEndpointArn", PLACEHOLDERS["targetEndpointArn"]),
            replication_instance_arn=get_or(
                "replicationInstanceArn", PLACEHOLDERS["replicationInstanceArn"]
            ),
            replication_instance_identifier=get("replicationInstanceIdentifier"),
            task_resource_identifier=get_or(
                "taskResourceIdentifier", DEFAULTS["taskResourceIdentifier"]
            ),
            migration_type=get_or("migrationType", DEFAULTS["migrationType"]),
            schema_name=get_or("schemaName", DEFAULTS["schemaName"]),
            phase=get_or("phase", DEFAULTS["phase"]),
        )
        if settings.phase not in PHASES:
            raise ValueError(f"context integ:phase: {settings.phase!r} is not one of {PHASES}")
        if settings.migration_type not in MIGRATION_TYPES:
            raise ValueError(
                f"context integ:migrationType: {settings.migration_type!r} is not one of "
                f"{MIGRATION_TYPES}"
            )
        return settings


def table_mappings(schema_name: str) -> dict[str, Any]:
    """Replicate every table of ``schema_name``."""
    return {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "integ-include-schema",
                "object-locator": {"schema-name": schema_name, "table-name": "%"},
                "rule-action": "include",
            }
        ]
    }


class TaskStarterIntegStack(Stack):
    """The task under test and its starter (plus a latency alarm when the instance is named)."""

    def __init__(self, scope: Construct, id: str, *, settings: IntegSettings) -> None:
        super().__init__(scope, id, description="Integration test of cdk-dms-task-starter")
        self.task = dms.CfnReplicationTask(
            self,
            "Task",
            migration_type=settings.migration_type,
            replication_instance_arn=settings.replication_instance_arn,
            source_endpoint_arn=settings.source_endpoint_arn,
            target_endpoint_arn=settings.target_endpoint_arn,
            table_mappings=json.dumps(table_mappings(settings.schema_name)),
            # A literal identifier: the task's ARN is known in advance, so the update guard
            # is on (and the test exercises it).
            resource_identifier=settings.task_resource_identifier,
        )
        self.starter = ReplicationTaskStarter(
            self,
            "Starter",
            task=self.task,
            cdc_stop=UPDATE_CDC_STOP if settings.phase == "update" else None,
            wait_for=WaitFor.RUNNING,
            on_delete=OnDelete.STOP,
            timeout=Duration.minutes(30),
        )
        if settings.replication_instance_identifier is not None:
            metrics = ReplicationTaskMetrics.for_task(
                self.task, replication_instance=settings.replication_instance_identifier
            )
            metrics.metric_cdc_latency_target().create_alarm(
                self,
                "CdcLatencyTargetAlarm",
                alarm_description="CDC latency at the target above 10 minutes for 15 minutes",
                threshold=LATENCY_ALARM_SECONDS,
                evaluation_periods=LATENCY_ALARM_PERIODS,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        CfnOutput(self, "Phase", value=settings.phase)
        CfnOutput(self, "TaskArn", value=self.task.ref)
        CfnOutput(self, "TaskStatus", value=self.starter.status)
        # Compare it between the phases: the update phase restarts the task.
        CfnOutput(self, "TaskStartDate", value=self.starter.start_date)


def expected_task(stack: TaskStarterIntegStack, phase: str) -> dict[str, str]:
    """What DescribeReplicationTasks must report for the task after the phase's deployment."""
    expected = {"ReplicationTaskArn": stack.task.ref, "Status": "running"}
    if phase == "update":
        expected["CdcStopPosition"] = UPDATE_CDC_STOP.value
    return expected


def build(app: App) -> IntegTest:
    """The test stack, the integ test and its assertions."""
    settings = IntegSettings.from_context(app)
    stack = TaskStarterIntegStack(app, STACK_NAME, settings=settings)
    integ = IntegTest(
        app,
        TEST_NAME,
        test_cases=[stack],
        # Both phases are explicit deployments (integ:phase); no snapshot-based update run.
        stack_update_workflow=False,
    )
    integ.assertions.aws_api_call(
        "DMS",
        "describeReplicationTasks",
        {
            "Filters": [{"Name": "replication-task-arn", "Values": [stack.task.ref]}],
            "WithoutSettings": True,
        },
    ).expect(
        ExpectedResult.object_like({"ReplicationTasks": [expected_task(stack, settings.phase)]})
    ).wait_for_assertions(total_timeout=Duration.minutes(10), interval=Duration.seconds(30))
    return integ


if __name__ == "__main__":
    application = App()
    build(application)
    application.synth()
