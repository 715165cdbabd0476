"""Changing an endpoint under a running task, under the emulated CloudFormation, both ways.

CloudFormation modifies an ``AWS::DMS::Endpoint`` in place (same ARN) for every property
but ``KmsKeyId`` and ``ResourceIdentifier``. DMS refuses ``ModifyEndpoint`` while a task
that uses the endpoint runs (terraform-provider-aws#27661), and the modify tests the
endpoint's connections, during which DMS refuses to start a task that uses it
(terraform-provider-aws#46139). The DMS double enforces both; each scenario runs under
each reading of DMS (``BEHAVIOURS``) and asserts the stack's status, the DMS writes of
each phase, the refusals, and the tasks' final statuses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pytest
from aws_cdk import CfnResource, Stack
from aws_cdk import aws_dms as dms
from dms_task_starter import ReplicationStarter, ReplicationTaskStarter
from dms_task_starter_runtime import dms as dms_calls
from dms_task_starter_runtime import handler
from dms_task_starter_runtime.contract import (
    GUARD_RESOURCE_TYPE,
    REPLICATION_STARTER_RESOURCE_TYPE,
    ROLLBACK_GUARD_RESOURCE_TYPE,
    STARTER_RESOURCE_TYPE,
)
from dms_task_starter_runtime.dms import DmsCallError
from dms_task_starter_runtime.plan import Plan
from dms_task_starter_runtime.state import State

from tests.support.cdk import selection_rules, shape_template
from tests.support.cloud import CONFIG_TYPE, ENDPOINT_TYPE, Cloud, Failure
from tests.support.dms_double import (
    ACCOUNT,
    CANNOT_START_WHILE_TESTING,
    REGION,
    WRITE_OPERATIONS,
    DmsError,
    endpoint_arn,
    start_replication,
    start_task,
    stop_replication,
    stop_task,
    task_arn,
)
from tests.support.provider import ProviderFailedError, cfn_event, run_provider

if TYPE_CHECKING:
    from tests.support.cloud import Step
    from tests.support.dms_double import Call, DmsDouble

ORDERS = task_arn("orders")
CUSTOMERS = task_arn("customers")
SOURCE = endpoint_arn("orders-source")
INSTANCE = f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:INSTANCE"
RESUME_ORDERS = start_task(ORDERS, "resume-processing")


@dataclass(frozen=True)
class WithEndpoint:
    """Guarded tasks reading a source endpoint of their own stack, and a later resource."""

    port: int = 5432
    attributes: str = "heartbeatEnable=true"
    later: str = "1"
    tasks: tuple[str, ...] = ("orders",)
    extra_tables: tuple[str, ...] = ()

    def build(self, stack: Stack) -> None:
        source = dms.CfnEndpoint(
            stack,
            "Source",
            endpoint_type="source",
            engine_name="postgres",
            server_name="orders.db.example.com",
            port=self.port,
            database_name="orders",
            extra_connection_attributes=self.attributes,
            resource_identifier="orders-source",
        )
        later = CfnResource(
            stack, "Later", type="AWS::SSM::Parameter", properties={"Value": self.later}
        )
        for identifier in self.tasks:
            task = dms.CfnReplicationTask(
                stack,
                f"{identifier.title()}Task",
                migration_type="full-load-and-cdc",
                replication_instance_arn=INSTANCE,
                source_endpoint_arn=source.ref,
                target_endpoint_arn=endpoint_arn("TARGET"),
                table_mappings=json.dumps(selection_rules(identifier, *self.extra_tables)),
                resource_identifier=identifier,
            )
            starter = ReplicationTaskStarter(stack, f"Start{identifier.title()}Task", task=task)
            later.node.add_dependency(starter)


BASE = WithEndpoint()
NEW_PORT = WithEndpoint(port=5433, later="2")


def logical_id(cloud: Cloud, resource_type: str, prefix: str = "") -> str:
    (found,) = [name for name in cloud.logical_ids(resource_type) if name.startswith(prefix)]
    return found


def steps(cloud: Cloud, phase: str) -> list[tuple[str, str, list[Call], str]]:
    """The steps of ``phase`` that wrote to DMS or touched the endpoint, in order."""
    return [
        (step.action, step.logical_id, step.writes, step.error)
        for step in cloud.steps_of(phase)
        if step.writes or step.type == ENDPOINT_TYPE
    ]


def refused_only_starts_during_the_test(cloud: Cloud, start: str = "StartReplicationTask") -> None:
    """No call was denied and DMS refused no write but starts during the connection test,
    each of which the handler checked with DescribeConnections and made again later (a
    read may find nothing: DescribeReplications lists no unstarted replication in one
    reading)."""
    assert cloud.double.denials == []
    assert cloud.cleanup_failures == []
    writes = {refusal for refusal in cloud.double.rejected if refusal[0] in WRITE_OPERATIONS}
    assert writes <= {(start, "InvalidResourceStateFault")}
    operations = [operation for operation, _ in cloud.double.calls]
    assert operations.count("DescribeConnections") <= len(cloud.double.rejected)


def no_cdc_start_after_create(cloud: Cloud) -> None:
    later = [
        write
        for step in cloud.steps
        if not step.phase.startswith("CREATE")
        for write in step.writes
        if {"CdcStartTime", "CdcStartPosition"} & set(write[1])
    ]
    assert later == []


def running_on(cloud: Cloud, port: int, *arns: str) -> None:
    assert cloud.double.endpoints[SOURCE].properties["Port"] == port
    assert cloud.double.endpoints[SOURCE].testing_steps == 0
    for arn in arns or (ORDERS,):
        assert cloud.double.tasks[arn].status == "running", arn


def test_the_modify_is_refused_while_the_task_runs_and_starts_while_it_tests(cloud: Cloud) -> None:
    """Control: the double refuses what DMS refuses, so the scenarios below can fail."""
    cloud.deploy(shape_template(BASE))
    with pytest.raises(DmsError, match="cannot be modified while replication task"):
        cloud.double.modify_endpoint(SOURCE, {"Port": 1})
    cloud.double.stop_by_hand(ORDERS)
    cloud.double.modify_endpoint(SOURCE, {"Port": 1})
    with pytest.raises(DmsError, match=CANNOT_START_WHILE_TESTING):
        cloud.double.handle(*RESUME_ORDERS)
    assert cloud.double.rejected == [("StartReplicationTask", "InvalidResourceStateFault")]
    while cloud.double.endpoints[SOURCE].testing_steps:
        cloud.double.advance()
    cloud.double.handle(*RESUME_ORDERS)
    assert cloud.double.tasks[ORDERS].status == "starting"


def test_an_endpoint_change_stops_the_task_modifies_and_resumes_it_after_the_test(
    cloud: Cloud,
) -> None:
    assert cloud.deploy(shape_template(BASE)) == "CREATE_COMPLETE"
    assert cloud.deploy(shape_template(NEW_PORT)) == "UPDATE_COMPLETE"
    guard = logical_id(cloud, GUARD_RESOURCE_TYPE)
    starter = logical_id(cloud, STARTER_RESOURCE_TYPE)
    assert steps(cloud, "UPDATE_IN_PROGRESS") == [
        ("Update", guard, [stop_task(ORDERS)], ""),  # before the endpoint is modified
        ("Update", "Source", [], ""),
        # The task's own definition did not change: resumed at its checkpoint.
        ("Update", starter, [RESUME_ORDERS], ""),
    ]
    assert cloud.writes_of("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") == []
    assert cloud.double.rejected != []  # DMS refused the start while it tested the endpoint
    refused_only_starts_during_the_test(cloud)
    no_cdc_start_after_create(cloud)
    running_on(cloud, 5433)


def test_a_rolled_back_endpoint_change_resumes_the_task_on_the_old_endpoint(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    final = cloud.deploy(shape_template(NEW_PORT), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    rollback_guard = logical_id(cloud, ROLLBACK_GUARD_RESOURCE_TYPE)
    starter = logical_id(cloud, STARTER_RESOURCE_TYPE)
    assert steps(cloud, "UPDATE_ROLLBACK_IN_PROGRESS") == [
        ("Update", rollback_guard, [stop_task(ORDERS)], ""),  # before the modify back
        ("Update", "Source", [], ""),
        ("Update", starter, [RESUME_ORDERS], ""),
    ]
    # The update guard's new id names the run it stopped; that run was resumed since.
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == []
    refused_only_starts_during_the_test(cloud)
    no_cdc_start_after_create(cloud)
    running_on(cloud, 5432)


def test_a_failed_endpoint_modify_is_resumed_by_the_update_guard_in_the_cleanup(
    cloud: Cloud,
) -> None:
    cloud.deploy(shape_template(BASE))
    final = cloud.deploy(shape_template(NEW_PORT), fail=Failure("Source", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    guard = logical_id(cloud, GUARD_RESOURCE_TYPE)
    assert [s for s in steps(cloud, "UPDATE_ROLLBACK_IN_PROGRESS") if s[2]] == []
    # The starter was never reached: the guard's Delete resumes the run it stopped.
    cleanup: list[Step] = cloud.steps_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    assert [(s.action, s.logical_id, s.writes) for s in cleanup if s.writes] == [
        ("Delete", guard, [RESUME_ORDERS])
    ]
    refused_only_starts_during_the_test(cloud)
    no_cdc_start_after_create(cloud)
    running_on(cloud, 5432)


def test_a_task_stopped_by_hand_before_the_update_is_left_stopped(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    cloud.double.stop_by_hand(ORDERS)
    assert cloud.deploy(shape_template(NEW_PORT)) == "UPDATE_COMPLETE"
    assert steps(cloud, "UPDATE_IN_PROGRESS") == [("Update", "Source", [], "")]
    assert cloud.double.tasks[ORDERS].status == "stopped"
    assert cloud.double.rejected == []
    assert cloud.double.endpoints[SOURCE].properties["Port"] == 5433


def test_a_task_stopped_by_hand_stays_stopped_when_the_change_is_rolled_back(
    cloud: Cloud,
) -> None:
    cloud.deploy(shape_template(BASE))
    cloud.double.stop_by_hand(ORDERS)
    final = cloud.deploy(shape_template(NEW_PORT), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    assert cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS") == []
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == []
    assert cloud.double.tasks[ORDERS].status == "stopped"
    assert cloud.double.endpoints[SOURCE].properties["Port"] == 5432


def test_every_task_on_the_endpoint_is_stopped_and_only_those_running_resumed(
    cloud: Cloud,
) -> None:
    both = ("orders", "customers")
    cloud.deploy(shape_template(WithEndpoint(tasks=both)))
    cloud.double.stop_by_hand(CUSTOMERS)
    assert cloud.deploy(shape_template(WithEndpoint(tasks=both, port=5433))) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [stop_task(ORDERS), RESUME_ORDERS]
    assert cloud.double.tasks[CUSTOMERS].status == "stopped"
    refused_only_starts_during_the_test(cloud)
    running_on(cloud, 5433, ORDERS)


def test_a_change_of_the_task_and_its_endpoint_restarts_it_once_after_the_test(
    cloud: Cloud,
) -> None:
    """The definition change keeps its own rule (start with the new definition); its start
    waits out the endpoint's test too, whether or not DescribeConnections lists it."""
    cloud.deploy(shape_template(BASE))
    both = WithEndpoint(port=5433, extra_tables=("customers",), later="2")
    assert cloud.deploy(shape_template(both)) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [stop_task(ORDERS), RESUME_ORDERS]
    refused_only_starts_during_the_test(cloud)
    no_cdc_start_after_create(cloud)
    running_on(cloud, 5433)
    mappings = cloud.double.tasks[ORDERS].table_mappings
    assert mappings == json.dumps(selection_rules("orders", "customers"))


