"""Names and limits shared by the construct (synth time) and the handler (deploy time).

CloudFormation hands every resource property to the handler as a string, so the
construct renders each setting with the names and the textual forms defined here,
and the handler parses them back with the same definitions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

STARTER_RESOURCE_TYPE: Final = "Custom::DmsReplicationTaskStarter"
"""CloudFormation type of the resource that starts a task and waits for it."""

GUARD_RESOURCE_TYPE: Final = "Custom::DmsReplicationTaskUpdateGuard"
"""CloudFormation type of the resource that stops a task before CloudFormation modifies it."""


class Prop:
    """Resource property names (the keys of ``ResourceProperties``)."""

    TASK_ARN: Final = "ReplicationTaskArn"
    START_TYPE: Final = "StartReplicationTaskType"
    CDC_START_TIME: Final = "CdcStartTime"
    CDC_START_POSITION: Final = "CdcStartPosition"
    CDC_STOP_POSITION: Final = "CdcStopPosition"
    WAIT_FOR: Final = "WaitFor"
    ON_DELETE: Final = "OnDelete"
    TIMEOUT_SECONDS: Final = "TimeoutSeconds"
    CDC_HANDOVER: Final = "CdcHandover"
    TASK_DEFINITION_DIGEST: Final = "TaskDefinitionDigest"


class Attr:
    """Keys of the ``Data`` the resource returns, readable with ``Fn::GetAtt``."""

    TASK_ARN: Final = "ReplicationTaskArn"
    STATUS: Final = "Status"
    STOP_REASON: Final = "StopReason"
    START_DATE: Final = "ReplicationTaskStartDate"
    CDC_START_POSITION: Final = "CdcStartPosition"
    CDC_STOP_POSITION: Final = "CdcStopPosition"
    RECOVERY_CHECKPOINT: Final = "RecoveryCheckpoint"
    FULL_LOAD_PROGRESS_PERCENT: Final = "FullLoadProgressPercent"
    TABLES_LOADED: Final = "TablesLoaded"
    TABLES_ERRORED: Final = "TablesErrored"


class StartType(StrEnum):
    """``StartReplicationTaskType`` for a task that has run before.

    A task that never ran is always started with ``start-replication``, the only
    type DMS accepts for a first run.
    """

    RESUME_PROCESSING = "resume-processing"
    RELOAD_TARGET = "reload-target"


FIRST_RUN_START_TYPE: Final = "start-replication"


class WaitFor(StrEnum):
    """What the resource waits for before it reports success to CloudFormation."""

    RUNNING = "running"
    """The task runs (a full-load task that finished in the meantime counts too)."""
    FULL_LOAD_FINISHED = "full-load-finished"
    """The full load is finished (a full-load-and-cdc task then runs CDC)."""
    NOTHING = "nothing"
    """The start call was accepted; nothing is awaited."""


class OnDelete(StrEnum):
    """What happens to the task when the resource is deleted."""

    STOP = "stop"
    """Stop a running task and wait until it is stopped, so CloudFormation can delete it."""
    LEAVE_RUNNING = "leave-running"
    """Leave the task as it is."""


BOOLEAN_TRUE: Final = "true"
BOOLEAN_FALSE: Final = "false"

MIN_TIMEOUT_SECONDS: Final = 60
MAX_TIMEOUT_SECONDS: Final = 50 * 60
"""Upper bound of one resource's wait: CloudFormation gives up on a custom resource after 3600 s."""
DEFAULT_TIMEOUT_SECONDS: Final = 30 * 60

PROVIDER_TOTAL_TIMEOUT_SECONDS: Final = 55 * 60
"""The Provider framework's own deadline: above every resource's wait, below CloudFormation's hour,
so that the handler's message naming the task and its status is the one the console shows."""

MIN_POLL_INTERVAL_SECONDS: Final = 5
MAX_POLL_INTERVAL_SECONDS: Final = 300
DEFAULT_POLL_INTERVAL_SECONDS: Final = 10
