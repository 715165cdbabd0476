"""The premigration assessment gate's decisions: which start is gated, which run gates it,
what each run status leads to under each choice, and what a Serverless start carries.

Run statuses are those of the DMS API reference's ``ReplicationTaskAssessmentRun.Status``
(and ``PremigrationAssessmentStatus.Status``); individual assessment statuses those of
``ReplicationTaskIndividualAssessment.Status``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from typing import Any, Final

import pytest
from dms_task_starter_runtime.assessments import (
    Assessment,
    IndividualAssessment,
    individual_assessment,
    run_name,
    start_run_request,
    this_run,
    with_assessment,
)
from dms_task_starter_runtime.contract import Kind, OnAssessmentFailure, Prop, WaitFor
from dms_task_starter_runtime.decisions import (
    Context,
    OnEventDecision,
    StackOperation,
    StartParameters,
    decide_starter_create,
    decide_starter_update,
)
from dms_task_starter_runtime.gates import Connection, gate_first_start, needs_runs
from dms_task_starter_runtime.plan import Plan, StarterError
from dms_task_starter_runtime.polls import (
    BeginAssessmentRun,
    Complete,
    PollDecision,
    Start,
    Wait,
    decide_poll,
)
from dms_task_starter_runtime.settings import (
    AssessmentSettings,
    InvalidSettingError,
    StarterSettings,
    parse_starter_settings,
)
from dms_task_starter_runtime.state import (
    TASK_PHASES,
    AssessmentRun,
    RunMarks,
    State,
    assessment_run,
    replication_state,
    snapshot,
)

from tests.handler.test_connection_decisions import (
    ARN,
    D1,
    D2,
    INSTANCE,
    NOW,
    SOURCE,
    TARGET,
    task,
)

CONFIG = "arn:aws:dms:eu-west-1:123456789012:replication-config:C1"
ROLE = "arn:aws:iam::123456789012:role/dms-assessments"
RUN_ARN = "arn:aws:dms:eu-west-1:123456789012:assessment-run:R1"
STARTED = NOW - 60
NAME = run_name(ARN, STARTED)
CHOICE = AssessmentSettings(role_arn=ROLE, bucket="orders-results", folder="runs")
ASSESSED = StarterSettings(arn=ARN, timeout_seconds=600, assessment=CHOICE)
IN_PROGRESS: Final = ("starting", "provisioning", "running")
PASSING: Final = ("passed", "warning")
ENDED_BADLY: Final = (
    "failed",
    "error-provisioning",
    "error-executing",
    "cancelling",
    "deleting",
    "invalid state",
)
RUN_STATUSES: Final = (*IN_PROGRESS, *PASSING, *ENDED_BADLY)
"""Every status of the API reference."""
FAILED_INDIVIDUALS: Final = (
    IndividualAssessment("unsupported-data-types-in-source", "failed"),
    IndividualAssessment("full-lob-not-nullable-at-target", "passed"),
    IndividualAssessment("table-with-no-primary-key-or-unique-constraint", "error"),
    IndividualAssessment("all-check-source-data-types", "skipped"),
)


def run(status: str, name: str = NAME, created: str = D2) -> AssessmentRun:
    return AssessmentRun(
        arn=RUN_ARN,
        status=status,
        name=name,
        bucket="orders-results",
        folder="runs",
        created=created,
        completed=4 if status not in IN_PROGRESS else 1,
        count=4,
    )


def gated_plan(subject: State, **fields: Any) -> Plan:
    return Plan(
        deadline=STARTED + 600,
        timeout_seconds=600,
        subject=ARN,
        start_pending=True,
        assesses=True,
        assessment_run=NAME,
        snapshot=snapshot(subject),
        **fields,
    )


def poll(
    status: str | None,
    on_failure: OnAssessmentFailure = OnAssessmentFailure.FAIL,
    now: int = NOW,
) -> PollDecision:
    subject = task()
    settings = replace(ASSESSED, assessment=replace(CHOICE, on_failure=on_failure))
    runs = () if status is None else (run(status),)
    individual = FAILED_INDIVIDUALS if status in ENDED_BADLY else ()
    return decide_poll(
        gated_plan(subject),
        {ARN: subject},
        settings,
        now,
        assessment=Assessment(runs, individual),
    )


# -- which starts are gated -------------------------------------------------------------


def first_start(settings: StarterSettings, current: State) -> OnEventDecision | None:
    """on_event's decision for ``current`` before the gates; None if it cannot be started."""
    try:
        return decide_starter_create(settings, current, NOW)
    except StarterError:
        return None  # a status that cannot be started at all fails before any gate


