"""Wire-level smoke test against moto's DMS and CloudFormation, served over HTTP.

moto starts a task from any status, at once, and ignores the start type and the CDC
fields, so behaviour is tested against the DMS double; this only proves that the requests
the handler sends and the answers it parses agree with another implementation of the APIs.

Both endpoints point at one moto server: DMS for the task, CloudFormation for the stack
whose status the handler reads with DescribeStacks (moto keeps a stack's status as it was
last set, so a test puts the stack in the operation it needs through moto's backend).
"""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from dms_task_starter_runtime import dms, handler, stack
from moto.backends import get_backend
from moto.server import ThreadedMotoServer

from tests.support.dms_double import ACCOUNT, REGION
from tests.support.provider import CONTEXT, cfn_event
from tests.support.served import CLOUDFORMATION_ENDPOINT_VARIABLE, DMS_ENDPOINT_VARIABLE

if TYPE_CHECKING:
    from collections.abc import Iterator

POSITION = "mysql-bin-changelog.000024:373"
Sent = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto on a random port; the handler's DMS and CloudFormation clients call it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10):  # state of an earlier test
        pass
    monkeypatch.setenv(DMS_ENDPOINT_VARIABLE, url)
    monkeypatch.setenv(CLOUDFORMATION_ENDPOINT_VARIABLE, url)
    yield url
    server.stop()


@pytest.fixture
def sent(moto_url: str) -> Sent:
    """The DMS requests the handler's client sends, with their API parameters."""
    calls: Sent = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    client = dms.dms_client()
    assert client.meta.endpoint_url == moto_url
    client.meta.events.register("before-parameter-build.database-migration-service", record)
    return calls


def create_task_in_moto(url: str) -> str:
    client = boto3.client("dms", endpoint_url=url, region_name=REGION)
    source, target = (
        client.create_endpoint(EndpointIdentifier=kind, EndpointType=kind, EngineName="mysql")[
            "Endpoint"
        ]["EndpointArn"]
        for kind in ("source", "target")
    )
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier="instance", ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    return client.create_replication_task(
        ReplicationTaskIdentifier="smoke",
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=instance,
        MigrationType="cdc",
        TableMappings='{"rules": []}',
    )["ReplicationTask"]["ReplicationTaskArn"]


def moto_task(arn: str) -> Any:
    return get_backend("dms")[ACCOUNT][REGION].replication_tasks[arn]


def create_stack_in_moto(url: str) -> str:
    client = boto3.client("cloudformation", endpoint_url=url, region_name=REGION)
    template = {"Resources": {"Marker": {"Type": "AWS::SNS::Topic"}}}
    return client.create_stack(StackName="OrdersReplication", TemplateBody=json.dumps(template))[
        "StackId"
    ]


def set_stack_status(stack_id: str, status: str) -> None:
    get_backend("cloudformation")[ACCOUNT][REGION].stacks[stack_id].status = status


def event(stack_id: str, request_type: str, arn: str, **options: Any) -> dict[str, Any]:
    properties = {"ReplicationTaskArn": arn, "CdcStartPosition": POSITION}
    return {**cfn_event(request_type, properties, **options), "StackId": stack_id}


def test_create_waits_for_a_creating_task_then_starts_it_in_moto(moto_url: str, sent: Sent) -> None:
    arn = create_task_in_moto(moto_url)
    create = cfn_event("Create", {"ReplicationTaskArn": arn, "CdcStartPosition": POSITION})
    resource_event = {**create, **handler.on_event(create, CONTEXT)}
    assert resource_event["PhysicalResourceId"] == arn
    assert resource_event["Data"]["Status"] == "creating"
    assert resource_event["Data"]["StarterStartPending"] == "true"
    assert handler.is_complete(resource_event, CONTEXT) == {"IsComplete": False}

    moto_task(arn).ready()
    assert handler.is_complete(resource_event, CONTEXT) == {"IsComplete": False}
    answer = handler.is_complete(resource_event, CONTEXT)

    assert answer["IsComplete"] is True
    assert answer["Data"]["Status"] == "running"
    assert answer["Data"]["ReplicationTaskArn"] == arn
    assert answer["Data"]["ReplicationTaskStartDate"]  # moto's date, parsed and rendered
    starts = [params for name, params in sent if name == "StartReplicationTask"]
    assert starts == [
        {
            "ReplicationTaskArn": arn,
            "StartReplicationTaskType": "start-replication",
            "CdcStartPosition": POSITION,
        }
    ]
    describes = [params for name, params in sent if name == "DescribeReplicationTasks"]
    assert describes[0] == {
        "Filters": [{"Name": "replication-task-arn", "Values": [arn]}],
        "WithoutSettings": True,
    }


def test_stack_status_is_read_from_moto(moto_url: str) -> None:
    stack_id = create_stack_in_moto(moto_url)
    assert stack.stack_status(stack_id) == "CREATE_COMPLETE"
    set_stack_status(stack_id, "UPDATE_ROLLBACK_IN_PROGRESS")
    assert stack.stack_status(stack_id) == "UPDATE_ROLLBACK_IN_PROGRESS"


def test_stack_moto_does_not_know_is_an_unknown_status(moto_url: str) -> None:
    missing = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/Gone/00000000-0000-0000-0000-0"
    with pytest.raises(stack.StackStatusUnknownError) as caught:
        stack.stack_status(missing)
    assert str(caught.value).startswith(f"DescribeStacks for {missing} failed: ")
    assert "(ValidationError)" in str(caught.value)


def test_delete_during_a_stack_delete_stops_the_task_in_moto(moto_url: str, sent: Sent) -> None:
    arn = create_task_in_moto(moto_url)
    moto_task(arn).ready().start()
    stack_id = create_stack_in_moto(moto_url)
    set_stack_status(stack_id, "DELETE_IN_PROGRESS")
    delete = event(stack_id, "Delete", arn, physical_id=arn)
    resource_event = {**delete, **handler.on_event(delete, CONTEXT)}
    assert moto_task(arn).status == "stopped"
    assert handler.is_complete(resource_event, CONTEXT)["IsComplete"] is True
    assert ("StopReplicationTask", {"ReplicationTaskArn": arn}) in sent


@pytest.mark.parametrize(
    ("stack_status", "writes"),
    [
        # Forward: the new CDC start restarts the task (a cdc task is started fresh from it).
        ("UPDATE_IN_PROGRESS", ["StopReplicationTask", "StartReplicationTask"]),
        # A rollback leaves the running task as it is: the stack's status tells them apart.
        ("UPDATE_ROLLBACK_IN_PROGRESS", []),
    ],
)
def test_update_reads_the_stack_operation_from_moto(
    moto_url: str, sent: Sent, stack_status: str, writes: list[str]
) -> None:
    arn = create_task_in_moto(moto_url)
    moto_task(arn).ready().start()
    stack_id = create_stack_in_moto(moto_url)
    set_stack_status(stack_id, stack_status)
    update = event(
        stack_id, "Update", arn, old_properties={"ReplicationTaskArn": arn}, physical_id=arn
    )
    resource_event = {**update, **handler.on_event(update, CONTEXT)}
    for _ in range(3):
        answer = handler.is_complete(resource_event, CONTEXT)
        if answer["IsComplete"]:
            break
    assert answer["IsComplete"] is True
    assert moto_task(arn).status == "running"
    written = [name for name, _ in sent if name in ("StopReplicationTask", "StartReplicationTask")]
    assert written == writes
