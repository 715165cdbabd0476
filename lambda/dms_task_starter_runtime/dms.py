"""The only module that calls AWS DMS.

The client retries throttling and 5xx answers itself (standard mode, ``contract``'s
attempts and timeouts): several starters polling one account's DMS API at once exhaust
the runtime's default of 3 attempts. No call is made unless its whole retry budget fits
in the time the Lambda function has left (else ``OutOfTime``). Errors that retrying cannot
fix become ``DmsCallError`` with a message that names the task, because CloudFormation
shows nothing else.
"""

from __future__ import annotations

from functools import cache, partial
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dms_task_starter_runtime.contract import (
    CALL_BUDGET_SECONDS,
    CLIENT_CONNECT_TIMEOUT_SECONDS,
    CLIENT_MAX_ATTEMPTS,
    CLIENT_READ_TIMEOUT_SECONDS,
    HANDLER_MARGIN_SECONDS,
    Kind,
)
from dms_task_starter_runtime.state import State, replication_state, task_state
from dms_task_starter_runtime.text import MAX_DMS_MESSAGE_CHARS, truncate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from mypy_boto3_dms.client import DatabaseMigrationServiceClient
    from mypy_boto3_dms.type_defs import (
        ConnectionTypeDef,
        FilterTypeDef,
        ReplicationConfigTypeDef,
        ReplicationTaskAssessmentRunTypeDef,
        ReplicationTaskIndividualAssessmentTypeDef,
        ReplicationTaskTypeDef,
        ReplicationTypeDef,
        StartReplicationMessageTypeDef,
        StartReplicationTaskAssessmentRunMessageTypeDef,
        StartReplicationTaskMessageTypeDef,
    )

CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "total_max_attempts": CLIENT_MAX_ATTEMPTS},
    connect_timeout=CLIENT_CONNECT_TIMEOUT_SECONDS,
    read_timeout=CLIENT_READ_TIMEOUT_SECONDS,
)
TASK_ARN_FILTER: Final = "replication-task-arn"
CONFIG_ARN_FILTER: Final = "replication-config-arn"
CONFIG_ID_FILTER: Final = "replication-config-id"
NOT_FOUND_CODE: Final = "ResourceNotFoundFault"
INVALID_STATE_CODE: Final = "InvalidResourceStateFault"
INVALID_COMBINATION_CODE: Final = "InvalidParameterCombinationException"
NO_ANSWER_CODE: Final = "NoAnswer"
"""The code of a call that got no HTTP answer at all (connection or read timeout)."""
OUT_OF_TIME_CODE: Final = "OutOfTime"
"""The code of a call not made: the function had less time left than its retry budget."""
TRANSIENT_CODES: Final = frozenset(
    {"ThrottlingException", "Throttling", "RequestLimitExceeded", NO_ANSWER_CODE, OUT_OF_TIME_CODE}
)
ACCESS_DENIED_CODES: Final = frozenset(
    {"AccessDeniedFault", "AccessDenied", "AccessDeniedException"}
)
CALL_RESERVE_MILLIS: Final = (CALL_BUDGET_SECONDS + HANDLER_MARGIN_SECONDS) * 1000
"""A call is made only while the function has this much time left."""
UNLIMITED_MILLIS: Final = 2**62
ERROR_EXPLANATIONS: Final = {
    "AccessDeniedFault": "this function is not allowed to do that",
    "AccessDenied": "this function is not allowed to do that",
    "AccessDeniedException": "this function is not allowed to do that",
    NOT_FOUND_CODE: "it does not exist",
    INVALID_STATE_CODE: "it is not in a state that allows it",
    "InvalidParameterValueException": "DMS rejected a parameter value",
    INVALID_COMBINATION_CODE: "DMS rejected the combination of parameters",
    NO_ANSWER_CODE: "DMS did not answer",
    OUT_OF_TIME_CODE: "the function had too little time left to make the call",
}