GATED_NOTES: Final = {
    False: "once its premigration assessment passed",
    True: "once its endpoints' connections are tested and its premigration assessment passed",
}


@pytest.mark.parametrize(
    ("status", "ran", "connections"),
    list(itertools.product(sorted(TASK_PHASES), [False, True], [False, True])),
)
def test_only_the_first_start_of_a_task_is_gated(status: str, ran: bool, connections: bool) -> None:
    current = task(status, ran=ran)
    settings = replace(ASSESSED, test_connections=connections)
    decision = first_start(settings, current)
    if decision is None:
        return
    named = replace(decision.plan, assessment_run=run_name(ARN, NOW))
    expected = replace(decision, plan=named)  # ungated, its run still named: the attributes
    if (decision.start is not None or decision.plan.start_pending) and not current.has_run:
        gated = replace(named, start_pending=True, tests_connections=connections, assesses=True)
        note = f"{decision.note}, {GATED_NOTES[connections]}"
        expected = replace(decision, start=None, plan=gated, note=note)
    assert gate_first_start(settings, current, decision) == expected


def test_a_rollback_restoring_a_task_is_never_gated() -> None:
    current = task("stopped")
    context = Context(ARN, StackOperation.UPDATE_ROLLBACK, NOW)
    decision = decide_starter_update(ASSESSED, ASSESSED, current, None, context)
    assert decision.plan.resume_only
    named = replace(decision.plan, assessment_run=run_name(ARN, NOW))
    assert gate_first_start(ASSESSED, current, decision) == replace(decision, plan=named)


def test_a_task_continuing_a_replaced_tasks_cdc_is_not_gated() -> None:
    new = replace(task(), migration_type="cdc")
    old = replace(task("stopped", ran=True), arn=ARN + "-old", recovery_checkpoint="c:1")
    previous = replace(ASSESSED, arn=old.arn)
    decision = decide_starter_update(previous, ASSESSED, new, old, Context(old.arn, now=NOW))
    assert decision.plan.handover_from == old.arn
    named = replace(decision.plan, assessment_run=run_name(ARN, NOW))
    assert gate_first_start(ASSESSED, new, decision) == replace(decision, plan=named)


def test_without_the_option_nothing_changes() -> None:
    settings = replace(ASSESSED, assessment=None)
    decision = decide_starter_create(settings, task(), NOW)
    assert gate_first_start(settings, task(), decision) == decision


# -- Serverless: the start carries the assessment ---------------------------------------


def replication(status: str = "created", **fields: Any) -> State:
    return replace(task(status, **fields), kind=Kind.REPLICATION, arn=CONFIG)


SERVERLESS = StarterSettings(
    arn=CONFIG, kind=Kind.REPLICATION, assessment=AssessmentSettings(folder="runs")
)


@pytest.mark.parametrize(
    ("choice", "settings"),
    [
        (AssessmentSettings(), {"FailOnAssessmentFailure": True}),
        (
            AssessmentSettings(on_failure=OnAssessmentFailure.WARN, folder="runs"),
            {"FailOnAssessmentFailure": False, "ResultLocationFolder": "runs"},
        ),
        (
            AssessmentSettings(include_only=("a-check", "b-check")),
            {"FailOnAssessmentFailure": True, "IncludeOnly": "a-check b-check"},
        ),
        (
            AssessmentSettings(exclude=("a-check",)),
            {"FailOnAssessmentFailure": True, "Exclude": "a-check"},
        ),
    ],
)
def test_a_serverless_first_start_carries_the_settings(
    choice: AssessmentSettings, settings: dict[str, Any]
) -> None:
    starter = replace(SERVERLESS, assessment=choice)
    decision = decide_starter_create(starter, replication(), NOW)
    gated = gate_first_start(starter, replication(), decision)
    assert gated.start is not None
    assert gated.start.premigration_assessment is not None
    assert json.loads(gated.start.premigration_assessment) == settings
    assert gated.plan == replace(decision.plan, assesses=True)


