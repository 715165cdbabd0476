"""Fault injection: every way DMS or CloudFormation can hand the handler something bad.

Each case ends in a clear failure (the reason CloudFormation shows names the task and the
cause) or in a correct success, never in a hang (``run_provider`` bounds every request on
the double's virtual clock and reports ``Operation timed out`` if the handler never
finishes) and never in a start on bad input (the exact DMS calls are asserted).

Whatever a Create ends in, nothing is left starting that nothing will stop: either the
Create failed before any start (the framework's CREATE_FAILED marker is then its physical
id, whose Delete never reaches the handler), or its physical id is the task's ARN and the
rollback Delete brings the task to rest (``assert_nothing_left_started``).

The double is extended here to answer with any error code and any HTTP status (5xx
included), for the first k calls of an operation or for all of them, to carry out a write
before losing its answer, to answer too late, and to keep tasks in a transitional status.
Every case runs under both readings of what the DMS reference leaves open.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

import pytest
from botocore.config import Config
from dms_task_starter_runtime import dms, handler
from dms_task_starter_runtime.contract import (
    GUARD_RESOURCE_TYPE,
    IAM_PROPAGATION_SECONDS,
    MAX_TIMEOUT_SECONDS,
    REPLICATION_STARTER_RESOURCE_TYPE,
    ROLLBACK_GUARD_RESOURCE_TYPE,
    STARTER_RESOURCE_TYPE,
    Kind,
    WaitFor,
)
from dms_task_starter_runtime.dms import CLIENT_CONFIG, DmsCallError
from dms_task_starter_runtime.plan import Plan, PlanKey, StarterError
from dms_task_starter_runtime.settings import InvalidSettingError
from dms_task_starter_runtime.state import State, snapshot
from dms_task_starter_runtime.text import truncate

from tests.support.dms_double import (
    BEHAVIOURS,
    CLOCK_START,
    FAILED_FIRST_START_RAN,
    Call,
    DmsDouble,
    DmsError,
    Replicating,
    config_arn,
    start_replication,
    start_task,
    stop_replication,
    stop_task,
    task_arn,
)
from tests.support.provider import (
    CONTEXT,
    CREATE_FAILED_MARKER,
    POLL_SECONDS,
    TIMED_OUT,
    ProviderFailedError,
    ProviderResult,
    cfn_event,
    double_clock,
    run_provider,
)
from tests.support.served import STACK_ID, FixedStack, ServedAws

if TYPE_CHECKING:
    import io
    from collections.abc import Callable, Iterator

    from tests.support.dms_double import Behaviour

T1: Final = task_arn("T1")
R1: Final = config_arn("R1")
DESCRIBE: Final = "DescribeReplicationTasks"
START: Final = "StartReplicationTask"
STOP: Final = "StopReplicationTask"
DESCRIBE_REPLICATIONS: Final = "DescribeReplications"
DESCRIBE_CONFIGS: Final = "DescribeReplicationConfigs"
START_REPLICATION: Final = "StartReplication"
STOP_REPLICATION: Final = "StopReplication"
TOTAL_ATTEMPTS: Final = int(getattr(CLIENT_CONFIG, "retries")["total_max_attempts"])  # noqa: B009
TRANSIENT_TIMES: Final = 3
"""A transient fault answers this many calls in a row, then the call goes through."""
AT_REST_STATUSES: Final = ("ready", "created", "stopped", "failed")
CDC_POSITION: Final = "mysql-bin-changelog.000024:373"
NOT_FOUND: Final = (
    f"Replication task {T1} was not found (or this function may not describe it): "
    "check the ARN, the region and the account."
)


# -- the double, extended ------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """Answer calls of ``operation`` with ``code`` and HTTP ``status``.

    ``after`` calls of the operation go through first; then ``times`` calls fail (all of
    them when ``times`` is None). With ``applied`` DMS carries out the first failing call
    before its answer is lost; the calls after it fail without reaching DMS (an outage).
    With ``delay`` each failing call is answered that many seconds late, past the client's
    read timeout: the client sees no answer at all.
    """

    operation: str
    code: str
    status: int = 400
    times: int | None = None
    after: int = 0
    applied: bool = False
    delay: float = 0.0

    @property
    def message(self) -> str:
        return f"injected {self.code}"

    def answers(self, operation: str, seen: int) -> bool:
        """Whether this fault answers the ``seen``-th call of ``operation``."""
        if operation != self.operation or seen <= self.after:
            return False
        return self.times is None or seen <= self.after + self.times


class InjectedError(DmsError):
    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.code, fault.message, fault.status)


@dataclass
class FaultyDouble(DmsDouble):
    """The DMS double with injected faults and tasks that can be kept from moving on."""

    faults: list[Fault] = field(default_factory=list)
    attempts: list[Call] = field(default_factory=list)
    """Every call that reached the server, failed or not, in order."""
    injected: list[tuple[str, str]] = field(default_factory=list)
    stuck: bool = False
    """Transitional statuses stay as they are when time passes."""
    meddling: dict[str, Callable[[], None]] = field(default_factory=dict)
    """Someone else acts on DMS just before the next call of an operation (once)."""
    _seen: dict[str, int] = field(default_factory=dict)

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            meddle = self.meddling.pop(operation, None)
            if meddle is not None:
                meddle()
            self.attempts.append((operation, params))
            seen = self._seen[operation] = self._seen.get(operation, 0) + 1
            fault = next((f for f in self.faults if f.answers(operation, seen)), None)
            if fault is None:
                return super().handle(operation, params)
            if fault.applied and seen == fault.after + 1:
                super().handle(operation, params)
            self.injected.append((operation, fault.code))
        if fault.delay:
            time.sleep(fault.delay)  # outside the lock: the client gives up meanwhile
        raise InjectedError(fault)

    def _step(self, item: Replicating) -> None:
        if not self.stuck:
            super()._step(item)

    def attempted(self, operation: str) -> int:
        return sum(1 for name, _ in self.attempts if name == operation)

    def operations(self) -> list[str]:
        return [name for name, _ in self.attempts]


@pytest.fixture
def faulty(behaviour: Behaviour, stack_status: FixedStack) -> Iterator[FaultyDouble]:
    state = FaultyDouble(behaviour=behaviour)
    with ServedAws(state, stack_status):
        yield state


def logged_warnings(log_output: io.StringIO) -> list[str]:
    """The reasons of the warnings the handler logged."""
    records = [json.loads(line) for line in log_output.getvalue().splitlines()]
    return [record["reason"] for record in records if record["level"] == "WARNING"]


def props(**settings: Any) -> dict[str, Any]:
    return {"ReplicationTaskArn": T1, **settings}


def replication_props(**settings: Any) -> dict[str, Any]:
    return {"ReplicationConfigArn": R1, **settings}


def fails(event: dict[str, Any], double: DmsDouble, **options: int) -> ProviderFailedError:
    """The failure CloudFormation shows for ``event``; never a timeout of the framework."""
    with pytest.raises(ProviderFailedError) as caught:
        run_provider(event, double, **options)
    assert caught.value.reason != TIMED_OUT
    return caught.value


def succeeds(event: dict[str, Any], double: DmsDouble, **options: int) -> ProviderResult:
    return run_provider(event, double, **options)


def status(double: DmsDouble, arn: str) -> str:
    item = double.item(arn)
    assert item is not None
    return item.status


def assert_nothing_left_started(
    faulty: FaultyDouble,
    stack_status: FixedStack,
    failure: ProviderFailedError,
    arn: str = T1,
    resource_type: str = STARTER_RESOURCE_TYPE,
) -> None:
    """After a failed Create, CloudFormation deletes its physical id in the rollback.

    A start was made: the physical id is the task's ARN, and that Delete stops the task.
    No start was made: the physical id may be the framework's marker, whose Delete never
    reaches the handler, so the task must be at rest already.
    """
    started = [w for w in faulty.writes() if w[0] in (START, START_REPLICATION)]
    if started:
        assert failure.physical_id == arn
    if failure.physical_id == CREATE_FAILED_MARKER:
        assert status(faulty, arn) in AT_REST_STATUSES
        return
    assert failure.physical_id == arn
    faulty.faults.clear()
    faulty.stuck = False
    stack_status.status = "ROLLBACK_IN_PROGRESS"
    arn_prop = (
        "ReplicationTaskArn" if resource_type == STARTER_RESOURCE_TYPE else "ReplicationConfigArn"
    )
    delete = cfn_event(
        "Delete", {arn_prop: arn}, physical_id=failure.physical_id, resource_type=resource_type
    )
    succeeds(delete, faulty)
    assert status(faulty, arn) in AT_REST_STATUSES
    writes_after = [w for w in faulty.writes() if w[0] in (START, START_REPLICATION)]
    assert writes_after == started  # the rollback never starts anything


# -- DMS errors on describe, start and stop ------------------------------------------------

EXPLANATIONS: Final = {
    "ResourceNotFoundFault": "it does not exist",
    "AccessDeniedFault": "this function is not allowed to do that",
    "InvalidResourceStateFault": "it is not in a state that allows it",
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
        """botocore's standard mode retries throttling and 5xx answers itself."""
        return self.code == "ThrottlingException" or self.status >= 500

    @property
    def answer_unknown(self) -> bool:
        """A persistent retried fault: DMS may have carried the call out."""
        return self.retried and not self.transient

    def calls_per_failure(self) -> int:
        return TOTAL_ATTEMPTS if self.retried else 1


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
    ErrorKind("http-503-persistent", "ServiceUnavailable", 503),
    ErrorKind("http-503-transient", "ServiceUnavailable", 503, transient=True),
)
KIND_IDS: Final = [kind.name for kind in ERROR_KINDS]


