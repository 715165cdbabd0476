"""What the handler writes to CloudWatch, and what it loads at cold start.

Every log line is one JSON object that names the request (its logical id, request and
resource type) and the task, so a line found on its own still says what it is about. The
event carries a presigned ResponseURL, a credential: it never appears in any output, even
with event logging switched on for the function. The X-Ray SDK is imported only when
tracing is on, and then the Tracer wraps both entry points.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any, Final

import pytest
from dms_task_starter_runtime import handler
from dms_task_starter_runtime.contract import (
    GUARD_RESOURCE_TYPE,
    REPLICATION_STARTER_RESOURCE_TYPE,
    ROLLBACK_GUARD_RESOURCE_TYPE,
    STARTER_RESOURCE_TYPE,
)
from dms_task_starter_runtime.plan import StarterError

from tests.support.dms_double import DmsDouble, config_arn, task_arn
from tests.support.provider import (
    CONTEXT,
    RESPONSE_URL,
    ProviderFailedError,
    cfn_event,
    run_provider,
)
from tests.support.served import STACK_ID, FixedStack

if TYPE_CHECKING:
    import io

T1: Final = task_arn("T1")
R1: Final = config_arn("R1")
SECRET: Final = "SECRET-SIGNATURE"
REQUEST_KEYS: Final = ("request_type", "logical_resource_id", "resource_type", "task_arn")


@pytest.fixture
def event_logging_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone switched Powertools' event logging on for the function: the event stays out."""
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    """The log lines, each of which must be one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def lifecycle(double: DmsDouble, stack_status: FixedStack) -> None:
    """Every kind of request and outcome: success, warning and failure lines."""
    double.add_task("T1", status="creating")
    properties = {"ReplicationTaskArn": T1}
    run_provider(cfn_event("Create", properties), double)
    stack_status.status = "UPDATE_IN_PROGRESS"
    changed = {**properties, "CdcStartPosition": "0/5120E10", "TaskDefinitionDigest": "d1"}
    run_provider(cfn_event("Update", changed, old_properties=properties, physical_id=T1), double)
    guard = {"ReplicationTaskArn": T1, "TaskDefinitionDigest": "d2"}
    run_provider(
        cfn_event(
            "Update",
            guard,
            old_properties={**guard, "TaskDefinitionDigest": "d1"},
            physical_id=T1 + "#update-guard",
            resource_type=GUARD_RESOURCE_TYPE,
        ),
        double,
    )
    # A rollback with a property it cannot read: a warning, nothing done.
    stack_status.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    broken = {**properties, "WaitFor": "complete"}
    run_provider(cfn_event("Update", broken, old_properties=changed, physical_id=T1), double)
    run_provider(
        cfn_event(
            "Update",
            {"GuardedTasks": '{"T1": "d1"}'},
            old_properties={"GuardedTasks": '{"T1": "d2"}'},
            physical_id=f"{STACK_ID}#RollbackGuard",
            resource_type=ROLLBACK_GUARD_RESOURCE_TYPE,
            logical_id="RollbackGuard",
        ),
        double,
    )
    # The stack's status cannot be read: a warning, and the Delete stops the task.
    stack_status.denied = True
    run_provider(cfn_event("Delete", {"ReplicationTaskArn": 42}, physical_id=T1), double)
    stack_status.denied = False
    double.add_replication("R1")
    run_provider(
        cfn_event(
            "Create",
            {"ReplicationConfigArn": R1},
            resource_type=REPLICATION_STARTER_RESOURCE_TYPE,
            logical_id="ReplicationStarter",
        ),
        double,
    )
    double.fail_next_start(T1, "Error connecting to source")
    with pytest.raises(ProviderFailedError) as failed:
        run_provider(cfn_event("Create", properties), double)
    assert isinstance(failed.value.cause, StarterError)


@pytest.mark.usefixtures("event_logging_switched_on")
def test_every_log_line_is_json_that_names_the_request_and_the_task(
    double: DmsDouble, stack_status: FixedStack, log_output: io.StringIO
) -> None:
    lifecycle(double, stack_status)
    lines = records(log_output)
    assert lines
    for record in lines:
        assert {"level", "message", "timestamp", "service", *REQUEST_KEYS} <= set(record)
        assert record["service"] == "dms-task-starter"
        assert record["function_request_id"] == CONTEXT.aws_request_id
        assert record["request_type"] in {"Create", "Update", "Delete"}
    by_resource = {(r["logical_resource_id"], r["resource_type"], r["task_arn"]) for r in lines}
    assert by_resource == {
        ("TaskStarter", STARTER_RESOURCE_TYPE, T1),
        ("Guard", GUARD_RESOURCE_TYPE, T1),
        ("ReplicationStarter", REPLICATION_STARTER_RESOURCE_TYPE, R1),
        # The rollback guard's lines name the tasks it guards (here one, T1).
        ("RollbackGuard", ROLLBACK_GUARD_RESOURCE_TYPE, T1),
    }
    statuses = {record.get("task_status") for record in lines}
    assert {"creating", "ready", "starting", "running", "stopping", "stopped"} <= statuses
    operations = {record.get("stack_operation") for record in lines}
    assert {"UPDATE", "UPDATE_ROLLBACK"} <= operations

    warnings = [r["reason"] for r in lines if r["level"] == "WARNING"]
    assert warnings == [
        "WaitFor: unknown value (got 'complete'). Accepted: running or full-load-finished "
        "or nothing.",
        f"DescribeStacks for {STACK_ID} failed: An error occurred (AccessDenied) when calling "
        "the DescribeStacks operation: User is not authorized to perform: "
        f"cloudformation:DescribeStacks on {STACK_ID}",
    ]
    errors = [r for r in lines if r["level"] == "ERROR"]
    assert [(e["message"], e["task_arn"]) for e in errors] == [("request failed", T1)]
    assert errors[0]["reason"] == (
        f"Replication task {T1} did not reach 'running': it is failed (StopReason 'Stop Reason "
        "FATAL_ERROR', LastFailureMessage 'Error connecting to source')."
    )


@pytest.mark.usefixtures("event_logging_switched_on")
def test_the_response_url_never_appears_in_any_output(
    double: DmsDouble,
    stack_status: FixedStack,
    log_output: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Not in the handler's lines, nor in any library's log at DEBUG, nor on stdout/stderr."""
    caplog.set_level(logging.DEBUG)
    lifecycle(double, stack_status)
    for malformed in ({**cfn_event("Create", {}), "StackId": None}, cfn_event("Bogus", {})):
        with pytest.raises(StarterError):
            handler.on_event(malformed, CONTEXT)
    captured = capsys.readouterr()
    outputs = {
        "handler log": log_output.getvalue(),
        "library logs": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
    }
    assert "DescribeReplicationTasks" in outputs["library logs"]  # the DEBUG capture works
    for name, text in outputs.items():
        assert RESPONSE_URL not in text, name
        assert SECRET not in text, name
        assert "X-Amz-Signature" not in text, name


