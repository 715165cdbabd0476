"""The DMS double follows the DMS API reference, not the starter's guesses.

Each test states a documented rule (quoted where the reference words it) and checks the
double keeps it, called over the wire with boto3 as the handler calls it; where the
reference leaves a behaviour open, both readings are checked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.dms_double import (
    BEHAVIOURS,
    DEPROVISION_AFTER_SECONDS,
    FAILED_FIRST_START_RAN,
    Behaviour,
    DmsDouble,
    DmsError,
    StartDates,
    config_arn,
    task_arn,
)
from tests.support.served import ServedAws

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dms.client import DatabaseMigrationServiceClient

T1 = task_arn("T1")
R1 = config_arn("R1")


@pytest.fixture(params=(*BEHAVIOURS, FAILED_FIRST_START_RAN), ids=lambda behaviour: behaviour.name)
def served(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[DmsDouble, DatabaseMigrationServiceClient]]:
    behaviour: Behaviour = request.param
    double = DmsDouble(behaviour=behaviour)
    with ServedAws(double) as server:
        yield double, boto3.client("dms", endpoint_url=server.url, region_name="eu-west-1")


def code_of(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def settle(double: DmsDouble, arn: str) -> str:
    """Advance until the task leaves its transitional statuses; its status then."""
    item = double.item(arn)
    assert item is not None
    for _ in range(50):
        if item.status in ("ready", "running", "stopped", "failed", "created"):
            return item.status
        double.advance()
    raise AssertionError(item.status)


def start(client: DatabaseMigrationServiceClient, start_type: str, **cdc: Any) -> None:
    client.start_replication_task(ReplicationTaskArn=T1, StartReplicationTaskType=start_type, **cdc)  # type: ignore[arg-type]


def test_a_first_run_takes_start_replication_only(served: tuple[DmsDouble, Any]) -> None:
    # "resume-processing is only available for previously executed tasks."
    double, client = served
    double.add_task("T1")
    assert (
        code_of(lambda: start(client, "resume-processing"))
        == "InvalidParameterCombinationException"
    )
    assert code_of(lambda: start(client, "reload-target")) == "InvalidParameterCombinationException"
    start(client, "start-replication")
    assert settle(double, T1) == "running"


def test_a_task_with_a_full_load_refuses_a_second_start_replication(
    served: tuple[DmsDouble, Any],
) -> None:
    # Public runbooks quote DMS: "Start Type : START_REPLICATION, valid only for tasks
    # running for the first time".
    double, client = served
    double.add_task("T1", status="stopped")
    if not double.behaviour.refuses_second_start_replication:
        start(client, "start-replication")  # the other reading: a fresh start, a reload
        assert double.tasks[T1].run.full_load_finish_date is None
        return
    with pytest.raises(ClientError, match="valid only for tasks running for the first time"):
        start(client, "start-replication")


def test_a_cdc_task_starts_from_a_new_position_with_start_replication(
    served: tuple[DmsDouble, Any],
) -> None:
    # "For a cdc only task, to start from a specific position, you must use start-replication."
    double, client = served
    double.add_task("T1", status="stopped", migration_type="cdc")
    start(client, "start-replication", CdcStartPosition="0/5120E10")
    assert settle(double, T1) == "running"
    assert double.tasks[T1].cdc_start_position == "0/5120E10"


def test_a_failed_first_start_is_a_reading(served: tuple[DmsDouble, Any]) -> None:
    """Startable or not, and counted as a run or not: the reference says neither."""
    double, client = served
    double.add_task("T1", fails_while_starting="Error connecting to source")
    start(client, "start-replication")
    assert settle(double, T1) == "failed"
    if not double.behaviour.failed_is_startable:
        for start_type in ("start-replication", "resume-processing"):
            assert code_of(lambda: start(client, start_type)) == "InvalidResourceStateFault"  # noqa: B023
        return
    ran, never_ran = ("resume-processing", "start-replication")
    if double.behaviour.failed_first_start_is_a_run:
        ran, never_ran = never_ran, ran
    assert code_of(lambda: start(client, ran)) == "InvalidParameterCombinationException"
    start(client, never_ran)
    assert settle(double, T1) == "running"


def test_a_start_time_and_a_start_position_together_are_an_error(
    served: tuple[DmsDouble, Any],
) -> None:
    double, client = served
    double.add_task("T1")
    call = lambda: start(  # noqa: E731
        client,
        "start-replication",
        CdcStartTime=datetime(2026, 1, 1, tzinfo=UTC),
        CdcStartPosition="x",
    )
    assert code_of(call) == "InvalidParameterCombinationException"


def test_only_a_running_task_can_be_stopped(served: tuple[DmsDouble, Any]) -> None:
    double, client = served
    double.add_task("T1")
    assert (
        code_of(lambda: client.stop_replication_task(ReplicationTaskArn=T1))
        == "InvalidResourceStateFault"
    )


def test_only_a_task_at_rest_can_be_started(served: tuple[DmsDouble, Any]) -> None:
    double, client = served
    double.add_task("T1", status="running")
    assert code_of(lambda: start(client, "resume-processing")) == "InvalidResourceStateFault"


def test_start_dates_follow_the_start_type(served: tuple[DmsDouble, Any]) -> None:
    # StartDate: "fresh start or a resume"; FreshStartDate: "fresh start or a target reload".
    double, client = served
    double.add_task("T1", status="stopped")
    before = double.tasks[T1].run
    start_date, fresh = before.start_date, before.fresh_start_date
    start(client, "reload-target")
    settle(double, T1)
    after = double.tasks[T1].run
    assert (after.start_date, after.fresh_start_date != fresh) == (start_date, True)


def test_when_start_dates_appear_is_the_behaviour_s_choice(served: tuple[DmsDouble, Any]) -> None:
    double, client = served
    double.add_task("T1")
    start(client, "start-replication")
    dated_at_call = double.tasks[T1].run.start_date is not None
    assert dated_at_call is (double.behaviour.start_dates is StartDates.AT_START_CALL)
    settle(double, T1)
    assert double.tasks[T1].run.start_date is not None


def test_a_stop_dates_the_rest(served: tuple[DmsDouble, Any]) -> None:
    double, client = served
    double.add_task("T1", status="running")
    client.stop_replication_task(ReplicationTaskArn=T1)
    assert settle(double, T1) == "stopped"
    task = double.tasks[T1]
    assert (task.stop_reason, task.run.stop_date) == ("Stop Reason NORMAL", double.clock)


def test_a_full_load_task_ends_stopped_when_its_load_is_done(served: tuple[DmsDouble, Any]) -> None:
    double, client = served
    double.add_task("T1", migration_type="full-load", full_load_steps=2)
    start(client, "start-replication")
    for _ in range(20):
        double.advance()
    task = double.tasks[T1]
    assert (task.status, task.stop_reason) == ("stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED")
    assert task.run.full_load_finish_date is not None


def test_a_full_load_and_cdc_task_keeps_running_after_its_load(
    served: tuple[DmsDouble, Any],
) -> None:
    double, client = served
    double.add_task("T1", full_load_steps=2)
    start(client, "start-replication")
    for _ in range(20):
        double.advance()
    task = double.tasks[T1]
    assert task.status == "running"
    assert task.run.full_load_progress_percent == 100


def test_a_task_stops_at_its_cdc_stop_position_and_keeps_it(served: tuple[DmsDouble, Any]) -> None:
    double, client = served
    double.add_task("T1", migration_type="cdc")
    stop_at = datetime.fromtimestamp(double.clock + 60, UTC).strftime(
        "server_time:%Y-%m-%dT%H:%M:%S"
    )
    start(client, "start-replication", CdcStopPosition=stop_at)
    for _ in range(20):
        double.advance()
    task = double.tasks[T1]
    assert (task.status, task.stop_reason) == ("stopped", "Stop Reason STOPPED_AT_SERVER_TIME")
    start(client, "resume-processing")  # without a CdcStopPosition
    kept = task.cdc_stop_position == stop_at
    assert kept is double.behaviour.start_keeps_cdc_stop
    assert task.cdc_stop_position in (stop_at, "")


def test_a_stop_date_is_set_on_every_stop_and_cleared_only_in_one_reading(
    served: tuple[DmsDouble, Any],
) -> None:
    double, client = served
    double.add_task("T1", status="running", migration_type="cdc")
    client.stop_replication_task(ReplicationTaskArn=T1)
    assert settle(double, T1) == "stopped"
    first_stop = double.tasks[T1].run.stop_date
    assert first_stop is not None
    start(client, "resume-processing")
    kept = double.tasks[T1].run.stop_date == first_stop
    assert kept is double.behaviour.keeps_stop_date
    assert settle(double, T1) == "running"
    client.stop_replication_task(ReplicationTaskArn=T1)
    assert settle(double, T1) == "stopped"
    second_stop = double.tasks[T1].run.stop_date
    assert second_stop is not None
    assert second_stop > first_stop


def test_resume_with_a_position_is_the_behaviour_s_choice(served: tuple[DmsDouble, Any]) -> None:
    double, client = served
    double.add_task("T1", status="stopped", cdc_start_position="0/1")
    start(client, "resume-processing", CdcStartPosition="0/2")
    honoured = double.tasks[T1].cdc_start_position == "0/2"
    assert honoured is double.behaviour.resume_honours_cdc_start_position


def test_a_running_task_cannot_be_modified_or_deleted(served: tuple[DmsDouble, Any]) -> None:
    double, _ = served
    double.add_task("T1", status="running")
    with pytest.raises(DmsError, match="cannot be modified while it is running state"):
        double.modify_task(T1, table_mappings="{}")
    with pytest.raises(DmsError, match="cannot be deleted"):
        double.delete_task(T1)


def test_a_modify_passes_through_modifying(served: tuple[DmsDouble, Any]) -> None:
    double, _ = served
    double.add_task("T1", status="stopped")
    double.modify_task(T1, table_mappings='{"rules": []}')
    assert double.tasks[T1].status == "modifying"
    assert settle(double, T1) == "stopped"


def test_a_serverless_replication_provisions_before_it_runs(served: tuple[DmsDouble, Any]) -> None:
    double, client = served
    double.add_replication("R1", migration_type="cdc")
    listed = "lists" if double.behaviour.lists_unstarted_replications else "hides"
    if listed == "hides":
        assert (
            code_of(
                lambda: client.describe_replications(
                    Filters=[{"Name": "replication-config-arn", "Values": [R1]}]
                )
            )
            == "ResourceNotFoundFault"
        )
    client.start_replication(ReplicationConfigArn=R1, StartReplicationType="start-replication")
    seen = []
    for _ in range(40):
        seen.append(double.replications[R1].status)
        double.advance()
    assert "provisioning_capacity" in seen
    assert seen[-1] == "running"
    assert double.replications[R1].provision_state == "provisioned"


def test_a_configuration_cannot_be_modified_once_its_replication_started(
    served: tuple[DmsDouble, Any],
) -> None:
    # "You can only modify a replication configuration before any replication that uses it
    # has started."
    double, client = served
    double.add_replication("R1")
    double.modify_config(R1, definition="{}")
    client.start_replication(ReplicationConfigArn=R1, StartReplicationType="start-replication")
    with pytest.raises(DmsError, match="before any replication that uses it has started"):
        double.modify_config(R1, definition='{"x": 1}')


def test_a_full_load_replication_cannot_be_resumed(served: tuple[DmsDouble, Any]) -> None:
    # "The resume-processing option isn't applicable for a full-load replication."
    double, client = served
    double.add_replication("R1", migration_type="full-load", status="stopped")
    call = lambda: client.start_replication(  # noqa: E731
        ReplicationConfigArn=R1, StartReplicationType="resume-processing"
    )
    assert code_of(call) == "InvalidParameterCombinationException"


def test_a_stopped_replication_is_deprovisioned_after_a_while(
    served: tuple[DmsDouble, Any],
) -> None:
    """StopReplication "doesn't deprovision the stopped replications"; DMS does so later
    (``ReplicationDeprovisionTime``), and DescribeReplications describes "provisioned DMS
    Serverless replications": whether it lists a deprovisioned one is a reading."""
    double, client = served
    double.add_replication("R1", migration_type="cdc", status="running")
    client.stop_replication(ReplicationConfigArn=R1)
    assert settle(double, R1) == "stopped"

    def describe() -> Any:
        return client.describe_replications(
            Filters=[{"Name": "replication-config-arn", "Values": [R1]}]
        )

    (stopped,) = describe()["Replications"]
    assert stopped["ProvisionData"]["ProvisionState"] == "provisioned"
    due = stopped["ReplicationDeprovisionTime"]
    double.advance(DEPROVISION_AFTER_SECONDS - 60)
    assert describe()["Replications"][0]["ProvisionData"]["ProvisionState"] == "provisioned"
    double.advance(60)
    assert double.clock >= due.timestamp()
    if double.behaviour.lists_deprovisioned_replications:
        (listed,) = describe()["Replications"]
        assert (listed["Status"], listed["ProvisionData"]["ProvisionState"]) == (
            "stopped",
            "deprovisioned",
        )
    else:
        assert code_of(describe) == "ResourceNotFoundFault"
    # It ran: DMS still starts it again as one that ran.
    client.start_replication(ReplicationConfigArn=R1, StartReplicationType="resume-processing")
    assert settle(double, R1) == "running"
    assert double.replications[R1].provision_state == "provisioned"