def call_failed(operation: str, kind: ErrorKind, arn: str = T1) -> str:
    return (
        f"{operation} for {arn} failed, {EXPLANATIONS[kind.code]}: "
        f"{kind.code}: injected {kind.code}"
    )


def assert_injected(faulty: FaultyDouble, operation: str, kind: ErrorKind, failures: int) -> None:
    """A transient fault is retried until it clears; a persistent retried fault uses exactly
    the client's attempts per call; an AccessDenied met by ``is_complete`` is tried again on
    every poll of the IAM propagation window (a grant just made); anything else is not
    retried."""
    injected = [name for name, _ in faulty.injected]
    assert set(injected) == {operation}
    window_polls = IAM_PROPAGATION_SECONDS // POLL_SECONDS
    if kind.code == "AccessDeniedFault" and len(injected) > failures:
        assert window_polls - 5 <= len(injected) - failures <= window_polls + 1
        return
    if kind.transient:
        assert len(injected) == TRANSIENT_TIMES
    else:
        assert len(injected) == failures * kind.calls_per_failure()


# "on_event": the describe before acting; "is_complete": the first describe while waiting.
DESCRIBE_PHASES: Final = {"on_event": 0, "is_complete": 1}


@pytest.mark.parametrize("phase", list(DESCRIBE_PHASES))
@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_describe_fault(
    faulty: FaultyDouble, stack_status: FixedStack, kind: ErrorKind, phase: str
) -> None:
    faulty.add_task("T1")
    after = DESCRIBE_PHASES[phase]
    faulty.faults.append(kind.fault(DESCRIBE, after))
    event = cfn_event("Create", props())
    if kind.transient:
        assert succeeds(event, faulty).data["Status"] == "running"
        assert faulty.writes() == [start_task(T1, "start-replication")]
        assert_injected(faulty, DESCRIBE, kind, 1)
        return
    failure = fails(event, faulty)
    if kind.code == "ResourceNotFoundFault":
        # DMS says the task does not exist: the handler says so, with what to check.
        assert isinstance(failure.cause, StarterError)
        assert failure.reason == NOT_FOUND
    else:
        assert isinstance(failure.cause, DmsCallError)
        assert failure.reason == call_failed(DESCRIBE, kind)
    assert_injected(faulty, DESCRIBE, kind, 1)
    if phase == "on_event":
        # A describe that fails before acting prevents the start.
        assert faulty.operations() == [DESCRIBE] * kind.calls_per_failure()
        assert failure.physical_id == CREATE_FAILED_MARKER
        assert faulty.writes() == []
    else:
        # One that fails while waiting comes after the start: the rollback stops the task.
        assert faulty.writes() == [start_task(T1, "start-replication")]
        assert faulty.attempted(START) == 1
        assert failure.physical_id == T1
    assert_nothing_left_started(faulty, stack_status, failure)


# "on_event": a ready task is started at once; "is_complete": a creating task once ready.
START_PHASES: Final = {"on_event": "ready", "is_complete": "creating"}


@pytest.mark.parametrize("phase", list(START_PHASES))
@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_start_fault(
    faulty: FaultyDouble, stack_status: FixedStack, kind: ErrorKind, phase: str
) -> None:
    faulty.add_task("T1", status=START_PHASES[phase])
    faulty.faults.append(kind.fault(START))
    event = cfn_event("Create", props())
    if kind.transient:
        assert succeeds(event, faulty).data["Status"] == "running"
        assert faulty.writes() == [start_task(T1, "start-replication")]
        assert_injected(faulty, START, kind, 1)
        return
    failure = fails(event, faulty)
    assert isinstance(failure.cause, DmsCallError)
    assert failure.reason == call_failed(START, kind)
    assert faulty.writes() == []
    assert status(faulty, T1) == "ready"
    leaves_it_to_is_complete = kind.answer_unknown or kind.code in (
        "InvalidResourceStateFault",
        "AccessDeniedFault",
    )
    if phase == "on_event" and leaves_it_to_is_complete:
        # The start may have happened (its answer stayed unknown, or DMS refused it for the
        # task's state, which someone else may have changed), or a grant just made had not
        # propagated: on_event left it to is_complete, which saw the task still at rest,
        # made the start again, and failed again. The Create failed with the task's ARN as
        # physical id.
        assert_injected(faulty, START, kind, 2)
        assert failure.physical_id == T1
    elif phase == "on_event":
        assert_injected(faulty, START, kind, 1)
        assert failure.physical_id == CREATE_FAILED_MARKER
        assert faulty.operations() == [DESCRIBE, START]
    else:
        assert_injected(faulty, START, kind, 1)
        assert failure.physical_id == T1
    assert_nothing_left_started(faulty, stack_status, failure)


# "on_event": a running task is stopped at once; "is_complete": a starting task once it runs.
STOP_PHASES: Final = {"on_event": "running", "is_complete": "starting"}


@pytest.mark.parametrize("phase", list(STOP_PHASES))
@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_stop_fault_on_delete(
    faulty: FaultyDouble, stack_status: FixedStack, kind: ErrorKind, phase: str
) -> None:
    faulty.add_task("T1", status=STOP_PHASES[phase])
    faulty.faults.append(kind.fault(STOP))
    stack_status.status = "DELETE_IN_PROGRESS"
    event = cfn_event("Delete", props(), physical_id=T1)
    if kind.transient:
        succeeds(event, faulty)
        assert status(faulty, T1) == "stopped"
        assert faulty.writes() == [stop_task(T1)]
        assert_injected(faulty, STOP, kind, 1)
    else:
        failure = fails(event, faulty)
        assert isinstance(failure.cause, DmsCallError)
        assert failure.reason == call_failed(STOP, kind)
        assert failure.physical_id == T1
        assert faulty.writes() == []
        assert status(faulty, T1) == "running"
        # on_event leaves a stop whose answer stays unknown to is_complete, which tries again.
        again = phase == "on_event" and kind.answer_unknown
        assert_injected(faulty, STOP, kind, 2 if again else 1)
    assert faulty.attempted(START) == 0


@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_stop_fault_on_restart(
    faulty: FaultyDouble, stack_status: FixedStack, kind: ErrorKind
) -> None:
    """An Update that must restart a running task never starts it when the stop failed."""
    faulty.add_task("T1", status="running")
    faulty.faults.append(kind.fault(STOP))
    stack_status.status = "UPDATE_IN_PROGRESS"
    new = props(CdcStartPosition=CDC_POSITION)
    event = cfn_event("Update", new, old_properties=props(), physical_id=T1)
    if kind.transient:
        succeeds(event, faulty)
        # The task ran before, with a full load: resume it from the new position.
        assert faulty.writes() == [
            stop_task(T1),
            start_task(T1, "resume-processing", CdcStartPosition=CDC_POSITION),
        ]
        assert status(faulty, T1) == "running"
        return
    failure = fails(event, faulty)
    assert failure.reason == call_failed(STOP, kind)
    assert failure.physical_id == T1
    assert faulty.writes() == []
    assert faulty.attempted(START) == 0
    assert status(faulty, T1) == "running"
    assert_injected(faulty, STOP, kind, 2 if kind.answer_unknown else 1)


