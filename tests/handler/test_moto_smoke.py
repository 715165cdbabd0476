"""Wire-level smoke test against moto's DMS served over HTTP.

moto starts a task from any status and ignores the start type and CDC fields, so
behaviour is tested against the DMS double; this proves that the requests the
handler sends and the answers it parses agree with another implementation of the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from dms_task_starter_runtime import handler
from moto.backends import get_backend
from moto.server import ThreadedMotoServer

from .dms_double import ACCOUNT, ENDPOINT_VARIABLE, REGION
from .provider import CONTEXT, cfn_event

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv(ENDPOINT_VARIABLE, url)
    yield url
    server.stop()


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


def test_create_waits_for_creating_task_then_starts_it_in_moto(moto_url: str) -> None:
    arn = create_task_in_moto(moto_url)
    event = cfn_event("Create", {"ReplicationTaskArn": arn, "CdcStartPosition": "0/5120E10"})
    resource_event = {**event, **handler.on_event(event, CONTEXT)}
    assert resource_event["Data"]["Status"] == "creating"
    assert handler.is_complete(resource_event, CONTEXT) == {"IsComplete": False}

    get_backend("dms")[ACCOUNT][REGION].replication_tasks[arn].ready()
    assert handler.is_complete(resource_event, CONTEXT) == {"IsComplete": False}
    answer = handler.is_complete(resource_event, CONTEXT)

    assert answer["IsComplete"] is True
    assert answer["Data"]["Status"] == "running"
    assert answer["Data"]["ReplicationTaskStartDate"]
