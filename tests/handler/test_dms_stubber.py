"""The exact AWS calls, proven with botocore's Stubber on the modules' own clients.

The Stubber checks every request against the service model and against the exact
parameters expected here, and every canned answer against the model's output shape; a
call that is not expected, or an expected call that is not made, fails the test.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast

import pytest
from botocore.stub import Stubber
from dms_task_starter_runtime import dms, handler, stack
from dms_task_starter_runtime.contract import (
    GUARD_RESOURCE_TYPE,
    REPLICATION_STARTER_RESOURCE_TYPE,
    STACK_TAG_KEY,
)
from dms_task_starter_runtime.plan import StarterError
from dms_task_starter_runtime.text import MAX_DMS_MESSAGE_CHARS

from tests.support.dms_double import DmsDouble, config_arn, endpoint_arn, task_arn
from tests.support.provider import CONTEXT, cfn_event
from tests.support.served import (
    CLOUDFORMATION_ENDPOINT_VARIABLE,
    DMS_ENDPOINT_VARIABLE,
    STACK_ID,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ARN: Final = task_arn("NEW")
OLD_ARN: Final = task_arn("OLD")
CONFIG: Final = config_arn("SERVERLESS")
NOW: Final = datetime(2024, 1, 31, tzinfo=UTC)
RAN: Final = datetime(2024, 1, 30, 8, tzinfo=UTC)
SOURCE: Final = endpoint_arn("SOURCE")
CHECKPOINT: Final = (
    "checkpoint:V1#27#mysql-bin-changelog.157832:1975:-1:2002:677883278264080#0#0#*#0#93"
)
POSITION: Final = "mysql-bin-changelog.000024:373"
STOP_AT: Final = "server_time:2024-02-01T00:00:00"


@dataclass(frozen=True)
class Stubs:
    dms: Stubber
    cloudformation: Stubber


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    """Stubbed DMS and CloudFormation clients (the handler's own), and a fixed clock."""
    monkeypatch.setattr(handler, "now_epoch_seconds", lambda: int(NOW.timestamp()))
    with (
        Stubber(dms.dms_client()) as dms_stub,
        Stubber(stack.cloudformation_client()) as cfn_stub,
    ):
        yield Stubs(dms_stub, cfn_stub)
        dms_stub.assert_no_pending_responses()
        cfn_stub.assert_no_pending_responses()


# -- canned answers --------------------------------------------------------------------------


def task_filter(arn: str) -> dict[str, Any]:
    return {"Filters": [{"Name": "replication-task-arn", "Values": [arn]}], "WithoutSettings": True}


def config_filter(arn: str) -> dict[str, Any]:
    return {"Filters": [{"Name": "replication-config-arn", "Values": [arn]}]}


def add_describe(stubs: Stubs, arn: str, status: str, **fields: Any) -> None:
    task = {
        "ReplicationTaskArn": arn,
        "Status": status,
        "MigrationType": "full-load-and-cdc",
        "SourceEndpointArn": SOURCE,
        **fields,
    }
    stubs.dms.add_response(
        "describe_replication_tasks", {"ReplicationTasks": [task]}, task_filter(arn)
    )


def add_start(stubs: Stubs, expected: dict[str, Any]) -> None:
    answer = {"ReplicationTask": {"ReplicationTaskArn": ARN, "Status": "starting"}}
    stubs.dms.add_response("start_replication_task", answer, expected)


def add_stack_status(stubs: Stubs, status: str) -> None:
    stack_answer = {
        "StackId": STACK_ID,
        "StackName": "OrdersReplication",
        "CreationTime": NOW,
        "StackStatus": status,
    }
    stubs.cloudformation.add_response(
        "describe_stacks", {"Stacks": [stack_answer]}, {"StackName": STACK_ID}
    )


def on_event(
    stubs: Stubs, request_type: str, properties: dict[str, Any], **options: Any
) -> dict[str, Any]:
    """Run on_event; every expected call must have been made, with exactly its parameters.

    botocore's ``StubAssertionError`` is a ``BotoCoreError``, which the handler reads as "DMS
    did not answer" and may leave to is_complete: checking here makes a mismatch fail.
    """
    answer = handler.on_event(cfn_event(request_type, properties, **options), CONTEXT)
    stubs.dms.assert_no_pending_responses()
    stubs.cloudformation.assert_no_pending_responses()
    return answer


def assert_started_now(answer: dict[str, Any]) -> None:
    """on_event made the start itself (none is left pending for is_complete)."""
    assert answer["Data"]["StarterStartPending"] == "false"
    assert answer["Data"]["Status"] in ("starting", "initializing")


# -- the clients -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client", [dms.dms_client, stack.cloudformation_client], ids=["dms", "cloudformation"]
)
def test_clients_retry_ten_times_in_standard_mode_with_short_timeouts(client: Any) -> None:
    config = cast("Any", client().meta.config)
    assert config.retries == {"mode": "standard", "total_max_attempts": 11}
    assert (config.connect_timeout, config.read_timeout) == (5, 20)


