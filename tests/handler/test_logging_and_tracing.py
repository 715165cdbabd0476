"""What the handler writes to CloudWatch, and what it loads at cold start."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest
from dms_task_starter_runtime import handler

from .dms_double import DmsDouble, task_arn
from .provider import CREATE_FAILED_MARKER, RESPONSE_URL, cfn_event, run_provider

if TYPE_CHECKING:
    from collections.abc import Iterator

T1 = task_arn("T1")


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything the handler's logger writes during the test."""
    stream = io.StringIO()
    log_handler = handler.logger.registered_handler
    assert isinstance(log_handler, logging.StreamHandler)
    previous = log_handler.setStream(stream)
    yield stream
    log_handler.setStream(previous)


def full_lifecycle(double: DmsDouble) -> None:
    double.add_task("T1", status="creating")
    properties = {"ReplicationTaskArn": T1}
    run_provider(cfn_event("Create", properties), double)
    changed = {**properties, "CdcStartPosition": "0/5120E10"}
    update = cfn_event("Update", changed, old_properties=properties, physical_id=T1)
    run_provider(update, double)
    run_provider(cfn_event("Delete", changed, physical_id=T1), double)
    double.tasks[T1].fails_while_starting = "Error connecting to source"
    with pytest.raises(Exception, match="did not reach"):
        run_provider(cfn_event("Create", properties), double)


def test_every_log_line_is_json_with_the_request_keys(
    double: DmsDouble, log_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even when someone switches event logging on for the function, the event stays out.
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    full_lifecycle(double)
    run_provider(cfn_event("Delete", {}, physical_id=CREATE_FAILED_MARKER), double)
    output = log_output.getvalue()
    records = [json.loads(line) for line in output.splitlines()]

    assert len(records) == 16
    assert RESPONSE_URL not in output
    assert "X-Amz-Signature" not in output
    for record in records:
        assert record["service"] == "dms-task-starter"
        assert record["logical_resource_id"] == "TaskStarter"
        assert record["resource_type"] == "Custom::DmsReplicationTaskStarter"
        assert record["request_type"] in {"Create", "Update", "Delete"}
        assert record["task_arn"] in {T1, CREATE_FAILED_MARKER}
        assert record["function_request_id"]
    statuses = [record.get("task_status") for record in records]
    assert {"creating", "ready", "starting", "running", "stopping", "stopped"} <= set(statuses)
    failures = [record for record in records if record["level"] == "ERROR"]
    assert len(failures) == 1
    assert "Error connecting to source" in failures[0]["reason"]


def run_isolated(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter, as a Lambda cold start would."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip().splitlines()[-1]


INVOKE_AND_REPORT_XRAY = f"""
    import sys
    from dms_task_starter_runtime import handler

    class Context:
        function_name = "f"
        memory_limit_in_mb = 128
        invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:f"
        aws_request_id = "r"

    event = {{
        "RequestType": "Delete",
        "ResponseURL": "https://example.invalid/",
        "StackId": "s",
        "RequestId": "r",
        "LogicalResourceId": "TaskStarter",
        "ResourceType": "Custom::DmsReplicationTaskStarter",
        "PhysicalResourceId": "{CREATE_FAILED_MARKER}",
        "ResourceProperties": {{}},
    }}
    handler.on_event(event, Context())
    print("aws_xray_sdk" in sys.modules)
"""


def test_tracing_disabled_never_loads_the_xray_sdk() -> None:
    loaded = run_isolated(
        INVOKE_AND_REPORT_XRAY,
        POWERTOOLS_TRACE_DISABLED="true",
        AWS_LAMBDA_FUNCTION_NAME="dms-task-starter-on-event",
    )
    assert loaded == "False"


def test_tracing_enabled_does_load_the_xray_sdk() -> None:
    """The counterpart that shows the check above can see the SDK being loaded."""
    loaded = run_isolated(
        INVOKE_AND_REPORT_XRAY,
        POWERTOOLS_TRACE_DISABLED="false",
        AWS_LAMBDA_FUNCTION_NAME="dms-task-starter-on-event",
        AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
    )
    assert loaded == "True"
