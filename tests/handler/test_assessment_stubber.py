"""The assessment gate's exact AWS calls, proven with botocore's Stubber (checked against the
service model): the run, its pages, its individual assessments, the Serverless start, and
the one DescribeConnections wrapper in both its uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import pytest
from botocore.stub import Stubber
from dms_task_starter_runtime import dms, handler
from dms_task_starter_runtime.plan import Plan, StarterError
from dms_task_starter_runtime.state import State

from tests.support.dms_double import config_arn, endpoint_arn, task_arn
from tests.support.provider import CONTEXT, cfn_event

if TYPE_CHECKING:
    from collections.abc import Iterator

ARN: Final = task_arn("ORDERS")
CONFIG: Final = config_arn("ORDERS")
SOURCE: Final = endpoint_arn("SOURCE")
TARGET: Final = endpoint_arn("TARGET")
INSTANCE: Final = "arn:aws:dms:eu-west-1:123456789012:rep:INSTANCE"
ROLE: Final = "arn:aws:iam::123456789012:role/dms-assessments"
RUN_ARN: Final = "arn:aws:dms:eu-west-1:123456789012:assessment-run:RUN1"
NOW: Final = datetime(2026, 3, 1, tzinfo=UTC)
TYPES_CHECK: Final = "unsupported-data-types-in-source"
NAME: Final = f"dms-task-starter-ORDERS-{int(NOW.timestamp())}"
RUNS_FILTER: Final = {
    "Filters": [{"Name": "replication-task-arn", "Values": [ARN]}],
    "MaxRecords": 100,
}
INDIVIDUAL_FILTER: Final = {
    "Filters": [{"Name": "replication-task-assessment-run-arn", "Values": [RUN_ARN]}],
    "MaxRecords": 100,
}
PROPS: Final = {
    "ReplicationTaskArn": ARN,
    "AssessmentOnFailure": "fail",
    "AssessmentRoleArn": ROLE,
    "AssessmentBucket": "orders-results",
    "AssessmentFolder": "runs",
    "AssessmentExclude": "full-lob-not-nullable-at-target",
}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setattr(handler, "now_epoch_seconds", lambda: int(NOW.timestamp()))
    with Stubber(dms.dms_client()) as stubbed:
        yield stubbed
        stubbed.assert_no_pending_responses()


def described_run(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "ReplicationTaskAssessmentRunArn": RUN_ARN,
        "ReplicationTaskArn": ARN,
        "Status": status,
        "AssessmentRunName": NAME,
        "ResultLocationBucket": "orders-results",
        "ResultLocationFolder": "runs",
        "ReplicationTaskAssessmentRunCreationDate": NOW,
        **fields,
    }


def add_runs(stub: Stubber, status: str) -> None:
    stub.add_response(
        "describe_replication_task_assessment_runs",
        {"ReplicationTaskAssessmentRuns": [described_run(status)]},
        RUNS_FILTER,
    )


def add_task(stub: Stubber, status: str = "ready") -> None:
    task = {
        "ReplicationTaskArn": ARN,
        "Status": status,
        "MigrationType": "full-load-and-cdc",
        "SourceEndpointArn": SOURCE,
        "TargetEndpointArn": TARGET,
        "ReplicationInstanceArn": INSTANCE,
    }
    stub.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [task]},
        {"Filters": [{"Name": "replication-task-arn", "Values": [ARN]}], "WithoutSettings": True},
    )


def is_complete(stub: Stubber, data: dict[str, Any]) -> dict[str, Any]:
    event = {**cfn_event("Create", PROPS), "PhysicalResourceId": ARN, "Data": data}
    answer = handler.is_complete(event, CONTEXT)
    stub.assert_no_pending_responses()
    return answer


def first_plan(stub: Stubber) -> dict[str, Any]:
    """on_event: the task never ran; nothing started, the gated start left to is_complete."""
    add_task(stub)
    answer = handler.on_event(cfn_event("Create", PROPS), CONTEXT)
    stub.assert_no_pending_responses()
    data: dict[str, Any] = answer["Data"]
    assert data["StarterStartPending"] == "true"
    assert data["StarterAssesses"] == "true"
    assert data["StarterAssessmentRun"] == NAME
    return data


def test_the_run_is_begun_with_exactly_these_parameters(stub: Stubber) -> None:
    data = first_plan(stub)
    add_task(stub)
    stub.add_response("describe_replication_task_assessment_runs", {}, RUNS_FILTER)
    stub.add_response(
        "start_replication_task_assessment_run",
        {"ReplicationTaskAssessmentRun": described_run("starting")},
        {
            "ReplicationTaskArn": ARN,
            "ServiceAccessRoleArn": ROLE,
            "ResultLocationBucket": "orders-results",
            "AssessmentRunName": NAME,
            "ResultLocationFolder": "runs",
            "Exclude": ["full-lob-not-nullable-at-target"],
        },
    )
    assert is_complete(stub, data) == {"IsComplete": False}


def test_a_run_dms_says_exists_is_left_to_the_next_poll(stub: Stubber) -> None:
    data = first_plan(stub)
    add_task(stub)
    stub.add_client_error(
        "describe_replication_task_assessment_runs", "ResourceNotFoundFault", "none", 400
    )
    stub.add_client_error(
        "start_replication_task_assessment_run", "ResourceAlreadyExistsFault", "exists", 400
    )
    assert is_complete(stub, data) == {"IsComplete": False}


def test_every_page_of_runs_is_read(stub: Stubber) -> None:
    stub.add_response(
        "describe_replication_task_assessment_runs",
        {"ReplicationTaskAssessmentRuns": [described_run("failed")], "Marker": "page-2"},
        RUNS_FILTER,
    )
    stub.add_response(
        "describe_replication_task_assessment_runs",
        {"ReplicationTaskAssessmentRuns": [described_run("passed")]},
        {**RUNS_FILTER, "Marker": "page-2"},
    )
    assert [run["Status"] for run in dms.describe_assessment_runs(ARN)] == ["failed", "passed"]


def test_a_failed_run_names_its_failed_assessments_and_nothing_starts(stub: Stubber) -> None:
    data = first_plan(stub)
    add_task(stub)
    add_runs(stub, "failed")
    stub.add_response(
        "describe_replication_task_individual_assessments",
        {
            "ReplicationTaskIndividualAssessments": [
                {"IndividualAssessmentName": TYPES_CHECK, "Status": "failed"},
                {"IndividualAssessmentName": "table-with-no-primary-key", "Status": "passed"},
            ]
        },
        INDIVIDUAL_FILTER,
    )
    with pytest.raises(StarterError) as raised:
        is_complete(stub, data)
    assert "failed: unsupported-data-types-in-source (failed)." in str(raised.value)
    assert "s3://orders-results/runs" in str(raised.value)


def test_a_passed_run_starts_the_task_and_is_reported(stub: Stubber) -> None:
    data = first_plan(stub)
    add_task(stub)
    add_runs(stub, "passed")
    stub.add_response(
        "start_replication_task",
        {"ReplicationTask": {"ReplicationTaskArn": ARN, "Status": "starting"}},
        {"ReplicationTaskArn": ARN, "StartReplicationTaskType": "start-replication"},
    )
    assert is_complete(stub, data) == {"IsComplete": False}
    add_task(stub, "running")
    add_runs(stub, "passed")
    done = is_complete(stub, {**data, "StarterStartPending": "false"})
    assert done["Data"]["AssessmentRunArn"] == RUN_ARN
    assert done["Data"]["AssessmentRunStatus"] == "passed"


def test_a_serverless_first_start_sends_the_settings(stub: Stubber) -> None:
    stub.add_response(
        "describe_replications",
        {"Replications": [{"ReplicationConfigArn": CONFIG, "Status": "created"}]},
        {"Filters": [{"Name": "replication-config-arn", "Values": [CONFIG]}]},
    )
    stub.add_response(
        "start_replication",
        {"Replication": {"ReplicationConfigArn": CONFIG, "Status": "initializing"}},
        {
            "ReplicationConfigArn": CONFIG,
            "StartReplicationType": "start-replication",
            "PremigrationAssessmentSettings": '{"FailOnAssessmentFailure":false,'
            '"IncludeOnly":"unsupported-data-types-in-source"}',
        },
    )
    props = {
        "ReplicationConfigArn": CONFIG,
        "AssessmentOnFailure": "warn",
        "AssessmentIncludeOnly": "unsupported-data-types-in-source",
    }
    event = cfn_event("Create", props, resource_type="Custom::DmsReplicationStarter")
    answer = handler.on_event(event, CONTEXT)
    assert answer["Data"]["StarterAssesses"] == "true"
    assert answer["Data"]["AssessmentRunStatus"] == ""


def test_describe_connections_is_one_call_in_both_uses(stub: Stubber) -> None:
    endpoints = {"Name": "endpoint-arn", "Values": [SOURCE, TARGET]}
    instance = {"Name": "replication-instance-arn", "Values": [INSTANCE]}
    stub.add_response("describe_connections", {"Connections": []}, {"Filters": [endpoints]})
    stub.add_response(
        "describe_connections", {"Connections": []}, {"Filters": [endpoints, instance]}
    )
    assert dms.describe_connections((SOURCE, TARGET)) == []
    assert dms.describe_connections((SOURCE, TARGET), INSTANCE) == []
    assert dms.describe_connections(()) == []  # no endpoint, no call


def test_a_refused_start_waits_only_for_a_connection_being_tested(stub: Stubber) -> None:
    refused = dms.DmsCallError("StartReplicationTask", ARN, "InvalidResourceStateFault", "x", 400)
    subject = State(arn=ARN, status="ready", source_endpoint_arn=SOURCE)
    plan = Plan(deadline=0, timeout_seconds=0, subject=ARN)
    connection = {"EndpointArn": SOURCE, "ReplicationInstanceArn": INSTANCE}
    for status, waits in (("testing", True), ("successful", False)):
        stub.add_response(
            "describe_connections",
            {"Connections": [{**connection, "Status": status}]},
            {"Filters": [{"Name": "endpoint-arn", "Values": [SOURCE]}]},
        )
        assert handler.start_may_wait(refused, plan, subject) is waits


def test_a_failure_is_reported_even_when_its_assessments_cannot_be_read(stub: Stubber) -> None:
    data = first_plan(stub)
    add_task(stub)
    add_runs(stub, "error-executing")
    stub.add_client_error(
        "describe_replication_task_individual_assessments", "AccessDeniedFault", "denied", 400
    )
    with pytest.raises(StarterError) as raised:
        is_complete(stub, data)
    assert str(raised.value).startswith(
        f"The premigration assessment of replication task {ARN} ended error-executing (run "
        f"{NAME}, {RUN_ARN}). The results are in s3://orders-results/runs."
    )


def test_an_unreadable_run_leaves_its_attributes_empty_and_the_request_succeeds(
    stub: Stubber,
) -> None:
    data = {**first_plan(stub), "StarterStartPending": "false"}
    add_task(stub, "running")
    stub.add_client_error(
        "describe_replication_task_assessment_runs", "AccessDeniedFault", "denied", 400
    )
    done = is_complete(stub, data)
    assert done["IsComplete"] is True
    assert (done["Data"]["AssessmentRunArn"], done["Data"]["AssessmentRunStatus"]) == ("", "")
