"""Fault injection: every way DMS or CloudFormation can hand the handler something bad.

Each case ends in a clear failure (an exception whose message names the task and the
cause, the text CloudFormation shows) or in a correct success, never in a hang (polls
are bounded by ``run_provider`` and by a fake clock) and never in a StartReplicationTask
on bad input. The double is extended here to answer with any error code and any HTTP
status (5xx included), for the first k calls of an operation or for all of them, and to
keep tasks stuck in a transitional status.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pytest
from dms_task_starter_runtime import handler
from dms_task_starter_runtime.decisions import StarterError
from dms_task_starter_runtime.dms import CLIENT_CONFIG, DmsCallError
from dms_task_starter_runtime.settings import InvalidSettingError

from .dms_double import DmsDouble, DmsError, FakeTask, ServedDouble, task_arn
from .provider import CONTEXT, MAX_POLLS, cfn_event, run_provider

if TYPE_CHECKING:
    from collections.abc import Iterator

T1: Final = task_arn("T1")
DESCRIBE: Final = "DescribeReplicationTasks"
START: Final = "StartReplicationTask"
STOP: Final = "StopReplicationTask"
# botocore reads retries["max_attempts"] as retries after the first attempt.
TOTAL_ATTEMPTS: Final = 1 + int(getattr(CLIENT_CONFIG, "retries")["max_attempts"])  # noqa: B009
TRANSIENT_TIMES: Final = 3
"""A transient fault answers this many calls in a row, then the call goes through."""


# -- the double, extended ------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """Answer calls of ``operation`` with ``code`` and HTTP ``status``.

    ``after`` calls of the operation go through first; then ``times`` calls fail (all of
    them when ``times`` is None). With ``applied`` the call takes effect before the answer
    is lost (a 5xx after the write was made).
    """

    operation: str
    code: str
    status: int = 400
    times: int | None = None
    after: int = 0
    applied: bool = False

    @property
    def message(self) -> str:
        return f"injected {self.code}"


class InjectedError(DmsError):
    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.code, fault.message, fault.status)


@dataclass
class FaultyDouble(DmsDouble):
    """The DMS double with injected faults and tasks that can be kept from moving on."""

    faults: list[Fault] = field(default_factory=list)
    attempts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every call that reached the server, failed or not, in order."""
    injected: list[tuple[str, str]] = field(default_factory=list)
    stuck: bool = False
    """Transitional statuses stay as they are on ``advance()``."""
    _seen: dict[str, int] = field(default_factory=dict)

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.attempts.append((operation, params))
        seen = self._seen[operation] = self._seen.get(operation, 0) + 1
        for fault in self.faults:
            if fault.operation != operation or seen <= fault.after:
                continue
            if fault.times is not None and seen > fault.after + fault.times:
                continue
            if fault.applied:
                super().handle(operation, params)
            self.injected.append((operation, fault.code))
            raise InjectedError(fault)
        return super().handle(operation, params)

    def _advance_task(self, task: FakeTask) -> None:
        if not self.stuck:
            super()._advance_task(task)

    def attempted(self, operation: str) -> int:
        return sum(1 for name, _ in self.attempts if name == operation)


@pytest.fixture
def faulty() -> Iterator[FaultyDouble]:
    state = FaultyDouble()
    with ServedDouble(state):
        yield state


def fake_clock(monkeypatch: pytest.MonkeyPatch, step: int = 50) -> None:
    clock = itertools.count(1_800_000_000, step)
    monkeypatch.setattr(handler, "now_epoch_seconds", lambda: next(clock))


def start(arn: str, start_type: str, **cdc: str) -> tuple[str, dict[str, Any]]:
    return (START, {"ReplicationTaskArn": arn, "StartReplicationTaskType": start_type, **cdc})


def stop(arn: str) -> tuple[str, dict[str, Any]]:
    return (STOP, {"ReplicationTaskArn": arn})


def props(**settings: Any) -> dict[str, Any]:
    return {"ReplicationTaskArn": T1, **settings}


# -- DMS errors on describe, start and stop ------------------------------------------------

EXPLANATIONS: Final = {
    "ResourceNotFoundFault": "the task does not exist",
    "AccessDeniedFault": "this function is not allowed to do that",
    "InvalidResourceStateFault": "the task is not in a state that allows it",
    "InvalidParameterValueException": "DMS rejected a parameter value",
    "InvalidParameterCombinationException": "DMS rejected the combination of parameters",
    "ThrottlingException": "DMS returned an error",
    "InternalFailure": "DMS returned an error",
    "ServiceUnavailable": "DMS returned an error",
}


