"""Long waits at the level of AWS calls and HTTP: ``Custom::DmsLongWait`` in ``on_event`` (the
exact Step Functions and CloudFormation calls, with botocore's Stubber), and the signaller's
checks (DMS stubbed, the signal PUT received by a local HTTP server)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final

import pytest
from botocore.stub import Stubber
from dms_task_starter_runtime import dms, executions, handler, long_wait, stack
from dms_task_starter_runtime.contract import LONG_WAIT_RESOURCE_TYPE, STATE_MACHINE_ARN_ENV
from dms_task_starter_runtime.plan import StarterError
from dms_task_starter_runtime.settings import InvalidSettingError

from tests.support.dms_double import config_arn, task_arn
from tests.support.provider import CONTEXT, cfn_event
from tests.support.served import STACK_ID

if TYPE_CHECKING:
    import io
    from collections.abc import Iterator

TASK: Final = task_arn("ORDERS")
CONFIG: Final = config_arn("ORDERS")
NOW: Final = int(datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp())
STATE_MACHINE: Final = "arn:aws:states:eu-west-1:123456789012:stateMachine:LongWait-AbC123"
HANDLE: Final = "StarterWaitHandleFA518DE3f3cd5722"
LOGICAL_ID: Final = "StarterLongWait91029EFFf3cd5722"
SIGNATURE: Final = "SECRET-SIGNATURE-fedcba9876543210"
HANDLE_URL: Final = (
    "https://cloudformation-waitcondition-eu-west-1.s3.eu-west-1.amazonaws.com/"
    f"arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack/x/y/{HANDLE}"
    f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={SIGNATURE}"
)
PROPERTIES: Final = {
    "ReplicationTaskArn": TASK,
    "Until": "full-load-finished",
    "MaximumSeconds": "21600",
    "WaitHandle": HANDLE,
}


# -- Custom::DmsLongWait in on_event ----------------------------------------------------------


@dataclass(frozen=True)
class Stubs:
    states: Stubber
    cloudformation: Stubber


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    monkeypatch.setattr(handler, "now_epoch_seconds", lambda: NOW)
    monkeypatch.setenv(STATE_MACHINE_ARN_ENV, STATE_MACHINE)
    executions.stepfunctions_client.cache_clear()
    with (
        Stubber(executions.stepfunctions_client()) as states,
        Stubber(stack.cloudformation_client()) as cloudformation,
    ):
        yield Stubs(states, cloudformation)
        states.assert_no_pending_responses()
        cloudformation.assert_no_pending_responses()
    executions.stepfunctions_client.cache_clear()


def event(
    request_type: str, properties: dict[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    return cfn_event(
        request_type,
        PROPERTIES if properties is None else properties,
        resource_type=LONG_WAIT_RESOURCE_TYPE,
        logical_id=LOGICAL_ID,
        **options,
    )


def expect_handle(
    stubs: Stubs,
    url: str = HANDLE_URL,
    resource_type: str = "AWS::CloudFormation::WaitConditionHandle",
) -> None:
    stubs.cloudformation.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "StackId": STACK_ID,
                "LogicalResourceId": HANDLE,
                "PhysicalResourceId": url,
                "ResourceType": resource_type,
                "LastUpdatedTimestamp": datetime(2026, 3, 1, tzinfo=UTC),
                "ResourceStatus": "CREATE_COMPLETE",
            }
        },
        {"StackName": STACK_ID, "LogicalResourceId": HANDLE},
    )


def expected_start(
    request: dict[str, Any], kind: str = "task", arn: str = TASK, url: str = HANDLE_URL
) -> dict[str, Any]:
    name = executions.execution_name(STACK_ID, LOGICAL_ID, request["RequestId"])
    execution_input = {
        "kind": kind,
        "arn": arn,
        "until": "full-load-finished",
        "deadline": NOW + 21600,
        "maximumSeconds": 21600,
        "url": url,
    }
    return {
        "stateMachineArn": STATE_MACHINE,
        "name": name,
        "input": json.dumps(execution_input, separators=(",", ":")),
    }


def execution_of(request: dict[str, Any]) -> str:
    name = executions.execution_name(STACK_ID, LOGICAL_ID, request["RequestId"])
    return f"arn:aws:states:eu-west-1:123456789012:execution:LongWait-AbC123:{name}"


@pytest.mark.parametrize(
    "url",
    [HANDLE_URL, HANDLE_URL.replace("https://", "http://")],
    ids=["CloudFormation's https URL", "an emulation's http URL"],
)
def test_create_starts_the_execution_with_the_url_only_in_its_input(
    stubs: Stubs, log_output: io.StringIO, url: str
) -> None:
    request = event("Create")
    expect_handle(stubs, url)
    arn = execution_of(request)
    stubs.states.add_response(
        "start_execution",
        {"executionArn": arn, "startDate": datetime.now(UTC)},
        expected_start(request, url=url),
    )
    answer = handler.on_event(request, CONTEXT)
    assert answer == {"PhysicalResourceId": arn}
    assert handler.is_complete({**request, "PhysicalResourceId": arn}, CONTEXT) == {
        "IsComplete": True
    }
    assert SIGNATURE not in log_output.getvalue()
    assert arn in log_output.getvalue()


def test_a_serverless_wait_names_its_kind(stubs: Stubs) -> None:
    properties = {**PROPERTIES, "ReplicationConfigArn": CONFIG}
    del properties["ReplicationTaskArn"]
    request = event("Create", properties)
    expect_handle(stubs)
    stubs.states.add_response(
        "start_execution",
        {"executionArn": execution_of(request), "startDate": datetime.now(UTC)},
        expected_start(request, "replication", CONFIG),
    )
    assert handler.on_event(request, CONTEXT) == {"PhysicalResourceId": execution_of(request)}


def test_a_retried_create_finds_the_execution_it_started(stubs: Stubs) -> None:
    request = event("Create")
    expect_handle(stubs)
    stubs.states.add_client_error(
        "start_execution",
        "ExecutionAlreadyExists",
        "Execution Already Exists",
        400,
        expected_params=expected_start(request),
    )
    assert handler.on_event(request, CONTEXT) == {"PhysicalResourceId": execution_of(request)}


def test_a_refused_start_fails_the_create_naming_the_task_not_the_url(
    stubs: Stubs, log_output: io.StringIO
) -> None:
    request = event("Create")
    expect_handle(stubs)
    stubs.states.add_client_error(
        "start_execution", "StateMachineDoesNotExist", "State Machine Does Not Exist", 400
    )
    with pytest.raises(
        StarterError, match=f"The long wait for {TASK} did not start: StartExecution"
    ) as raised:
        handler.on_event(request, CONTEXT)
    assert "StateMachineDoesNotExist" in str(raised.value)
    assert SIGNATURE not in str(raised.value) + log_output.getvalue()


def test_a_handle_that_cannot_be_read_fails_the_create(stubs: Stubs) -> None:
    stubs.cloudformation.add_client_error("describe_stack_resource", "AccessDenied", "no", 403)
    with pytest.raises(
        StarterError, match=f"DescribeStackResource of {HANDLE} in {STACK_ID} failed"
    ):
        handler.on_event(event("Create"), CONTEXT)


@pytest.mark.parametrize(
    ("url", "resource_type"),
    [
        ("WaitHandle-1A2B3C", "AWS::CloudFormation::WaitConditionHandle"),
        ("file:///etc/passwd", "AWS::CloudFormation::WaitConditionHandle"),
        (HANDLE_URL, "AWS::SSM::Parameter"),
    ],
)
def test_a_handle_without_a_url_fails_the_create_naming_what_was_found(
    stubs: Stubs, url: str, resource_type: str
) -> None:
    expect_handle(stubs, url, resource_type)
    with pytest.raises(
        StarterError,
        match=f"not a AWS::CloudFormation::WaitConditionHandle with a URL \\(type {resource_type}",
    ):
        handler.on_event(event("Create"), CONTEXT)
    stubs.states.assert_no_pending_responses()


def test_without_the_state_machine_variable_nothing_starts(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STATE_MACHINE_ARN_ENV)
    with pytest.raises(StarterError, match=f"no {STATE_MACHINE_ARN_ENV}.*Nothing was started"):
        handler.on_event(event("Create"), CONTEXT)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"Until": "nothing"},
            "Until: a long wait waits for something (got 'nothing'). "
            "Accepted: running or full-load-finished.",
        ),
        ({"Until": "done"}, "Until: unknown value (got 'done')"),
        ({"MaximumSeconds": "30"}, "MaximumSeconds: out of range (got '30')"),
        ({"MaximumSeconds": "90"}, "MaximumSeconds: out of range (got '90')"),
        ({"MaximumSeconds": "43260"}, "MaximumSeconds: out of range"),
        ({"MaximumSeconds": "6h"}, "MaximumSeconds: not a whole number"),
        ({"WaitHandle": "https://x"}, "WaitHandle: not a logical id"),
        ({"WaitHandle": ""}, "WaitHandle: missing; the property is required"),
        (
            {"ReplicationConfigArn": CONFIG},
            "ReplicationTaskArn: give one ARN (got 'ReplicationTaskArn, ReplicationConfigArn')",
        ),
        ({"ReplicationTaskArn": "orders"}, "ReplicationTaskArn: not a DMS replication task ARN"),
    ],
)
def test_bad_properties_name_the_property_and_start_nothing(
    stubs: Stubs, change: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidSettingError) as raised:
        handler.on_event(event("Create", {**PROPERTIES, **change}), CONTEXT)
    assert message in str(raised.value)


def test_delete_stops_the_execution(stubs: Stubs) -> None:
    arn = execution_of({"RequestId": "r"})
    stubs.states.add_response(
        "stop_execution", {"stopDate": datetime.now(UTC)}, {"executionArn": arn}
    )
    assert handler.on_event(event("Delete", physical_id=arn), CONTEXT) == {
        "PhysicalResourceId": arn
    }


def test_delete_of_an_execution_step_functions_does_not_know_succeeds(stubs: Stubs) -> None:
    arn = execution_of({"RequestId": "r"})
    stubs.states.add_client_error(
        "stop_execution",
        "ExecutionDoesNotExist",
        "none",
        400,
        expected_params={"executionArn": arn},
    )
    assert handler.on_event(event("Delete", physical_id=arn), CONTEXT) == {
        "PhysicalResourceId": arn
    }


def test_delete_of_a_physical_id_that_names_no_execution_calls_nothing(stubs: Stubs) -> None:
    answer = handler.on_event(event("Delete", {}, physical_id="not-an-execution"), CONTEXT)
    assert answer == {"PhysicalResourceId": "not-an-execution"}


def test_a_refused_stop_is_a_warning_and_the_delete_succeeds(
    stubs: Stubs, log_output: io.StringIO
) -> None:
    arn = execution_of({"RequestId": "r"})
    stubs.states.add_client_error("stop_execution", "AccessDeniedException", "denied", 400)
    assert handler.on_event(event("Delete", physical_id=arn), CONTEXT) == {
        "PhysicalResourceId": arn
    }
    (warning,) = [line for line in logged(log_output) if line["level"] == "WARNING"]
    assert warning["message"] == "could not stop the long wait; it ends at its deadline"
    assert f"StopExecution for {arn} failed: AccessDeniedException: denied" == warning["reason"]


def test_an_update_with_the_same_settings_keeps_its_execution(stubs: Stubs) -> None:
    arn = execution_of({"RequestId": "r"})
    request = event("Update", {**PROPERTIES}, old_properties=PROPERTIES, physical_id=arn)
    assert handler.on_event(request, CONTEXT) == {"PhysicalResourceId": arn}


def test_an_update_with_other_settings_starts_a_new_execution(stubs: Stubs) -> None:
    old = execution_of({"RequestId": "r"})
    old_properties = {**PROPERTIES, "MaximumSeconds": "3600"}
    request = event("Update", old_properties=old_properties, physical_id=old)
    expect_handle(stubs)
    stubs.states.add_response(
        "start_execution",
        {"executionArn": execution_of(request), "startDate": datetime.now(UTC)},
        expected_start(request),
    )
    assert handler.on_event(request, CONTEXT) == {"PhysicalResourceId": execution_of(request)}


# -- the signaller ------------------------------------------------------------------------------


@dataclass
class HandleServer:
    """A wait condition handle: records every request as it came over the wire (header
    lines included: an empty Content-Type is not an absent one); answers with ``statuses``
    in turn, then 200."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    content_types: list[str]
    body: bytes


