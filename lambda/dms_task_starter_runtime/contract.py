"""Names and limits shared by the construct (synth time) and the handler (deploy time).

CloudFormation hands every resource property to the handler as a string, so the
construct renders each setting with the names and the textual forms defined here,
and the handler parses them back with the same definitions.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Final

SERVICE_NAME: Final = "dms-task-starter"
"""Powertools' service name: every log line of the provider's functions carries it."""
STARTER_RESOURCE_TYPE: Final = "Custom::DmsReplicationTaskStarter"
"""CloudFormation type of the resource that starts a task and waits for it."""

GUARD_RESOURCE_TYPE: Final = "Custom::DmsReplicationTaskUpdateGuard"
"""CloudFormation type of the resource that stops a task before CloudFormation modifies it."""

ROLLBACK_GUARD_RESOURCE_TYPE: Final = "Custom::DmsReplicationTaskRollbackGuard"
"""CloudFormation type of the per-stack resource that stops guarded tasks before a rollback
modifies them back (it keeps its physical id, so CloudFormation sends it the rollback Update)."""

REPLICATION_STARTER_RESOURCE_TYPE: Final = "Custom::DmsReplicationStarter"
"""CloudFormation type of the resource that starts a DMS Serverless replication."""

LONG_WAIT_RESOURCE_TYPE: Final = "Custom::DmsLongWait"
"""CloudFormation type of the resource that starts the stack's long-wait state machine for
one starter's wait condition (``long_wait``): the execution signals the wait condition."""

STACK_TAG_KEY: Final = "dms-task-starter:stack"
"""Tag the handler puts (by API) on a task or replication configuration its stack does not
own: one given by ARN, or of another stack. Its value is the stack id; the handler role may
start and stop what carries its stack's tag."""

CLOUDFORMATION_STACK_TAG_KEY: Final = "aws:cloudformation:stack-id"
"""The system tag CloudFormation itself puts on every resource it creates (the resource
schemas of tasks and configurations say ``cloudFormationSystemTags: true``): the stack's id.
The handler role may start and stop what its own stack created, without a template tag."""


class Kind(Enum):
    """What a starter starts: a replication task or a DMS Serverless replication."""

    TASK = "task"
    REPLICATION = "replication"

    @property
    def noun(self) -> str:
        """How messages name one of these."""
        return "Replication task" if self is Kind.TASK else "Serverless replication"

    @property
    def arn_prop(self) -> str:
        """The resource property that holds the ARN."""
        return Prop.TASK_ARN if self is Kind.TASK else Prop.CONFIG_ARN

    @property
    def arn_attr(self) -> str:
        """The attribute the resource reports the ARN as."""
        return Attr.TASK_ARN if self is Kind.TASK else Attr.CONFIG_ARN

    @property
    def start_type_prop(self) -> str:
        """The resource property (and DMS parameter) that holds the start type."""
        return Prop.START_TYPE if self is Kind.TASK else Prop.REPLICATION_START_TYPE


