"""The connection gate: a task's first start waits until both its endpoints connect.

With ``TestConnections``, ``on_event`` does not start a task that never ran: it tests the
connections of the task's endpoints from the task's replication instance (``TestConnection``;
an endpoint whose connection to that instance already succeeded is not tested again) and
leaves the start pending. ``is_complete`` reads the connections (``DescribeConnections``)
on each poll, begins the tests DMS does not list (``on_event``'s were denied while a new
grant propagated, or lost), and makes the start once both succeed; a failed test fails the
request with DMS's message, before anything started. Pure functions; ``handler`` calls DMS.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from dms_task_starter_runtime.assessments import run_name, with_assessment
from dms_task_starter_runtime.contract import Kind
from dms_task_starter_runtime.state import Phase, State, started_since

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dms_task_starter_runtime.decisions import OnEventDecision
    from dms_task_starter_runtime.plan import Plan
    from dms_task_starter_runtime.settings import StarterSettings

SUCCESSFUL: Final = "successful"
TESTING: Final = "testing"
FAILED: Final = "failed"
NOT_TESTED: Final = "not tested"
"""How a message names the status of a connection DMS does not list."""


@dataclass(frozen=True)
class Connection:
    """A DMS ``Connection``: one endpoint as seen from one replication instance."""

    endpoint_arn: str
    instance_arn: str
    status: str
    endpoint_identifier: str = ""
    failure: str = ""
    """DMS's ``LastFailureMessage``."""


def connection(described: Mapping[str, Any]) -> Connection:
    """Read a ``Connection`` of DescribeConnections (or TestConnection)."""
    return Connection(
        endpoint_arn=described.get("EndpointArn", ""),
        instance_arn=described.get("ReplicationInstanceArn", ""),
        status=described.get("Status", ""),
        endpoint_identifier=described.get("EndpointIdentifier", ""),
        failure=described.get("LastFailureMessage", ""),
    )


def gate_first_start(
    settings: StarterSettings, task: State | None, decision: OnEventDecision
) -> OnEventDecision:
    """Hold back the first start of a task that never ran until its gates pass: the
    connection tests (``test_connections``), then the premigration assessment. The decision
    starts nothing now; its plan starts later.

    Only a first start is gated: never a resume, a restart, a restoring start or the
    start of a task that continues a replaced task's CDC. A Serverless replication tests
    its own connections as it starts (``testing_connection``); DMS offers no test of them
    beforehand, as ``TestConnection`` needs a replication instance. Its assessment is run
    by DMS as part of the start (``PremigrationAssessmentSettings``): the start is made now.
    """
    plan = decision.plan
    assesses = settings.assessment is not None
    if assesses and settings.kind is Kind.TASK:
        # Every request of a starter with the option names its run: its attributes report it.
        plan = replace(plan, assessment_run=run_name(settings.arn, plan.started_at))
    starts = decision.start is not None or plan.start_pending
    first = (
        starts
        and task is not None
        and not task.has_run
        and not plan.handover_from
        and not plan.resume_only
    )
    if settings.kind is Kind.REPLICATION:
        if not (first and settings.assessment is not None):
            return decision
        start = decision.start and with_assessment(decision.start, settings.assessment)
        return replace(decision, start=start, plan=replace(plan, assesses=True))
    if not (first and (settings.test_connections or assesses)):
        return replace(decision, plan=plan)
    gates = [
        name
        for name, on in (
            ("its endpoints' connections are tested", settings.test_connections),
            ("its premigration assessment passed", assesses),
        )
        if on
    ]
    return replace(
        decision,
        start=None,
        plan=replace(
            plan,
            start_pending=True,
            tests_connections=settings.test_connections,
            assesses=assesses,
        ),
        note=f"{decision.note}, once {' and '.join(gates)}",
    )


def _of_instance(connections: Sequence[Connection], instance_arn: str) -> dict[str, Connection]:
    """The connections from ``instance_arn``, by endpoint ARN."""
    return {c.endpoint_arn: c for c in connections if c.instance_arn == instance_arn}


def untested_endpoints(task: State, connections: Sequence[Connection]) -> tuple[str, ...]:
    """The endpoints of ``task`` DMS lists no connection for from its instance: their test
    was not begun (``on_event`` was denied, its answer lost) or DMS does not list it yet."""
    known = _of_instance(connections, task.replication_instance_arn)
    return tuple(arn for arn in task.endpoint_arns if arn not in known)


def endpoints_to_test(task: State, connections: Sequence[Connection]) -> tuple[str, ...]:
    """The endpoints of ``task`` to test: those whose connection from its instance neither
    succeeded nor is being tested."""
    known = _of_instance(connections, task.replication_instance_arn)
    return tuple(
        arn
        for arn in task.endpoint_arns
        if arn not in known or known[arn].status not in (SUCCESSFUL, TESTING)
    )


def needs_connections(plan: Plan, subject: State | None) -> bool:
    """Whether this poll's decision needs the connections: a gated start is still pending."""
    return (
        plan.tests_connections
        and plan.start_pending
        and subject is not None
        and subject.phase is Phase.AT_REST
        and not started_since(plan.snapshot, subject)
    )


def needs_runs(plan: Plan, subject: State | None, connections: Sequence[Connection]) -> bool:
    """Whether this poll reads the task's assessment runs: a start gated on its assessment
    is pending, and the connection gate (when on) passed: connections first."""
    return (
        plan.assesses
        and plan.start_pending
        and subject is not None
        and subject.kind is Kind.TASK
        and subject.phase is Phase.AT_REST
        and not started_since(plan.snapshot, subject)
        and (not plan.tests_connections or connections_succeeded(subject, connections))
    )


def _role(task: State, endpoint_arn: str) -> str:
    return "source" if endpoint_arn == task.source_endpoint_arn else "target"


def connection_failure(task: State, connections: Sequence[Connection]) -> str | None:
    """The failure to report when a connection of ``task`` failed its test; None if none."""
    known = _of_instance(connections, task.replication_instance_arn)
    failed = [
        known[arn] for arn in task.endpoint_arns if arn in known and known[arn].status == FAILED
    ]
    if not failed:
        return None
    reasons = "; ".join(
        f"the {_role(task, c.endpoint_arn)} endpoint {c.endpoint_identifier or c.endpoint_arn} "
        f"({c.endpoint_arn}) failed its connection test: {c.failure or 'DMS gave no message'}"
        for c in failed
    )
    return (
        f"{task.kind.noun} {task.arn} was not started: from replication instance "
        f"{task.replication_instance_arn}, {reasons}. Fix the endpoint (or the network between "
        "it and the instance) and deploy again. Nothing was started."
    )


def connections_succeeded(task: State, connections: Sequence[Connection]) -> bool:
    """Whether every endpoint of ``task`` connected from its instance."""
    known = _of_instance(connections, task.replication_instance_arn)
    return all(arn in known and known[arn].status == SUCCESSFUL for arn in task.endpoint_arns)


def connection_statuses(task: State, connections: Sequence[Connection]) -> str:
    """Each endpoint's connection status from the task's instance, for messages."""
    known = _of_instance(connections, task.replication_instance_arn)
    return ", ".join(
        f"{_role(task, arn)} endpoint {arn}: {known[arn].status if arn in known else NOT_TESTED}"
        for arn in task.endpoint_arns
    )