@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_stop_fault_on_rollback_delete_completes_with_a_warning(
    faulty: FaultyDouble, stack_status: FixedStack, log_output: io.StringIO, kind: ErrorKind
) -> None:
    """A Delete in a rollback never fails (that would strand the stack): what it could
    not do is logged as a warning that names the task and the cause."""
    faulty.add_task("T1", status="running")
    faulty.faults.append(kind.fault(STOP))
    stack_status.status = "ROLLBACK_IN_PROGRESS"
    succeeds(cfn_event("Delete", props(), physical_id=T1), faulty)
    assert faulty.attempted(START) == 0
    if kind.transient:
        assert faulty.writes() == [stop_task(T1)]
        assert status(faulty, T1) == "stopped"
        assert logged_warnings(log_output) == []
        return
    assert faulty.writes() == []
    assert status(faulty, T1) == "running"
    if kind.answer_unknown:
        # Throttling or 5xx that outlasts the client's retries: every poll tries again,
        # until the rollback's deadline.
        assert faulty.attempted(STOP) > 10 * TOTAL_ATTEMPTS
        assert logged_warnings(log_output)[-1] == (
            f"Timed out after {MAX_TIMEOUT_SECONDS} s waiting for replication task {T1} to "
            "come to rest (stopped); last status running. It was left as it is."
        )
        return
    assert logged_warnings(log_output)[-1] == call_failed(STOP, kind)


# -- the same for DMS Serverless replications ----------------------------------------------


@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_replication_describe_fault(
    faulty: FaultyDouble, stack_status: FixedStack, kind: ErrorKind
) -> None:
    faulty.add_replication("R1")
    # "No replication" is what DMS answers for a configuration that never started, so a
    # not-found is realistic only before the start.
    fault = kind.fault(DESCRIBE_REPLICATIONS)
    if kind.code == "ResourceNotFoundFault":
        fault = replace(fault, times=1)
    faulty.faults.append(fault)
    event = cfn_event(
        "Create", replication_props(), resource_type=REPLICATION_STARTER_RESOURCE_TYPE
    )
    if kind.transient or kind.code == "ResourceNotFoundFault":
        # The configuration itself tells whether it exists and how it stands.
        assert succeeds(event, faulty).data["Status"] == "running"
        assert faulty.writes() == [start_replication(R1, "start-replication")]
        return
    failure = fails(event, faulty)
    assert failure.reason == call_failed(DESCRIBE_REPLICATIONS, kind, R1)
    assert failure.physical_id == CREATE_FAILED_MARKER
    assert faulty.operations() == [DESCRIBE_REPLICATIONS] * kind.calls_per_failure()
    assert_nothing_left_started(faulty, stack_status, failure, R1)


@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_replication_config_describe_fault(
    faulty: FaultyDouble, stack_status: FixedStack, kind: ErrorKind
) -> None:
    """DescribeReplicationConfigs is asked when DescribeReplications lists no replication."""
    faulty.add_replication("R1")
    faulty.faults.append(Fault(DESCRIBE_REPLICATIONS, "ResourceNotFoundFault", times=1))
    faulty.faults.append(kind.fault(DESCRIBE_CONFIGS))
    event = cfn_event(
        "Create", replication_props(), resource_type=REPLICATION_STARTER_RESOURCE_TYPE
    )
    if kind.transient:
        assert succeeds(event, faulty).data["Status"] == "running"
        assert faulty.writes() == [start_replication(R1, "start-replication")]
        return
    failure = fails(event, faulty)
    if kind.code == "ResourceNotFoundFault":
        assert failure.reason == (
            f"Serverless replication {R1} was not found (or this function may not describe "
            "it): check the ARN, the region and the account."
        )
    else:
        assert failure.reason == call_failed(DESCRIBE_CONFIGS, kind, R1)
    assert failure.physical_id == CREATE_FAILED_MARKER
    assert faulty.writes() == []
    assert faulty.attempted(START_REPLICATION) == 0


@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_replication_start_fault(
    faulty: FaultyDouble, stack_status: FixedStack, kind: ErrorKind
) -> None:
    faulty.add_replication("R1")
    faulty.faults.append(kind.fault(START_REPLICATION))
    event = cfn_event(
        "Create", replication_props(), resource_type=REPLICATION_STARTER_RESOURCE_TYPE
    )
    if kind.transient:
        assert succeeds(event, faulty).data["Status"] == "running"
        assert faulty.writes() == [start_replication(R1, "start-replication")]
        return
    failure = fails(event, faulty)
    assert failure.reason == call_failed(START_REPLICATION, kind, R1)
    assert faulty.writes() == []
    assert status(faulty, R1) == "created"
    # A start that may have happened is left to is_complete (see test_start_fault).
    left_to_is_complete = kind.answer_unknown or kind.code in (
        "InvalidResourceStateFault",
        "AccessDeniedFault",
    )
    assert_injected(faulty, START_REPLICATION, kind, 2 if left_to_is_complete else 1)
    expected_id = R1 if left_to_is_complete else CREATE_FAILED_MARKER
    assert failure.physical_id == expected_id
    assert_nothing_left_started(
        faulty, stack_status, failure, R1, REPLICATION_STARTER_RESOURCE_TYPE
    )


@pytest.mark.parametrize("kind", ERROR_KINDS, ids=KIND_IDS)
def test_replication_stop_fault_on_delete(
    faulty: FaultyDouble, stack_status: FixedStack, kind: ErrorKind
) -> None:
    faulty.add_replication("R1", status="running")
    faulty.faults.append(kind.fault(STOP_REPLICATION))
    stack_status.status = "DELETE_IN_PROGRESS"
    event = cfn_event(
        "Delete",
        replication_props(),
        physical_id=R1,
        resource_type=REPLICATION_STARTER_RESOURCE_TYPE,
    )
    if kind.transient:
        succeeds(event, faulty)
        assert faulty.writes() == [stop_replication(R1)]
        assert status(faulty, R1) == "stopped"
        return
    failure = fails(event, faulty)
    assert failure.reason == call_failed(STOP_REPLICATION, kind, R1)
    assert faulty.writes() == []
    assert status(faulty, R1) == "running"
    assert faulty.attempted(START_REPLICATION) == 0


# -- writes whose answer is lost -----------------------------------------------------------


def outage(operation: str, after: int = 0, times: int | None = None) -> Fault:
    """Throttling that no retry gets through while it lasts."""
    return Fault(operation, "ThrottlingException", times=times, after=after)


def lost_start(*, applied: bool, times: int | None = None, code: str = "InternalFailure") -> Fault:
    return Fault(START, code, 500 if code == "InternalFailure" else 400, times, applied=applied)


@dataclass(frozen=True)
class LostAnswer:
    """A Create whose start's answer is lost, and what it must end in."""

    faults: tuple[Fault, ...]
    succeeds: bool
    starts_accepted: int
    """StartReplicationTask calls DMS carried out: never more than one."""
    start_attempts: int
    reason: str = ""


CONFIRM_OUTAGE: Final = outage(DESCRIBE, after=1, times=TOTAL_ATTEMPTS)
"""The describe that would confirm the start fails, then DMS answers again."""
LASTING_OUTAGE: Final = outage(DESCRIBE, after=1)
"""Every describe after the first fails: is_complete cannot see the task either."""
DESCRIBE_OUTAGE_REASON: Final = call_failed(
    DESCRIBE, ErrorKind("throttled-persistent", "ThrottlingException")
)

LOST_ANSWERS: Final = {
    # DMS started the task, the answer was a 500; botocore's retry was refused because the
    # task was starting, and the handler's look at the task shows the start was made.
    "applied-retry-refused": LostAnswer((lost_start(applied=True, times=1),), True, 1, 2),
    # DMS started the task; every retry failed too, but a look at the task shows the start.
    "applied-retries-lost": LostAnswer((lost_start(applied=True),), True, 1, TOTAL_ATTEMPTS),
    # The same with a throttled retry.
    "applied-retries-throttled": LostAnswer(
        (lost_start(applied=True, code="ThrottlingException"),), True, 1, TOTAL_ATTEMPTS
    ),
    # The start and the look both failed: on_event leaves a pending start; is_complete sees
    # that the task is starting and does not start it again.
    "applied-look-failed": LostAnswer(
        (lost_start(applied=True), CONFIRM_OUTAGE), True, 1, TOTAL_ATTEMPTS
    ),
    # Nothing was started and the look failed: is_complete makes the start.
    "not-applied-look-failed": LostAnswer(
        (lost_start(applied=False, times=TOTAL_ATTEMPTS), CONFIRM_OUTAGE),
        True,
        1,
        TOTAL_ATTEMPTS + 1,
    ),
    # DMS stays unreachable: the Create fails with the task's ARN as physical id, so the
    # rollback's Delete stops the task that did start.
    "applied-outage-lasts": LostAnswer(
        (lost_start(applied=True), LASTING_OUTAGE), False, 1, TOTAL_ATTEMPTS, DESCRIBE_OUTAGE_REASON
    ),
    "not-applied-outage-lasts": LostAnswer(
        (lost_start(applied=False), LASTING_OUTAGE),
        False,
        0,
        TOTAL_ATTEMPTS,
        DESCRIBE_OUTAGE_REASON,
    ),
}