def test_a_serverless_restart_carries_no_assessment() -> None:
    stopped = replication("stopped", ran=True)
    decision = decide_starter_update(
        SERVERLESS,
        replace(SERVERLESS, timeout_seconds=700),
        stopped,
        None,
        Context(CONFIG, now=NOW),
    )
    gated = gate_first_start(SERVERLESS, stopped, decision)
    assert gated == decision
    assert gated.start is None or gated.start.premigration_assessment is None


@pytest.mark.parametrize("status", RUN_STATUSES)
@pytest.mark.parametrize("fail_on_failure", [True, False])
@pytest.mark.parametrize("replication_status", ["failed", "created", "running", "starting"])
def test_a_serverless_assessment_that_ended_badly_fails_when_dms_held_the_start(
    status: str, fail_on_failure: bool, replication_status: str
) -> None:
    described = {
        "ReplicationConfigArn": CONFIG,
        "Status": replication_status,
        "ReplicationType": "full-load-and-cdc",
        "PremigrationAssessmentStatuses": [
            {
                "PremigrationAssessmentRunArn": RUN_ARN,
                "FailOnAssessmentFailure": fail_on_failure,
                "Status": status,
                "ResultLocationBucket": "dms-bucket",
                "ResultLocationFolder": "runs",
            }
        ],
    }
    subject = replication_state(described)
    plan = Plan(
        deadline=NOW + 600,
        timeout_seconds=600,
        kind=Kind.REPLICATION,
        subject=CONFIG,
        wait_for=WaitFor.RUNNING,
        assesses=True,
    )
    individual = FAILED_INDIVIDUALS if status in ENDED_BADLY else ()

    def decide() -> PollDecision:
        return decide_poll(
            plan, {CONFIG: subject}, None, NOW, assessment=Assessment((), individual)
        )

    if status in ENDED_BADLY and fail_on_failure:
        with pytest.raises(StarterError) as raised:
            decide()
        assert str(raised.value) == (
            f"The premigration assessment of serverless replication {CONFIG} ended {status} "
            f"(run {RUN_ARN}, {RUN_ARN}); failed: unsupported-data-types-in-source (failed), "
            "table-with-no-primary-key-or-unique-constraint (error). The results are in "
            "s3://dms-bucket/runs. Fix what the assessments found (or leave an assessment "
            "out) and deploy again. Nothing was started."
        )
    elif replication_status == "running":
        decision = decide()
        assert isinstance(decision, Complete)
        assert decision.task is not None
        assert decision.task.attributes()["AssessmentRunStatus"] == status
    elif replication_status == "failed":
        with pytest.raises(StarterError, match="did not reach 'running'"):
            decide()
    else:
        assert isinstance(decide(), Wait)


# -- the gating run -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [*RUN_STATUSES, None])
@pytest.mark.parametrize("on_failure", list(OnAssessmentFailure))
def test_every_run_status_under_each_choice(
    status: str | None, on_failure: OnAssessmentFailure
) -> None:
    if status is None:
        decision = poll(status, on_failure)
        assert decision == BeginAssessmentRun(
            {
                "ReplicationTaskArn": ARN,
                "ServiceAccessRoleArn": ROLE,
                "ResultLocationBucket": "orders-results",
                "AssessmentRunName": NAME,
                "ResultLocationFolder": "runs",
            },
            f"beginning assessment run {NAME}",
        )
    elif status in IN_PROGRESS:
        decision = poll(status, on_failure)
        assert decision == Wait(
            f"waiting for the premigration assessment: run {NAME} is {status}, 1 of 4 "
            "assessments done"
        )
    elif status in PASSING:
        decision = poll(status, on_failure)
        assert isinstance(decision, Start)
        assert decision.parameters.start_type == "start-replication"
        expected = "" if status == "passed" else f"the premigration assessment run {NAME} is "
        assert decision.warning.startswith(expected)
        assert bool(decision.warning) == (status == "warning")
    elif on_failure is OnAssessmentFailure.FAIL:
        with pytest.raises(StarterError) as raised:
            poll(status, on_failure)
        assert str(raised.value) == (
            f"The premigration assessment of replication task {ARN} ended {status} (run "
            f"{NAME}, {RUN_ARN}); failed: unsupported-data-types-in-source (failed), "
            "table-with-no-primary-key-or-unique-constraint (error). The results are in "
            "s3://orders-results/runs. Fix what the assessments found (or leave an assessment "
            "out) and deploy again. Nothing was started."
        )
    else:
        decision = poll(status, on_failure)
        assert isinstance(decision, Start)
        assert decision.warning.endswith("starting it all the same (on_failure: warn)")
        assert "unsupported-data-types-in-source (failed)" in decision.warning