@dataclass(frozen=True)
class ErrorKind:
    """One class of DMS answer: a code, an HTTP status, and whether it persists."""

    name: str
    code: str
    status: int = 400
    transient: bool = False

    def fault(self, operation: str, after: int = 0) -> Fault:
        times = TRANSIENT_TIMES if self.transient else None
        return Fault(operation, self.code, self.status, times, after)

    @property
    def retried(self) -> bool:
        return self.code == "ThrottlingException" or self.status >= 500


ERROR_KINDS: Final = (
    ErrorKind("not-found", "ResourceNotFoundFault"),
    ErrorKind("access-denied", "AccessDeniedFault"),
    ErrorKind("invalid-state", "InvalidResourceStateFault"),
    ErrorKind("invalid-value", "InvalidParameterValueException"),
    ErrorKind("invalid-combination", "InvalidParameterCombinationException"),
    ErrorKind("throttled-persistent", "ThrottlingException"),
    ErrorKind("throttled-transient", "ThrottlingException", transient=True),
    ErrorKind("http-500-persistent", "InternalFailure", 500),
    ErrorKind("http-500-transient", "InternalFailure", 500, transient=True),
    ErrorKind("http-503-transient", "ServiceUnavailable", 503, transient=True),
)
KIND_IDS: Final = [kind.name for kind in ERROR_KINDS]


def call_failed(operation: str, kind: ErrorKind) -> str:
    return (
        f"{operation} for replication task {T1} failed, {EXPLANATIONS[kind.code]}: "
        f"{kind.code}: injected {kind.code}"
    )


def assert_attempts(
    faulty: FaultyDouble, operation: str, kind: ErrorKind, fault_calls: int
) -> None:
    """A persistent retried fault uses exactly the client's attempts; others are not retried."""
    if kind.transient:
        assert len(faulty.injected) == TRANSIENT_TIMES
    elif kind.retried:
        assert faulty.attempted(operation) - fault_calls == TOTAL_ATTEMPTS
    else:
        assert faulty.attempted(operation) - fault_calls == 1


# "on_event": the describe before acting; "is_complete": a describe while waiting.
DESCRIBE_PHASES: Final = {"on_event": 0, "is_complete": 1}


@pytest.mark.parametrize("phase", list(DESCRIBE_PHASES))
@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_describe_fault(faulty: FaultyDouble, kind: ErrorKind, phase: str) -> None:
    faulty.add_task("T1")
    after = DESCRIBE_PHASES[phase]
    faulty.faults.append(kind.fault(DESCRIBE, after))
    event = cfn_event("Create", props())
    if kind.transient:
        assert run_provider(event, faulty).data["Status"] == "running"
    elif kind.code == "ResourceNotFoundFault":
        with pytest.raises(StarterError) as not_found:
            run_provider(event, faulty)
        assert str(not_found.value) == (
            f"Replication task {T1} was not found (or this function may not describe it): "
            "check the ARN, the region and the account."
        )
    else:
        with pytest.raises(DmsCallError) as caught:
            run_provider(event, faulty)
        assert str(caught.value) == call_failed(DESCRIBE, kind)
    assert_attempts(faulty, DESCRIBE, kind, after)
    # A describe that fails before acting prevents the start; one that fails later does not.
    expected_writes = [start(T1, "start-replication")] if after or kind.transient else []
    assert faulty.writes() == expected_writes
    assert faulty.attempted(START) == len(expected_writes)


# "on_event": a ready task is started at once; "is_complete": a creating task once ready.
START_PHASES: Final = {"on_event": "ready", "is_complete": "creating"}


@pytest.mark.parametrize("phase", list(START_PHASES))
@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_start_fault(faulty: FaultyDouble, kind: ErrorKind, phase: str) -> None:
    faulty.add_task("T1", status=START_PHASES[phase])
    faulty.faults.append(kind.fault(START))
    event = cfn_event("Create", props())
    if kind.transient:
        assert run_provider(event, faulty).data["Status"] == "running"
        assert faulty.writes() == [start(T1, "start-replication")]
    else:
        with pytest.raises(DmsCallError) as caught:
            run_provider(event, faulty)
        assert str(caught.value) == call_failed(START, kind)
        assert faulty.writes() == []
        assert faulty.tasks[T1].status == "ready"
    assert_attempts(faulty, START, kind, 0)