def test_clients_are_made_once_and_follow_the_endpoint_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DMS_ENDPOINT_VARIABLE, "http://127.0.0.1:4566")
    monkeypatch.setenv(CLOUDFORMATION_ENDPOINT_VARIABLE, "http://127.0.0.1:4567")
    assert dms.dms_client() is dms.dms_client()
    assert stack.cloudformation_client() is stack.cloudformation_client()
    assert dms.dms_client().meta.endpoint_url == "http://127.0.0.1:4566"
    assert stack.cloudformation_client().meta.endpoint_url == "http://127.0.0.1:4567"


# -- StartReplicationTask --------------------------------------------------------------------

UPDATED_SAME_TASK: dict[str, Any] = {
    "old_properties": {"ReplicationTaskArn": ARN},
    "physical_id": ARN,
}
"""An Update of the same task whose properties had no CDC start: the new one is applied."""


def test_first_run_sends_start_replication_without_cdc_keys(stubs: Stubs) -> None:
    add_describe(stubs, ARN, "ready")
    add_start(stubs, {"ReplicationTaskArn": ARN, "StartReplicationTaskType": "start-replication"})
    answer = on_event(stubs, "Create", {"ReplicationTaskArn": ARN})
    assert answer["PhysicalResourceId"] == ARN
    assert_started_now(answer)


def test_first_run_sends_the_cdc_start_time_in_utc_and_the_stop_position(stubs: Stubs) -> None:
    add_describe(stubs, ARN, "ready")
    add_start(
        stubs,
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": "start-replication",
            "CdcStartTime": datetime(2024, 1, 31, 12, tzinfo=UTC),
            "CdcStopPosition": STOP_AT,
        },
    )
    properties = {
        "ReplicationTaskArn": ARN,
        "CdcStartTime": "2024-01-31T13:00:00+01:00",
        "CdcStopPosition": STOP_AT,
    }
    assert_started_now(on_event(stubs, "Create", properties))


def test_a_task_that_ran_gets_the_configured_type_with_a_new_cdc_start(stubs: Stubs) -> None:
    add_stack_status(stubs, "UPDATE_IN_PROGRESS")
    add_describe(stubs, ARN, "stopped", ReplicationTaskStats={"StartDate": RAN})
    add_start(
        stubs,
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": "reload-target",
            "CdcStartTime": datetime(2024, 1, 31, 12, tzinfo=UTC),
            "CdcStopPosition": STOP_AT,
        },
    )
    properties = {
        "ReplicationTaskArn": ARN,
        "StartReplicationTaskType": "reload-target",
        "CdcStartTime": "1706702400",
        "CdcStopPosition": STOP_AT,
    }
    assert_started_now(on_event(stubs, "Update", properties, **UPDATED_SAME_TASK))