class Prop:
    """Resource property names (the keys of ``ResourceProperties``)."""

    TASK_ARN: Final = "ReplicationTaskArn"
    CONFIG_ARN: Final = "ReplicationConfigArn"
    START_TYPE: Final = "StartReplicationTaskType"
    REPLICATION_START_TYPE: Final = "StartReplicationType"
    CDC_START_TIME: Final = "CdcStartTime"
    CDC_START_POSITION: Final = "CdcStartPosition"
    CDC_STOP_POSITION: Final = "CdcStopPosition"
    WAIT_FOR: Final = "WaitFor"
    ON_DELETE: Final = "OnDelete"
    TIMEOUT_SECONDS: Final = "TimeoutSeconds"
    CDC_HANDOVER: Final = "CdcHandover"
    TASK_DEFINITION_DIGEST: Final = "TaskDefinitionDigest"
    MIGRATION_TYPE: Final = "MigrationType"
    """The task's migration type as the template gives it: checked before any DMS call."""
    TAG_RESOURCE: Final = "TagResource"
    """``true`` for a task (configuration) the stack does not tag: given by ARN, or of
    another stack. The handler tags it with the stack's tag."""
    UPDATE_GUARD: Final = "UpdateGuard"
    """Starter of a guarded task: its update guard's physical id (``Ref``), which names the
    run the guard stopped in this update. A change of it alone (an endpoint of the stack the
    task uses changed) resumes only that run, at its checkpoint."""
    BASE_CONFIG_IDENTIFIER: Final = "BaseConfigIdentifier"
    """``ReplicationStarter`` with ``replace_on_change``: the configuration's identifier before
    the digest suffix. On Create, a configuration of the stack with this identifier whose
    replication ran is the one the new configuration replaces: its CDC is handed over."""
    TEST_CONNECTIONS: Final = "TestConnections"
    """``true``: before a task's first start, test both endpoints' connections from its
    replication instance and start only once both succeed (absent: no test)."""
    ASSESSMENT_ON_FAILURE: Final = "AssessmentOnFailure"
    """Set (``OnAssessmentFailure``): a premigration assessment gates the first start; its
    value says what a failed assessment does. The ``Assessment*`` properties below go with it."""
    ASSESSMENT_ROLE_ARN: Final = "AssessmentRoleArn"
    """Task: the role DMS assumes to write the results (``ServiceAccessRoleArn``)."""
    ASSESSMENT_BUCKET: Final = "AssessmentBucket"
    """Task: the S3 bucket of the results (``ResultLocationBucket``)."""
    ASSESSMENT_FOLDER: Final = "AssessmentFolder"
    ASSESSMENT_INCLUDE_ONLY: Final = "AssessmentIncludeOnly"
    """Comma-separated names of the individual assessments to run (absent: DMS's default)."""
    ASSESSMENT_EXCLUDE: Final = "AssessmentExclude"
    """Comma-separated names of individual assessments to leave out of DMS's default set."""
    SOURCE_ENDPOINT_ARN: Final = "SourceEndpointArn"
    TARGET_ENDPOINT_ARN: Final = "TargetEndpointArn"
    REPLICATION_INSTANCE_ARN: Final = "ReplicationInstanceArn"
    GUARDED_TASKS: Final = "GuardedTasks"
    """Rollback guard: a JSON object of guarded task resource identifier to definition digest."""
    GUARDED_REPLICATIONS: Final = "GuardedReplications"
    """Rollback guard: a JSON object of guarded replication config resource identifier to the
    digest of the endpoints of the stack it uses (absent when there is none)."""
    UNTIL: Final = "Until"
    """Long wait: what the wait condition waits for (``WaitFor.RUNNING`` or
    ``WaitFor.FULL_LOAD_FINISHED``). The long wait's task or configuration is in
    ``ReplicationTaskArn`` or ``ReplicationConfigArn``, as for a starter."""
    MAXIMUM_SECONDS: Final = "MaximumSeconds"
    """Long wait: how long the signaller waits for the target before it signals FAILURE."""
    WAIT_HANDLE: Final = "WaitHandle"
    """Long wait: the logical id of the wait condition handle. Not its presigned URL (its
    ``Ref``, a credential): the Provider framework logs every request's properties. The
    handler reads the URL (the handle's physical id) with ``DescribeStackResource``."""


TASK_CREATE_ONLY_PROPS: Final = (
    Prop.MIGRATION_TYPE,
    Prop.REPLICATION_INSTANCE_ARN,
    Prop.SOURCE_ENDPOINT_ARN,
    Prop.TARGET_ENDPOINT_ARN,
)
"""The create-only properties of ``AWS::DMS::ReplicationTask`` (its resource schema) besides
``ResourceIdentifier``: the update guard carries them, to refuse a replacement that would
keep the literal identifier."""


