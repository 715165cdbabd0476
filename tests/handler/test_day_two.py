"""Day two on a live migration, under the emulated CloudFormation.

An existing stack without the library gets it (task running, stopped, never run; guarded
or not; a Serverless replication running), a guarded task is replaced, a Serverless
replacement keeps an unchanged ``cdc_start``, a stack deployed by 0.2.0 is upgraded.
Whether CloudFormation applies a change of ``Tags`` alone through the modify or through
the tag calls only is not published: every scenario runs under both readings
(``TAG_UPDATES``), each paired with both DMS readings (``BEHAVIOURS``). Each asserts the DMS
writes, that no call was refused or denied, the final statuses and the stack's status.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from aws_cdk import Aws, CfnResource, Stack, Tags
from aws_cdk import aws_dms as dms
from dms_task_starter import CdcStart, ReplicationStarter, ReplicationTaskStarter
from dms_task_starter_runtime.contract import GUARD_RESOURCE_TYPE, STARTER_RESOURCE_TYPE

from tests.conftest import served_cloud
from tests.support.cdk import selection_rules, shape_template
from tests.support.cloud import (
    CONFIG_TYPE,
    TAG_UPDATES,
    TASK_TYPE,
    Cloud,
    Failure,
    TagUpdates,
)
from tests.support.dms_double import (
    ACCOUNT,
    BEHAVIOURS,
    REGION,
    DmsDouble,
    config_arn,
    endpoint_arn,
    start_replication,
    start_task,
    stop_replication,
    stop_task,
    task_arn,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T1_EPOCH = int(T1.timestamp())
ORDERS = task_arn("orders")
ORDERS_V2 = task_arn("orders-v2")
INSTANCE = f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:INSTANCE"
STACK_TAG = "dms-task-starter:stack"


@pytest.fixture(
    params=[(b, t) for b in range(len(BEHAVIOURS)) for t in range(len(TAG_UPDATES))],
    ids=lambda p: f"{BEHAVIOURS[p[0]].name}-{TAG_UPDATES[p[1]].value}",
)
def cloud(request: pytest.FixtureRequest) -> Iterator[Cloud]:
    """Every DMS reading with every reading of a tag-only update."""
    yield from served_cloud(*request.param)


# -- the stacks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Orders:
    """A task (and a resource after it), with or without the library's starter."""

    starter: bool = True
    guarded: bool = True
    identifier: str = "orders"
    migration_type: str = "full-load-and-cdc"
    cdc_start: datetime | None = T1
    later: str = "1"
    release_0_2_0: bool = False
    """Tag the task as 0.2.0's provider did (``dms-task-starter:stack`` in the template)."""

    def build(self, stack: Stack) -> None:
        task = dms.CfnReplicationTask(
            stack,
            "OrdersTask",
            migration_type=self.migration_type,
            replication_instance_arn=INSTANCE,
            source_endpoint_arn=endpoint_arn("SOURCE"),
            target_endpoint_arn=endpoint_arn("TARGET"),
            table_mappings=json.dumps(selection_rules("orders")),
            resource_identifier=self.identifier,
        )
        if self.release_0_2_0:
            Tags.of(task).add(STACK_TAG, Aws.STACK_ID)
        later = CfnResource(
            stack, "Later", type="AWS::SSM::Parameter", properties={"Type": "String", "Value": "1"}
        )
        later.add_property_override("Value", self.later)
        if self.starter:
            starter = ReplicationTaskStarter(
                stack,
                "StartOrdersTask",
                task=task,
                cdc_start=None if self.cdc_start is None else CdcStart.at_time(self.cdc_start),
                guard_task_updates=self.guarded,
            )
            later.node.add_dependency(starter)