def test_a_task_that_ran_resumes_by_default_without_cdc_keys(stubs: Stubs) -> None:
    add_describe(stubs, ARN, "stopped", RecoveryCheckpoint=CHECKPOINT)
    add_start(stubs, {"ReplicationTaskArn": ARN, "StartReplicationTaskType": "resume-processing"})
    assert_started_now(on_event(stubs, "Create", {"ReplicationTaskArn": ARN}))


def test_a_cdc_task_that_ran_is_started_fresh_from_a_new_position(stubs: Stubs) -> None:
    """The reference: a cdc task must use start-replication to start from a position."""
    add_stack_status(stubs, "UPDATE_IN_PROGRESS")
    add_describe(stubs, ARN, "stopped", MigrationType="cdc", RecoveryCheckpoint=CHECKPOINT)
    add_start(
        stubs,
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": "start-replication",
            "CdcStartPosition": POSITION,
        },
    )
    properties = {"ReplicationTaskArn": ARN, "CdcStartPosition": POSITION}
    assert_started_now(on_event(stubs, "Update", properties, **UPDATED_SAME_TASK))


def test_a_create_on_a_task_that_ran_resumes_without_its_cdc_start(stubs: Stubs) -> None:
    """Adoption: the CDC start was applied by whoever ran the task; not sent again."""
    add_describe(stubs, ARN, "stopped", MigrationType="cdc", RecoveryCheckpoint=CHECKPOINT)
    add_start(stubs, {"ReplicationTaskArn": ARN, "StartReplicationTaskType": "resume-processing"})
    assert_started_now(
        on_event(stubs, "Create", {"ReplicationTaskArn": ARN, "CdcStartPosition": POSITION})
    )


@pytest.mark.parametrize(
    ("fields", "start_type"),
    [
        ({}, "start-replication"),
        ({"RecoveryCheckpoint": CHECKPOINT}, "resume-processing"),
    ],
    ids=["failed-before-running", "failed-after-running"],
)
def test_a_failed_task_is_started_by_what_it_did_before(
    stubs: Stubs, fields: dict[str, Any], start_type: str
) -> None:
    """A failed first start leaves a task that never ran: only start-replication starts it."""
    add_stack_status(stubs, "UPDATE_IN_PROGRESS")
    add_describe(stubs, ARN, "failed", **fields)
    add_start(
        stubs,
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": start_type,
            "CdcStartPosition": POSITION,
        },
    )
    properties = {"ReplicationTaskArn": ARN, "CdcStartPosition": POSITION}
    assert_started_now(on_event(stubs, "Update", properties, **UPDATED_SAME_TASK))


def test_replacement_hands_over_the_checkpoint_of_a_stopped_old_task(stubs: Stubs) -> None:
    add_stack_status(stubs, "UPDATE_IN_PROGRESS")
    add_describe(stubs, ARN, "ready", MigrationType="cdc")
    add_describe(stubs, OLD_ARN, "stopped", MigrationType="cdc", RecoveryCheckpoint=CHECKPOINT)
    add_start(
        stubs,
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": "start-replication",
            "CdcStartPosition": CHECKPOINT,
        },
    )
    answer = on_event(
        stubs,
        "Update",
        {"ReplicationTaskArn": ARN},
        old_properties={"ReplicationTaskArn": OLD_ARN},
        physical_id=OLD_ARN,
    )
    # The physical id never changes: CloudFormation keeps sending this resource its updates.
    assert answer["PhysicalResourceId"] == OLD_ARN
    assert answer["Data"]["ReplicationTaskArn"] == ARN
    assert_started_now(answer)


def test_a_task_given_by_arn_is_tagged_with_the_stack_before_it_starts(stubs: Stubs) -> None:
    add_describe(stubs, ARN, "ready")
    stubs.dms.add_response(
        "add_tags_to_resource",
        {},
        {"ResourceArn": ARN, "Tags": [{"Key": STACK_TAG_KEY, "Value": STACK_ID}]},
    )
    add_start(stubs, {"ReplicationTaskArn": ARN, "StartReplicationTaskType": "start-replication"})
    assert_started_now(
        on_event(stubs, "Create", {"ReplicationTaskArn": ARN, "TagResource": "true"})
    )