class Attr:
    """Keys of the ``Data`` the resource returns, readable with ``Fn::GetAtt``."""

    TASK_ARN: Final = "ReplicationTaskArn"
    CONFIG_ARN: Final = "ReplicationConfigArn"
    STATUS: Final = "Status"
    STOP_REASON: Final = "StopReason"
    START_DATE: Final = "ReplicationTaskStartDate"
    CDC_START_POSITION: Final = "CdcStartPosition"
    CDC_STOP_POSITION: Final = "CdcStopPosition"
    RECOVERY_CHECKPOINT: Final = "RecoveryCheckpoint"
    FULL_LOAD_PROGRESS_PERCENT: Final = "FullLoadProgressPercent"
    TABLES_LOADED: Final = "TablesLoaded"
    TABLES_ERRORED: Final = "TablesErrored"
    PROVISION_STATE: Final = "ProvisionState"
    ASSESSMENT_RUN_ARN: Final = "AssessmentRunArn"
    """With a premigration assessment: the ARN of the run that gated the first start."""
    ASSESSMENT_RUN_STATUS: Final = "AssessmentRunStatus"


class StartType(StrEnum):
    """``StartReplicationTaskType`` for a task that has run before.

    A task that never ran is always started with ``start-replication``, the only
    type DMS accepts for a first run.
    """

    RESUME_PROCESSING = "resume-processing"
    """Continue from the task's last checkpoint (or from a given CDC start position)."""
    RELOAD_TARGET = "reload-target"
    """Reload every table, then capture changes again."""


FIRST_RUN_START_TYPE: Final = "start-replication"


class MigrationType(StrEnum):
    """``MigrationType`` of a task (``ReplicationType`` of a Serverless replication)."""

    FULL_LOAD = "full-load"
    """Copy the tables once, then stop."""
    CDC = "cdc"
    """Capture changes only."""
    FULL_LOAD_AND_CDC = "full-load-and-cdc"
    """Copy the tables, then capture changes."""


class WaitFor(StrEnum):
    """What the resource waits for before it reports success to CloudFormation."""

    RUNNING = "running"
    """The task runs (a task that finished what it was configured to do counts too)."""
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


class OnAssessmentFailure(StrEnum):
    """What a premigration assessment that fails does to the deployment."""

    FAIL = "fail"
    """Fail the deployment: nothing is started (CloudFormation rolls back)."""
    WARN = "warn"
    """Log a warning naming the failed assessments, and start all the same."""


BOOLEAN_TRUE: Final = "true"
BOOLEAN_FALSE: Final = "false"

MIN_TIMEOUT_SECONDS: Final = 60
MAX_TIMEOUT_SECONDS: Final = 50 * 60
"""Upper bound of one resource's wait: CloudFormation gives up on a custom resource after 3600 s.
Deletes, rollbacks and guards always wait this long, whatever the starter's ``timeout``."""
DEFAULT_TIMEOUT_SECONDS: Final = 30 * 60

PROVIDER_TOTAL_TIMEOUT_SECONDS: Final = 55 * 60
"""The Provider framework's own deadline: above every resource's wait, below CloudFormation's hour,
so that the handler's message naming the task and its status is the one the console shows."""

MIN_POLL_INTERVAL_SECONDS: Final = 5
MAX_POLL_INTERVAL_SECONDS: Final = 300
DEFAULT_POLL_INTERVAL_SECONDS: Final = 10

# -- time: the AWS client's retry budget inside the function's timeout ----------------------