@pytest.fixture
def handle() -> Iterator[HandleServer]:
    recorded = HandleServer()

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            types = self.headers.get_all("Content-Type") or []
            recorded.received.append(Received("PUT", self.path, types, body))
            self.send_response(recorded.statuses.pop(0) if recorded.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Silent."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorded.url = f"http://127.0.0.1:{server.server_port}/handle?X-Amz-Signature={SIGNATURE}"
    yield recorded
    server.shutdown()
    server.server_close()


@pytest.fixture
def dms_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setattr(long_wait, "now_epoch_seconds", lambda: NOW)
    monkeypatch.setattr("dms_task_starter_runtime.long_wait.time.sleep", lambda _seconds: None)
    with Stubber(dms.dms_client()) as stub:
        yield stub
        stub.assert_no_pending_responses()


def check_input(url: str, deadline: int = NOW + 60) -> dict[str, Any]:
    return {
        "kind": "task",
        "arn": TASK,
        "until": "full-load-finished",
        "deadline": deadline,
        "maximumSeconds": 21600,
        "url": url,
    }


def describe(stub: Stubber, status: str, **fields: Any) -> None:
    task = {
        "ReplicationTaskArn": TASK,
        "Status": status,
        "MigrationType": "full-load-and-cdc",
        **fields,
    }
    stub.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [task]},
        {"Filters": [{"Name": "replication-task-arn", "Values": [TASK]}], "WithoutSettings": True},
    )