@pytest.mark.parametrize("status", [*IN_PROGRESS, None])
def test_an_assessment_that_outlasts_the_timeout_fails_with_nothing_started(
    status: str | None,
) -> None:
    with pytest.raises(StarterError) as raised:
        poll(status, now=STARTED + 600)
    state = "no run listed" if status is None else f"run {NAME} is {status}, 1 of 4"
    assert str(raised.value).startswith(
        f"Timed out after 600 s waiting for the premigration assessment of replication task "
        f"{ARN} ({state}"
    )
    assert str(raised.value).endswith("Nothing was started.")


def test_the_gate_waits_for_the_connection_gate_first() -> None:
    subject = task()
    plan = gated_plan(subject, tests_connections=True)
    testing = [Connection(SOURCE, INSTANCE, "testing"), Connection(TARGET, INSTANCE, "successful")]
    decision = decide_poll(
        plan, {ARN: subject}, ASSESSED, NOW, connections=testing, assessment=Assessment()
    )
    assert isinstance(decision, Wait)
    assert decision.note.startswith("waiting for the connection tests")
    assert not needs_runs(plan, subject, testing)
    succeeded = [replace(c, status="successful") for c in testing]
    assert needs_runs(plan, subject, succeeded)
    begun = decide_poll(plan, {ARN: subject}, ASSESSED, NOW, connections=succeeded)
    assert isinstance(begun, BeginAssessmentRun)


def test_the_runs_are_read_only_while_the_gated_start_is_pending() -> None:
    subject = task()
    plan = gated_plan(subject)
    assert needs_runs(plan, subject, ())
    assert not needs_runs(replace(plan, assesses=False), subject, ())
    assert not needs_runs(replace(plan, start_pending=False), subject, ())
    assert not needs_runs(plan, task("testing"), ())
    assert not needs_runs(plan, None, ())
    assert not needs_runs(plan, replication(), ())
    started = task("starting", marks=RunMarks(D2, "", "", ""))
    assert not needs_runs(plan, started, ())


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ((), None),
        ((run("failed", name="by-hand"), run("passed", name="another-tool")), None),
        ((run("failed"),), "failed"),  # this request's run, whatever its status
        ((run("passed", name="dms-task-starter-T1-1"), run("running")), "running"),
        ((run("failed", name="dms-task-starter-T1-1"),), None),  # an earlier failure: run again
        ((run("warning", name="dms-task-starter-T1-1"),), "warning"),  # passed before
        ((run("running", name="dms-task-starter-T1-1"),), "running"),  # an earlier request's
        (
            (
                run("running", name="dms-task-starter-T1-2", created=D1),
                run("passed", name="dms-task-starter-T1-1", created=D2),
            ),
            "passed",
        ),
    ],
)
def test_which_run_gates_the_start(runs: tuple[AssessmentRun, ...], expected: str | None) -> None:
    chosen = this_run(runs, NAME)
    assert (None if chosen is None else chosen.status) == expected


def test_the_latest_of_the_starters_passed_runs_is_chosen() -> None:
    older = run("passed", name="dms-task-starter-T1-1", created=D1)
    newer = replace(run("warning", name="dms-task-starter-T1-2", created=D2), arn="newer")
    assert this_run((older, newer), NAME) == newer


def test_the_request_parameters_are_only_those_that_are_set() -> None:
    bare = AssessmentSettings(role_arn=ROLE, bucket="b")
    assert start_run_request(ARN, NAME, bare) == {
        "ReplicationTaskArn": ARN,
        "ServiceAccessRoleArn": ROLE,
        "ResultLocationBucket": "b",
        "AssessmentRunName": NAME,
    }
    chosen = replace(bare, include_only=("a-check",))
    assert start_run_request(ARN, NAME, chosen)["IncludeOnly"] == ["a-check"]