CLIENT_MAX_ATTEMPTS: Final = 11
"""Attempts of one AWS call, the first included (botocore standard mode): several starters
polling one account's DMS API at once exhaust the runtime's default of 3 under throttling."""
CLIENT_CONNECT_TIMEOUT_SECONDS: Final = 5
CLIENT_READ_TIMEOUT_SECONDS: Final = 20
CLIENT_MAX_BACKOFF_SECONDS: Final = 20
"""botocore standard mode waits at most 20 s between two attempts."""
CALL_BUDGET_SECONDS: Final = (
    CLIENT_MAX_ATTEMPTS * (CLIENT_CONNECT_TIMEOUT_SECONDS + CLIENT_READ_TIMEOUT_SECONDS)
    + (CLIENT_MAX_ATTEMPTS - 1) * CLIENT_MAX_BACKOFF_SECONDS
)
"""The longest one AWS call can take with every retry: every attempt times out, every
back-off is the longest. A call is made only while this much time (and the margin) is left."""
HANDLER_MARGIN_SECONDS: Final = 30
"""Time kept for the handler's own work after its last call (decide, log, answer)."""
HANDLER_TIMEOUT_SECONDS: Final = 900
"""The Lambda timeout of ``on_event`` and ``is_complete`` (Lambda's longest): one call's whole
retry budget and the margin fit in it, so a slow or throttled DMS never makes the function
time out; a call that would not fit is not made, and ``is_complete`` leaves it to the next
poll."""
IAM_PROPAGATION_SECONDS: Final = 5 * 60
"""How long after a request began an AccessDenied is taken for a grant the deployment just
made that IAM has not propagated yet: ``is_complete`` tries again on the next poll."""

# -- long waits: a wait condition signalled by a state machine ------------------------------

LONG_WAIT_CHECK_INTERVAL_SECONDS: Final = 60
"""How often the long-wait state machine invokes the signaller, which reads the task once
and logs its progress: the console shows a new line at least this often."""
MIN_LONG_WAIT_SECONDS: Final = 60
WAIT_CONDITION_MAX_TIMEOUT_SECONDS: Final = 12 * 3600
"""CloudFormation's limit of a wait condition's ``Timeout``: 12 hours."""
MAX_LONG_WAIT_SECONDS: Final = WAIT_CONDITION_MAX_TIMEOUT_SECONDS
"""The longest ``LongWait.maximum``."""
LONG_WAIT_MARGIN_SECONDS: Final = 2 * LONG_WAIT_CHECK_INTERVAL_SECONDS + 120
"""What the wait condition's ``Timeout`` adds to the maximum: two check intervals and two
minutes for the custom resource's answer and the signaller's last invocation, so that the
signaller's FAILURE (naming the task's status) comes before CloudFormation's bare timeout."""
LONG_WAIT_EXECUTION_TIMEOUT_SECONDS: Final = WAIT_CONDITION_MAX_TIMEOUT_SECONDS + 3600
"""The state machine's own limit: no execution outlives the longest wait condition."""
STATE_MACHINE_ARN_ENV: Final = "LONG_WAIT_STATE_MACHINE_ARN"
"""The provider function's environment variable that holds the long-wait state machine's
ARN (set only in stacks where a starter uses ``long_wait``)."""


def long_wait_deadline_seconds(maximum_seconds: int) -> int:
    """How long after its start the signaller signals FAILURE: the maximum, capped so that
    the signal comes before the wait condition's ``Timeout`` (at most 12 hours) runs out."""
    return min(maximum_seconds, WAIT_CONDITION_MAX_TIMEOUT_SECONDS - LONG_WAIT_MARGIN_SECONDS)


def wait_condition_timeout_seconds(maximum_seconds: int) -> int:
    """The wait condition's ``Timeout``: the (capped) maximum and the margin."""
    return long_wait_deadline_seconds(maximum_seconds) + LONG_WAIT_MARGIN_SECONDS


class LongWaitInput:
    """Keys of a long-wait execution's input, which the state machine hands to the signaller
    on every check (the URL is there only, never in the definition, a log or an output)."""

    KIND: Final = "kind"
    ARN: Final = "arn"
    UNTIL: Final = "until"
    DEADLINE: Final = "deadline"
    """Epoch seconds: the signaller signals FAILURE from then on."""
    MAXIMUM_SECONDS: Final = "maximumSeconds"
    """The maximum as the user gave it, for the FAILURE message."""
    URL: Final = "url"
    CHECK: Final = "check"
    """Where the state machine puts each check's result (``{"done": bool}``)."""
    DONE: Final = "done"