# "on_event": a running task is stopped at once; "is_complete": a starting task once it runs.
STOP_PHASES: Final = {"on_event": "running", "is_complete": "starting"}


@pytest.mark.parametrize("phase", list(STOP_PHASES))
@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_stop_fault_on_delete(faulty: FaultyDouble, kind: ErrorKind, phase: str) -> None:
    faulty.add_task("T1", status=STOP_PHASES[phase], start_date=1_700_000_000.0)
    faulty.faults.append(kind.fault(STOP))
    event = cfn_event("Delete", props(), physical_id=T1)
    if kind.transient:
        run_provider(event, faulty)
        assert faulty.tasks[T1].status == "stopped"
        assert faulty.writes() == [stop(T1)]
    else:
        with pytest.raises(DmsCallError) as caught:
            run_provider(event, faulty)
        assert str(caught.value) == call_failed(STOP, kind)
        assert faulty.writes() == []
        assert faulty.tasks[T1].status == "running"
    assert faulty.attempted(START) == 0
    assert_attempts(faulty, STOP, kind, 0)


@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_stop_fault_on_restart(faulty: FaultyDouble, kind: ErrorKind) -> None:
    """An Update that must restart a running task never starts it when the stop failed."""
    faulty.add_task("T1", status="running", start_date=1_700_000_000.0)
    faulty.faults.append(kind.fault(STOP))
    new = props(CdcStartPosition="mysql-bin-changelog.000024:373")
    event = cfn_event("Update", new, old_properties=props(), physical_id=T1)
    if kind.transient:
        run_provider(event, faulty)
        assert faulty.writes() == [
            stop(T1),
            start(T1, "resume-processing", CdcStartPosition="mysql-bin-changelog.000024:373"),
        ]
    else:
        with pytest.raises(DmsCallError) as caught:
            run_provider(event, faulty)
        assert str(caught.value) == call_failed(STOP, kind)
        assert faulty.writes() == []
        assert faulty.attempted(START) == 0


def test_start_applied_but_answer_lost_is_a_success(faulty: FaultyDouble) -> None:
    faulty.add_task("T1")
    faulty.faults.append(Fault(START, "InternalFailure", 500, times=1, applied=True))
    assert run_provider(cfn_event("Create", props()), faulty).data["Status"] == "running"
    assert faulty.writes() == [start(T1, "start-replication")]


def test_stop_applied_but_answer_lost_is_a_success(faulty: FaultyDouble) -> None:
    faulty.add_task("T1", status="running", start_date=1_700_000_000.0)
    faulty.faults.append(Fault(STOP, "InternalFailure", 500, times=1, applied=True))
    run_provider(cfn_event("Delete", props(), physical_id=T1), faulty)
    assert faulty.tasks[T1].status == "stopped"


# -- tasks that fail or never arrive -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "start_type"),
    [("ready", "start-replication"), ("stopped", "resume-processing"), ("creating", None)],
)
def test_task_failing_while_starting(
    faulty: FaultyDouble, status: str, start_type: str | None
) -> None:
    faulty.add_task("T1", status=status, fails_while_starting="Error connecting to source")
    with pytest.raises(StarterError) as caught:
        run_provider(cfn_event("Create", props()), faulty)
    assert str(caught.value) == (
        f"Replication task {T1} did not reach 'running': it is failed "
        "(StopReason 'Stop Reason FATAL_ERROR', LastFailureMessage 'Error connecting to source')."
    )
    assert faulty.writes() == [start(T1, start_type or "start-replication")]


@pytest.mark.parametrize(
    "case",
    [
        ("Create", "creating", "running", "run"),
        ("Create", "starting", "running", "run"),
        ("Create", "stopping", "running", "run"),
        ("Create", "modifying", "running", "run"),
        ("Create", "moving", "running", "run"),
        ("Create", "testing", "running", "run"),
        ("Create", "starting", "full-load-finished", "finish its full load"),
        ("Create", "running", "full-load-finished", "finish its full load"),
        ("Delete", "starting", "running", "come to rest (stopped)"),
        ("Delete", "stopping", "running", "come to rest (stopped)"),
    ],
)
def test_stuck_past_the_deadline(
    faulty: FaultyDouble, monkeypatch: pytest.MonkeyPatch, case: tuple[str, str, str, str]
) -> None:
    request_type, status, wait_for, goal = case
    faulty.add_task("T1", status=status, start_date=1_700_000_000.0)
    faulty.stuck = True
    fake_clock(monkeypatch, step=50)
    properties = props(TimeoutSeconds="120", WaitFor=wait_for)
    physical_id = T1 if request_type == "Delete" else None
    with pytest.raises(StarterError) as caught:
        run_provider(cfn_event(request_type, properties, physical_id=physical_id), faulty)
    assert str(caught.value) == (
        f"Timed out after 120 s waiting for task {T1} to {goal}; last status {status}. "
        "The task was left as it is."
    )
    # on_event at t0, polls at t0+50, t0+100 and the timeout at t0+150: bounded.
    assert faulty.attempted(DESCRIBE) == 4
    assert faulty.attempts[-1][0] == DESCRIBE
    assert faulty.writes() == []