def test_the_run_name_is_the_tasks_id_and_the_requests_start() -> None:
    assert run_name(ARN, 1_772_360_000) == "dms-task-starter-T1-1772360000"


def test_reading_a_run_and_its_assessments() -> None:
    described = {
        "ReplicationTaskAssessmentRunArn": RUN_ARN,
        "ReplicationTaskArn": ARN,
        "Status": "failed",
        "AssessmentRunName": NAME,
        "ResultLocationBucket": "b",
        "ResultLocationFolder": "f",
        "LastFailureMessage": "boom",
        "AssessmentProgress": {
            "IndividualAssessmentCount": 3,
            "IndividualAssessmentCompletedCount": 3,
        },
    }
    assert assessment_run(described) == AssessmentRun(
        arn=RUN_ARN,
        status="failed",
        name=NAME,
        bucket="b",
        folder="f",
        failure="boom",
        completed=3,
        count=3,
    )
    assert individual_assessment(
        {"IndividualAssessmentName": "a-check", "Status": "error"}
    ) == IndividualAssessment("a-check", "error")


def test_the_plan_keeps_the_gate_through_data() -> None:
    plan = gated_plan(task(), tests_connections=True)
    assert Plan.from_data(plan.to_data()) == plan
    assert plan.to_data()["StarterAssesses"] == "true"
    assert plan.to_data()["StarterAssessmentRun"] == NAME


def test_a_serverless_start_request_sends_the_settings_as_given() -> None:
    start = with_assessment(StartParameters(CONFIG, "start-replication", Kind.REPLICATION), CHOICE)
    assert start.premigration_assessment == (
        '{"FailOnAssessmentFailure":true,"ResultLocationFolder":"runs"}'
    )


# -- the properties ---------------------------------------------------------------------

TASK_PROPS: Final = {
    Prop.TASK_ARN: ARN,
    Prop.ASSESSMENT_ON_FAILURE: "warn",
    Prop.ASSESSMENT_ROLE_ARN: ROLE,
    Prop.ASSESSMENT_BUCKET: "orders-results",
    Prop.ASSESSMENT_FOLDER: "runs/orders",
    Prop.ASSESSMENT_INCLUDE_ONLY: "a-check,b-check",
}


def test_the_properties_are_parsed() -> None:
    assert parse_starter_settings(TASK_PROPS).assessment == AssessmentSettings(
        on_failure=OnAssessmentFailure.WARN,
        role_arn=ROLE,
        bucket="orders-results",
        folder="runs/orders",
        include_only=("a-check", "b-check"),
    )
    assert parse_starter_settings({Prop.TASK_ARN: ARN}).assessment is None


@pytest.mark.parametrize(
    ("changes", "kind", "message"),
    [
        ({Prop.ASSESSMENT_ON_FAILURE: "stop"}, Kind.TASK, "AssessmentOnFailure: unknown value"),
        ({Prop.ASSESSMENT_ROLE_ARN: ""}, Kind.TASK, "AssessmentRoleArn: missing"),
        ({Prop.ASSESSMENT_ROLE_ARN: "dms-role"}, Kind.TASK, "AssessmentRoleArn: malformed"),
        ({Prop.ASSESSMENT_BUCKET: "Orders_Results"}, Kind.TASK, "AssessmentBucket: malformed"),
        ({Prop.ASSESSMENT_FOLDER: "/runs"}, Kind.TASK, "AssessmentFolder: malformed"),
        ({Prop.ASSESSMENT_INCLUDE_ONLY: "a b"}, Kind.TASK, "AssessmentIncludeOnly: malformed"),
        (
            {Prop.ASSESSMENT_EXCLUDE: "c-check"},
            Kind.TASK,
            "AssessmentIncludeOnly and AssessmentExclude: both are set",
        ),
        (
            {Prop.CONFIG_ARN: CONFIG},
            Kind.REPLICATION,
            "AssessmentRoleArn: DMS Serverless keeps assessment results in a bucket it manages",
        ),
    ],
)
def test_a_bad_property_is_named_with_the_accepted_forms(
    changes: dict[str, str], kind: Kind, message: str
) -> None:
    with pytest.raises(InvalidSettingError) as raised:
        parse_starter_settings({**TASK_PROPS, **changes}, kind)
    assert str(raised.value).startswith(message)
    assert "Accepted:" in str(raised.value)