def test_a_tag_that_is_refused_does_not_stop_the_start(stubs: Stubs) -> None:
    add_describe(stubs, ARN, "ready")
    stubs.dms.add_client_error("add_tags_to_resource", "AccessDeniedFault", "no", 400)
    add_start(stubs, {"ReplicationTaskArn": ARN, "StartReplicationTaskType": "start-replication"})
    assert_started_now(
        on_event(stubs, "Create", {"ReplicationTaskArn": ARN, "TagResource": "true"})
    )


# -- StopReplicationTask ---------------------------------------------------------------------


def test_delete_stops_a_running_task_sending_only_its_arn(stubs: Stubs) -> None:
    add_stack_status(stubs, "DELETE_IN_PROGRESS")
    add_describe(stubs, ARN, "running", ReplicationTaskStats={"StartDate": RAN})
    stubs.dms.add_response(
        "stop_replication_task",
        {"ReplicationTask": {"ReplicationTaskArn": ARN, "Status": "stopping"}},
        {"ReplicationTaskArn": ARN},
    )
    answer = on_event(stubs, "Delete", {"ReplicationTaskArn": ARN}, physical_id=ARN)
    assert answer["Data"]["StarterRest"] == ARN


def test_guard_update_stops_the_task_before_its_definition_changes(stubs: Stubs) -> None:
    add_stack_status(stubs, "UPDATE_IN_PROGRESS")
    add_describe(stubs, ARN, "running", ReplicationTaskStats={"StartDate": RAN})
    stubs.dms.add_response(
        "stop_replication_task",
        {"ReplicationTask": {"ReplicationTaskArn": ARN, "Status": "stopping"}},
        {"ReplicationTaskArn": ARN},
    )
    answer = on_event(
        stubs,
        "Update",
        {"ReplicationTaskArn": ARN, "TaskDefinitionDigest": "d2"},
        old_properties={"ReplicationTaskArn": ARN, "TaskDefinitionDigest": "d1"},
        physical_id=ARN + "#update-guard",
        resource_type=GUARD_RESOURCE_TYPE,
    )
    assert answer["PhysicalResourceId"].startswith(ARN + "#update-guard#stopped-run:")


# -- DMS Serverless --------------------------------------------------------------------------


def add_no_replication(stubs: Stubs, *, not_found: bool) -> None:
    if not_found:
        stubs.dms.add_client_error(
            "describe_replications",
            "ResourceNotFoundFault",
            "No replication found",
            400,
            expected_params=config_filter(CONFIG),
        )
    else:
        stubs.dms.add_response("describe_replications", {"Replications": []}, config_filter(CONFIG))


def add_replication(stubs: Stubs, status: str, **fields: Any) -> None:
    replication = {
        "ReplicationConfigArn": CONFIG,
        "Status": status,
        "ReplicationType": "cdc",
        "SourceEndpointArn": SOURCE,
        **fields,
    }
    stubs.dms.add_response(
        "describe_replications", {"Replications": [replication]}, config_filter(CONFIG)
    )


@pytest.mark.parametrize("not_found", [False, True], ids=["lists-none", "not-found"])
def test_unstarted_replication_is_read_from_its_config_and_started_fresh(
    stubs: Stubs, not_found: bool
) -> None:
    add_no_replication(stubs, not_found=not_found)
    config = {
        "ReplicationConfigArn": CONFIG,
        "ReplicationType": "cdc",
        "SourceEndpointArn": SOURCE,
    }
    stubs.dms.add_response(
        "describe_replication_configs", {"ReplicationConfigs": [config]}, config_filter(CONFIG)
    )
    stubs.dms.add_response(
        "start_replication",
        {"Replication": {"ReplicationConfigArn": CONFIG, "Status": "initializing"}},
        {
            "ReplicationConfigArn": CONFIG,
            "StartReplicationType": "start-replication",
            "CdcStartPosition": POSITION,
            "CdcStopPosition": STOP_AT,
        },
    )
    properties = {
        "ReplicationConfigArn": CONFIG,
        "CdcStartPosition": POSITION,
        "CdcStopPosition": STOP_AT,
    }
    answer = on_event(stubs, "Create", properties, resource_type=REPLICATION_STARTER_RESOURCE_TYPE)
    assert answer["PhysicalResourceId"] == CONFIG
    assert_started_now(answer)