# -- DMS Serverless ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerlessWithEndpoint:
    """A Serverless configuration reading a source endpoint of its stack (replace_on_change)."""

    port: int = 5432
    later: str = "1"
    tables: tuple[str, ...] = ("orders",)

    def build(self, stack: Stack) -> None:
        source = dms.CfnEndpoint(
            stack,
            "Source",
            endpoint_type="source",
            engine_name="postgres",
            server_name="orders.db.example.com",
            port=self.port,
            database_name="orders",
            resource_identifier="orders-source",
        )
        config = dms.CfnReplicationConfig(
            stack,
            "OrdersConfig",
            replication_config_identifier="orders",
            replication_type="cdc",
            source_endpoint_arn=source.ref,
            target_endpoint_arn=endpoint_arn("TARGET"),
            compute_config=dms.CfnReplicationConfig.ComputeConfigProperty(max_capacity_units=16),
            table_mappings=selection_rules(*self.tables),
        )
        starter = ReplicationStarter(stack, "StartOrders", replication_config=config)
        later = CfnResource(
            stack, "Later", type="AWS::SSM::Parameter", properties={"Value": self.later}
        )
        later.node.add_dependency(starter)


SERVERLESS = ServerlessWithEndpoint()
SERVERLESS_NEW_PORT = ServerlessWithEndpoint(port=5433, later="2")