class DmsCallError(Exception):
    """A DMS call failed for a reason that retrying does not fix (or retries ran out)."""

    def __init__(self, operation: str, arn: str, code: str, message: str, status: int) -> None:
        self.code = code
        self.status = status
        explanation = ERROR_EXPLANATIONS.get(code, "DMS returned an error")
        super().__init__(
            f"{operation} for {arn} failed, {explanation}: {code}: "
            f"{truncate(message, MAX_DMS_MESSAGE_CHARS)}"
        )

    @property
    def answer_unknown(self) -> bool:
        """Whether DMS may have carried the call out although the caller saw a failure."""
        return self.code in TRANSIENT_CODES or self.status >= 500

    @property
    def access_denied(self) -> bool:
        """Whether IAM refused the call (a grant just made may not have propagated yet)."""
        return self.code in ACCESS_DENIED_CODES


class _TimeLeft:
    """The time the running Lambda invocation has left, in milliseconds (the handler sets the
    Lambda context's ``get_remaining_time_in_millis``; outside Lambda, unlimited)."""

    remaining_millis: Callable[[], int] = staticmethod(lambda: UNLIMITED_MILLIS)


def use_remaining_time(remaining_millis: Callable[[], int]) -> None:
    """Measure every later call against ``remaining_millis`` (the invocation's context)."""
    _TimeLeft.remaining_millis = staticmethod(remaining_millis)


def check_time_left(operation: str, arn: str) -> None:
    """Raise ``DmsCallError`` (``OutOfTime``) unless a call's whole retry budget still fits."""
    left = _TimeLeft.remaining_millis()
    if left < CALL_RESERVE_MILLIS:
        raise DmsCallError(
            operation,
            arn,
            OUT_OF_TIME_CODE,
            f"{left // 1000} s left, a call may take {CALL_BUDGET_SECONDS} s with its retries",
            0,
        )


def _call(operation: str, arn: str, call: Callable[[], Any]) -> Any:  # noqa: ANN401 - boto3
    """Make one DMS call; every failure becomes a ``DmsCallError`` naming ``arn``."""
    check_time_left(operation, arn)
    try:
        return call()
    except ClientError as error:
        details = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        raise DmsCallError(
            operation,
            arn,
            details.get("Code", "Unknown"),
            details.get("Message", str(error)),
            status,
        ) from error
    except BotoCoreError as error:
        raise DmsCallError(operation, arn, NO_ANSWER_CODE, str(error), 0) from error


@cache
def dms_client() -> DatabaseMigrationServiceClient:
    """The DMS client, created on first use and kept for the life of the Lambda sandbox.

    Created lazily so that it picks up ``AWS_ENDPOINT_URL_DATABASE_MIGRATION_SERVICE``
    set by tests and local runs; ``dms_client.cache_clear()`` makes a fresh one.
    """
    return boto3.client("dms", config=CLIENT_CONFIG)


def _absent_when_not_found(operation: str, arn: str, call: Callable[[], Any]) -> Any:  # noqa: ANN401
    try:
        return _call(operation, arn, call)
    except DmsCallError as error:
        if error.code == NOT_FOUND_CODE:
            return None
        raise


def describe_task(task_arn: str) -> ReplicationTaskTypeDef | None:
    """Describe one task; None when it does not exist."""
    response = _absent_when_not_found(
        "DescribeReplicationTasks",
        task_arn,
        lambda: dms_client().describe_replication_tasks(
            Filters=[{"Name": TASK_ARN_FILTER, "Values": [task_arn]}], WithoutSettings=True
        ),
    )
    tasks: list[ReplicationTaskTypeDef] = [] if response is None else response["ReplicationTasks"]
    return tasks[0] if tasks else None