def logged(log_output: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_output.getvalue().splitlines()]


def test_a_check_that_finds_the_load_going_logs_its_progress_and_signals_nothing(
    handle: HandleServer, dms_stub: Stubber, log_output: io.StringIO
) -> None:
    describe(
        dms_stub, "running", ReplicationTaskStats={"FullLoadProgressPercent": 42, "TablesLoaded": 3}
    )
    assert long_wait.check(check_input(handle.url), CONTEXT) == {"done": False}
    assert handle.received == []
    (line,) = logged(log_output)
    assert line["message"] == "waiting for 'full-load-finished'"
    assert (
        line["task_arn"],
        line["status"],
        line["full_load_progress_percent"],
        line["tables_loaded"],
    ) == (TASK, "running", 42, 3)
    assert line["deadline_in_seconds"] == 60


def test_a_check_that_finds_the_load_finished_puts_success_with_an_empty_content_type(
    handle: HandleServer, dms_stub: Stubber, log_output: io.StringIO
) -> None:
    stats = {
        "FullLoadProgressPercent": 100,
        "TablesLoaded": 7,
        "FullLoadFinishDate": datetime(2026, 3, 1, tzinfo=UTC),
    }
    describe(dms_stub, "running", ReplicationTaskStats=stats)
    assert long_wait.check(check_input(handle.url), CONTEXT) == {"done": True}
    ((received,),) = [handle.received]
    assert (received.method, received.path) == ("PUT", f"/handle?X-Amz-Signature={SIGNATURE}")
    assert received.content_types == [""]
    assert json.loads(received.body) == {
        "Status": "SUCCESS",
        "Reason": f"Replication task {TASK} reached 'full-load-finished': it is running; "
        "full load 100 %, 7 tables loaded.",
        "UniqueId": TASK,
        "Data": "running",
    }
    lines = logged(log_output)
    assert [line["message"] for line in lines] == ["signalling SUCCESS", "signalled SUCCESS"]
    assert all(line["task_arn"] == TASK for line in lines)
    assert SIGNATURE not in log_output.getvalue()