def replication_running_on(cloud: Cloud, config: str, port: int) -> None:
    """Running again at its checkpoint, on the endpoint's definition of ``port``."""
    refused_only_starts_during_the_test(cloud, "StartReplication")
    no_cdc_start_after_create(cloud)
    assert cloud.double.replications[config].status == "running"
    assert cloud.double.endpoints[SOURCE].properties["Port"] == port


def only_config(cloud: Cloud) -> str:
    (arn,) = cloud.double.replications
    return arn


def test_an_endpoint_change_under_a_serverless_replication(cloud: Cloud) -> None:
    assert cloud.deploy(shape_template(SERVERLESS)) == "CREATE_COMPLETE"
    config = only_config(cloud)
    assert cloud.deploy(shape_template(SERVERLESS_NEW_PORT)) == "UPDATE_COMPLETE"
    guard = logical_id(cloud, GUARD_RESOURCE_TYPE)
    starter = logical_id(cloud, REPLICATION_STARTER_RESOURCE_TYPE)
    assert steps(cloud, "UPDATE_IN_PROGRESS") == [
        ("Update", guard, [stop_replication(config)], ""),
        ("Update", "Source", [], ""),
        ("Update", starter, [start_replication(config, "resume-processing")], ""),
    ]
    # The configuration is neither modified (DMS refuses that after a run) nor replaced.
    assert only_config(cloud) == config
    assert [s for s in cloud.steps_of("UPDATE_IN_PROGRESS") if s.type == CONFIG_TYPE] == []
    assert cloud.writes_of("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") == []
    replication_running_on(cloud, config, 5433)