BASE_ID_FILTER: dict[str, Any] = {
    "Filters": [{"Name": "replication-config-id", "Values": ["orders"]}]
}
OLD_CONFIG = "arn:aws:dms:eu-west-1:123456789012:replication-config:orders"


def add_unstarted_config(stubs: Stubs) -> None:
    add_no_replication(stubs, not_found=True)
    config = {"ReplicationConfigArn": CONFIG, "ReplicationType": "cdc", "SourceEndpointArn": SOURCE}
    stubs.dms.add_response(
        "describe_replication_configs", {"ReplicationConfigs": [config]}, config_filter(CONFIG)
    )


def test_a_first_configuration_takes_over_the_stacks_running_one(stubs: Stubs) -> None:
    """The base identifier's replication, owned by this stack (CloudFormation's tag), runs:
    stopped now, its CDC handed over once it rests."""
    add_unstarted_config(stubs)
    old = {
        "ReplicationConfigArn": OLD_CONFIG,
        "Status": "running",
        "ReplicationType": "cdc",
        "SourceEndpointArn": SOURCE,
        "RecoveryCheckpoint": CHECKPOINT,
        "ReplicationStats": {"StartDate": RAN},
    }
    stubs.dms.add_response("describe_replications", {"Replications": [old]}, BASE_ID_FILTER)
    stubs.dms.add_response(
        "list_tags_for_resource",
        {"TagList": [{"Key": "aws:cloudformation:stack-id", "Value": STACK_ID}]},
        {"ResourceArn": OLD_CONFIG},
    )
    stubs.dms.add_response(
        "stop_replication",
        {"Replication": {**old, "Status": "stopping"}},
        {"ReplicationConfigArn": OLD_CONFIG},
    )
    properties = {"ReplicationConfigArn": CONFIG, "BaseConfigIdentifier": "orders"}
    answer = on_event(stubs, "Create", properties, resource_type=REPLICATION_STARTER_RESOURCE_TYPE)
    assert answer["PhysicalResourceId"] == f"{CONFIG}#took-over:{OLD_CONFIG}"
    assert answer["Data"]["StarterStartPending"] == "true"


@pytest.mark.parametrize("owner", ["another-stack", "refused"])
def test_a_configuration_not_known_to_be_the_stacks_is_not_taken_over(
    stubs: Stubs, owner: str
) -> None:
    add_unstarted_config(stubs)
    old = {"ReplicationConfigArn": OLD_CONFIG, "Status": "running", "ReplicationType": "cdc"}
    stubs.dms.add_response("describe_replications", {"Replications": [old]}, BASE_ID_FILTER)
    if owner == "refused":
        stubs.dms.add_client_error(
            "list_tags_for_resource",
            "AccessDeniedFault",
            "not authorized",
            400,
            expected_params={"ResourceArn": OLD_CONFIG},
        )
    else:
        stubs.dms.add_response(
            "list_tags_for_resource",
            {"TagList": [{"Key": "aws:cloudformation:stack-id", "Value": "other"}]},
            {"ResourceArn": OLD_CONFIG},
        )
    stubs.dms.add_response(
        "start_replication",
        {"Replication": {"ReplicationConfigArn": CONFIG, "Status": "initializing"}},
        {"ReplicationConfigArn": CONFIG, "StartReplicationType": "start-replication"},
    )
    properties = {"ReplicationConfigArn": CONFIG, "BaseConfigIdentifier": "orders"}
    answer = on_event(stubs, "Create", properties, resource_type=REPLICATION_STARTER_RESOURCE_TYPE)
    assert answer["PhysicalResourceId"] == CONFIG
    assert_started_now(answer)