# -- premigration assessment runs ----------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/dms-assessments"
RUN_PARAMS: dict[str, Any] = {
    "ReplicationTaskArn": T1,
    "ServiceAccessRoleArn": ROLE,
    "ResultLocationBucket": "results",
    "ResultLocationFolder": "runs",
    "AssessmentRunName": "first",
}


def test_an_assessment_run_passes_through_the_documented_statuses(
    served: tuple[DmsDouble, DatabaseMigrationServiceClient],
) -> None:
    double, client = served
    double.add_task("T1", assessments={"a-check": "passed", "b-check": "failed"})
    started = client.start_replication_task_assessment_run(**RUN_PARAMS)
    run = started["ReplicationTaskAssessmentRun"]
    assert (run["Status"], run["AssessmentRunName"]) == ("starting", "first")
    seen = []
    for _ in range(20):
        (listed,) = client.describe_replication_task_assessment_runs(
            Filters=[{"Name": "replication-task-arn", "Values": [T1]}]
        )["ReplicationTaskAssessmentRuns"]
        seen.append(listed["Status"])
        double.advance()
    assert list(dict.fromkeys(seen)) == ["starting", "provisioning", "running", "failed"]
    assert listed["ResultLocationBucket"] == "results"
    assert listed["ResultLocationFolder"] == "runs"
    assert listed["AssessmentProgress"] == {
        "IndividualAssessmentCount": 2,
        "IndividualAssessmentCompletedCount": 2,
    }
    individual = client.describe_replication_task_individual_assessments(
        Filters=[
            {
                "Name": "replication-task-assessment-run-arn",
                "Values": [run["ReplicationTaskAssessmentRunArn"]],
            }
        ]
    )["ReplicationTaskIndividualAssessments"]
    assert {(i["IndividualAssessmentName"], i["Status"]) for i in individual} == {
        ("a-check", "passed"),
        ("b-check", "failed"),
    }


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ({"a": "passed", "b": "passed"}, "passed"),
        ({"a": "passed", "b": "warning"}, "warning"),
        ({"a": "skipped", "b": "skipped"}, "warning"),
        ({"a": "error", "b": "warning"}, "error-executing"),
        ({"a": "error", "b": "failed"}, "failed"),
    ],
)
def test_a_run_ends_as_its_assessments_say(outcomes: dict[str, str], status: str) -> None:
    double = DmsDouble()
    double.add_task("T1", assessments=outcomes)
    double.handle("StartReplicationTaskAssessmentRun", RUN_PARAMS)
    for _ in range(5):
        double.advance()
    (run,) = double.assessment_runs.values()
    assert run.status == status