def describe_replication(
    config: str, filter_name: str = CONFIG_ARN_FILTER
) -> ReplicationTypeDef | None:
    """Describe the Serverless replication of a configuration (by ARN, or by identifier with
    ``CONFIG_ID_FILTER``); None when DMS lists none."""
    response = _absent_when_not_found(
        "DescribeReplications",
        config,
        lambda: dms_client().describe_replications(
            Filters=[{"Name": filter_name, "Values": [config]}]
        ),
    )
    replications: list[ReplicationTypeDef] = (
        [] if response is None else response.get("Replications", [])
    )
    return replications[0] if replications else None


def read_listed(kind: Kind, arn: str) -> State | None:
    """A task, or the Serverless replication of a configuration, as DMS lists it now; None
    when DMS lists none."""
    if kind is Kind.TASK:
        task = describe_task(arn)
        return None if task is None else task_state(task)
    replication = describe_replication(arn)
    return None if replication is None else replication_state(replication)


def describe_replication_config(config_arn: str) -> ReplicationConfigTypeDef | None:
    """Describe a Serverless replication configuration; None when it does not exist."""
    response = _absent_when_not_found(
        "DescribeReplicationConfigs",
        config_arn,
        lambda: dms_client().describe_replication_configs(
            Filters=[{"Name": CONFIG_ARN_FILTER, "Values": [config_arn]}]
        ),
    )
    configs: list[ReplicationConfigTypeDef] = (
        [] if response is None else response.get("ReplicationConfigs", [])
    )
    return configs[0] if configs else None


def start_task(request: StartReplicationTaskMessageTypeDef) -> ReplicationTaskTypeDef:
    """Start a task."""
    arn = request["ReplicationTaskArn"]
    response = _call(
        "StartReplicationTask", arn, lambda: dms_client().start_replication_task(**request)
    )
    task: ReplicationTaskTypeDef = response.get("ReplicationTask", {})
    return task


def stop_task(task_arn: str) -> ReplicationTaskTypeDef:
    """Stop a running task."""
    response = _call(
        "StopReplicationTask",
        task_arn,
        lambda: dms_client().stop_replication_task(ReplicationTaskArn=task_arn),
    )
    task: ReplicationTaskTypeDef = response.get("ReplicationTask", {})
    return task


def start_replication(request: StartReplicationMessageTypeDef) -> ReplicationTypeDef:
    """Start a Serverless replication."""
    arn = request["ReplicationConfigArn"]
    response = _call("StartReplication", arn, lambda: dms_client().start_replication(**request))
    replication: ReplicationTypeDef = response.get("Replication", {})
    return replication


def stop_replication(config_arn: str) -> ReplicationTypeDef:
    """Stop a running Serverless replication."""
    response = _call(
        "StopReplication",
        config_arn,
        lambda: dms_client().stop_replication(ReplicationConfigArn=config_arn),
    )
    replication: ReplicationTypeDef = response.get("Replication", {})
    return replication


def tag(arn: str, key: str, value: str) -> None:
    """Add (or overwrite) one tag of a task or replication configuration."""
    _call(
        "AddTagsToResource",
        arn,
        lambda: dms_client().add_tags_to_resource(
            ResourceArn=arn, Tags=[{"Key": key, "Value": value}]
        ),
    )


ENDPOINT_ARN_FILTER: Final = "endpoint-arn"
INSTANCE_ARN_FILTER: Final = "replication-instance-arn"


def describe_connections(
    endpoint_arns: Sequence[str], instance_arn: str | None = None
) -> list[ConnectionTypeDef]:
    """The connections of ``endpoint_arns`` (from the replication instance ``instance_arn``
    only, when given: the filters are ANDed; at most 2 endpoints, well below a page)."""
    if not endpoint_arns:
        return []
    filters: list[FilterTypeDef] = [{"Name": ENDPOINT_ARN_FILTER, "Values": list(endpoint_arns)}]
    if instance_arn is not None:
        filters.append({"Name": INSTANCE_ARN_FILTER, "Values": [instance_arn]})
    response = _call(
        "DescribeConnections",
        ", ".join(endpoint_arns),
        lambda: dms_client().describe_connections(Filters=filters),
    )
    connections: list[ConnectionTypeDef] = response.get("Connections", [])
    return connections