@dataclass(frozen=True)
class OrdersConfig:
    """A Serverless configuration, with or without the library's starter."""

    starter: bool = True
    replace_on_change: bool = True
    replication_type: str = "cdc"
    tables: tuple[str, ...] = ("orders",)
    cdc_position: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    later: str = "1"

    def build(self, stack: Stack) -> None:
        later = CfnResource(
            stack, "Later", type="AWS::SSM::Parameter", properties={"Type": "String", "Value": "1"}
        )
        later.add_property_override("Value", self.later)
        config = dms.CfnReplicationConfig(
            stack,
            "OrdersConfig",
            replication_config_identifier="orders",
            resource_identifier="orders",
            replication_type=self.replication_type,
            source_endpoint_arn=endpoint_arn("SOURCE"),
            target_endpoint_arn=endpoint_arn("TARGET"),
            compute_config=dms.CfnReplicationConfig.ComputeConfigProperty(max_capacity_units=16),
            table_mappings=selection_rules(*self.tables),
        )
        for key, value in self.tags:
            Tags.of(config).add(key, value)
        if self.starter:
            at = None if self.cdc_position is None else CdcStart.at_position(self.cdc_position)
            starter = ReplicationStarter(
                stack,
                "StartOrders",
                replication_config=config,
                cdc_start=at,
                replace_on_change=self.replace_on_change,
            )
            later.node.add_dependency(starter)


# -- reading the account ----------------------------------------------------------------------


def assert_clean(cloud: Cloud) -> None:
    """No call denied, no write refused by DMS, no failed cleanup."""
    assert cloud.double.denials == []
    assert [r for r in cloud.double.rejected if not r[0].startswith(("Describe", "List"))] == []
    assert cloud.cleanup_failures == []


def task_steps(cloud: Cloud, phase: str) -> list[str]:
    return [step.action for step in cloud.steps_of(phase) if step.type == TASK_TYPE]


def started_by_hand(double: DmsDouble, arn: str, start_type: str = "start-replication") -> None:
    """A start made outside CloudFormation (the console, another tool): not policed."""
    DmsDouble.handle(double, "StartReplicationTask", start_task(arn, start_type)[1])
    while double.tasks[arn].status != "running":
        double.advance()


def stopped_by_hand(double: DmsDouble, arn: str) -> None:
    DmsDouble.handle(double, "StopReplicationTask", stop_task(arn)[1])
    while double.tasks[arn].status != "stopped":
        double.advance()


def existing_task(cloud: Cloud, state: str) -> None:
    """The stack without the library, its task running, stopped after a run, or never run."""
    assert cloud.deploy(shape_template(Orders(starter=False))) == "CREATE_COMPLETE"
    while cloud.double.tasks[ORDERS].status == "creating":
        cloud.double.advance()
    if state != "never-run":
        started_by_hand(cloud.double, ORDERS)
    if state == "stopped":
        stopped_by_hand(cloud.double, ORDERS)
    cloud.double.accepted_writes.clear()
    cloud.double.calls.clear()


# -- adding the library to an existing stack ----------------------------------------------------

ADOPTION_WRITES = {
    "running": [],  # adopted as it runs
    "stopped": [start_task(ORDERS, "resume-processing")],  # at its checkpoint, not at T1
    "never-run": [start_task(ORDERS, "start-replication", CdcStartTime=T1_EPOCH)],
}


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "unguarded"])
@pytest.mark.parametrize("state", list(ADOPTION_WRITES))
def test_adding_the_library_to_an_existing_task(cloud: Cloud, state: str, guarded: bool) -> None:
    existing_task(cloud, state)
    assert cloud.deploy(shape_template(Orders(guarded=guarded))) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == ADOPTION_WRITES[state]
    # No template tag: CloudFormation sends the task nothing, so nothing modifies it.
    assert task_steps(cloud, "UPDATE_IN_PROGRESS") == []
    assert cloud.writes_of("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") == []
    assert cloud.double.tasks[ORDERS].status == "running"
    assert STACK_TAG not in cloud.double.tasks[ORDERS].tags
    assert_clean(cloud)
    # The grant on CloudFormation's own tag serves the Delete.
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    assert cloud.writes_of("DELETE_IN_PROGRESS") == [stop_task(ORDERS)]
    assert_clean(cloud)