def test_a_task_stopped_by_hand_puts_failure_with_its_status(
    handle: HandleServer, dms_stub: Stubber
) -> None:
    describe(dms_stub, "stopped", StopReason="Stop Reason NORMAL")
    assert long_wait.check(check_input(handle.url), CONTEXT) == {"done": True}
    signal = json.loads(handle.received[0].body)
    assert signal["Status"] == "FAILURE"
    assert signal["Reason"] == (
        f"Replication task {TASK} will not reach 'full-load-finished': it is stopped "
        "(StopReason 'Stop Reason NORMAL'). It was left as it is."
    )


def test_the_deadline_puts_failure_even_when_dms_cannot_be_read(
    handle: HandleServer, dms_stub: Stubber, log_output: io.StringIO
) -> None:
    dms_stub.add_client_error("describe_replication_tasks", "AccessDeniedFault", "denied", 400)
    assert long_wait.check(check_input(handle.url, deadline=NOW), CONTEXT) == {"done": True}
    signal = json.loads(handle.received[0].body)
    assert signal["Status"] == "FAILURE"
    assert "the last DMS read failed: DescribeReplicationTasks for" in signal["Reason"]
    assert SIGNATURE not in log_output.getvalue()


def test_a_failed_read_before_the_deadline_is_tried_again_next_check(
    handle: HandleServer, dms_stub: Stubber, log_output: io.StringIO
) -> None:
    dms_stub.add_client_error("describe_replication_tasks", "AccessDeniedFault", "denied", 400)
    assert long_wait.check(check_input(handle.url), CONTEXT) == {"done": False}
    assert handle.received == []
    assert logged(log_output)[0]["level"] == "WARNING"


