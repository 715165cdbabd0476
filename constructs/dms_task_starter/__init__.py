"""AWS CDK constructs that start AWS DMS replication tasks from CloudFormation."""

from dms_task_starter_runtime.contract import OnDelete, StartType, WaitFor

from dms_task_starter.provider import (
    POWERTOOLS_LAYER_VERSION,
    ReplicationTaskStarterProvider,
)
from dms_task_starter.starter import (
    CdcStart,
    CdcStop,
    ReplicationTaskStarter,
    task_definition_digest,
)

__all__ = [
    "POWERTOOLS_LAYER_VERSION",
    "CdcStart",
    "CdcStop",
    "OnDelete",
    "ReplicationTaskStarter",
    "ReplicationTaskStarterProvider",
    "StartType",
    "WaitFor",
    "task_definition_digest",
]