def test_an_adopted_running_task_is_left_running_when_the_update_fails(cloud: Cloud) -> None:
    existing_task(cloud, "running")
    final = cloud.deploy(shape_template(Orders(later="2")), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == []
    assert cloud.double.tasks[ORDERS].status == "running"
    assert_clean(cloud)


# -- upgrading a stack deployed by 0.2.0 -------------------------------------------------------


def test_upgrading_from_0_2_0_stops_and_resumes_a_guarded_task_once(cloud: Cloud) -> None:
    """0.2.0 tagged the task in the template; dropping the tag is one update of the task,
    which may go through the modify: the guard stops the task for it, the starter resumes."""
    assert cloud.deploy(shape_template(Orders(release_0_2_0=True))) == "CREATE_COMPLETE"
    guard = next(iter(cloud.logical_ids(GUARD_RESOURCE_TYPE)))
    starter = next(iter(cloud.logical_ids(STARTER_RESOURCE_TYPE)))
    assert cloud.deploy(shape_template(Orders())) == "UPDATE_COMPLETE"
    assert [(s.logical_id, s.writes) for s in cloud.steps_of("UPDATE_IN_PROGRESS") if s.writes] == [
        (guard, [stop_task(ORDERS)]),
        (starter, [start_task(ORDERS, "resume-processing")]),
    ]
    assert STACK_TAG not in cloud.double.tasks[ORDERS].tags
    assert cloud.double.tasks[ORDERS].status == "running"
    assert_clean(cloud)
    # The next deployment changes nothing.
    cloud.steps.clear()
    assert cloud.deploy(shape_template(Orders(later="2"))) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []


def test_upgrading_from_0_2_0_keeping_the_tag_changes_no_unguarded_task(cloud: Cloud) -> None:
    """What docs/day-two.md recommends for a running unguarded task: keep the tag."""
    old = Orders(guarded=False, release_0_2_0=True)
    assert cloud.deploy(shape_template(old)) == "CREATE_COMPLETE"
    upgraded = Orders(guarded=False, release_0_2_0=True, later="2")
    assert cloud.deploy(shape_template(upgraded)) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []
    assert task_steps(cloud, "UPDATE_IN_PROGRESS") == []
    assert cloud.double.tasks[ORDERS].status == "running"
    assert_clean(cloud)


# -- replacing a guarded task --------------------------------------------------------------------


def test_a_replacement_keeping_the_guarded_identifier_is_refused_before_anything(
    cloud: Cloud,
) -> None:
    cloud.deploy(shape_template(Orders()))
    same_identifier = Orders(migration_type="cdc", cdc_start=None, later="2")
    assert cloud.deploy(shape_template(same_identifier)) == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = [step for step in cloud.steps if step.error]
    assert failed.type == GUARD_RESOURCE_TYPE
    assert (
        "The update changes MigrationType (full-load-and-cdc -> cdc) of replication task "
        f"{ORDERS}: CloudFormation replaces the task" in failed.error
    )
    assert "Change resource_identifier too (e.g. 'orders-v2')" in failed.error
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []
    assert cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS") == []
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == []
    assert set(cloud.double.tasks) == {ORDERS}
    assert cloud.double.tasks[ORDERS].status == "running"
    assert cloud.double.denials == []


def test_the_emulation_collides_a_replacement_that_keeps_the_identifier(cloud: Cloud) -> None:
    """Control: without the guard, CloudFormation's create-before-delete meets DMS's refusal."""
    cloud.deploy(shape_template(Orders(guarded=False)))
    same_identifier = Orders(guarded=False, migration_type="cdc", cdc_start=None, later="2")
    assert cloud.deploy(shape_template(same_identifier)) == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = [step for step in cloud.steps if step.error]
    assert (failed.type, failed.action) == (TASK_TYPE, "Create")
    assert "ResourceAlreadyExistsFault" in failed.error
    assert cloud.double.tasks[ORDERS].status == "running"


def test_the_recommended_new_identifier_replaces_the_guarded_task_with_handover(
    cloud: Cloud,
) -> None:
    cloud.deploy(shape_template(Orders()))
    # cdc_start unchanged (T1): applied by the first run, so the checkpoint wins.
    new_identifier = Orders(identifier="orders-v2", migration_type="cdc", later="2")
    assert cloud.deploy(shape_template(new_identifier)) == "UPDATE_COMPLETE"
    forward = cloud.writes_of("UPDATE_IN_PROGRESS")
    assert forward[0] == stop_task(ORDERS)
    checkpoint = forward[1][1].get("CdcStartPosition", "")
    assert checkpoint.startswith("checkpoint:")
    assert forward[1:] == [start_task(ORDERS_V2, "start-replication", CdcStartPosition=checkpoint)]
    assert set(cloud.double.tasks) == {ORDERS_V2}  # the old one deleted in the cleanup
    assert cloud.double.tasks[ORDERS_V2].status == "running"
    assert_clean(cloud)


# -- Serverless -----------------------------------------------------------------------------------

ORDERS_CONFIG = config_arn("orders")


def existing_replication(cloud: Cloud, template: OrdersConfig) -> None:
    """The stack without the library, its replication started by hand and running."""
    assert cloud.deploy(shape_template(template)) == "CREATE_COMPLETE"
    DmsDouble.handle(
        cloud.double, "StartReplication", start_replication(ORDERS_CONFIG, "start-replication")[1]
    )
    while cloud.double.replications[ORDERS_CONFIG].status != "running":
        cloud.double.advance()
    cloud.double.accepted_writes.clear()


def new_config(cloud: Cloud) -> str:
    (logical_id,) = cloud.logical_ids(CONFIG_TYPE)
    return cloud.physical_id(logical_id)


def test_adding_a_replication_starter_takes_the_running_replication_over(cloud: Cloud) -> None:
    existing_replication(cloud, OrdersConfig(starter=False))
    assert cloud.deploy(shape_template(OrdersConfig())) == "UPDATE_COMPLETE"
    new = new_config(cloud)
    assert new != ORDERS_CONFIG  # replace_on_change renamed it
    forward = cloud.writes_of("UPDATE_IN_PROGRESS")
    assert forward[0] == stop_replication(ORDERS_CONFIG)
    checkpoint = forward[1][1].get("CdcStartPosition", "")
    assert checkpoint.startswith("checkpoint:")
    assert forward[1:] == [start_replication(new, "start-replication", CdcStartPosition=checkpoint)]
    # One configuration, one replication: the old one was stopped, so it could be deleted.
    assert {arn: r.status for arn, r in cloud.double.replications.items()} == {new: "running"}
    assert_clean(cloud)


def test_a_failed_take_over_resumes_the_replication_it_took_over(cloud: Cloud) -> None:
    existing_replication(cloud, OrdersConfig(starter=False))
    final = cloud.deploy(shape_template(OrdersConfig(later="2")), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    (starter,) = [s for s in cloud.steps_of("UPDATE_IN_PROGRESS") if s.writes]
    new = starter.physical_id.partition("#")[0]
    # The starter's Delete stops the new replication and resumes the old one at its
    # checkpoint; CloudFormation then deletes the new configuration.
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == [
        stop_replication(new),
        start_replication(ORDERS_CONFIG, "resume-processing"),
    ]
    assert {arn: r.status for arn, r in cloud.double.replications.items()} == {
        ORDERS_CONFIG: "running"
    }
    assert_clean(cloud)


def test_a_take_over_it_cannot_hand_over_is_refused_before_anything(cloud: Cloud) -> None:
    existing_replication(cloud, OrdersConfig(starter=False, replication_type="full-load-and-cdc"))
    added = OrdersConfig(replication_type="full-load-and-cdc")
    assert cloud.deploy(shape_template(added)) == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = [step for step in cloud.steps if step.error]
    assert "Add the starter with replace_on_change=False" in failed.error
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == []
    assert {arn: r.status for arn, r in cloud.double.replications.items()} == {
        ORDERS_CONFIG: "running"
    }
    assert cloud.double.denials == []


def test_with_replace_on_change_off_the_running_replication_is_adopted(cloud: Cloud) -> None:
    existing_replication(cloud, OrdersConfig(starter=False, replication_type="full-load-and-cdc"))
    added = OrdersConfig(replication_type="full-load-and-cdc", replace_on_change=False)
    assert cloud.deploy(shape_template(added)) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []
    assert {arn: r.status for arn, r in cloud.double.replications.items()} == {
        ORDERS_CONFIG: "running"
    }
    assert_clean(cloud)


def test_a_serverless_replacement_with_an_unchanged_cdc_start_hands_over(cloud: Cloud) -> None:
    position = "mysql-bin-changelog.000024:373"
    assert cloud.deploy(shape_template(OrdersConfig(cdc_position=position))) == "CREATE_COMPLETE"
    first = new_config(cloud)
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [
        start_replication(first, "start-replication", CdcStartPosition=position)
    ]
    changed = OrdersConfig(cdc_position=position, tables=("orders", "customers"))
    assert cloud.deploy(shape_template(changed)) == "UPDATE_COMPLETE"
    second = new_config(cloud)
    forward = cloud.writes_of("UPDATE_IN_PROGRESS")
    assert forward[0] == stop_replication(first)
    checkpoint = forward[1][1].get("CdcStartPosition", "")
    # The old checkpoint, never the CDC start the first run applied: no replay.
    assert checkpoint.startswith("checkpoint:")
    assert forward[1:] == [
        start_replication(second, "start-replication", CdcStartPosition=checkpoint)
    ]
    assert {arn: r.status for arn, r in cloud.double.replications.items()} == {second: "running"}
    assert_clean(cloud)


# -- tags of a Serverless configuration ----------------------------------------------------------


def test_a_tag_change_of_a_configuration_is_a_replacement_with_handover(cloud: Cloud) -> None:
    """Tags count in the replace_on_change digest: a tag change never meets the modify
    that DMS refuses after a first run, whatever CloudFormation does with tags."""
    assert cloud.deploy(shape_template(OrdersConfig())) == "CREATE_COMPLETE"
    first = new_config(cloud)
    tagged = OrdersConfig(tags=(("cost-center", "42"),))
    assert cloud.deploy(shape_template(tagged)) == "UPDATE_COMPLETE"
    second = new_config(cloud)
    assert second != first
    forward = cloud.writes_of("UPDATE_IN_PROGRESS")
    checkpoint = forward[1][1].get("CdcStartPosition", "")
    assert checkpoint.startswith("checkpoint:")
    assert forward == [
        stop_replication(first),
        start_replication(second, "start-replication", CdcStartPosition=checkpoint),
    ]
    assert cloud.double.replications[second].tags["cost-center"] == "42"
    assert {arn: r.status for arn, r in cloud.double.replications.items()} == {second: "running"}
    assert_clean(cloud)


def test_a_tag_change_of_a_configuration_kept_in_place_depends_on_the_reading(
    cloud: Cloud,
) -> None:
    """Control (replace_on_change=False): the reading under test decides, so both are real."""
    assert cloud.deploy(shape_template(OrdersConfig(replace_on_change=False))) == "CREATE_COMPLETE"
    tagged = OrdersConfig(replace_on_change=False, tags=(("cost-center", "42"),))
    final = cloud.deploy(shape_template(tagged))
    if cloud.tag_updates is TagUpdates.THROUGH_MODIFY:
        # ModifyReplicationConfig is refused after the first run, forward and back.
        assert final == "UPDATE_ROLLBACK_FAILED"
    else:
        assert final == "UPDATE_COMPLETE"
        assert cloud.double.replications[ORDERS_CONFIG].tags["cost-center"] == "42"
    assert cloud.double.replications[ORDERS_CONFIG].status == "running"