def test_a_rolled_back_endpoint_change_under_a_serverless_replication(cloud: Cloud) -> None:
    cloud.deploy(shape_template(SERVERLESS))
    config = only_config(cloud)
    final = cloud.deploy(shape_template(SERVERLESS_NEW_PORT), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    rollback_guard = logical_id(cloud, ROLLBACK_GUARD_RESOURCE_TYPE)
    starter = logical_id(cloud, REPLICATION_STARTER_RESOURCE_TYPE)
    assert steps(cloud, "UPDATE_ROLLBACK_IN_PROGRESS") == [
        ("Update", rollback_guard, [stop_replication(config)], ""),
        ("Update", "Source", [], ""),
        ("Update", starter, [start_replication(config, "resume-processing")], ""),
    ]
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == []
    replication_running_on(cloud, config, 5432)


def test_a_failed_endpoint_modify_under_a_serverless_replication_resumes_it(cloud: Cloud) -> None:
    cloud.deploy(shape_template(SERVERLESS))
    config = only_config(cloud)
    final = cloud.deploy(shape_template(SERVERLESS_NEW_PORT), fail=Failure("Source", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    guard = logical_id(cloud, GUARD_RESOURCE_TYPE)
    cleanup = cloud.steps_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    assert [(s.action, s.logical_id, s.writes) for s in cleanup if s.writes] == [
        ("Delete", guard, [start_replication(config, "resume-processing")])
    ]
    replication_running_on(cloud, config, 5432)


def test_a_serverless_replication_stopped_by_hand_is_left_stopped(cloud: Cloud) -> None:
    cloud.deploy(shape_template(SERVERLESS))
    config = only_config(cloud)
    cloud.double.stop_by_hand(config)
    assert cloud.deploy(shape_template(SERVERLESS_NEW_PORT)) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []
    assert cloud.double.replications[config].status == "stopped"
    assert [r for r in cloud.double.rejected if r[0] in WRITE_OPERATIONS] == []


# -- a start that is not a restore ------------------------------------------------------------


def test_a_first_start_waits_out_a_connection_test_only_while_dms_lists_it(
    double: DmsDouble,
) -> None:
    """A start that restores nothing waits only for a test that DescribeConnections shows;
    any other refusal for the task's state fails the request, as it always did."""
    source = double.create_endpoint("orders-source", {"Port": 5432})
    task = double.add_task("T1", source_endpoint_arn=source.arn)
    double.modify_endpoint(source.arn, {"Port": 5433})
    event = cfn_event("Create", {"ReplicationTaskArn": task.arn})
    connections = (
        "DescribeConnections",
        {"Filters": [{"Name": "endpoint-arn", "Values": [source.arn, task.target_endpoint_arn]}]},
    )
    if double.behaviour.lists_modify_connection_test:
        assert run_provider(event, double).data["Status"] == "running"
        assert double.writes() == [start_task(task.arn, "start-replication")]
    else:
        with pytest.raises(ProviderFailedError) as failed:
            run_provider(event, double)
        assert failed.value.reason.endswith(
            f"InvalidResourceStateFault: {CANNOT_START_WHILE_TESTING}"
        )
        assert double.writes() == []
    assert connections in double.calls


def test_which_refused_starts_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restoring starts wait out any refusal for the task's state; other starts only a test
    DMS lists, and not when the connections cannot be read; other refusals never wait."""
    refused = DmsCallError("StartReplicationTask", ORDERS, "InvalidResourceStateFault", "x", 400)
    subject = State(arn=ORDERS, status="stopped", source_endpoint_arn=SOURCE)
    plan = Plan(deadline=0, timeout_seconds=0, subject=ORDERS)
    listed: list[tuple[str, ...]] = []

    def denied(arns: tuple[str, ...], instance_arn: str | None = None) -> list[object]:
        listed.append(arns)
        assert instance_arn is None  # every instance's test of the endpoints counts
        raise DmsCallError("DescribeConnections", SOURCE, "AccessDeniedFault", "denied", 400)

    monkeypatch.setattr(dms_calls, "describe_connections", denied)
    assert not handler.start_may_wait(refused, plan, subject)
    assert listed == [(SOURCE,)]
    assert handler.start_may_wait(refused, replace(plan, resume_only=True), subject)
    assert handler.start_may_wait(refused, replace(plan, waits_out_refusals=True), subject)
    invalid = DmsCallError(
        "StartReplicationTask", ORDERS, "InvalidParameterValueException", "x", 400
    )
    assert not handler.start_may_wait(invalid, replace(plan, resume_only=True), subject)
    assert listed == [(SOURCE,)]