# -- malformed events ----------------------------------------------------------------------


def _without(key: str) -> dict[str, Any]:
    event = cfn_event("Create", props())
    del event[key]
    return event


def _with(key: str, value: object) -> dict[str, Any]:
    return {**cfn_event("Create", props()), key: value}


TRUNCATED_JSON: Final = '{"ReplicationTaskArn": "arn:aws:dms:eu-'

MALFORMED_EVENTS: Final = {
    "missing-RequestType": (
        _without("RequestType"),
        StarterError,
        "Malformed CloudFormation event: RequestType missing or not a string; a custom "
        "resource request carries RequestType, ResourceType, LogicalResourceId. Nothing was done.",
    ),
    "missing-LogicalResourceId": (
        _without("LogicalResourceId"),
        StarterError,
        "Malformed CloudFormation event: LogicalResourceId missing or not a string",
    ),
    "missing-ResourceProperties": (
        _without("ResourceProperties"),
        InvalidSettingError,
        "ReplicationTaskArn: missing; the property is required",
    ),
    "null-ResourceProperties": (
        _with("ResourceProperties", None),
        InvalidSettingError,
        "ReplicationTaskArn: missing; the property is required",
    ),
    "truncated-json-ResourceProperties": (
        _with("ResourceProperties", TRUNCATED_JSON),
        StarterError,
        "Malformed CloudFormation event: ResourceProperties is a str, not an object of "
        "properties. Nothing was done.",
    ),
    "list-ResourceProperties": (
        _with("ResourceProperties", [props()]),
        StarterError,
        "Malformed CloudFormation event: ResourceProperties is a list, not an object",
    ),
    "wrong-ResourceType": (
        _with("ResourceType", "Custom::Other"),
        StarterError,
        "Unknown resource type Custom::Other: this function handles "
        "Custom::DmsReplicationTaskStarter and Custom::DmsReplicationTaskUpdateGuard.",
    ),
    "missing-ResourceType": (
        _without("ResourceType"),
        StarterError,
        "Malformed CloudFormation event: ResourceType missing or not a string",
    ),
}


@pytest.mark.parametrize(
    ("event", "error", "message"), MALFORMED_EVENTS.values(), ids=list(MALFORMED_EVENTS)
)
def test_malformed_event_fails_without_a_dms_call(
    faulty: FaultyDouble, event: dict[str, Any], error: type[Exception], message: str
) -> None:
    faulty.add_task("T1")
    with pytest.raises(error) as caught:
        handler.on_event(event, CONTEXT)
    assert str(caught.value).startswith(message)
    assert faulty.attempts == []


def test_unknown_request_type_fails_without_a_dms_call(faulty: FaultyDouble) -> None:
    faulty.add_task("T1")
    with pytest.raises(Exception, match="Bogus"):
        handler.on_event(_with("RequestType", "Bogus"), CONTEXT)
    assert faulty.attempts == []


def _plan_data() -> dict[str, str]:
    return {
        "StarterTaskArn": T1,
        "StarterDeadline": "1800000000",
        "StarterTimeoutSeconds": "120",
        "StarterWaitFor": "running",
        "StarterStopArn": "",
        "StarterStartFromStatuses": "",
        "StarterStartMarker": "",
        "StarterExpectsNewRun": "true",
        "StarterCdcHandover": "false",
    }