def test_a_missing_config_is_named_without_a_start(stubs: Stubs) -> None:
    add_no_replication(stubs, not_found=True)
    stubs.dms.add_client_error(
        "describe_replication_configs",
        "ResourceNotFoundFault",
        "Replication config not found",
        400,
        expected_params=config_filter(CONFIG),
    )
    with pytest.raises(StarterError) as caught:
        on_event(
            stubs,
            "Create",
            {"ReplicationConfigArn": CONFIG},
            resource_type=REPLICATION_STARTER_RESOURCE_TYPE,
        )
    assert str(caught.value) == (
        f"Serverless replication {CONFIG} was not found (or this function may not describe "
        "it): check the ARN, the region and the account."
    )


def test_a_full_load_replication_that_ran_is_reloaded_by_default(stubs: Stubs) -> None:
    """DMS cannot resume a full-load Serverless replication."""
    add_replication(
        stubs,
        "stopped",
        ReplicationType="full-load",
        StopReason="Stop Reason NORMAL",
        ReplicationStats={"StartDate": RAN, "StopDate": RAN},
    )
    stubs.dms.add_response(
        "start_replication",
        {"Replication": {"ReplicationConfigArn": CONFIG, "Status": "initializing"}},
        {"ReplicationConfigArn": CONFIG, "StartReplicationType": "reload-target"},
    )
    answer = on_event(
        stubs,
        "Create",
        {"ReplicationConfigArn": CONFIG},
        resource_type=REPLICATION_STARTER_RESOURCE_TYPE,
    )
    assert_started_now(answer)


def test_delete_stops_a_running_replication_sending_only_its_arn(stubs: Stubs) -> None:
    add_stack_status(stubs, "DELETE_IN_PROGRESS")
    add_replication(stubs, "running", ReplicationStats={"StartDate": RAN})
    stubs.dms.add_response(
        "stop_replication",
        {"Replication": {"ReplicationConfigArn": CONFIG, "Status": "stopping"}},
        {"ReplicationConfigArn": CONFIG},
    )
    answer = on_event(
        stubs,
        "Delete",
        {"ReplicationConfigArn": CONFIG},
        physical_id=CONFIG,
        resource_type=REPLICATION_STARTER_RESOURCE_TYPE,
    )
    assert answer["PhysicalResourceId"] == CONFIG
    assert answer["Data"]["StarterRest"] == CONFIG
    assert answer["Data"]["StarterKind"] == "replication"


def test_module_calls_for_serverless_send_exactly_these_parameters(stubs: Stubs) -> None:
    stubs.dms.add_response(
        "start_replication",
        {"Replication": {"ReplicationConfigArn": CONFIG, "Status": "initializing"}},
        {
            "ReplicationConfigArn": CONFIG,
            "StartReplicationType": "resume-processing",
            "CdcStartTime": NOW,
        },
    )
    stubs.dms.add_response(
        "stop_replication",
        {"Replication": {"ReplicationConfigArn": CONFIG, "Status": "stopping"}},
        {"ReplicationConfigArn": CONFIG},
    )
    started = dms.start_replication(
        {
            "ReplicationConfigArn": CONFIG,
            "StartReplicationType": "resume-processing",
            "CdcStartTime": NOW,
        }
    )
    assert started["Status"] == "initializing"
    assert dms.stop_replication(CONFIG)["Status"] == "stopping"


# -- DescribeStacks ----------------------------------------------------------------------------


def test_stack_status_asks_for_the_stack_by_its_id(stubs: Stubs) -> None:
    add_stack_status(stubs, "UPDATE_ROLLBACK_IN_PROGRESS")
    assert stack.stack_status(STACK_ID) == "UPDATE_ROLLBACK_IN_PROGRESS"


def test_stack_status_unknown_when_describe_stacks_is_refused(stubs: Stubs) -> None:
    stubs.cloudformation.add_client_error(
        "describe_stacks",
        "AccessDenied",
        "not authorized",
        403,
        expected_params={"StackName": STACK_ID},
    )
    with pytest.raises(stack.StackStatusUnknownError) as caught:
        stack.stack_status(STACK_ID)
    assert str(caught.value) == (
        f"DescribeStacks for {STACK_ID} failed: An error occurred (AccessDenied) when calling "
        "the DescribeStacks operation: not authorized"
    )