def test_a_signal_answered_with_5xx_is_sent_again(
    handle: HandleServer, dms_stub: Stubber, log_output: io.StringIO
) -> None:
    handle.statuses = [503, 500]
    describe(dms_stub, "failed", LastFailureMessage="boom")
    assert long_wait.check(check_input(handle.url), CONTEXT) == {"done": True}
    assert len(handle.received) == 3
    assert len({received.body for received in handle.received}) == 1
    assert SIGNATURE not in log_output.getvalue()


def test_a_refused_signal_fails_the_check_without_the_url(
    handle: HandleServer, dms_stub: Stubber, log_output: io.StringIO
) -> None:
    handle.statuses = [403]
    describe(dms_stub, "failed")
    with pytest.raises(
        long_wait.SignalError, match="the FAILURE signal was refused: HTTP 403"
    ) as raised:
        long_wait.check(check_input(handle.url), CONTEXT)
    assert len(handle.received) == 1
    assert SIGNATURE not in str(raised.value) + log_output.getvalue()


def test_an_unreachable_handle_fails_after_three_attempts_without_the_url(
    dms_stub: Stubber, log_output: io.StringIO
) -> None:
    describe(dms_stub, "failed")
    url = f"http://127.0.0.1:9/handle?X-Amz-Signature={SIGNATURE}"
    with pytest.raises(long_wait.SignalError, match="could not be sent") as raised:
        long_wait.check(check_input(url), CONTEXT)
    assert SIGNATURE not in str(raised.value) + log_output.getvalue()
    assert [line["attempt"] for line in logged(log_output) if "attempt" in line] == [1, 2]
