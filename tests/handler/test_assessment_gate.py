"""The premigration assessment gate under the emulated CloudFormation, under each reading of DMS.

A task starter with ``premigration_assessment`` runs an assessment before the task's first
start and starts only once it passed; a failed assessment fails the Create naming the failed
individual assessments and where the results are, nothing started, unless the user chose to
be warned only. A Serverless starter passes the same choice in ``StartReplication``. Each
scenario asserts the DMS calls with their parameters and that nothing started on failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pytest
from aws_cdk import Stack
from aws_cdk import aws_dms as dms
from dms_task_starter import (
    OnAssessmentFailure,
    PremigrationAssessment,
    ReplicationStarter,
)

from tests.handler.test_connection_gate import (
    FIRST_START,
    ORDERS,
    SOURCE,
    TARGET,
    Gated,
    clean,
)
from tests.support.cdk import selection_rules, shape_template
from tests.support.cloud import PolicedDouble
from tests.support.dms_double import (
    ACCOUNT,
    DEFAULT_ASSESSMENTS,
    SERVERLESS_RESULTS_BUCKET,
    assessment_run_arn,
    config_arn,
    start_replication,
    start_task,
)
from tests.support.provider import ProviderFailedError, cfn_event, run_provider
from tests.support.served import ServedAws

if TYPE_CHECKING:
    from tests.support.cloud import Cloud
    from tests.support.dms_double import Call, DmsDouble
    from tests.support.served import FixedStack

FOLDER = "premigration-assessments"
LOB_CHECK = "table-with-lob-but-without-primary-key-or-unique-constraint"
TYPES_CHECK = "unsupported-data-types-in-source"
FAILING: Final = {**DEFAULT_ASSESSMENTS, LOB_CHECK: "failed"}
RUN_NAME = re.compile(r"dms-task-starter-orders-\d+")


@dataclass(frozen=True)
class Assessed:
    """A stack-owned task started with a premigration assessment (created bucket and role)."""

    on_failure: OnAssessmentFailure = OnAssessmentFailure.FAIL
    exclude: tuple[str, ...] = ()
    test_connections: bool = False
    timeout_minutes: int = 30

    def build(self, stack: Stack) -> None:
        assessment = PremigrationAssessment(on_failure=self.on_failure, exclude=self.exclude)
        Gated(self.test_connections, self.timeout_minutes).build(
            stack, premigration_assessment=assessment
        )


def assessment_calls(cloud: Cloud) -> list[Call]:
    return [call for call in cloud.double.calls if "Assessment" in call[0]]


def started_run(cloud: Cloud) -> Call:
    """The one StartReplicationTaskAssessmentRun DMS carried out, checked for its parameters:
    the bucket and role the construct created."""
    (run,) = [write for write in cloud.double.writes() if "AssessmentRun" in write[0]]
    name = run[1]["AssessmentRunName"]
    assert RUN_NAME.fullmatch(name), name
    (bucket,) = cloud.logical_ids("AWS::S3::Bucket")
    (role,) = [role for role in cloud.logical_ids("AWS::IAM::Role") if "Assessment" in role]
    assert run == (
        "StartReplicationTaskAssessmentRun",
        {
            "ReplicationTaskArn": ORDERS,
            "ServiceAccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
            "ResultLocationBucket": bucket.lower(),
            "AssessmentRunName": name,
            "ResultLocationFolder": FOLDER,
        },
    )
    return run


def test_a_passing_assessment_gates_the_first_start(cloud: Cloud) -> None:
    assert cloud.deploy(shape_template(Assessed())) == "CREATE_COMPLETE"
    run = started_run(cloud)
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [run, FIRST_START]
    (described,) = cloud.double.assessment_runs.values()
    assert described.status == "passed"
    starter = cloud.deployed[cloud.logical_ids("Custom::DmsReplicationTaskStarter")[0]]
    assert starter.data["AssessmentRunArn"] == described.arn == assessment_run_arn("RUN1")
    assert starter.data["AssessmentRunStatus"] == "passed"
    assert cloud.double.tasks[ORDERS].status == "running"
    # The start waited for the run's end: no start call while it ran.
    reads = [call[0] for call in assessment_calls(cloud)]
    assert reads.count("StartReplicationTaskAssessmentRun") == 1
    assert "DescribeReplicationTaskIndividualAssessments" not in reads
    clean(cloud)


def test_a_failed_assessment_fails_the_create_with_nothing_started(cloud: Cloud) -> None:
    cloud.double.assessment_outcomes[ORDERS] = FAILING
    assert cloud.deploy(shape_template(Assessed())) == "ROLLBACK_COMPLETE"
    (failed,) = [step for step in cloud.steps if step.error]
    assert failed.action == "Create"
    run = started_run(cloud)
    bucket = run[1]["ResultLocationBucket"]
    assert (
        f"The premigration assessment of replication task {ORDERS} ended failed (run "
        f"{run[1]['AssessmentRunName']}, {assessment_run_arn('RUN1')}); failed: "
        f"{LOB_CHECK} (failed); DMS: Individual assessment {LOB_CHECK} failed. The results are "
        f"in s3://{bucket}/{FOLDER}. Fix what the assessments found (or leave an assessment "
        "out) and deploy again. Nothing was started."
    ) in failed.error
    assert [write for step in cloud.steps for write in step.writes] == [run]
    assert "StartReplicationTask" not in [call[0] for call in cloud.double.calls]
    assert (
        "DescribeReplicationTaskIndividualAssessments",
        {
            "Filters": [
                {
                    "Name": "replication-task-assessment-run-arn",
                    "Values": [assessment_run_arn("RUN1")],
                }
            ],
            "MaxRecords": 100,
        },
    ) in cloud.double.calls
    assert cloud.double.tasks == {}  # the rollback deleted the task: nothing ran
    clean(cloud)


def test_with_warn_a_failed_assessment_is_logged_and_the_task_starts(cloud: Cloud) -> None:
    cloud.double.assessment_outcomes[ORDERS] = FAILING
    template = shape_template(Assessed(on_failure=OnAssessmentFailure.WARN))
    assert cloud.deploy(template) == "CREATE_COMPLETE"
    run = started_run(cloud)
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [run, FIRST_START]
    starter = cloud.deployed[cloud.logical_ids("Custom::DmsReplicationTaskStarter")[0]]
    assert starter.data["AssessmentRunStatus"] == "failed"
    assert cloud.double.tasks[ORDERS].status == "running"
    clean(cloud)


def test_excluded_assessments_are_not_run(cloud: Cloud) -> None:
    cloud.double.assessment_outcomes[ORDERS] = FAILING
    assert cloud.deploy(shape_template(Assessed(exclude=(LOB_CHECK,)))) == "CREATE_COMPLETE"
    (run,) = [write for write in cloud.double.writes() if "AssessmentRun" in write[0]]
    assert run[1]["Exclude"] == [LOB_CHECK]
    (described,) = cloud.double.assessment_runs.values()
    assert set(described.outcomes) == set(DEFAULT_ASSESSMENTS) - {LOB_CHECK}
    assert cloud.double.tasks[ORDERS].status == "running"
    clean(cloud)


def test_connections_are_tested_before_the_assessment_runs(cloud: Cloud) -> None:
    for arn in (SOURCE, TARGET):
        cloud.double.create_endpoint(arn.rsplit(":", 1)[1], {}).connections.clear()
    assert cloud.deploy(shape_template(Assessed(test_connections=True))) == "CREATE_COMPLETE"
    operations = [write[0] for write in cloud.writes_of("CREATE_IN_PROGRESS")]
    assert operations == [
        "TestConnection",
        "TestConnection",
        "StartReplicationTaskAssessmentRun",
        "StartReplicationTask",
    ]
    # No run was looked for while a connection was still being tested.
    calls = [call[0] for call in cloud.double.calls]
    first_read = calls.index("DescribeReplicationTaskAssessmentRuns")
    tests = [i for i, name in enumerate(calls) if name == "TestConnection"]
    assert first_read > max(tests) + 1
    clean(cloud)


def test_later_starts_are_not_assessed(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Assessed()))
    cloud.double.stop_by_hand(ORDERS)
    cloud.double.tasks[ORDERS].assessments = FAILING  # an assessment now would fail
    cloud.double.calls.clear()
    assert cloud.deploy(shape_template(Assessed(timeout_minutes=20))) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [start_task(ORDERS, "resume-processing")]
    assert "StartReplicationTaskAssessmentRun" not in [call[0] for call in cloud.double.calls]
    starter = cloud.deployed[cloud.logical_ids("Custom::DmsReplicationTaskStarter")[0]]
    assert starter.data["AssessmentRunStatus"] == "passed"  # still the run that gated it
    assert cloud.double.tasks[ORDERS].status == "running"


# -- the provider alone: idempotence and grants ----------------------------------------

TASK_PROPS: Final = {
    "ReplicationTaskArn": ORDERS,
    "AssessmentOnFailure": "fail",
    "AssessmentRoleArn": f"arn:aws:iam::{ACCOUNT}:role/dms-assessments",
    "AssessmentBucket": "orders-assessments",
}
READS: Final = {"Effect": "Allow", "Action": "dms:Describe*", "Resource": "*"}
STARTS: Final = {
    "Effect": "Allow",
    "Action": ["dms:StartReplicationTask", "dms:StartReplicationTaskAssessmentRun"],
    "Resource": "*",
}
PASSES: Final = {
    "Effect": "Allow",
    "Action": "iam:PassRole",
    "Resource": TASK_PROPS["AssessmentRoleArn"],
    "Condition": {"StringEquals": {"iam:PassedToService": "dms.amazonaws.com"}},
}


def test_a_run_whose_answer_was_lost_is_found_by_name_not_begun_again(
    double: DmsDouble,
) -> None:
    double.add_task("orders")
    double.lose_answer_of.add("StartReplicationTaskAssessmentRun")
    result = run_provider(cfn_event("Create", TASK_PROPS), double)
    assert result.data["Status"] == "running"
    assert result.data["AssessmentRunStatus"] == "passed"
    assert [write[0] for write in double.writes()] == [
        "StartReplicationTaskAssessmentRun",
        "StartReplicationTask",
    ]
    assert len(double.assessment_runs) == 1


def earlier_run(double: DmsDouble, name: str) -> None:
    """A run of the task that an earlier request began, passed by now."""
    double.handle(
        "StartReplicationTaskAssessmentRun",
        {**start_run_parameters(), "AssessmentRunName": name},
    )
    while any(not run.ended for run in double.assessment_runs.values()):
        double.advance()


def start_run_parameters() -> dict[str, object]:
    return {
        "ReplicationTaskArn": ORDERS,
        "ServiceAccessRoleArn": TASK_PROPS["AssessmentRoleArn"],
        "ResultLocationBucket": TASK_PROPS["AssessmentBucket"],
    }


def test_a_run_of_the_starter_that_passed_before_is_not_run_again(double: DmsDouble) -> None:
    """A Create again after one whose start failed once the gate had passed starts at once."""
    double.add_task("orders")
    earlier_run(double, "dms-task-starter-orders-1772320000")
    double.accepted_writes.clear()
    result = run_provider(cfn_event("Create", TASK_PROPS), double)
    assert double.writes() == [FIRST_START]
    assert result.data["AssessmentRunArn"] == assessment_run_arn("RUN1")
    assert result.data["AssessmentRunStatus"] == "passed"


def test_a_run_begun_by_someone_else_does_not_count(double: DmsDouble) -> None:
    double.add_task("orders")
    earlier_run(double, "by-hand")
    double.accepted_writes.clear()
    result = run_provider(cfn_event("Create", TASK_PROPS), double)
    (run, start) = double.writes()
    assert run[0] == "StartReplicationTaskAssessmentRun"
    assert RUN_NAME.fullmatch(run[1]["AssessmentRunName"])
    assert start == FIRST_START
    assert result.data["AssessmentRunArn"] == assessment_run_arn("RUN2")


def test_pass_role_is_needed_and_for_dms_only(stack_status: FixedStack) -> None:
    """Without iam:PassRole for DMS on the role, DMS refuses the run: nothing starts."""
    double = PolicedDouble()
    other_service = {**PASSES, "Condition": {"StringEquals": {"iam:PassedToService": "x"}}}
    double.grant("Handler", [READS, STARTS, other_service])
    double.add_task("orders")
    with ServedAws(double, stack_status):
        with pytest.raises(ProviderFailedError, match="iam:PassRole") as failed:
            run_provider(cfn_event("Create", TASK_PROPS), double)
        assert "Timed out" not in failed.value.reason
        assert double.denials[-1] == ("PassRole", TASK_PROPS["AssessmentRoleArn"])
        assert double.writes() == []
        double.grant("Handler", [READS, STARTS, PASSES])
        result = run_provider(cfn_event("Create", TASK_PROPS), double)
    assert result.data["AssessmentRunStatus"] == "passed"


# -- Serverless ----------------------------------------------------------------------------

CONFIG = config_arn("orders")


@dataclass(frozen=True)
class ServerlessAssessed:
    on_failure: OnAssessmentFailure = OnAssessmentFailure.FAIL

    def build(self, stack: Stack) -> None:
        config = dms.CfnReplicationConfig(
            stack,
            "OrdersConfig",
            replication_config_identifier="orders",
            resource_identifier="orders",
            replication_type="full-load-and-cdc",
            source_endpoint_arn=SOURCE,
            target_endpoint_arn=TARGET,
            compute_config=dms.CfnReplicationConfig.ComputeConfigProperty(max_capacity_units=4),
            table_mappings=selection_rules("orders"),
        )
        ReplicationStarter(
            stack,
            "StartOrders",
            replication_config=config,
            replace_on_change=False,
            premigration_assessment=PremigrationAssessment(on_failure=self.on_failure),
        )


def serverless_start(fail: bool) -> Call:
    settings = json.dumps(
        {"FailOnAssessmentFailure": fail, "ResultLocationFolder": FOLDER}, separators=(",", ":")
    )
    return start_replication(CONFIG, "start-replication", PremigrationAssessmentSettings=settings)


def test_serverless_start_carries_the_assessment_and_runs_once_it_passed(cloud: Cloud) -> None:
    assert cloud.deploy(shape_template(ServerlessAssessed())) == "CREATE_COMPLETE"
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [serverless_start(fail=True)]
    replication = cloud.double.replications[CONFIG]
    assert replication.status == "running"
    (run,) = replication.premigration
    assert run.status == "passed"
    starter = cloud.deployed[cloud.logical_ids("Custom::DmsReplicationStarter")[0]]
    assert starter.data["AssessmentRunArn"] == run.arn
    assert starter.data["AssessmentRunStatus"] == "passed"
    clean(cloud)


def test_serverless_failed_assessment_fails_the_create_and_nothing_runs(cloud: Cloud) -> None:
    cloud.double.assessment_outcomes[CONFIG] = FAILING
    assert cloud.deploy(shape_template(ServerlessAssessed())) == "ROLLBACK_COMPLETE"
    (failed,) = [step for step in cloud.steps if step.error]
    run = assessment_run_arn("RUN1")
    assert (
        f"The premigration assessment of serverless replication {CONFIG} ended failed (run "
        f"{run}, {run}); failed: {LOB_CHECK} (failed); DMS: Individual assessment {LOB_CHECK} "
        f"failed. The results are in s3://{SERVERLESS_RESULTS_BUCKET}/{FOLDER}."
    ) in failed.error
    assert "Nothing was started." in failed.error
    assert [write for step in cloud.steps for write in step.writes] == [serverless_start(fail=True)]
    assert "StopReplication" not in [call[0] for call in cloud.double.calls]
    assert cloud.double.replications == {}  # deleted by the rollback: it never ran
    clean(cloud)


def test_serverless_with_warn_dms_starts_after_a_failed_assessment(cloud: Cloud) -> None:
    cloud.double.assessment_outcomes[CONFIG] = FAILING
    template = shape_template(ServerlessAssessed(on_failure=OnAssessmentFailure.WARN))
    assert cloud.deploy(template) == "CREATE_COMPLETE"
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [serverless_start(fail=False)]
    assert cloud.double.replications[CONFIG].status == "running"
    starter = cloud.deployed[cloud.logical_ids("Custom::DmsReplicationStarter")[0]]
    assert starter.data["AssessmentRunStatus"] == "failed"
    clean(cloud)