MALFORMED_PLANS: Final = {
    "missing-Data": (None, "The event's Data has no plan key StarterTaskArn"),
    "empty-Data": ({}, "The event's Data has no plan key StarterTaskArn"),
    "garbage-deadline": (
        {**_plan_data(), "StarterDeadline": "17e8"},
        f"The plan on_event left in the event's Data for task {T1} is unreadable "
        "(invalid literal for int",
    ),
    "truncated-wait-for": (
        {**_plan_data(), "StarterWaitFor": "runn"},
        f"The plan on_event left in the event's Data for task {T1} is unreadable "
        "('runn' is not a valid",
    ),
    "non-string-plan-key": (
        {**_plan_data(), "StarterTaskArn": 42},
        "The event's Data has no plan key StarterTaskArn",
    ),
}


@pytest.mark.parametrize(("data", "message"), MALFORMED_PLANS.values(), ids=list(MALFORMED_PLANS))
def test_is_complete_with_a_malformed_plan_fails_without_a_dms_call(
    faulty: FaultyDouble, data: dict[str, Any] | None, message: str
) -> None:
    faulty.add_task("T1")
    event = cfn_event("Create", props(), physical_id=T1)
    if data is not None:
        event["Data"] = data
    with pytest.raises(StarterError) as caught:
        handler.is_complete(event, CONTEXT)
    assert str(caught.value).startswith(message)
    assert faulty.attempts == []


def test_delete_with_invalid_properties_still_stops_the_task(faulty: FaultyDouble) -> None:
    """Delete reads OnDelete leniently: an invalid value means the default, stop."""
    faulty.add_task("T1", status="running", start_date=1_700_000_000.0)
    properties = {"ReplicationTaskArn": 42, "OnDelete": "vaporise", "TimeoutSeconds": "x"}
    run_provider(cfn_event("Delete", properties, physical_id=T1), faulty)
    assert faulty.writes() == [stop(T1)]
    assert faulty.tasks[T1].status == "stopped"


# -- every missing or invalid property -----------------------------------------------------

ARN_FORMS: Final = "Accepted: arn:<partition>:dms:<region>:<12-digit account>:task:<id>"
INVALID_PROPERTIES: Final = [
    # (properties, message prefix)
    ({}, "ReplicationTaskArn: missing; the property is required (got '')"),
    ({"ReplicationTaskArn": ""}, "ReplicationTaskArn: missing; the property is required"),
    ({"ReplicationTaskArn": "T1"}, "ReplicationTaskArn: not a DMS replication task ARN (got 'T1')"),
    (
        {"ReplicationTaskArn": "arn:aws:dms:eu-west-1:123456789012:endpoint:E1"},
        "ReplicationTaskArn: not a DMS replication task ARN",
    ),
    (
        {"ReplicationTaskArn": "arn:aws:rds:eu-west-1:123456789012:task:T1"},
        "ReplicationTaskArn: not a DMS replication task ARN",
    ),
    (
        {"ReplicationTaskArn": "arn:aws:dms:eu-west-1:12345678901:task:T1"},
        "ReplicationTaskArn: not a DMS replication task ARN",
    ),
    ({"ReplicationTaskArn": T1 + "\n"}, "ReplicationTaskArn: not a DMS replication task ARN"),
    ({"ReplicationTaskArn": T1[:30]}, "ReplicationTaskArn: not a DMS replication task ARN"),
    ({"ReplicationTaskArn": 42}, "ReplicationTaskArn: not a string (got '42')"),
    ({"ReplicationTaskArn": [T1]}, "ReplicationTaskArn: not a string"),
    (props(StartReplicationTaskType="start-replication"), "StartReplicationTaskType: unknown"),
    (props(StartReplicationTaskType="RESUME-PROCESSING"), "StartReplicationTaskType: unknown"),
    (props(StartReplicationTaskType=1), "StartReplicationTaskType: not a string"),
    (props(CdcStartTime="yesterday"), "CdcStartTime: not a date and time (got 'yesterday')"),
    (props(CdcStartTime="2024-13-01T00:00:00"), "CdcStartTime: not a date and time"),
    (props(CdcStartTime="99999999999999999"), "CdcStartTime: not a date and time"),
    (props(CdcStartTime=1706702400), "CdcStartTime: not a string"),
    (props(CdcStartPosition=" 0/5120E10"), "CdcStartPosition: has leading or trailing"),
    (props(CdcStartPosition="   "), "CdcStartPosition: has leading or trailing whitespace"),
    (props(CdcStartPosition="x" * 1025), "CdcStartPosition: longer than 1024 characters"),
    (
        props(CdcStartTime="2024-01-31T12:00:00", CdcStartPosition="0/5120E10"),
        "CdcStartTime and CdcStartPosition: both are set, DMS accepts only one",
    ),
    (props(CdcStopPosition="2018-02-09T12:12:12"), "CdcStopPosition: not a server_time or"),
    (props(CdcStopPosition="server_time:tomorrow"), "CdcStopPosition: not a server_time or"),
    (
        props(CdcStopPosition="server_time:2018-02-30T12:12:12"),
        "CdcStopPosition: the date and time does not exist",
    ),
    (props(WaitFor="Running"), "WaitFor: unknown value (got 'Running')"),
    (props(WaitFor="complete"), "WaitFor: unknown value"),
    (props(OnDelete="delete"), "OnDelete: unknown value (got 'delete')"),
    (props(OnDelete=["stop"]), "OnDelete: not a string"),
    (props(TimeoutSeconds="59"), "TimeoutSeconds: out of range (got '59')"),
    (props(TimeoutSeconds="3001"), "TimeoutSeconds: out of range (got '3001')"),
    (props(TimeoutSeconds="-60"), "TimeoutSeconds: not a whole number (got '-60')"),
    (props(TimeoutSeconds="60.5"), "TimeoutSeconds: not a whole number"),
    (props(TimeoutSeconds="1e3"), "TimeoutSeconds: not a whole number"),
    (props(TimeoutSeconds=True), "TimeoutSeconds: not a whole number (got 'True')"),
    (props(TimeoutSeconds=60.5), "TimeoutSeconds: not a whole number (got '60.5')"),
    (props(TimeoutSeconds={"Ref": "T"}), "TimeoutSeconds: not a whole number"),
    (props(CdcHandover="yes"), "CdcHandover: not a boolean (got 'yes')"),
    (props(CdcHandover=True), "CdcHandover: not a string"),
    (props(TaskDefinitionDigest=123), "TaskDefinitionDigest: not a string"),
]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
@pytest.mark.parametrize(
    ("properties", "message"),
    INVALID_PROPERTIES,
    ids=[f"{i:02d}-{m.split(':')[0]}" for i, (_, m) in enumerate(INVALID_PROPERTIES)],
)
def test_invalid_property_fails_before_any_dms_call(
    faulty: FaultyDouble, properties: dict[str, Any], message: str, request_type: str
) -> None:
    faulty.add_task("T1")
    old = props() if request_type == "Update" else None
    event = cfn_event(request_type, properties, old_properties=old, physical_id=T1)
    with pytest.raises(InvalidSettingError) as caught:
        run_provider(event, faulty)
    assert str(caught.value).startswith(message)
    assert "Accepted: " in str(caught.value)
    assert faulty.attempts == []