@pytest.mark.parametrize("case", LOST_ANSWERS.values(), ids=list(LOST_ANSWERS))
def test_start_whose_answer_is_lost_is_made_once_or_rolled_back(
    faulty: FaultyDouble, stack_status: FixedStack, case: LostAnswer
) -> None:
    faulty.add_task("T1")
    faulty.faults.extend(case.faults)
    event = cfn_event("Create", props())
    if case.succeeds:
        result = succeeds(event, faulty)
        assert result.physical_id == T1
        assert result.data["Status"] == "running"
        assert status(faulty, T1) == "running"
    else:
        failure = fails(event, faulty)
        assert failure.reason == case.reason
        assert failure.physical_id == T1
        assert_nothing_left_started(faulty, stack_status, failure)
        assert faulty.writes()[case.starts_accepted :] == (
            [stop_task(T1)] if case.starts_accepted else []
        )
    assert faulty.writes()[: case.starts_accepted] == [start_task(T1, "start-replication")] * (
        case.starts_accepted
    )
    assert faulty.attempted(START) == case.start_attempts


def test_start_that_gets_no_answer_in_time_is_found_made(
    faulty: FaultyDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DMS carried the start out but answered too late for the client, every attempt: a
    look at the task shows the start, so the Create succeeds without a second start."""
    monkeypatch.setattr(
        dms,
        "CLIENT_CONFIG",
        Config(retries={"mode": "standard", "max_attempts": 2}, read_timeout=0.2),
    )
    dms.dms_client.cache_clear()
    faulty.add_task("T1")
    faulty.faults.append(Fault(START, "InternalFailure", 500, applied=True, delay=0.5))
    result = succeeds(cfn_event("Create", props()), faulty)
    assert result.data["Status"] == "running"
    assert faulty.writes() == [start_task(T1, "start-replication")]
    assert faulty.attempted(START) == 3


def test_start_that_gets_no_answer_and_was_not_made_is_made_by_is_complete(
    faulty: FaultyDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        dms,
        "CLIENT_CONFIG",
        Config(retries={"mode": "standard", "max_attempts": 2}, read_timeout=0.2),
    )
    dms.dms_client.cache_clear()
    faulty.add_task("T1")
    faulty.faults.append(Fault(START, "InternalFailure", 500, times=3, delay=0.5))
    faulty.faults.append(outage(DESCRIBE, after=1, times=3))
    result = succeeds(cfn_event("Create", props()), faulty)
    assert result.data["Status"] == "running"
    assert faulty.writes() == [start_task(T1, "start-replication")]
    assert faulty.attempted(START) == 4


def test_stop_whose_answer_is_lost_is_a_success(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    faulty.add_task("T1", status="running")
    faulty.faults.append(Fault(STOP, "InternalFailure", 500, times=1, applied=True))
    stack_status.status = "DELETE_IN_PROGRESS"
    succeeds(cfn_event("Delete", props(), physical_id=T1), faulty)
    assert status(faulty, T1) == "stopped"
    assert faulty.writes() == [stop_task(T1)]
    assert faulty.attempted(STOP) == 2


def test_stop_whose_answer_and_look_are_lost_is_confirmed_by_is_complete(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    faulty.add_task("T1", status="running")
    faulty.faults.append(Fault(STOP, "InternalFailure", 500, applied=True))
    faulty.faults.append(CONFIRM_OUTAGE)
    stack_status.status = "DELETE_IN_PROGRESS"
    succeeds(cfn_event("Delete", props(), physical_id=T1), faulty)
    assert status(faulty, T1) == "stopped"
    assert faulty.writes() == [stop_task(T1)]
    assert faulty.attempted(STOP) == TOTAL_ATTEMPTS


# -- someone else acts between the handler's read and its write ---------------------------


def test_a_task_deleted_between_the_read_and_the_stop_leaves_nothing_to_stop(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    """Someone stopped and deleted the task after the read: the stop finds no task
    (ResourceNotFoundFault), and the Delete has nothing left to do."""
    faulty.add_task("T1", status="running")

    def stopped_and_deleted_by_someone_else() -> None:
        faulty.tasks[T1].status = "stopped"
        faulty.delete_task(T1)

    faulty.meddling[STOP] = stopped_and_deleted_by_someone_else
    stack_status.status = "DELETE_IN_PROGRESS"
    result = succeeds(cfn_event("Delete", props(), physical_id=T1), faulty)
    assert result.physical_id == T1
    assert faulty.injected == []
    assert faulty.rejected[0] == (STOP, "ResourceNotFoundFault")
    assert set(faulty.operations()) == {DESCRIBE, STOP}
    assert faulty.writes() == []
    assert T1 not in faulty.tasks


def test_a_stop_refused_because_another_start_left_the_task_starting_fails_the_restart(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    """Someone stopped and started the task again between the read and the stop: DMS refuses
    the stop (not running). That run is not the one the new settings ask for, so the
    Update fails with DMS's refusal and never starts the task itself."""
    faulty.add_task("T1", status="running")

    def restarted_by_someone_else() -> None:
        faulty.tasks[T1].status = "stopped"
        faulty.handle(
            START, {"ReplicationTaskArn": T1, "StartReplicationTaskType": "resume-processing"}
        )
        assert faulty.tasks[T1].status == "starting"

    faulty.meddling[STOP] = restarted_by_someone_else
    stack_status.status = "UPDATE_IN_PROGRESS"
    new = props(CdcStartPosition=CDC_POSITION)
    failure = fails(cfn_event("Update", new, old_properties=props(), physical_id=T1), faulty)
    assert isinstance(failure.cause, DmsCallError)
    assert failure.reason == (
        f"StopReplicationTask for {T1} failed, it is not in a state that allows it: "
        f"InvalidResourceStateFault: Replication {T1} is currently not running"
    )
    assert failure.physical_id == T1
    assert faulty.writes() == [start_task(T1, "resume-processing")]  # the other one's start
    assert faulty.attempted(START) == 1


# -- tasks that fail while starting ---------------------------------------------------------

FAILED_STARTING: Final = (
    f"Replication task {T1} did not reach 'running': it is failed (StopReason 'Stop Reason "
    "FATAL_ERROR', LastFailureMessage 'Error connecting to source')."
)


@pytest.mark.parametrize(
    ("task_status", "start_type"),
    [
        ("ready", "start-replication"),
        ("stopped", "resume-processing"),
        ("creating", "start-replication"),
    ],
)
def test_task_failing_while_starting(
    faulty: FaultyDouble, stack_status: FixedStack, task_status: str, start_type: str
) -> None:
    faulty.add_task("T1", status=task_status)
    faulty.fail_next_start(T1, "Error connecting to source")
    failure = fails(cfn_event("Create", props()), faulty)
    assert isinstance(failure.cause, StarterError)
    assert failure.reason == FAILED_STARTING
    assert failure.physical_id == T1
    assert faulty.writes() == [start_task(T1, start_type)]
    assert status(faulty, T1) == "failed"
    assert_nothing_left_started(faulty, stack_status, failure)
    assert faulty.writes() == [start_task(T1, start_type)]  # the rollback has nothing to stop


@pytest.mark.parametrize(
    "behaviour", [*BEHAVIOURS, FAILED_FIRST_START_RAN], indirect=True, ids=lambda b: b.name
)
def test_task_whose_first_start_failed_failing_again(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    """No run's evidence: start-replication; DMS counting the failed start as a run refuses
    it, and the start of a task that ran is made instead; DMS that cannot start a failed
    task refuses both, and that refusal is the failure."""
    faulty.add_task("T1", status="failed")
    faulty.fail_next_start(T1, "Error connecting to source")
    failure = fails(cfn_event("Create", props()), faulty)
    assert failure.physical_id == T1
    if not faulty.behaviour.failed_is_startable:
        assert failure.reason == (
            f"StartReplicationTask for {T1} failed, it is not in a state that allows it: "
            "InvalidResourceStateFault: Replication cannot be started, current status is failed"
        )
        assert faulty.writes() == []
    else:
        ran = faulty.behaviour.failed_first_start_is_a_run
        start_type = "resume-processing" if ran else "start-replication"
        assert failure.reason == FAILED_STARTING
        assert faulty.writes() == [start_task(T1, start_type)]
        refused = [(START, "InvalidParameterCombinationException")] if ran else []
        assert faulty.rejected == refused
    assert status(faulty, T1) == "failed"
    assert_nothing_left_started(faulty, stack_status, failure)


def test_replication_failing_while_starting(faulty: FaultyDouble, stack_status: FixedStack) -> None:
    faulty.add_replication("R1")
    faulty.fail_next_start(R1, "Error connecting to source")
    event = cfn_event(
        "Create", replication_props(), resource_type=REPLICATION_STARTER_RESOURCE_TYPE
    )
    failure = fails(event, faulty)
    assert failure.reason == (
        f"Serverless replication {R1} did not reach 'running': it is failed (StopReason "
        "'Stop Reason FATAL_ERROR', FailureMessages 'Error connecting to source', "
        "ProvisionState 'provisioning')."
    )
    assert failure.physical_id == R1
    assert faulty.writes() == [start_replication(R1, "start-replication")]
    assert_nothing_left_started(
        faulty, stack_status, failure, R1, REPLICATION_STARTER_RESOURCE_TYPE
    )


def test_restart_failing_while_starting_is_reported_once(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    """An Update's restart that fails is judged, never started a second time."""
    faulty.add_task("T1", status="running")
    faulty.fail_next_start(T1, "Error connecting to source")
    stack_status.status = "UPDATE_IN_PROGRESS"
    new = props(CdcStartPosition=CDC_POSITION)
    failure = fails(cfn_event("Update", new, old_properties=props(), physical_id=T1), faulty)
    assert failure.reason == FAILED_STARTING
    assert faulty.writes() == [
        stop_task(T1),
        start_task(T1, "resume-processing", CdcStartPosition=CDC_POSITION),
    ]


# -- tasks stuck in a transitional status past the deadline ---------------------------------


@dataclass(frozen=True)
class Stuck:
    """A request meeting a task that stays in ``status``, and what it waited for."""

    request_type: str
    status: str
    wait_for: str
    goal: str

    @property
    def id(self) -> str:
        return f"{self.request_type}-{self.status}-{self.wait_for}"


STUCK: Final = [
    Stuck("Create", "creating", "running", "run"),
    Stuck("Create", "starting", "running", "run"),
    Stuck("Create", "stopping", "running", "run"),
    Stuck("Create", "modifying", "running", "run"),
    Stuck("Create", "moving", "running", "run"),
    Stuck("Create", "testing", "running", "run"),
    Stuck("Create", "starting", "full-load-finished", "finish its full load"),
    Stuck("Create", "running", "full-load-finished", "finish its full load"),
    Stuck("Create", "creating", "nothing", "become startable"),
    Stuck("Delete", "starting", "running", "come to rest (stopped)"),
    Stuck("Delete", "stopping", "running", "come to rest (stopped)"),
]


def expected_polls(timeout: int, poll_seconds: int) -> int:
    """is_complete polls at t0, t0 + p, ... up to the first poll at or past the deadline."""
    return math.ceil(timeout / poll_seconds) + 1


@pytest.mark.parametrize("case", STUCK, ids=[case.id for case in STUCK])
def test_stuck_past_the_deadline(
    faulty: FaultyDouble, stack_status: FixedStack, case: Stuck
) -> None:
    faulty.add_task("T1", status=case.status)
    faulty.stuck = True
    stack_status.status = "DELETE_IN_PROGRESS"
    properties = props(TimeoutSeconds="120", WaitFor=case.wait_for)
    delete = case.request_type == "Delete"
    # A Delete always gets the longest wait, whatever TimeoutSeconds says.
    timeout, poll_seconds = (MAX_TIMEOUT_SECONDS, 300) if delete else (120, 50)
    event = cfn_event(case.request_type, properties, physical_id=T1 if delete else None)
    failure = fails(event, faulty, poll_seconds=poll_seconds)
    assert failure.reason == (
        f"Timed out after {timeout} s waiting for replication task {T1} to {case.goal}; "
        f"last status {case.status}. It was left as it is."
    )
    # One describe in on_event, one per poll, and nothing else: bounded, no write.
    assert faulty.operations() == [DESCRIBE] * (1 + expected_polls(timeout, poll_seconds))
    assert faulty.writes() == []
    assert status(faulty, T1) == case.status


def test_stuck_replication_times_out_naming_its_provisioning(faulty: FaultyDouble) -> None:
    faulty.add_replication("R1")
    event = cfn_event(
        "Create",
        replication_props(TimeoutSeconds="120"),
        resource_type=REPLICATION_STARTER_RESOURCE_TYPE,
    )
    faulty.stuck = True
    failure = fails(event, faulty, poll_seconds=50)
    assert failure.reason == (
        f"Timed out after 120 s waiting for serverless replication {R1} to run; last status "
        "initializing (ProvisionState 'provisioning'). It was left as it is."
    )
    assert faulty.writes() == [start_replication(R1, "start-replication")]
    assert failure.physical_id == R1


def test_rollback_delete_of_a_stuck_task_gives_up_with_a_warning(
    faulty: FaultyDouble, stack_status: FixedStack, log_output: io.StringIO
) -> None:
    """Best effort: a rollback's Delete never strands the stack, it says what it left."""
    faulty.add_task("T1", status="stopping")
    faulty.stuck = True
    stack_status.status = "ROLLBACK_IN_PROGRESS"
    result = succeeds(cfn_event("Delete", props(), physical_id=T1), faulty, poll_seconds=300)
    assert result.polls == expected_polls(MAX_TIMEOUT_SECONDS, 300)
    assert logged_warnings(log_output) == [
        f"Timed out after {MAX_TIMEOUT_SECONDS} s waiting for replication task {T1} to come "
        "to rest (stopped); last status stopping. It was left as it is."
    ]
    assert faulty.writes() == []


# -- malformed events ----------------------------------------------------------------------


def _without(key: str, request_type: str = "Create") -> dict[str, Any]:
    event = cfn_event(request_type, props(), physical_id=None if request_type == "Create" else T1)
    del event[key]
    return event


def _with(key: str, value: object, request_type: str = "Create") -> dict[str, Any]:
    physical_id = None if request_type == "Create" else T1
    old = props() if request_type == "Update" else None
    return {
        **cfn_event(request_type, props(), old_properties=old, physical_id=physical_id),
        key: value,
    }


TRUNCATED_JSON: Final = '{"ReplicationTaskArn": "arn:aws:dms:eu-'
CARRIES: Final = (
    "a custom resource request carries RequestType, ResourceType, LogicalResourceId, StackId"
)


def _missing(keys: str) -> str:
    return (
        f"Malformed CloudFormation event: {keys} missing or not a string; {CARRIES}. "
        "Nothing was done."
    )


def _not_object(key: str, type_name: str) -> str:
    return (
        f"Malformed CloudFormation event: {key} is a {type_name}, not an object of properties. "
        "Nothing was done."
    )


ARN_REQUIRED: Final = (
    "ReplicationTaskArn: missing; the property is required (got ''). Accepted: "
    "arn:<partition>:dms:<region>:<12-digit account>:task:<id>, "
    "e.g. arn:aws:dms:eu-west-1:123456789012:task:ABCDEFGHIJKLMNOP."
)

MALFORMED_EVENTS: Final = {
    "missing-RequestType": (_without("RequestType"), StarterError, _missing("RequestType")),
    "missing-LogicalResourceId": (
        _without("LogicalResourceId"),
        StarterError,
        _missing("LogicalResourceId"),
    ),
    "missing-StackId": (_without("StackId"), StarterError, _missing("StackId")),
    "missing-StackId-on-Update": (
        _without("StackId", "Update"),
        StarterError,
        _missing("StackId"),
    ),
    "non-string-StackId": (_with("StackId", 42), StarterError, _missing("StackId")),
    "missing-ResourceType": (_without("ResourceType"), StarterError, _missing("ResourceType")),
    "empty-event": (
        {},
        StarterError,
        _missing("RequestType, ResourceType, LogicalResourceId, StackId"),
    ),
    "missing-ResourceProperties": (
        _without("ResourceProperties"),
        InvalidSettingError,
        ARN_REQUIRED,
    ),
    "null-ResourceProperties": (
        _with("ResourceProperties", None),
        InvalidSettingError,
        ARN_REQUIRED,
    ),
    "truncated-json-ResourceProperties": (
        _with("ResourceProperties", TRUNCATED_JSON),
        StarterError,
        _not_object("ResourceProperties", "str"),
    ),
    "list-ResourceProperties": (
        _with("ResourceProperties", [props()]),
        StarterError,
        _not_object("ResourceProperties", "list"),
    ),
    "truncated-json-OldResourceProperties": (
        _with("OldResourceProperties", TRUNCATED_JSON, "Update"),
        StarterError,
        _not_object("OldResourceProperties", "str"),
    ),
    "wrong-ResourceType": (
        _with("ResourceType", "Custom::Other"),
        StarterError,
        "Unknown resource type Custom::Other: this function handles "
        "Custom::DmsReplicationTaskStarter, Custom::DmsReplicationStarter, "
        "Custom::DmsReplicationTaskUpdateGuard, Custom::DmsReplicationTaskRollbackGuard, "
        "Custom::DmsLongWait. Nothing was done.",
    ),
    "unknown-RequestType": (
        _with("RequestType", "Bogus"),
        StarterError,
        "Unknown request type Bogus: CloudFormation sends Create, Update, Delete. "
        "Nothing was done.",
    ),
}


SHAPE_ERRORS: Final = {
    name: case for name, case in MALFORMED_EVENTS.items() if case[2].startswith("Malformed")
}


@pytest.mark.parametrize(
    ("event", "error", "message"), MALFORMED_EVENTS.values(), ids=list(MALFORMED_EVENTS)
)
def test_malformed_event_fails_without_an_aws_call(
    faulty: FaultyDouble,
    stack_status: FixedStack,
    event: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    faulty.add_task("T1")
    with pytest.raises(error) as caught:
        handler.on_event(event, CONTEXT)
    assert str(caught.value) == message
    assert faulty.attempts == []
    assert stack_status.calls == []


@pytest.mark.parametrize(
    ("event", "message"), [(e, m) for e, _, m in SHAPE_ERRORS.values()], ids=list(SHAPE_ERRORS)
)
def test_malformed_event_fails_is_complete_without_an_aws_call(
    faulty: FaultyDouble, stack_status: FixedStack, event: dict[str, Any], message: str
) -> None:
    """is_complete checks the event's shape before it reads the plan it carries."""
    faulty.add_task("T1")
    with_plan = {**event, "Data": _plan_data()}
    with double_clock(faulty), pytest.raises(StarterError) as caught:
        handler.is_complete(with_plan, CONTEXT)
    assert str(caught.value) == message
    assert faulty.attempts == []
    assert stack_status.calls == []


def _plan_data(**changes: str) -> dict[str, Any]:
    plan = Plan(
        deadline=int(CLOCK_START) + 120,
        timeout_seconds=120,
        subject=T1,
        wait_for=WaitFor.RUNNING,
        start_pending=True,
        snapshot=snapshot(State(arn=T1, status="ready")),
    )
    return {**plan.to_data(), **changes}


def _plan_without(key: str) -> dict[str, Any]:
    data = _plan_data()
    del data[key]
    return data


def _unreadable(detail: str, subject: str = T1) -> str:
    return (
        f"The plan on_event left in the event's Data for {subject} is unreadable ({detail}). "
        "Nothing was done."
    )


def _no_key(key: str) -> str:
    return (
        f"The event's Data has no plan key {key}, which on_event writes for is_complete: "
        "this event did not come from on_event. Nothing was done."
    )


PLAN_KEYS: Final = [value for name, value in vars(PlanKey).items() if name.isupper()]

MALFORMED_PLANS: Final = {
    "missing-Data": (None, _no_key(PlanKey.SUBJECT)),
    "empty-Data": ({}, _no_key(PlanKey.SUBJECT)),
    "attributes-only": ({"Status": "running"}, _no_key(PlanKey.SUBJECT)),
    **{f"missing-{key}": (_plan_without(key), _no_key(key)) for key in PLAN_KEYS},
    "non-string-subject": (_plan_data(StarterSubject=42), _no_key(PlanKey.SUBJECT)),  # type: ignore[arg-type]
    "non-string-deadline": (_plan_data(StarterDeadline=17), _no_key(PlanKey.DEADLINE)),  # type: ignore[arg-type]
    "garbage-deadline": (
        _plan_data(StarterDeadline="17e8"),
        _unreadable("invalid literal for int() with base 10: '17e8'"),
    ),
    "garbage-timeout": (
        _plan_data(StarterTimeoutSeconds=""),
        _unreadable("invalid literal for int() with base 10: ''"),
    ),
    "truncated-wait-for": (
        _plan_data(StarterWaitFor="runn"),
        _unreadable("'runn' is not a valid WaitFor"),
    ),
    "unknown-kind": (_plan_data(StarterKind="tsk"), _unreadable("'tsk' is not a valid Kind")),
    "not-a-boolean": (
        _plan_data(StarterStartPending="yes"),
        _unreadable("'yes' is not true or false"),
    ),
    "truncated-snapshot": (
        _plan_data(StarterSnapshot="at-rest|abc"),
        _unreadable("not enough values to unpack (expected 6, got 2)"),
    ),
    "unknown-snapshot-phase": (
        _plan_data(StarterSnapshot="flying|||||"),
        _unreadable("'flying' is not a valid Phase"),
    ),
    "no-subject-garbage": (
        _plan_data(StarterSubject="", StarterDeadline="soon"),
        _unreadable("invalid literal for int() with base 10: 'soon'", "(no task)"),
    ),
}


@pytest.mark.parametrize(("data", "message"), MALFORMED_PLANS.values(), ids=list(MALFORMED_PLANS))
def test_is_complete_with_a_malformed_plan_fails_without_an_aws_call(
    faulty: FaultyDouble, stack_status: FixedStack, data: dict[str, Any] | None, message: str
) -> None:
    faulty.add_task("T1")
    event = cfn_event("Create", props(), physical_id=T1)
    if data is not None:
        event["Data"] = data
    with pytest.raises(StarterError) as caught:
        handler.is_complete(event, CONTEXT)
    assert str(caught.value) == message
    assert faulty.attempts == []
    assert stack_status.calls == []


def test_the_intact_plan_of_the_malformed_plan_cases_is_readable(faulty: FaultyDouble) -> None:
    """Control: without the damage, the same plan makes the pending start."""
    faulty.add_task("T1")
    event = {**cfn_event("Create", props(), physical_id=T1), "Data": _plan_data()}
    with double_clock(faulty):
        assert handler.is_complete(event, CONTEXT) == {"IsComplete": False}
    assert faulty.writes() == [start_task(T1, "start-replication")]


def test_pending_start_with_invalid_properties_never_starts(faulty: FaultyDouble) -> None:
    """is_complete reads the start settings from the properties: bad ones stop it."""
    faulty.add_task("T1")
    event = {
        **cfn_event("Create", props(CdcStartTime="yesterday"), physical_id=T1),
        "Data": _plan_data(),
    }
    with double_clock(faulty), pytest.raises(InvalidSettingError) as caught:
        handler.is_complete(event, CONTEXT)
    assert str(caught.value).startswith("CdcStartTime: not a date and time (got 'yesterday')")
    assert faulty.operations() == [DESCRIBE]
    assert faulty.writes() == []


# -- Deletes never fail on their properties --------------------------------------------------


def test_delete_with_invalid_properties_still_stops_the_task(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    """Delete reads leniently: the physical id names the task, OnDelete falls back to stop."""
    faulty.add_task("T1", status="running")
    stack_status.status = "DELETE_IN_PROGRESS"
    properties = {"ReplicationTaskArn": 42, "OnDelete": "vaporise", "TimeoutSeconds": "x"}
    succeeds(cfn_event("Delete", properties, physical_id=T1), faulty)
    assert faulty.writes() == [stop_task(T1)]
    assert status(faulty, T1) == "stopped"


def test_delete_of_an_adopted_run_with_invalid_properties_stops_the_task(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    faulty.add_task("T1", status="running")
    stack_status.status = "DELETE_IN_PROGRESS"
    succeeds(cfn_event("Delete", {}, physical_id=T1 + "#adopted"), faulty)
    assert faulty.writes() == [stop_task(T1)]


def test_delete_of_a_replication_with_invalid_properties_stops_it(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    faulty.add_replication("R1", status="running")
    stack_status.status = "DELETE_IN_PROGRESS"
    event = cfn_event(
        "Delete",
        {"ReplicationConfigArn": T1, "OnDelete": ["stop"]},  # a task ARN is no config ARN
        physical_id=R1,
        resource_type=REPLICATION_STARTER_RESOURCE_TYPE,
    )
    succeeds(event, faulty)
    assert faulty.writes() == [stop_replication(R1)]


def test_delete_naming_no_task_succeeds_without_a_dms_call(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    faulty.add_task("T1", status="running")
    stack_status.status = "DELETE_IN_PROGRESS"
    result = succeeds(cfn_event("Delete", {"ReplicationTaskArn": "T1"}, physical_id="T1"), faulty)
    assert result.physical_id == "T1"
    assert faulty.attempts == []
    assert status(faulty, T1) == "running"


def test_delete_of_a_task_that_is_gone_succeeds(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    stack_status.status = "DELETE_IN_PROGRESS"
    succeeds(cfn_event("Delete", props(), physical_id=T1), faulty)
    assert faulty.operations() == [DESCRIBE]
    assert faulty.writes() == []


# -- every missing or invalid property -----------------------------------------------------


@dataclass(frozen=True)
class Invalid:
    """Properties, and the property, problem and shown value the failure must name."""

    properties: dict[str, Any]
    prop: str
    problem: str
    shown: str

    @property
    def id(self) -> str:
        return f"{self.prop.split()[0]}-{self.shown[:24]}"

    def assert_names_it(self, error: BaseException | None) -> None:
        assert isinstance(error, InvalidSettingError)
        assert error.prop == self.prop
        assert str(error).startswith(
            f"{self.prop}: {self.problem} (got '{self.shown}'). Accepted: "
        )


def bad(prop: str, value: object, problem: str, **others: object) -> Invalid:
    """A task starter's properties with ``prop`` set to ``value`` (shown as given)."""
    return Invalid(props(**{prop: value}, **others), prop, problem, truncate(str(value), 100))


def bad_arn(value: object, problem: str = "not a DMS replication task ARN") -> Invalid:
    properties = {} if value is None else {"ReplicationTaskArn": value}
    return Invalid(properties, "ReplicationTaskArn", problem, "" if value is None else str(value))


REQUIRED: Final = "missing; the property is required"
NO_FULL_LOAD: Final = "a cdc task has no full load, so the wait could only time out"
NO_RELOAD: Final = "a cdc task has no tables to reload"
NO_CHANGES: Final = "a full-load task captures no changes, so a CDC position has no effect"
NOT_A_POSITION: Final = "not a server_time or commit_time position"

INVALID_ARNS: Final = [
    bad_arn(None, REQUIRED),
    bad_arn("", REQUIRED),
    bad_arn("T1"),
    bad_arn("arn:aws:dms:eu-west-1:123456789012:endpoint:E1"),
    bad_arn("arn:aws:rds:eu-west-1:123456789012:task:T1"),
    bad_arn("arn:aws:dms:eu-west-1:12345678901:task:T1"),
    bad_arn(R1),
    bad_arn(T1 + "\n"),
    bad_arn(T1[:30]),
    bad_arn(42, "not a string"),
    bad_arn([T1], "not a string"),
]
INVALID_PROPERTIES: Final = [
    *INVALID_ARNS,
    bad("StartReplicationTaskType", "start-replication", "unknown value"),
    bad("StartReplicationTaskType", "RESUME-PROCESSING", "unknown value"),
    bad("StartReplicationTaskType", 1, "not a string"),
    bad("CdcStartTime", "yesterday", "not a date and time"),
    bad("CdcStartTime", "2024-13-01T00:00:00", "not a date and time"),
    bad("CdcStartTime", "99999999999999999", "not a date and time"),
    bad("CdcStartTime", 1706702400, "not a string"),
    bad("CdcStartPosition", " 0/5120E10", "has leading or trailing whitespace"),
    bad("CdcStartPosition", "   ", "has leading or trailing whitespace"),
    bad("CdcStartPosition", "x" * 1025, "longer than 1024 characters"),
    Invalid(
        props(CdcStartTime="2024-01-31T12:00:00", CdcStartPosition="0/5120E10"),
        "CdcStartTime and CdcStartPosition",
        "both are set, DMS accepts only one",
        "CdcStartTime=2024-01-31T12:00:00, CdcStartPosition=0/5120E10",
    ),
    bad("CdcStopPosition", "2018-02-09T12:12:12", NOT_A_POSITION),
    bad("CdcStopPosition", "server_time:tomorrow", NOT_A_POSITION),
    bad("CdcStopPosition", "server_time:2018-02-30T12:12:12", "the date and time does not exist"),
    bad("WaitFor", "Running", "unknown value"),
    bad("WaitFor", "complete", "unknown value"),
    bad("OnDelete", "delete", "unknown value"),
    bad("OnDelete", ["stop"], "not a string"),
    bad("TimeoutSeconds", "59", "out of range"),
    bad("TimeoutSeconds", "3001", "out of range"),
    bad("TimeoutSeconds", "-60", "not a whole number"),
    bad("TimeoutSeconds", "60.5", "not a whole number"),
    bad("TimeoutSeconds", "1e3", "not a whole number"),
    bad("TimeoutSeconds", True, "not a whole number"),
    bad("TimeoutSeconds", 60.5, "not a whole number"),
    bad("TimeoutSeconds", {"Ref": "T"}, "not a whole number"),
    bad("CdcHandover", "yes", "not a boolean"),
    bad("CdcHandover", True, "not a string"),
    bad("TaskDefinitionDigest", 123, "not a string"),
    bad("MigrationType", "cdc-only", "unknown value"),
    bad("MigrationType", "CDC", "unknown value"),
    bad("TagResource", "1", "not a boolean"),
    bad("TagResource", False, "not a string"),
    # Combinations that can never succeed with the migration type the template gives.
    bad("WaitFor", "full-load-finished", NO_FULL_LOAD, MigrationType="cdc"),
    bad("StartReplicationTaskType", "reload-target", NO_RELOAD, MigrationType="cdc"),
    bad("CdcStartPosition", "0/5120E10", NO_CHANGES, MigrationType="full-load"),
    Invalid(
        props(MigrationType="full-load", CdcStartTime="2024-01-31T12:00:00"),
        "CdcStartTime",
        NO_CHANGES,
        "2024-01-31 12:00:00+00:00",
    ),
    bad(
        "CdcStopPosition", "server_time:2030-01-01T00:00:00", NO_CHANGES, MigrationType="full-load"
    ),
]


def ids(cases: list[Invalid]) -> list[str]:
    return [f"{i:02d}-{case.id}" for i, case in enumerate(cases)]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
@pytest.mark.parametrize("case", INVALID_PROPERTIES, ids=ids(INVALID_PROPERTIES))
def test_invalid_property_fails_before_any_dms_call(
    faulty: FaultyDouble, stack_status: FixedStack, case: Invalid, request_type: str
) -> None:
    faulty.add_task("T1", status="running" if request_type == "Update" else "ready")
    stack_status.status = "UPDATE_IN_PROGRESS"
    old = props() if request_type == "Update" else None
    physical_id = T1 if request_type == "Update" else None
    event = cfn_event(request_type, case.properties, old_properties=old, physical_id=physical_id)
    failure = fails(event, faulty)
    case.assert_names_it(failure.cause)
    assert failure.reason == str(failure.cause)
    assert faulty.attempts == []
    # Only an Update reads the stack's status (is it a rollback?) before it reads properties.
    assert stack_status.calls == ([STACK_ID] if request_type == "Update" else [])


def test_invalid_property_in_a_rollback_update_changes_nothing(
    faulty: FaultyDouble, stack_status: FixedStack, log_output: io.StringIO
) -> None:
    """A rollback must go through: the Update that restores the old properties does
    nothing (and says why) rather than fail."""
    faulty.add_task("T1", status="running")
    stack_status.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    event = cfn_event("Update", props(WaitFor="complete"), old_properties=props(), physical_id=T1)
    result = succeeds(event, faulty)
    assert result.physical_id == T1
    assert faulty.attempts == []
    assert logged_warnings(log_output) == [
        "WaitFor: unknown value (got 'complete'). Accepted: running or full-load-finished "
        "or nothing."
    ]


IMPOSSIBLE_ON_THE_TASK: Final = {
    # The migration type DMS reports for the task: properties that can never succeed with it.
    "cdc": bad("WaitFor", "full-load-finished", NO_FULL_LOAD),
    "cdc-reload": bad("StartReplicationTaskType", "reload-target", NO_RELOAD),
    "full-load": bad("CdcStartPosition", "0/5120E10", NO_CHANGES),
}


@pytest.mark.parametrize("name", list(IMPOSSIBLE_ON_THE_TASK))
def test_setting_impossible_for_the_task_fails_before_any_start(
    faulty: FaultyDouble, name: str
) -> None:
    """Without MigrationType in the template, the task's own type is checked before a start."""
    case = IMPOSSIBLE_ON_THE_TASK[name]
    faulty.add_task("T1", migration_type=name.removesuffix("-reload"))
    failure = fails(cfn_event("Create", case.properties), faulty)
    assert isinstance(failure.cause, StarterError)
    prefix = f"{case.prop}: {case.problem} (got '{case.shown}'). Accepted: "
    assert failure.reason.startswith(prefix)
    assert failure.reason.endswith(f" (the replication task {T1}). Nothing was done.")
    assert failure.physical_id == CREATE_FAILED_MARKER
    assert faulty.operations() == [DESCRIBE]


def test_cdc_stop_position_in_the_past_never_starts(faulty: FaultyDouble) -> None:
    faulty.add_task("T1")
    event = cfn_event("Create", props(CdcStopPosition="server_time:2026-02-28T23:00:00"))
    failure = fails(event, faulty)
    assert failure.reason == (
        "CdcStopPosition: server_time:2026-02-28T23:00:00 is not in the future (it is now "
        "2026-03-01T00:00:00 UTC): DMS would stop the task as soon as it starts. Set a later "
        f"cdc_stop, or none. Nothing was started for {T1}."
    )
    assert faulty.operations() == [DESCRIBE]


@pytest.mark.parametrize("task_status", ["deleting", "failed-move"])
def test_task_that_will_never_start_again_fails_before_any_start(
    faulty: FaultyDouble, task_status: str
) -> None:
    faulty.add_task("T1", status=task_status)
    faulty.stuck = True
    failure = fails(cfn_event("Create", props()), faulty)
    assert failure.reason == f"Replication task {T1} cannot be started: it is {task_status}."
    assert faulty.operations() == [DESCRIBE]


INVALID_REPLICATION_PROPERTIES: Final = [
    Invalid({}, "ReplicationConfigArn", REQUIRED, ""),
    Invalid(
        {"ReplicationConfigArn": T1}, "ReplicationConfigArn", "not a DMS replication config ARN", T1
    ),
    Invalid({"ReplicationConfigArn": 7}, "ReplicationConfigArn", "not a string", "7"),
    Invalid(
        replication_props(StartReplicationType="start-replication"),
        "StartReplicationType",
        "unknown value",
        "start-replication",
    ),
    Invalid(
        replication_props(MigrationType="full-load", StartReplicationType="resume-processing"),
        "StartReplicationType",
        "DMS cannot resume a full-load replication: partially loaded tables are not resumed",
        "resume-processing",
    ),
]


@pytest.mark.parametrize(
    "case", INVALID_REPLICATION_PROPERTIES, ids=ids(INVALID_REPLICATION_PROPERTIES)
)
def test_invalid_replication_property_fails_before_any_dms_call(
    faulty: FaultyDouble, case: Invalid
) -> None:
    faulty.add_replication("R1")
    event = cfn_event("Create", case.properties, resource_type=REPLICATION_STARTER_RESOURCE_TYPE)
    case.assert_names_it(fails(event, faulty).cause)
    assert faulty.attempts == []


def test_a_task_start_type_on_a_replication_starter_is_not_its_property(
    faulty: FaultyDouble,
) -> None:
    """StartReplicationTaskType is a task's property: a replication starter reads
    StartReplicationType, so the value is neither checked nor sent."""
    faulty.add_replication("R1")
    properties = replication_props(StartReplicationTaskType="reload")
    event = cfn_event("Create", properties, resource_type=REPLICATION_STARTER_RESOURCE_TYPE)
    assert succeeds(event, faulty).data["Status"] == "running"
    assert faulty.writes() == [start_replication(R1, "start-replication")]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
@pytest.mark.parametrize("case", INVALID_ARNS, ids=ids(INVALID_ARNS))
def test_invalid_guard_property_fails_before_any_dms_call(
    faulty: FaultyDouble, stack_status: FixedStack, case: Invalid, request_type: str
) -> None:
    faulty.add_task("T1", status="running")
    stack_status.status = "UPDATE_IN_PROGRESS"
    update = request_type == "Update"
    event = cfn_event(
        request_type,
        case.properties,
        old_properties=props() if update else None,
        physical_id=T1 + "#update-guard" if update else None,
        resource_type=GUARD_RESOURCE_TYPE,
    )
    case.assert_names_it(fails(event, faulty).cause)
    assert faulty.attempts == []


@pytest.mark.parametrize(
    "guarded_tasks",
    ['{"orders-cdc": "ab12"', '["orders-cdc"]', '{"orders cdc": "ab12"}', '{"orders": 1}'],
)
def test_invalid_rollback_guard_property_changes_nothing(
    faulty: FaultyDouble, log_output: io.StringIO, guarded_tasks: str
) -> None:
    """The rollback guard never fails (a rollback goes through it): it does nothing, says why."""
    faulty.add_task("T1", status="running")
    event = cfn_event(
        "Update",
        {"GuardedTasks": guarded_tasks},
        old_properties={"GuardedTasks": '{"T1": "d1"}'},
        physical_id=f"{STACK_ID}#RollbackGuard",
        resource_type=ROLLBACK_GUARD_RESOURCE_TYPE,
    )
    result = succeeds(event, faulty)
    assert result.physical_id == f"{STACK_ID}#RollbackGuard"
    assert faulty.attempts == []
    assert logged_warnings(log_output) == [
        f"GuardedTasks: not a JSON object of identifiers to digests (got '{guarded_tasks}'). "
        "Accepted: a JSON object of task resource identifier to definition digest, e.g. "
        '{"orders-cdc": "ab12"}.'
    ]


def test_rollback_guard_control_stops_a_changed_task(faulty: FaultyDouble) -> None:
    """Control for the case above: valid properties do stop the changed task."""
    faulty.add_task("T1", status="running")
    event = cfn_event(
        "Update",
        {"GuardedTasks": '{"T1": "d2"}'},
        old_properties={"GuardedTasks": '{"T1": "d1"}'},
        physical_id=f"{STACK_ID}#RollbackGuard",
        resource_type=ROLLBACK_GUARD_RESOURCE_TYPE,
    )
    succeeds(event, faulty)
    assert faulty.writes() == [stop_task(T1)]


def test_kind_of_a_plan_is_what_is_complete_reads(faulty: FaultyDouble) -> None:
    """A plan for a Serverless replication reads the replication, not a task."""
    faulty.add_replication("R1", status="running")
    data = Plan(
        deadline=int(CLOCK_START) + 60,
        timeout_seconds=60,
        kind=Kind.REPLICATION,
        subject=R1,
        wait_for=WaitFor.RUNNING,
    ).to_data()
    event = {
        **cfn_event(
            "Create",
            replication_props(),
            physical_id=R1,
            resource_type=REPLICATION_STARTER_RESOURCE_TYPE,
        ),
        "Data": data,
    }
    with double_clock(faulty):
        answer = handler.is_complete(event, CONTEXT)
    assert answer["IsComplete"] is True
    assert answer["Data"]["ReplicationConfigArn"] == R1
    assert faulty.operations() == [DESCRIBE_REPLICATIONS]


def test_rollback_delete_whose_read_is_throttled_leaves_the_stop_to_is_complete(
    faulty: FaultyDouble, stack_status: FixedStack
) -> None:
    """on_event of a rollback Delete could not read the task (throttled beyond the client's
    retries): it answers success with a plan, and is_complete stops the run."""
    faulty.add_task("T1", status="running")
    faulty.faults.append(outage(DESCRIBE, times=TOTAL_ATTEMPTS))
    stack_status.status = "ROLLBACK_IN_PROGRESS"
    succeeds(cfn_event("Delete", props(), physical_id=T1), faulty)
    assert faulty.writes() == [stop_task(T1)]
    assert status(faulty, T1) == "stopped"