def test_a_malformed_event_is_logged_as_json_without_its_contents(
    double: DmsDouble, log_output: io.StringIO
) -> None:
    event = {**cfn_event("Create", {"ReplicationTaskArn": T1}), "ResourceProperties": "{"}
    with pytest.raises(StarterError):
        handler.on_event(event, CONTEXT)
    (record,) = records(log_output)
    assert record["level"] == "ERROR"
    assert record["reason"] == (
        "Malformed CloudFormation event: ResourceProperties is a str, not an object of "
        "properties. Nothing was done."
    )
    # What the event does say still names the line: the request and the resource.
    assert (record["logical_resource_id"], record["request_type"]) == ("TaskStarter", "Create")
    assert SECRET not in log_output.getvalue()
    assert double.calls == []


# -- tracing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        (None, True),
        ("", True),
        ("false", True),
        ("0", True),
        ("no", True),
        ("true", False),
        ("TRUE", False),
        (" True ", False),
        ("1", False),
        ("yes", False),
        ("y", False),
        ("t", False),
        ("on", False),
    ],
)
def test_tracing_enabled_reads_powertools_trace_disabled(
    monkeypatch: pytest.MonkeyPatch, value: str | None, enabled: bool
) -> None:
    if value is None:
        monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    else:
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    assert handler.tracing_enabled() is enabled


def test_without_a_tracer_the_entry_points_are_not_wrapped() -> None:
    """The test session runs with tracing off (tests/conftest.py)."""
    assert handler.tracer is None

    def entry_point(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return event

    assert handler.traced(entry_point) is entry_point


def run_isolated(code: str, **env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter, as a Lambda cold start would; it prints JSON."""
    environment = {**os.environ, **env}
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


INVOKE_AND_REPORT: Final = f"""
    import contextlib, json, sys
    from dms_task_starter_runtime import handler

    segments = []

    class Subsegment:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    class RecordingProvider:
        @contextlib.contextmanager
        def in_subsegment(self, name=None, **kwargs):
            segments.append(name)
            yield Subsegment()

    if handler.tracer is not None:
        handler.tracer.provider = RecordingProvider()

    class Context:
        function_name = "f"
        memory_limit_in_mb = 128
        invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:f"
        aws_request_id = "r"

        def get_remaining_time_in_millis(self):
            return 600000

    # The rollback guard's Create makes no AWS call: nothing but the entry points runs.
    event = {{
        "RequestType": "Create",
        "ResponseURL": "https://example.invalid/",
        "StackId": "{STACK_ID}",
        "RequestId": "r",
        "LogicalResourceId": "RollbackGuard",
        "ResourceType": "{ROLLBACK_GUARD_RESOURCE_TYPE}",
        "ResourceProperties": {{"GuardedTasks": "{{}}"}},
    }}
    answer = handler.on_event(event, Context())
    done = handler.is_complete({{**event, **answer}}, Context())
    print(json.dumps({{
        "xray_loaded": "aws_xray_sdk" in sys.modules,
        "tracer": handler.tracer is not None,
        "enabled": handler.tracing_enabled(),
        "segments": segments,
        "complete": done["IsComplete"],
    }}))
"""


@pytest.mark.parametrize("disabled", ["true", "1"])
def test_tracing_disabled_never_loads_the_xray_sdk(disabled: str) -> None:
    report = run_isolated(
        INVOKE_AND_REPORT,
        POWERTOOLS_TRACE_DISABLED=disabled,
        AWS_LAMBDA_FUNCTION_NAME="dms-task-starter-on-event",
    )
    assert report == {
        "xray_loaded": False,
        "tracer": False,
        "enabled": False,
        "segments": [],
        "complete": True,
    }


@pytest.mark.parametrize("disabled", ["false", None])
def test_tracing_enabled_wraps_both_entry_points(disabled: str | None) -> None:
    """The counterpart that shows the check above can see the SDK being loaded."""
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": "dms-task-starter-on-event",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }
    if disabled is not None:
        env["POWERTOOLS_TRACE_DISABLED"] = disabled
    report = run_isolated(INVOKE_AND_REPORT, **env)
    assert report == {
        "xray_loaded": True,
        "tracer": True,
        "enabled": True,
        "segments": ["## on_event", "## is_complete"],
        "complete": True,
    }
