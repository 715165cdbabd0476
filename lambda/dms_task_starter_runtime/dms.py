"""The only module that calls AWS DMS.

The client retries throttling and 5xx answers itself (standard mode, 10 retries):
several starters polling one account's DMS API at once exhaust the runtime's default
of 3 attempts. Errors that retrying cannot fix become ``DmsCallError`` with a message
that names the task, because CloudFormation shows nothing else.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Final

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from dms_task_starter_runtime.decisions import truncate

if TYPE_CHECKING:
    from mypy_boto3_dms.client import DatabaseMigrationServiceClient
    from mypy_boto3_dms.type_defs import (
        ReplicationTaskTypeDef,
        StartReplicationTaskMessageTypeDef,
    )

    from dms_task_starter_runtime.decisions import StartParameters

CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 10},
    connect_timeout=5,
    read_timeout=20,
)
MAX_DMS_MESSAGE_CHARS: Final = 600
"""Keeps the failure CloudFormation shows to one readable paragraph."""
TASK_ARN_FILTER: Final = "replication-task-arn"
NOT_FOUND_CODE: Final = "ResourceNotFoundFault"
INVALID_STATE_CODE: Final = "InvalidResourceStateFault"
ERROR_EXPLANATIONS: Final = {
    "AccessDeniedFault": "this function is not allowed to do that",
    "AccessDenied": "this function is not allowed to do that",
    "AccessDeniedException": "this function is not allowed to do that",
    NOT_FOUND_CODE: "the task does not exist",
    INVALID_STATE_CODE: "the task is not in a state that allows it",
    "InvalidParameterValueException": "DMS rejected a parameter value",
    "InvalidParameterCombinationException": "DMS rejected the combination of parameters",
}


class DmsCallError(Exception):
    """A DMS call failed for a reason that retrying does not fix."""

    def __init__(self, operation: str, task_arn: str, error: ClientError) -> None:
        self.code = error.response.get("Error", {}).get("Code", "Unknown")
        dms_message = truncate(
            error.response.get("Error", {}).get("Message", str(error)), MAX_DMS_MESSAGE_CHARS
        )
        explanation = ERROR_EXPLANATIONS.get(self.code, "DMS returned an error")
        super().__init__(
            f"{operation} for replication task {task_arn} failed, {explanation}: "
            f"{self.code}: {dms_message}"
        )


@cache
def dms_client() -> DatabaseMigrationServiceClient:
    """The DMS client, created on first use and kept for the life of the Lambda sandbox.

    Created lazily so that it picks up ``AWS_ENDPOINT_URL_DATABASE_MIGRATION_SERVICE``
    set by tests and local runs; ``dms_client.cache_clear()`` makes a fresh one.
    """
    return boto3.client("dms", config=CLIENT_CONFIG)


def describe_task(task_arn: str) -> ReplicationTaskTypeDef | None:
    """Describe one task; None when it does not exist."""
    try:
        response = dms_client().describe_replication_tasks(
            Filters=[{"Name": TASK_ARN_FILTER, "Values": [task_arn]}],
            WithoutSettings=True,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == NOT_FOUND_CODE:
            return None
        raise DmsCallError("DescribeReplicationTasks", task_arn, error) from error
    tasks = response.get("ReplicationTasks", [])
    return tasks[0] if tasks else None


def start_task(parameters: StartParameters) -> ReplicationTaskTypeDef:
    """Start a task, passing only the CDC parameters that are set."""
    request: StartReplicationTaskMessageTypeDef = {
        "ReplicationTaskArn": parameters.task_arn,
        # The stubs list only the three documented types; FIRST_RUN_START_TYPE is one of them.
        "StartReplicationTaskType": parameters.start_type,  # type: ignore[typeddict-item]
    }
    if parameters.cdc_start_time is not None:
        request["CdcStartTime"] = parameters.cdc_start_time
    if parameters.cdc_start_position is not None:
        request["CdcStartPosition"] = parameters.cdc_start_position
    if parameters.cdc_stop_position is not None:
        request["CdcStopPosition"] = parameters.cdc_stop_position
    try:
        response = dms_client().start_replication_task(**request)
    except ClientError as error:
        raise DmsCallError("StartReplicationTask", parameters.task_arn, error) from error
    return response.get("ReplicationTask", {})


def stop_task(task_arn: str) -> ReplicationTaskTypeDef:
    """Stop a running task."""
    try:
        response = dms_client().stop_replication_task(ReplicationTaskArn=task_arn)
    except ClientError as error:
        raise DmsCallError("StopReplicationTask", task_arn, error) from error
    return response.get("ReplicationTask", {})