def test_stack_status_unknown_when_no_stack_is_listed(stubs: Stubs) -> None:
    stubs.cloudformation.add_response("describe_stacks", {"Stacks": []}, {"StackName": STACK_ID})
    with pytest.raises(stack.StackStatusUnknownError) as caught:
        stack.stack_status(STACK_ID)
    assert str(caught.value) == f"DescribeStacks for {STACK_ID} listed no stack"


def unreachable_url() -> str:
    """A local port nothing listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_stack_status_unknown_when_cloudformation_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = unreachable_url()
    monkeypatch.setenv(CLOUDFORMATION_ENDPOINT_VARIABLE, url)
    with pytest.raises(stack.StackStatusUnknownError) as caught:
        stack.stack_status(STACK_ID)
    assert str(caught.value) == (
        f'DescribeStacks for {STACK_ID} failed: Could not connect to the endpoint URL: "{url}/"'
    )


def test_an_unknown_stack_status_is_no_rollback(stubs: Stubs) -> None:
    """A Delete whose stack status cannot be read does what OnDelete says: it stops."""
    stubs.cloudformation.add_client_error("describe_stacks", "AccessDenied", "not authorized", 403)
    add_describe(stubs, ARN, "running", ReplicationTaskStats={"StartDate": RAN})
    stubs.dms.add_response(
        "stop_replication_task",
        {"ReplicationTask": {"ReplicationTaskArn": ARN, "Status": "stopping"}},
        {"ReplicationTaskArn": ARN},
    )
    answer = on_event(stubs, "Delete", {"ReplicationTaskArn": ARN}, physical_id=ARN)
    assert answer["Data"]["StarterBestEffort"] == "false"


# -- errors, as CloudFormation shows them ------------------------------------------------------

EXPLANATIONS: Final = [
    ("AccessDeniedFault", 400, "this function is not allowed to do that", False),
    ("AccessDenied", 403, "this function is not allowed to do that", False),
    ("AccessDeniedException", 400, "this function is not allowed to do that", False),
    ("ResourceNotFoundFault", 400, "it does not exist", False),
    ("InvalidResourceStateFault", 400, "it is not in a state that allows it", False),
    ("InvalidParameterValueException", 400, "DMS rejected a parameter value", False),
    (
        "InvalidParameterCombinationException",
        400,
        "DMS rejected the combination of parameters",
        False,
    ),
    ("ThrottlingException", 400, "DMS returned an error", True),
    ("Throttling", 400, "DMS returned an error", True),
    ("RequestLimitExceeded", 400, "DMS returned an error", True),
    ("InternalFailure", 500, "DMS returned an error", True),
    ("ServiceUnavailable", 503, "DMS returned an error", True),
    ("KMSKeyNotAccessibleFault", 400, "DMS returned an error", False),
]


@pytest.mark.parametrize(
    ("code", "status", "explanation", "answer_unknown"),
    EXPLANATIONS,
    ids=[entry[0] for entry in EXPLANATIONS],
)
def test_start_errors_name_the_task_and_the_dms_message(
    stubs: Stubs, code: str, status: int, explanation: str, answer_unknown: bool
) -> None:
    stubs.dms.add_client_error("start_replication_task", code, "the DMS message", status)
    with pytest.raises(dms.DmsCallError) as caught:
        dms.start_task({"ReplicationTaskArn": ARN, "StartReplicationTaskType": "resume-processing"})
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.answer_unknown is answer_unknown
    assert str(caught.value) == (
        f"StartReplicationTask for {ARN} failed, {explanation}: {code}: the DMS message"
    )


CALLS: Final[dict[str, tuple[str, Callable[[], object], str]]] = {
    # operation: (client method, the call, the ARN it names)
    "DescribeReplicationTasks": ("describe_replication_tasks", lambda: dms.describe_task(ARN), ARN),
    "StopReplicationTask": ("stop_replication_task", lambda: dms.stop_task(ARN), ARN),
    "DescribeReplications": (
        "describe_replications",
        lambda: dms.describe_replication(CONFIG),
        CONFIG,
    ),
    "DescribeReplicationConfigs": (
        "describe_replication_configs",
        lambda: dms.describe_replication_config(CONFIG),
        CONFIG,
    ),
    "StopReplication": ("stop_replication", lambda: dms.stop_replication(CONFIG), CONFIG),
    "AddTagsToResource": (
        "add_tags_to_resource",
        lambda: dms.tag(ARN, STACK_TAG_KEY, STACK_ID),
        ARN,
    ),
}


@pytest.mark.parametrize("operation", list(CALLS))
def test_every_call_names_its_operation_and_resource(stubs: Stubs, operation: str) -> None:
    method, call, arn = CALLS[operation]
    stubs.dms.add_client_error(method, "AccessDeniedFault", "not authorized", 400)
    with pytest.raises(dms.DmsCallError) as caught:
        call()
    assert str(caught.value) == (
        f"{operation} for {arn} failed, this function is not allowed to do that: "
        "AccessDeniedFault: not authorized"
    )


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("describe_replication_tasks", lambda: dms.describe_task(ARN)),
        ("describe_replications", lambda: dms.describe_replication(CONFIG)),
        ("describe_replication_configs", lambda: dms.describe_replication_config(CONFIG)),
    ],
    ids=["task", "replication", "config"],
)
def test_describe_of_something_missing_is_none(
    stubs: Stubs, method: str, call: Callable[[], object]
) -> None:
    stubs.dms.add_client_error(method, "ResourceNotFoundFault", "not found", 400)
    assert call() is None


def test_a_call_that_gets_no_answer_is_a_no_answer_error(monkeypatch: pytest.MonkeyPatch) -> None:
    url = unreachable_url()
    monkeypatch.setenv(DMS_ENDPOINT_VARIABLE, url)
    with pytest.raises(dms.DmsCallError) as caught:
        dms.start_task({"ReplicationTaskArn": ARN, "StartReplicationTaskType": "start-replication"})
    assert (caught.value.code, caught.value.status) == ("NoAnswer", 0)
    assert caught.value.answer_unknown is True
    assert str(caught.value) == (
        f"StartReplicationTask for {ARN} failed, DMS did not answer: NoAnswer: "
        f'Could not connect to the endpoint URL: "{url}/"'
    )


def test_throttling_is_retried_until_it_succeeds(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    double.throttle_next = 10
    described = dms.describe_task(task_arn("T1"))
    assert described is not None
    assert described["Status"] == "running"
    assert len(double.throttled_calls) == 10
    assert len(double.calls) == 1


def test_throttling_fails_once_the_attempts_are_used_up(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    double.throttle_next = 11
    with pytest.raises(dms.DmsCallError) as caught:
        dms.stop_task(task_arn("T1"))
    assert str(caught.value) == (
        f"StopReplicationTask for {task_arn('T1')} failed, DMS returned an error: "
        "ThrottlingException: Rate exceeded"
    )
    assert caught.value.answer_unknown is True
    assert len(double.throttled_calls) == 11
    assert double.calls == []
    assert double.tasks[task_arn("T1")].status == "running"


def test_long_dms_messages_are_cut_to_one_paragraph(stubs: Stubs) -> None:
    stubs.dms.add_client_error(
        "stop_replication_task", "InvalidResourceStateFault", "x" * 5000, 400
    )
    with pytest.raises(dms.DmsCallError) as caught:
        dms.stop_task(ARN)
    prefix = (
        f"StopReplicationTask for {ARN} failed, it is not in a state that allows it: "
        "InvalidResourceStateFault: "
    )
    assert str(caught.value) == prefix + "x" * (MAX_DMS_MESSAGE_CHARS - 3) + "..."