def test_what_starting_a_run_refuses() -> None:
    double = DmsDouble()
    double.add_task("T1")

    def refused(**changes: Any) -> str:
        with pytest.raises(DmsError) as caught:
            double.handle("StartReplicationTaskAssessmentRun", {**RUN_PARAMS, **changes})
        return caught.value.code

    assert refused(IncludeOnly=["a"], Exclude=["b"]) == "InvalidParameterCombinationException"
    assert refused(IncludeOnly=["not-applicable"]) == "InvalidParameterValueException"
    assert refused(ServiceAccessRoleArn="dms-role") == "InvalidParameterValueException"
    assert refused(ReplicationTaskArn=task_arn("NONE")) == "ResourceNotFoundFault"
    double.handle("StartReplicationTaskAssessmentRun", RUN_PARAMS)
    assert refused() == "ResourceAlreadyExistsFault"  # the name is taken
    assert refused(AssessmentRunName="second") == "InvalidResourceStateFault"  # one at a time


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda behaviour: behaviour.name)
def test_the_task_during_a_run_and_no_runs_per_reading(behaviour: Behaviour) -> None:
    double = DmsDouble(behaviour=behaviour)
    double.add_task("T1")
    listing = {"Filters": [{"Name": "replication-task-arn", "Values": [T1]}]}
    if behaviour.empty_describe_is_not_found:
        with pytest.raises(DmsError, match="No records"):
            double.handle("DescribeReplicationTaskAssessmentRuns", listing)
    else:
        runs = double.handle("DescribeReplicationTaskAssessmentRuns", listing)
        assert runs == {"ReplicationTaskAssessmentRuns": []}
    double.handle("StartReplicationTaskAssessmentRun", RUN_PARAMS)
    during = "ready" if behaviour.assessment_keeps_task_status else "testing"
    assert double.tasks[T1].status == during
    for _ in range(10):
        double.advance()
    assert double.tasks[T1].status == "ready"


