"""The connection gate's decisions: which start is gated, what is tested, when it starts.

Connection statuses are those of the DMS API reference's ``Connection.Status``
(``successful | testing | failed | deleting``); an endpoint DMS lists no connection for,
from the task's instance, was never tested from it.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest
from dms_task_starter_runtime.contract import Kind, Prop
from dms_task_starter_runtime.decisions import (
    Context,
    StackOperation,
    decide_starter_create,
    decide_starter_update,
)
from dms_task_starter_runtime.gates import (
    Connection,
    connection,
    connection_failure,
    connections_succeeded,
    endpoints_to_test,
    gate_first_start,
    needs_connections,
)
from dms_task_starter_runtime.plan import Plan, StarterError
from dms_task_starter_runtime.polls import (
    BeginConnectionTests,
    PollDecision,
    Start,
    Wait,
    decide_poll,
)
from dms_task_starter_runtime.settings import (
    InvalidSettingError,
    StarterSettings,
    parse_starter_settings,
)
from dms_task_starter_runtime.state import TASK_PHASES, RunMarks, State, snapshot

ARN = "arn:aws:dms:eu-west-1:123456789012:task:T1"
INSTANCE = "arn:aws:dms:eu-west-1:123456789012:rep:I1"
OTHER_INSTANCE = "arn:aws:dms:eu-west-1:123456789012:rep:I2"
SOURCE = "arn:aws:dms:eu-west-1:123456789012:endpoint:SRC"
TARGET = "arn:aws:dms:eu-west-1:123456789012:endpoint:TGT"
NOW = 1_772_360_000
D1 = "2026-03-01T09:00:00+00:00"
D2 = "2026-03-01T10:00:00+00:00"
GATED = StarterSettings(arn=ARN, timeout_seconds=600, test_connections=True)
STATUSES = ("successful", "testing", "failed", "deleting", None)
"""DMS's connection statuses, and None: no connection listed from the instance."""


def task(status: str = "ready", *, ran: bool = False, **fields: Any) -> State:
    history: dict[str, Any] = {"marks": RunMarks(D1, D1, D1, D2)} if ran else {}
    return State(
        arn=ARN,
        status=status,
        migration_type="full-load-and-cdc",
        source_endpoint_arn=SOURCE,
        target_endpoint_arn=TARGET,
        replication_instance_arn=INSTANCE,
        **{**history, **fields},
    )


def connections(source: str | None, target: str | None, **failure: str) -> list[Connection]:
    listed = {SOURCE: source, TARGET: target}
    return [
        Connection(arn, INSTANCE, status, arn.rsplit(":", 1)[1], failure.get(status, ""))
        for arn, status in listed.items()
        if status is not None
    ]


def gated_plan(subject: State) -> Plan:
    return Plan(
        deadline=NOW + 600,
        timeout_seconds=600,
        subject=ARN,
        start_pending=True,
        tests_connections=True,
        snapshot=snapshot(subject),
    )


# -- which starts are gated -------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(TASK_PHASES))
@pytest.mark.parametrize("ran", [False, True])
@pytest.mark.parametrize("on", [False, True])
def test_only_the_first_start_of_a_task_is_gated(status: str, ran: bool, on: bool) -> None:
    current = task(status, ran=ran)
    settings = replace(GATED, test_connections=on)
    try:
        decision = decide_starter_create(settings, current, NOW)
    except StarterError:
        return  # a status that cannot be started at all fails before any gate
    gated = gate_first_start(settings, current, decision)
    starts = decision.start is not None or decision.plan.start_pending
    if on and starts and not current.has_run:
        assert gated.start is None
        assert gated.plan == replace(decision.plan, start_pending=True, tests_connections=True)
        assert gated.note.endswith("once its endpoints' connections are tested")
    else:
        assert gated == decision


def test_a_serverless_replication_is_never_gated() -> None:
    config = replace(task("created"), kind=Kind.REPLICATION, replication_instance_arn="")
    settings = replace(GATED, kind=Kind.REPLICATION)
    decision = decide_starter_create(settings, config, NOW)
    assert gate_first_start(settings, config, decision) == decision


def test_a_rollback_restoring_a_task_is_never_gated() -> None:
    current = task("stopped")  # stopped but never dated as run: still restored untested
    context = Context(ARN, StackOperation.UPDATE_ROLLBACK, NOW)
    decision = decide_starter_update(GATED, GATED, current, None, context)
    assert decision.plan.resume_only
    assert gate_first_start(GATED, current, decision) == decision


def test_a_task_continuing_a_replaced_tasks_cdc_is_not_gated() -> None:
    new = replace(task(), migration_type="cdc", arn=ARN)
    old = replace(task("stopped", ran=True), arn=ARN + "-old", recovery_checkpoint="c:1")
    previous = replace(GATED, arn=old.arn)
    decision = decide_starter_update(previous, GATED, new, old, Context(old.arn, now=NOW))
    assert decision.plan.handover_from == old.arn
    assert gate_first_start(GATED, new, decision) == decision


# -- what on_event tests -----------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_an_endpoint_is_tested_unless_it_connected_or_is_being_tested(
    source: str | None, target: str | None
) -> None:
    expected = tuple(
        arn
        for arn, status in ((SOURCE, source), (TARGET, target))
        if status not in ("successful", "testing")
    )
    assert endpoints_to_test(task(), connections(source, target)) == expected


