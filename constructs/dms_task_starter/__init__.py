"""AWS CDK constructs that start AWS DMS replication tasks and Serverless replications."""

from dms_task_starter_runtime.contract import (
    MigrationType,
    OnAssessmentFailure,
    OnDelete,
    StartType,
    WaitFor,
)

from dms_task_starter.assessment import PremigrationAssessment
from dms_task_starter.cdc import CdcStart, CdcStop
from dms_task_starter.long_wait import LongWait
from dms_task_starter.metrics import ReplicationTaskMetrics
from dms_task_starter.provider import (
    POWERTOOLS_LAYER_VERSION,
    ReplicationTaskStarterProvider,
)
from dms_task_starter.replication import ReplicationStarter, replication_definition_digest
from dms_task_starter.starter import ReplicationTaskStarter, task_definition_digest

__all__ = [
    "POWERTOOLS_LAYER_VERSION",
    "CdcStart",
    "CdcStop",
    "LongWait",
    "MigrationType",
    "OnAssessmentFailure",
    "OnDelete",
    "PremigrationAssessment",
    "ReplicationStarter",
    "ReplicationTaskMetrics",
    "ReplicationTaskStarter",
    "ReplicationTaskStarterProvider",
    "StartType",
    "WaitFor",
    "replication_definition_digest",
    "task_definition_digest",
]
