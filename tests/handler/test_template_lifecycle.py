"""The synthesized template and the handler under an emulated CloudFormation, both ways.

Each scenario deploys templates synthesized from the README's usage pattern through
``tests.support.cloud`` (create, update, rollback, cleanup, delete, with IAM as the template
grants it at each step) against the DMS double, under each reading of what the DMS
reference leaves open (``BEHAVIOURS``). Each asserts what a user would see: the stack's
status, the DMS writes of each phase, the final task statuses and that no call was denied.

Expected values come from CloudFormation's and DMS's documented behaviour and from the
README's lifecycle table: after ``UPDATE_ROLLBACK_COMPLETE`` every task is as it was before
the update, no rollback sends a CDC start again, and nothing is left that CloudFormation
cannot delete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from aws_cdk import App, CfnResource, Duration, Environment, Stack
from aws_cdk import aws_dms as dms
from aws_cdk.assertions import Template
from dms_task_starter import CdcStart, OnDelete, ReplicationTaskStarter, WaitFor
from dms_task_starter_runtime.contract import (
    GUARD_RESOURCE_TYPE,
    ROLLBACK_GUARD_RESOURCE_TYPE,
    STARTER_RESOURCE_TYPE,
)

from tests.support.cdk import selection_rules, shape_template
from tests.support.cloud import (
    TASK_TYPE,
    Cloud,
    Failure,
    Step,
)
from tests.support.dms_double import (
    ACCOUNT,
    REGION,
    Call,
    endpoint_arn,
    start_task,
    stop_task,
    task_arn,
)
from tests.support.served import STACK_ID

if TYPE_CHECKING:
    from collections.abc import Callable

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 2, 1, 6, 30, tzinfo=UTC)
ORDERS = task_arn("orders")
ORDERS_V2 = task_arn("orders-v2")
CUSTOMERS = task_arn("customers")
EXISTING = task_arn("EXISTINGTASK")
INSTANCE = f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:INSTANCE"


def epoch(moment: datetime) -> int:
    """The CdcStartTime botocore puts on the wire."""
    return int(moment.timestamp())


# -- the templates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Orders:
    """A README-shaped stack: a guarded task, its starter, and a resource deployed after it."""

    identifier: str = "orders"
    migration_type: str = "full-load-and-cdc"
    tables: tuple[str, ...] = ("orders",)
    source: str = "SOURCE"
    cdc_start: datetime | None = T1
    timeout: Duration = field(default_factory=lambda: Duration.minutes(30))
    wait_for: WaitFor = WaitFor.RUNNING
    later: str = "1"
    """The value of the resource after the starter: a change makes CloudFormation update it."""
    with_customers: bool = False
    customers_starter: bool = True
    by_arn: bool = False

    def build(self, stack: Stack) -> None:
        task = self._task(stack, "OrdersTask", self.identifier, self.tables)
        at = None if self.cdc_start is None else CdcStart.at_time(self.cdc_start)
        starter = ReplicationTaskStarter(
            stack,
            "StartOrdersTask",
            task=task,
            cdc_start=at,
            timeout=self.timeout,
            wait_for=self.wait_for,
        )
        later = CfnResource(
            stack,
            "Later",
            type="AWS::SSM::Parameter",
            properties={"Type": "String", "Value": self.later},
        )
        later.node.add_dependency(starter)
        if self.with_customers:
            customers = self._task(stack, "CustomersTask", "customers", ("customers",))
            if self.customers_starter:
                later.node.add_dependency(
                    ReplicationTaskStarter(stack, "StartCustomersTask", task=customers)
                )
        if self.by_arn:
            ReplicationTaskStarter(stack, "StartExistingTask", task=EXISTING)

    def _task(
        self, stack: Stack, id: str, identifier: str, tables: tuple[str, ...]
    ) -> dms.CfnReplicationTask:
        return dms.CfnReplicationTask(
            stack,
            id,
            migration_type=self.migration_type,
            replication_instance_arn=INSTANCE,
            source_endpoint_arn=endpoint_arn(self.source),
            target_endpoint_arn=endpoint_arn("TARGET"),
            table_mappings=json.dumps(selection_rules(*tables)),
            resource_identifier=identifier,
        )


BASE = Orders()
CHANGES: dict[str, Orders] = {
    "definition": Orders(tables=("orders", "customers"), later="2"),
    "replacement": Orders(identifier="orders-v2", migration_type="cdc", cdc_start=None, later="2"),
    "cdc-start": Orders(cdc_start=T2, later="2"),
    "starter-only": Orders(timeout=Duration.minutes(20), later="2"),
}


# -- the emulated account ---------------------------------------------------------------------


def logical_id(cloud: Cloud, resource_type: str, prefix: str = "") -> str:
    (found,) = [name for name in cloud.logical_ids(resource_type) if name.startswith(prefix)]
    return found


def steps_with_writes(cloud: Cloud, phase: str) -> list[tuple[str, str, list[Call]]]:
    return [(s.action, s.logical_id, s.writes) for s in cloud.steps_of(phase) if s.writes]


def assert_clean(cloud: Cloud) -> None:
    """No denied call and no failed cleanup: nothing is left that cannot be deleted."""
    assert cloud.double.denials == []
    assert cloud.cleanup_failures == []


def status(cloud: Cloud, arn: str) -> str:
    return cloud.double.tasks[arn].status


def running_as_before(
    cloud: Cloud, arn: str = ORDERS, tables: tuple[str, ...] = ("orders",)
) -> None:
    task = cloud.double.tasks[arn]
    assert task.status == "running"
    assert task.table_mappings == json.dumps(selection_rules(*tables))


def cdc_starts(written: list[Call]) -> list[Call]:
    return [w for w in written if {"CdcStartTime", "CdcStartPosition"} & set(w[1])]


# -- create, forward updates, delete --------------------------------------------------------


def test_create_starts_the_task_at_the_cdc_start_time(cloud: Cloud) -> None:
    assert cloud.deploy(shape_template(BASE)) == "CREATE_COMPLETE"
    starter = logical_id(cloud, STARTER_RESOURCE_TYPE)
    assert cloud.writes_of("CREATE_IN_PROGRESS") == [
        start_task(ORDERS, "start-replication", CdcStartTime=epoch(T1))
    ]
    assert cloud.physical_id(starter) == ORDERS
    assert cloud.deployed[starter].data["Status"] == "running"
    assert cloud.double.tasks[ORDERS].tags == {"dms-task-starter:stack": STACK_ID}
    assert_clean(cloud)


def test_definition_change_stops_modifies_and_resumes(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    assert cloud.deploy(shape_template(CHANGES["definition"])) == "UPDATE_COMPLETE"
    guard = logical_id(cloud, GUARD_RESOURCE_TYPE)
    starter = logical_id(cloud, STARTER_RESOURCE_TYPE)
    assert steps_with_writes(cloud, "UPDATE_IN_PROGRESS") == [
        ("Update", guard, [stop_task(ORDERS)]),
        # The CDC start time was applied by the first run: resume at the checkpoint.
        ("Update", starter, [start_task(ORDERS, "resume-processing")]),
    ]
    assert cloud.writes_of("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") == []
    running_as_before(cloud, tables=("orders", "customers"))
    assert_clean(cloud)


def test_new_cdc_start_restarts_a_full_load_and_cdc_task_resuming_from_it(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    assert cloud.deploy(shape_template(CHANGES["cdc-start"])) == "UPDATE_COMPLETE"
    # A task with a full load that ran refuses start-replication: resume, from the new time.
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [
        stop_task(ORDERS),
        start_task(ORDERS, "resume-processing", CdcStartTime=epoch(T2)),
    ]
    assert_clean(cloud)


def test_replacement_hands_cdc_over_from_the_old_checkpoint(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    assert cloud.deploy(shape_template(CHANGES["replacement"])) == "UPDATE_COMPLETE"
    checkpoint_writes = cloud.writes_of("UPDATE_IN_PROGRESS")
    assert checkpoint_writes[0] == stop_task(ORDERS)
    handover = checkpoint_writes[1]
    assert handover[0] == "StartReplicationTask"
    assert handover[1]["StartReplicationTaskType"] == "start-replication"
    assert handover[1]["CdcStartPosition"].startswith("checkpoint:")
    assert ORDERS not in cloud.double.tasks  # the old task was deleted in the cleanup
    assert status(cloud, ORDERS_V2) == "running"
    starter = logical_id(cloud, STARTER_RESOURCE_TYPE)
    assert cloud.physical_id(starter) == ORDERS  # stable: CloudFormation never replaces it
    assert cloud.deployed[starter].data["ReplicationTaskArn"] == ORDERS_V2
    assert_clean(cloud)


def test_replacement_reading_another_source_starts_fresh(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    other_source = Orders(
        identifier="orders-v2", migration_type="cdc", cdc_start=None, source="OTHER"
    )
    assert cloud.deploy(shape_template(other_source)) == "UPDATE_COMPLETE"
    # A checkpoint of one source's log means nothing in another's: no handover.
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [
        stop_task(ORDERS),
        start_task(ORDERS_V2, "start-replication"),
    ]
    assert_clean(cloud)


def test_stack_delete_stops_the_task_before_it_is_deleted(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    assert cloud.writes_of("DELETE_IN_PROGRESS") == [stop_task(ORDERS)]
    assert cloud.double.tasks == {}
    assert cloud.double.policies == {}
    assert_clean(cloud)


def test_stack_delete_while_the_task_is_still_starting(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders(wait_for=WaitFor.NOTHING)))
    assert status(cloud, ORDERS) == "starting"
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    # The Delete waits until the task runs (whenever DMS dates the run) and stops it.
    assert cloud.writes_of("DELETE_IN_PROGRESS") == [stop_task(ORDERS)]
    assert cloud.double.tasks == {}
    assert_clean(cloud)


def test_failed_create_with_a_slow_start_is_rolled_back_cleanly(cloud: Cloud) -> None:
    cloud.double.default_start_steps = 12  # 120 s of "starting", longer than the 60 s timeout
    assert cloud.deploy(shape_template(Orders(timeout=Duration.minutes(1)))) == "ROLLBACK_COMPLETE"
    failed = [step for step in cloud.steps if step.error]
    assert "Timed out after 60 s waiting for replication task" in failed[0].error
    # The rollback's Delete gets the time it needs: it waits until the task runs, stops it.
    assert cloud.writes_of("ROLLBACK_IN_PROGRESS") == [stop_task(ORDERS)]
    assert cloud.double.tasks == {}
    assert_clean(cloud)


def test_a_create_that_fails_after_the_starter_stops_the_task_it_started(cloud: Cloud) -> None:
    assert (
        cloud.deploy(shape_template(BASE), fail=Failure("Later", "Create")) == "ROLLBACK_COMPLETE"
    )
    assert cloud.writes_of("ROLLBACK_IN_PROGRESS") == [stop_task(ORDERS)]
    assert cloud.double.tasks == {}
    assert_clean(cloud)


def test_a_starter_added_to_a_stack_whose_update_fails_stops_what_it_started(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders(with_customers=True, customers_starter=False)))
    while status(cloud, CUSTOMERS) == "creating":
        cloud.double.advance()
    assert status(cloud, CUSTOMERS) == "ready"
    added = Orders(with_customers=True, later="2")
    assert cloud.deploy(shape_template(added), fail=Failure("Later", "Update")) == (
        "UPDATE_ROLLBACK_COMPLETE"
    )
    # The new starter started the task; its Delete in the rollback's cleanup stops it again.
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == [stop_task(CUSTOMERS)]
    assert status(cloud, CUSTOMERS) == "stopped"
    assert_clean(cloud)


# -- the backward paths: every update rolled back from every place ---------------------------


FAILURES = ("later", "task", "own")


def failure_for(cloud: Cloud, change: str, where: str) -> Failure | None:
    """The failure of the update, at the later resource, the task, or the guard/starter."""
    if where == "later":
        return Failure("Later", "Update")
    if where == "task":
        action = "Create" if change == "replacement" else "Update"
        return Failure(logical_id(cloud, TASK_TYPE), action)
    if change == "definition":
        return Failure(logical_id(cloud, GUARD_RESOURCE_TYPE), "Update")
    if change in ("replacement", "cdc-start"):
        return None  # the starter fails for real: the task it starts fails (set by the test)
    return Failure(logical_id(cloud, STARTER_RESOURCE_TYPE), "Update")


RESUME = start_task(ORDERS, "resume-processing")
ROLLBACK_WRITES: dict[tuple[str, str], tuple[list[Call], list[Call]]] = {
    # (change, where the update fails): (writes of the rollback, writes of its cleanup)
    ("definition", "later"): ([stop_task(ORDERS), RESUME], []),
    ("definition", "task"): ([], [RESUME]),
    ("definition", "own"): ([], []),
    ("replacement", "later"): ([stop_task(ORDERS_V2), RESUME], []),
    ("replacement", "task"): ([], []),
    ("replacement", "own"): ([RESUME], []),
    ("cdc-start", "later"): ([], []),
    ("cdc-start", "own"): ([RESUME], []),
    ("starter-only", "later"): ([], []),
    ("starter-only", "own"): ([], []),
}
"""What each rolled-back update must do to get the task back to where it was: stop what
must rest before CloudFormation modifies it back, resume it at its own checkpoint after,
and never send a CDC start again. The task modify cannot fail when the task is unchanged."""


@pytest.mark.parametrize(("change", "where"), list(ROLLBACK_WRITES))
def test_every_rolled_back_update_leaves_the_tasks_as_they_were(
    cloud: Cloud, change: str, where: str
) -> None:
    cloud.deploy(shape_template(BASE))
    if where == "own" and change in ("replacement", "cdc-start"):
        new_task = "orders-v2" if change == "replacement" else "orders"
        cloud.double.fail_next_start(task_arn(new_task), "Error connecting to the source database")
    final = cloud.deploy(shape_template(CHANGES[change]), fail=failure_for(cloud, change, where))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    if (change, where) == ("cdc-start", "own") and not cloud.double.behaviour.failed_is_startable:
        # DMS cannot start the failed task in this reading: the rollback gives up, never fails.
        assert cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS") == []
        assert cloud.double.rejected[-1] == ("StartReplicationTask", "InvalidResourceStateFault")
        assert status(cloud, ORDERS) == "failed"
        assert_clean(cloud)
        return
    rollback, cleanup = ROLLBACK_WRITES[change, where]
    assert cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS") == rollback
    assert cloud.writes_of("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == cleanup
    running_as_before(cloud)
    assert set(cloud.double.tasks) == {ORDERS}  # a replacing task is stopped and deleted
    assert_clean(cloud)


def test_a_later_failure_after_a_guarded_change_restores_the_previous_definition(
    cloud: Cloud,
) -> None:
    """The issue's first case, step by step."""
    cloud.deploy(shape_template(BASE))
    final = cloud.deploy(shape_template(CHANGES["definition"]), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    rollback_guard = logical_id(cloud, ROLLBACK_GUARD_RESOURCE_TYPE)
    starter = logical_id(cloud, STARTER_RESOURCE_TYPE)
    assert steps_with_writes(cloud, "UPDATE_ROLLBACK_IN_PROGRESS") == [
        ("Update", rollback_guard, [stop_task(ORDERS)]),  # before the task is modified back
        ("Update", starter, [start_task(ORDERS, "resume-processing")]),  # after it
    ]
    modified = [s for s in cloud.steps_of("UPDATE_ROLLBACK_IN_PROGRESS") if s.type == TASK_TYPE]
    assert [s.error for s in modified] == [""]
    running_as_before(cloud)
    assert_clean(cloud)


def test_a_failed_task_modify_is_restored_by_the_guard_in_the_cleanup(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    task = logical_id(cloud, TASK_TYPE)
    final = cloud.deploy(shape_template(CHANGES["definition"]), fail=Failure(task, "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    guard = logical_id(cloud, GUARD_RESOURCE_TYPE)
    # The starter never ran: the guard's new physical id is deleted in the rollback
    # cleanup, finds the task still stopped in the run it stopped, and resumes it.
    assert steps_with_writes(cloud, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == [
        ("Delete", guard, [start_task(ORDERS, "resume-processing")])
    ]
    running_as_before(cloud)
    assert_clean(cloud)


def test_a_rolled_back_replacement_resumes_the_old_task_and_deletes_the_new(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    final = cloud.deploy(shape_template(CHANGES["replacement"]), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    starter = logical_id(cloud, STARTER_RESOURCE_TYPE)
    assert steps_with_writes(cloud, "UPDATE_ROLLBACK_IN_PROGRESS") == [
        ("Update", starter, [stop_task(ORDERS_V2), start_task(ORDERS, "resume-processing")])
    ]
    assert ORDERS_V2 not in cloud.double.tasks
    running_as_before(cloud)
    assert_clean(cloud)


def test_a_rolled_back_cdc_start_change_does_not_replay_the_old_start(cloud: Cloud) -> None:
    cloud.deploy(shape_template(BASE))
    final = cloud.deploy(shape_template(CHANGES["cdc-start"]), fail=Failure("Later", "Update"))
    assert final == "UPDATE_ROLLBACK_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == [
        stop_task(ORDERS),
        start_task(ORDERS, "resume-processing", CdcStartTime=epoch(T2)),
    ]
    # The rollback Update of the starter knows it is a rollback (the stack says so) and
    # leaves the running task as it is: restarting at T1 would replay every change since.
    assert cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS") == []
    assert "UPDATE_ROLLBACK_IN_PROGRESS" in cloud.stack_calls
    assert_clean(cloud)


# -- removals ------------------------------------------------------------------------------


def test_removing_one_starter_and_its_task_stops_it_before_it_is_deleted(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders(with_customers=True)))
    assert status(cloud, CUSTOMERS) == "running"
    assert cloud.deploy(shape_template(Orders(later="2"))) == "UPDATE_COMPLETE"
    cleanup = steps_with_writes(cloud, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    assert [(action, written) for action, _, written in cleanup] == [
        ("Delete", [stop_task(CUSTOMERS)])
    ]
    assert CUSTOMERS not in cloud.double.tasks
    running_as_before(cloud)
    assert_clean(cloud)


def test_removing_a_starter_but_keeping_its_task_stops_the_task(cloud: Cloud) -> None:
    cloud.deploy(shape_template(Orders(with_customers=True)))
    kept = Orders(with_customers=True, customers_starter=False, later="2")
    assert cloud.deploy(shape_template(kept)) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") == [stop_task(CUSTOMERS)]
    assert status(cloud, CUSTOMERS) == "stopped"
    assert_clean(cloud)


def test_removing_a_starter_of_a_task_given_by_arn_stops_it(cloud: Cloud) -> None:
    cloud.double.add_task("EXISTINGTASK", status="stopped")
    cloud.deploy(shape_template(Orders(by_arn=True)))
    assert status(cloud, EXISTING) == "running"
    assert cloud.deploy(shape_template(Orders(later="2"))) == "UPDATE_COMPLETE"
    # The ARN grant was rewritten in the update phase; the task's tag still grants the stop.
    assert cloud.writes_of("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") == [stop_task(EXISTING)]
    assert_clean(cloud)


def test_the_emulated_iam_denies_what_no_policy_grants(cloud: Cloud) -> None:
    """Control: a task that lost its tag cannot be stopped, so the policing is real."""
    cloud.deploy(shape_template(Orders(with_customers=True)))
    cloud.double.tasks[CUSTOMERS].tags.clear()
    cloud.deploy(shape_template(Orders(later="2")))
    assert cloud.double.denials == [("StopReplicationTask", CUSTOMERS)]
    assert cloud.cleanup_failures != []


def steps_named(cloud: Cloud, name: str) -> list[Step]:
    return [step for step in cloud.steps if step.logical_id == name]


def starter_steps(cloud: Cloud) -> Callable[[], list[Step]]:
    return lambda: steps_named(cloud, logical_id(cloud, STARTER_RESOURCE_TYPE))


def test_on_delete_leave_running_is_respected_by_stack_delete(cloud: Cloud) -> None:
    """The only way left to strand a task is to ask for it, and the README says so."""
    app = App()
    stack = Stack(app, "OrdersReplication", env=Environment(account=ACCOUNT, region=REGION))
    task = Orders()._task(stack, "OrdersTask", "orders", ("orders",))
    ReplicationTaskStarter(stack, "StartOrdersTask", task=task, on_delete=OnDelete.LEAVE_RUNNING)
    cloud.deploy(dict(Template.from_stack(stack).to_json()))
    assert cloud.delete_stack() == "DELETE_FAILED"
    assert status(cloud, ORDERS) == "running"