def test_runs_are_listed_in_pages() -> None:
    double = DmsDouble()
    double.add_task("T1")
    for n in range(3):
        double.handle(
            "StartReplicationTaskAssessmentRun", {**RUN_PARAMS, "AssessmentRunName": f"r{n}"}
        )
        for _ in range(5):
            double.advance()
    listing = {"Filters": [{"Name": "replication-task-arn", "Values": [T1]}], "MaxRecords": 2}
    first = double.handle("DescribeReplicationTaskAssessmentRuns", listing)
    second = double.handle(
        "DescribeReplicationTaskAssessmentRuns", {**listing, "Marker": first["Marker"]}
    )
    names = [
        run["AssessmentRunName"]
        for run in [
            *first["ReplicationTaskAssessmentRuns"],
            *second["ReplicationTaskAssessmentRuns"],
        ]
    ]
    assert names == ["r0", "r1", "r2"]
    assert "Marker" not in second


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=lambda behaviour: behaviour.name)
@pytest.mark.parametrize("fail_on_failure", [True, False])
def test_a_serverless_start_with_a_failed_assessment(
    behaviour: Behaviour, fail_on_failure: bool
) -> None:
    double = DmsDouble(behaviour=behaviour)
    double.add_replication("R1", assessments={"a-check": "failed"})
    settings = f'{{"FailOnAssessmentFailure":{str(fail_on_failure).lower()}}}'
    double.handle(
        "StartReplication",
        {
            "ReplicationConfigArn": R1,
            "StartReplicationType": "start-replication",
            "PremigrationAssessmentSettings": settings,
        },
    )
    for _ in range(40):
        double.advance()
    replication = double.replications[R1]
    (status,) = replication.describe()["PremigrationAssessmentStatuses"]
    assert (status["Status"], status["FailOnAssessmentFailure"]) == ("failed", fail_on_failure)
    if not fail_on_failure:
        assert replication.status == "running"
    elif behaviour.failed_assessment_fails_replication:
        assert replication.status == "failed"
        assert "was not started" in replication.failure_message
    else:
        assert replication.status == "created"
    assert replication.has_run is not fail_on_failure


def test_serverless_settings_must_be_a_json_object_of_the_documented_keys() -> None:
    double = DmsDouble()
    double.add_replication("R1")
    for settings in ("yes", '{"FailOnAssessmentFailure": true, "ResultLocationBucket": "b"}'):
        with pytest.raises(DmsError, match="Invalid PremigrationAssessmentSettings"):
            double.handle(
                "StartReplication",
                {
                    "ReplicationConfigArn": R1,
                    "StartReplicationType": "start-replication",
                    "PremigrationAssessmentSettings": settings,
                },
            )


def test_serverless_settings_name_assessments_in_space_separated_lists() -> None:
    double = DmsDouble()
    double.add_replication("R1", assessments={"a-check": "passed", "b-check": "failed"})

    def start(settings: str) -> None:
        double.handle(
            "StartReplication",
            {
                "ReplicationConfigArn": R1,
                "StartReplicationType": "start-replication",
                "PremigrationAssessmentSettings": settings,
            },
        )

    with pytest.raises(DmsError, match="space-separated lists"):
        start('{"IncludeOnly": ["a-check"]}')
    start('{"Exclude": "b-check"}')
    (run,) = double.assessment_runs.values()
    assert run.outcomes == {"a-check": "passed"}