def test_a_connection_from_another_instance_does_not_count() -> None:
    elsewhere = [
        replace(c, instance_arn=OTHER_INSTANCE) for c in connections("successful", "successful")
    ]
    assert endpoints_to_test(task(), elsewhere) == (SOURCE, TARGET)
    assert not connections_succeeded(task(), elsewhere)


def test_a_described_connection_is_read_with_its_failure() -> None:
    described = {
        "EndpointArn": TARGET,
        "EndpointIdentifier": "TGT",
        "ReplicationInstanceArn": INSTANCE,
        "ReplicationInstanceIdentifier": "I1",
        "Status": "failed",
        "LastFailureMessage": "timeout",
    }
    assert connection(described) == Connection(TARGET, INSTANCE, "failed", "TGT", "timeout")


# -- what is_complete does ---------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_the_gated_start_is_made_only_once_both_connections_succeeded(
    source: str | None, target: str | None
) -> None:
    subject = task()
    plan = gated_plan(subject)
    listed = connections(source, target, failed="could not connect")

    def poll() -> PollDecision:
        return decide_poll(plan, {ARN: subject}, GATED, NOW, connections=listed)

    if "failed" in (source, target):
        with pytest.raises(StarterError, match="failed its connection test: could not connect"):
            poll()
    elif (source, target) == ("successful", "successful"):
        decision = poll()
        assert isinstance(decision, Start)
        assert decision.parameters.start_type == "start-replication"
    elif None in (source, target):
        # Not listed from the instance: on_event's test was denied or lost; begun again.
        unlisted = tuple(arn for arn, st in ((SOURCE, source), (TARGET, target)) if st is None)
        assert poll() == BeginConnectionTests(unlisted, poll().note)
        assert poll().note.startswith("testing the connections")
    else:
        decision = poll()
        assert isinstance(decision, Wait)
        assert decision.note.startswith("waiting for the connection tests")


def test_a_failure_names_each_failed_endpoint_its_arn_and_dms_message() -> None:
    listed = [
        Connection(SOURCE, INSTANCE, "failed", "SRC", "no route to host"),
        Connection(TARGET, INSTANCE, "failed", "TGT", ""),
    ]
    assert connection_failure(task(), listed) == (
        f"Replication task {ARN} was not started: from replication instance {INSTANCE}, "
        f"the source endpoint SRC ({SOURCE}) failed its connection test: no route to host; "
        f"the target endpoint TGT ({TARGET}) failed its connection test: DMS gave no message. "
        "Fix the endpoint (or the network between it and the instance) and deploy again. "
        "Nothing was started."
    )


def test_no_test_is_begun_once_the_deadline_passed() -> None:
    subject = task()
    plan = gated_plan(subject)
    with pytest.raises(StarterError, match=r"target endpoint .*: not tested\)"):
        decide_poll(
            plan, {ARN: subject}, GATED, plan.deadline, connections=connections("successful", None)
        )


def test_connection_tests_that_outlast_the_timeout_fail_naming_the_statuses() -> None:
    subject = task()
    plan = gated_plan(subject)
    listed = connections("successful", "testing")
    with pytest.raises(StarterError) as raised:
        decide_poll(plan, {ARN: subject}, GATED, plan.deadline, connections=listed)
    assert str(raised.value) == (
        f"Timed out after 600 s waiting for the connection tests of replication task {ARN} "
        f"from replication instance {INSTANCE} (source endpoint {SOURCE}: successful, "
        f"target endpoint {TARGET}: testing). Nothing was started."
    )


def test_the_connections_are_read_only_while_the_gated_start_is_pending() -> None:
    subject = task()
    plan = gated_plan(subject)
    assert needs_connections(plan, subject)
    assert not needs_connections(replace(plan, tests_connections=False), subject)
    assert not needs_connections(replace(plan, start_pending=False), subject)
    assert not needs_connections(plan, task("creating"))
    assert not needs_connections(plan, None)
    started = task("starting", marks=RunMarks(D2, "", "", ""))
    assert not needs_connections(plan, started)


def test_the_plan_keeps_the_gate_through_data() -> None:
    plan = gated_plan(task())
    assert Plan.from_data(plan.to_data()) == plan
    assert plan.to_data()["StarterTestsConnections"] == "true"


# -- the property ------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False), (None, False)])
def test_the_property_is_a_boolean(raw: str | None, expected: bool) -> None:
    props = {Prop.TASK_ARN: ARN, **({Prop.TEST_CONNECTIONS: raw} if raw else {})}
    assert parse_starter_settings(props).test_connections is expected


def test_a_bad_value_names_the_property() -> None:
    with pytest.raises(InvalidSettingError, match=Prop.TEST_CONNECTIONS):
        parse_starter_settings({Prop.TASK_ARN: ARN, Prop.TEST_CONNECTIONS: "yes"})


def test_a_replacing_task_that_never_ran_is_gated_while_the_old_one_stops() -> None:
    new = task()
    old = replace(task("running", ran=True), arn=ARN + "-old")
    previous = replace(GATED, arn=old.arn)
    decision = decide_starter_update(previous, GATED, new, old, Context(old.arn, now=NOW))
    gated = gate_first_start(GATED, new, decision)
    assert gated.stops == (old.arn,)
    assert gated.start is None
    assert gated.plan.start_pending
    assert gated.plan.tests_connections