def begin_connection_test(instance_arn: str, endpoint_arn: str) -> None:
    """Begin the test of the connection of ``endpoint_arn`` from ``instance_arn``: DMS answers
    at once with the connection ``testing``; DescribeConnections gives the result."""
    _call(
        "TestConnection",
        endpoint_arn,
        lambda: dms_client().test_connection(
            ReplicationInstanceArn=instance_arn, EndpointArn=endpoint_arn
        ),
    )


def tags_of(arn: str) -> dict[str, str]:
    """The tags of a task or replication configuration (CloudFormation's system tags too)."""
    response = _call(
        "ListTagsForResource", arn, lambda: dms_client().list_tags_for_resource(ResourceArn=arn)
    )
    return {tag["Key"]: tag.get("Value", "") for tag in response.get("TagList", []) if "Key" in tag}


ASSESSMENT_TASK_FILTER: Final = "replication-task-arn"
ASSESSMENT_RUN_FILTER: Final = "replication-task-assessment-run-arn"
ALREADY_EXISTS_CODE: Final = "ResourceAlreadyExistsFault"
MAX_RECORDS: Final = 100
"""The largest page the assessment Describe calls return."""


def start_assessment_run(request: StartReplicationTaskAssessmentRunMessageTypeDef) -> None:
    """Begin a premigration assessment run of a task; DescribeReplicationTaskAssessmentRuns
    gives its status."""
    _call(
        "StartReplicationTaskAssessmentRun",
        request["ReplicationTaskArn"],
        lambda: dms_client().start_replication_task_assessment_run(**request),
    )


def describe_assessment_runs(task_arn: str) -> list[ReplicationTaskAssessmentRunTypeDef]:
    """Every premigration assessment run of a task, all pages."""
    runs: list[ReplicationTaskAssessmentRunTypeDef] = _all_pages(
        "DescribeReplicationTaskAssessmentRuns",
        dms_client().describe_replication_task_assessment_runs,
        ASSESSMENT_TASK_FILTER,
        task_arn,
        "ReplicationTaskAssessmentRuns",
    )
    return runs


def describe_individual_assessments(
    run_arn: str,
) -> list[ReplicationTaskIndividualAssessmentTypeDef]:
    """The individual assessments of one run, all pages."""
    assessments: list[ReplicationTaskIndividualAssessmentTypeDef] = _all_pages(
        "DescribeReplicationTaskIndividualAssessments",
        dms_client().describe_replication_task_individual_assessments,
        ASSESSMENT_RUN_FILTER,
        run_arn,
        "ReplicationTaskIndividualAssessments",
    )
    return assessments


def _all_pages(
    operation: str, method: Callable[..., Any], filter_name: str, arn: str, key: str
) -> list[Any]:
    """The records (``key``) of every page of a Describe call filtered by one ARN."""
    filters: list[FilterTypeDef] = [{"Name": filter_name, "Values": [arn]}]
    return [
        record
        for page in _pages(
            operation, arn, lambda marker: method(Filters=filters, MaxRecords=MAX_RECORDS, **marker)
        )
        for record in page.get(key, [])
    ]


def _pages(operation: str, arn: str, call: Callable[[dict[str, str]], Any]) -> Iterator[Any]:
    """The pages of a Describe call that returns a ``Marker`` while more records exist
    (``call`` takes the page's ``Marker`` argument: none for the first). No page when DMS
    answers that nothing matches (ResourceNotFoundFault, as for other Describe calls)."""
    page: dict[str, str] = {}
    while True:
        answer = _absent_when_not_found(operation, arn, partial(call, page))
        if answer is None:
            return
        yield answer
        if not answer.get("Marker"):
            return
        page = {"Marker": answer["Marker"]}
