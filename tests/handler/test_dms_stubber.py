"""The exact DMS calls, proven with botocore's Stubber on the module's own client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.stub import Stubber
from dms_task_starter_runtime import dms, handler
from dms_task_starter_runtime.decisions import StartParameters

from .dms_double import DmsDouble, task_arn
from .provider import CONTEXT, cfn_event

if TYPE_CHECKING:
    from collections.abc import Iterator

ARN = "arn:aws:dms:eu-west-1:123456789012:task:NEW"
OLD_ARN = "arn:aws:dms:eu-west-1:123456789012:task:OLD"
START_DATE = datetime(2024, 1, 31, 12, tzinfo=UTC)
CHECKPOINT = "checkpoint:V1#27#mysql-bin-changelog.157832:1975:-1:2002:677883278264080#0#0#*#0#93"


@pytest.fixture
def stubber() -> Iterator[Stubber]:
    with Stubber(dms.dms_client()) as stub:
        yield stub
        stub.assert_no_pending_responses()


def describe_params(arn: str) -> dict[str, Any]:
    return {
        "Filters": [{"Name": "replication-task-arn", "Values": [arn]}],
        "WithoutSettings": True,
    }


def add_describe(stub: Stubber, arn: str, status: str, **fields: Any) -> None:
    task = {"ReplicationTaskArn": arn, "Status": status, **fields}
    stub.add_response(
        "describe_replication_tasks", {"ReplicationTasks": [task]}, describe_params(arn)
    )


def add_start(stub: Stubber, expected: dict[str, Any]) -> None:
    response = {
        "ReplicationTask": {
            "ReplicationTaskArn": expected["ReplicationTaskArn"],
            "Status": "starting",
        }
    }
    stub.add_response("start_replication_task", response, expected)


def test_client_retries_ten_times_in_standard_mode() -> None:
    config = cast("Any", dms.dms_client().meta.config)
    assert config.retries == {"mode": "standard", "total_max_attempts": 11}


def test_first_run_sends_start_replication_without_cdc_keys(stubber: Stubber) -> None:
    add_describe(stubber, ARN, "ready")
    add_start(stubber, {"ReplicationTaskArn": ARN, "StartReplicationTaskType": "start-replication"})
    handler.on_event(cfn_event("Create", {"ReplicationTaskArn": ARN}), CONTEXT)


def test_later_run_sends_configured_type_and_cdc_start_time(stubber: Stubber) -> None:
    add_describe(stubber, ARN, "stopped", ReplicationTaskStats={"StartDate": START_DATE})
    add_start(
        stubber,
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": "reload-target",
            "CdcStartTime": datetime(2024, 1, 31, 12, tzinfo=UTC),
            "CdcStopPosition": "server_time:2024-02-01T00:00:00",
        },
    )
    properties = {
        "ReplicationTaskArn": ARN,
        "StartReplicationTaskType": "reload-target",
        "CdcStartTime": "2024-01-31T13:00:00+01:00",
        "CdcStopPosition": "server_time:2024-02-01T00:00:00",
    }
    handler.on_event(cfn_event("Create", properties), CONTEXT)


def test_later_run_sends_cdc_start_position(stubber: Stubber) -> None:
    add_describe(stubber, ARN, "failed")
    add_start(
        stubber,
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": "resume-processing",
            "CdcStartPosition": "mysql-bin-changelog.000024:373",
        },
    )
    properties = {"ReplicationTaskArn": ARN, "CdcStartPosition": "mysql-bin-changelog.000024:373"}
    handler.on_event(cfn_event("Create", properties), CONTEXT)


def test_replacement_hands_over_the_checkpoint_of_a_stopped_old_task(stubber: Stubber) -> None:
    add_describe(stubber, ARN, "ready", MigrationType="cdc")
    add_describe(stubber, OLD_ARN, "stopped", MigrationType="cdc", RecoveryCheckpoint=CHECKPOINT)
    add_start(
        stubber,
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": "start-replication",
            "CdcStartPosition": CHECKPOINT,
        },
    )
    event = cfn_event(
        "Update",
        {"ReplicationTaskArn": ARN},
        old_properties={"ReplicationTaskArn": OLD_ARN},
        physical_id=OLD_ARN,
    )
    assert handler.on_event(event, CONTEXT)["PhysicalResourceId"] == ARN


def test_stop_sends_only_the_arn(stubber: Stubber) -> None:
    stubber.add_response(
        "stop_replication_task",
        {"ReplicationTask": {"ReplicationTaskArn": ARN, "Status": "stopping"}},
        {"ReplicationTaskArn": ARN},
    )
    assert dms.stop_task(ARN)["Status"] == "stopping"


def test_describe_of_a_missing_task_is_none(stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_replication_tasks", "ResourceNotFoundFault", "No replication tasks found", 400
    )
    assert dms.describe_task(ARN) is None


@pytest.mark.parametrize(
    ("code", "explanation"),
    [
        ("AccessDeniedFault", "this function is not allowed to do that"),
        ("AccessDenied", "this function is not allowed to do that"),
        ("ResourceNotFoundFault", "the task does not exist"),
        ("InvalidResourceStateFault", "the task is not in a state that allows it"),
        ("InvalidParameterValueException", "DMS rejected a parameter value"),
        ("InvalidParameterCombinationException", "DMS rejected the combination of parameters"),
    ],
)
def test_start_errors_name_the_task_and_the_dms_message(
    stubber: Stubber, code: str, explanation: str
) -> None:
    stubber.add_client_error("start_replication_task", code, "the DMS message", 400)
    with pytest.raises(dms.DmsCallError) as caught:
        dms.start_task(StartParameters(ARN, "resume-processing"))
    assert caught.value.code == code
    assert str(caught.value) == (
        f"StartReplicationTask for replication task {ARN} failed, {explanation}: "
        f"{code}: the DMS message"
    )


def test_describe_access_denied_is_an_error(stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_replication_tasks", "AccessDeniedFault", "not authorized", 400
    )
    with pytest.raises(
        dms.DmsCallError, match=f"DescribeReplicationTasks for replication task {ARN}"
    ):
        dms.describe_task(ARN)


def test_throttling_is_retried_until_it_succeeds(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    double.throttle_next = 9
    described = dms.describe_task(task_arn("T1"))
    assert described is not None
    assert described["Status"] == "running"
    assert len(double.throttled_calls) == 9
    assert len(double.calls) == 1


def test_throttling_fails_once_the_attempts_are_used_up(double: DmsDouble) -> None:
    double.add_task("T1", status="running")
    double.throttle_next = 11
    with pytest.raises(dms.DmsCallError, match="ThrottlingException: Rate exceeded"):
        dms.stop_task(task_arn("T1"))
    assert len(double.throttled_calls) == 11
    assert double.calls == []


def test_long_dms_messages_are_cut_to_one_paragraph(stubber: Stubber) -> None:
    stubber.add_client_error("stop_replication_task", "InvalidResourceStateFault", "x" * 5000, 400)
    with pytest.raises(dms.DmsCallError) as caught:
        dms.stop_task(ARN)
    assert len(str(caught.value)) < 1000
    assert str(caught.value).endswith("x...")