@pytest.mark.parametrize(
    ("properties", "message"),
    INVALID_PROPERTIES[:10],
    ids=[f"{i:02d}" for i in range(10)],
)
def test_invalid_guard_property_fails_before_any_dms_call(
    faulty: FaultyDouble, properties: dict[str, Any], message: str
) -> None:
    faulty.add_task("T1")
    event = cfn_event("Create", properties, resource_type="Custom::DmsReplicationTaskUpdateGuard")
    with pytest.raises(InvalidSettingError) as caught:
        handler.on_event(event, CONTEXT)
    assert str(caught.value).startswith(message)
    assert faulty.attempts == []


# -- the count ------------------------------------------------------------------------------

FAULT_CASES: Final = (
    len(ERROR_KINDS) * len(DESCRIBE_PHASES)
    + len(ERROR_KINDS) * len(START_PHASES)
    + len(ERROR_KINDS) * len(STOP_PHASES)
    + len(ERROR_KINDS)
    + 2  # writes applied whose answers were lost
    + 3  # tasks failing while starting
    + 10  # tasks stuck past the deadline
    + len(MALFORMED_EVENTS)
    + 1  # unknown RequestType
    + len(MALFORMED_PLANS)
    + 1  # Delete with invalid properties
    + 2 * len(INVALID_PROPERTIES)
    + 10  # invalid guard properties
)
"""The number of fault cases this module runs (every parametrized case above)."""


def test_fault_case_count(request: pytest.FixtureRequest) -> None:
    collected = [
        item
        for item in request.session.items
        if getattr(item, "module", None) is request.module and item.name != request.node.name
    ]
    if collected and len(collected) == len(request.session.items) - 1:
        # The whole module was collected: the constant must match what runs.
        assert len(collected) == FAULT_CASES
    assert MAX_POLLS >= 5
    print(f"{FAULT_CASES} fault cases")
