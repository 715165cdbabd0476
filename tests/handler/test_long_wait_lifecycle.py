"""Long waits through the emulated CloudFormation: hours of full load awaited by a wait
condition, past the custom resource's hour, signalled by the stack's state machine.

Each scenario deploys a template synthesized from the README's usage pattern with
``long_wait=LongWait(...)`` (the starter, its wait condition, handle and ``Custom::DmsLongWait``,
the per-stack state machine and signaller) through ``tests.support.cloud``: the custom
resources run through the Provider-framework driver, the state machine's executions run in the
emulated Step Functions in virtual time while CloudFormation waits, the signaller runs with its
own role's grants, and its PUT reaches the emulated handle. Every scenario runs under both
readings of the DMS double and of StopExecution on an execution that already ended.

What a user would see is asserted: the stack's status, the wait condition's failure reason as
CloudFormation shows it, that a resource depending on the starter comes only after the signal,
what became of the task, that no execution is left running and no signal comes after a stack
operation ended, and that the handle's URL (a credential) is in no log line, no output, no
definition and no failure reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import CfnOutput, CfnResource, Duration, Stack
from dms_task_starter import LongWait, ReplicationStarter, ReplicationTaskStarter, WaitFor

from tests.conftest import served_cloud
from tests.handler.test_day_two import started_by_hand
from tests.support.cdk import make_config, make_task, shape_template
from tests.support.cloud import STATE_MACHINE_TYPE, Cloud, Deployed, Failure, Interrupt
from tests.support.dms_double import BEHAVIOURS, stop_task, task_arn
from tests.support.stepfunctions import STOP_READINGS
from tests.support.wait_conditions import SECRET_PREFIX

if TYPE_CHECKING:
    import io
    from collections.abc import Iterator

    from tests.support.cloud import Step
    from tests.support.stepfunctions import Execution

ORDERS = task_arn("orders")
HOUR = 3600
LOAD_STEPS = 180
"""Steps of the full load: one per check interval (60 s) while the wait condition waits, so
about three hours."""
WAIT_CONDITION = "AWS::CloudFormation::WaitCondition"


@pytest.fixture(
    params=range(len(BEHAVIOURS)), ids=lambda n: f"{BEHAVIOURS[n].name}-{STOP_READINGS[n].name}"
)
def cloud(request: pytest.FixtureRequest) -> Iterator[Cloud]:
    """The emulated account, each reading of DMS paired with one of StopExecution."""
    yield from served_cloud(request.param, 0, request.param)


@dataclass(frozen=True)
class Logs:
    """Every log line written so far: the handler's and the signaller's (Powertools), and
    whatever reaches the root logger."""

    powertools: io.StringIO
    root: pytest.LogCaptureFixture

    def lines(self) -> list[str]:
        return [
            *self.powertools.getvalue().splitlines(),
            *(record.getMessage() for record in self.root.records),
        ]


@pytest.fixture
def logs(log_output: io.StringIO, caplog: pytest.LogCaptureFixture) -> Logs:
    caplog.set_level(logging.INFO)
    return Logs(log_output, caplog)


# -- the templates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LongOrders:
    """A README-shaped stack: a task, its starter with a long wait, a resource after it."""

    long_wait: bool = True
    until: WaitFor = WaitFor.FULL_LOAD_FINISHED
    maximum_minutes: int = 12 * 60
    migration_type: str = "full-load"
    later: str = "1"

    def build(self, stack: Stack) -> None:
        task = make_task(
            stack, "OrdersTask", resource_identifier="orders", migration_type=self.migration_type
        )
        wait = LongWait(until=self.until, maximum=Duration.minutes(self.maximum_minutes))
        starter = ReplicationTaskStarter(
            stack, "StartOrdersTask", task=task, long_wait=wait if self.long_wait else None
        )
        _later(stack, self.later).node.add_dependency(starter)
        CfnOutput(stack, "TaskArn", value=starter.task_arn)


@dataclass(frozen=True)
class LongServerless:
    """The same with a DMS Serverless replication: provisioning, then the full load."""

    until: WaitFor = WaitFor.FULL_LOAD_FINISHED

    def build(self, stack: Stack) -> None:
        config = make_config(stack, "OrdersConfig", resource_identifier="orders")
        starter = ReplicationStarter(
            stack, "StartOrders", replication_config=config, long_wait=LongWait(until=self.until)
        )
        _later(stack, "1").node.add_dependency(starter)


def _later(stack: Stack, value: str) -> CfnResource:
    return CfnResource(
        stack,
        "Later",
        type="AWS::SSM::Parameter",
        properties={"Type": "String", "Value": value},
    )


# -- reading what happened -------------------------------------------------------------------


def logical_id(cloud: Cloud, resource_type: str) -> str:
    (found,) = cloud.logical_ids(resource_type)
    return found


def step(cloud: Cloud, logical: str, action: str = "Create") -> Step:
    (found,) = [s for s in cloud.steps if (s.logical_id, s.action) == (logical, action)]
    return found


def wait_error(cloud: Cloud) -> str:
    (failed,) = [s for s in cloud.steps if s.type == WAIT_CONDITION and s.error]
    return failed.error


def executions(cloud: Cloud) -> list[Execution]:
    return list(cloud.stepfunctions.executions.values())


def slow_load(cloud: Cloud, logical: str, steps: int = LOAD_STEPS) -> None:
    """The full load of the task (replication) CloudFormation creates as ``logical`` lasts
    ``steps`` steps."""

    def slow(resource: Deployed) -> None:
        item = cloud.double.item(resource.physical_id)
        assert item is not None
        item.full_load_steps = steps

    cloud.after_create[logical] = slow


def when_loaded(cloud: Cloud, arn: str, percent: int, act: Any) -> None:
    """Once the full load of ``arn`` reached ``percent``, ``act()`` once (someone outside
    CloudFormation, or DMS itself)."""
    done: list[bool] = []

    def watch() -> None:
        item = cloud.double.item(arn)
        if done or item is None or item.run.full_load_progress_percent < percent:
            return
        done.append(True)
        act()

    cloud.double.on_advance.append(watch)


def assert_nothing_left_running(cloud: Cloud) -> None:
    """Every execution ended; none by the state machine's deletion; no signal after."""
    assert executions(cloud)
    assert all(e.status != "RUNNING" for e in executions(cloud))
    assert all(e.stopped_by != "DeleteStateMachine" for e in executions(cloud))
    invocations = len(cloud.invocations)
    cloud.double.advance(12 * HOUR)
    assert len(cloud.invocations) == invocations
    assert cloud.waits.late_signals == []


def assert_no_url_leaked(cloud: Cloud, template: dict[str, Any], logs: Logs) -> None:
    """The handle's URL is in no log line, no output, no definition, no failure reason, no
    attribute and no property CloudFormation hands a custom resource."""
    assert cloud.waits.handles, "a handle was created"
    stands = cloud.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")
    outputs = cloud.template.get("Outputs", {}) if stands else {}
    visible = {
        "logs": logs.lines(),
        "outputs": [cloud.resolve(o["Value"]) for o in outputs.values()],
        "the template": template,
        "definitions": [m.definition for m in cloud.stepfunctions.machines.values()],
        "errors": [s.error for s in cloud.steps],
        "custom resources": [  # what the Provider framework logs, and their attributes
            (r.properties, r.data, r.physical_id)
            for r in cloud.deployed.values()
            if r.type.startswith("Custom::")
        ],
        "outputs of executions": [e.output for e in executions(cloud)],
    }
    for where, seen in visible.items():
        assert SECRET_PREFIX not in json.dumps(seen, default=str), where


# -- success ---------------------------------------------------------------------------------


def test_a_long_wait_outlasts_the_custom_resource_hour_and_ends_with_the_full_load(
    cloud: Cloud, logs: Logs
) -> None:
    slow_load(cloud, "OrdersTask")
    template = shape_template(LongOrders())
    assert cloud.deploy(template) == "CREATE_COMPLETE"
    condition, long_wait = (
        logical_id(cloud, WAIT_CONDITION),
        logical_id(cloud, "Custom::DmsLongWait"),
    )
    task = cloud.double.tasks[ORDERS]
    finished = task.run.full_load_finish_date
    assert finished is not None
    waited = step(cloud, condition).at - step(cloud, long_wait).at
    assert waited > cloud.custom_resource_limit_seconds == HOUR
    assert finished <= step(cloud, condition).at <= step(cloud, "Later").at
    (execution,) = executions(cloud)
    assert execution.status == "SUCCEEDED"
    assert cloud.physical_id(long_wait) == execution.arn
    assert execution.transitions == 3 * execution.invocations
    (signalled,) = cloud.waits.signals()
    assert (signalled[1].status, signalled[1].unique_id) == ("SUCCESS", ORDERS)
    assert cloud.double.denials == cloud.stepfunctions.denials == []
    assert cloud.waits.refused == []
    # The signaller's log lines are among those searched for the URL.
    assert any("signalled SUCCESS" in line for line in logs.lines())
    assert_no_url_leaked(cloud, template, logs)


# -- the target cannot be reached -------------------------------------------------------------


def failed_wait(cloud: Cloud, arn: str) -> str:
    """The wait condition's failure reason; its frame is CloudFormation's."""
    error = wait_error(cloud)
    prefix = f"{logical_id(cloud, WAIT_CONDITION)}: WaitCondition received failed message: '"
    suffix = f"' for uniqueId: {arn}"
    assert error.startswith(prefix), error
    assert error.endswith(suffix), error
    return error.removeprefix(prefix).removesuffix(suffix)


def test_a_task_that_fails_during_the_load_fails_the_wait_with_its_status_and_message(
    cloud: Cloud, logs: Logs
) -> None:
    slow_load(cloud, "OrdersTask")
    message = "ORA-01555: snapshot too old"
    when_loaded(cloud, ORDERS, 50, lambda: cloud.double.fail_run(ORDERS, message))
    template = shape_template(LongOrders())
    assert cloud.deploy(template) == "ROLLBACK_COMPLETE"
    reason = failed_wait(cloud, ORDERS)
    for shown in ("failed", "Stop Reason FATAL_ERROR", message, "full load 50 %"):
        assert shown in reason, reason
    assert "Later" not in [s.logical_id for s in cloud.steps]
    assert cloud.double.tasks == {}  # a failed task is not running: the rollback deletes it
    assert_nothing_left_running(cloud)
    assert cloud.cleanup_failures == []
    assert cloud.double.denials == []
    assert_no_url_leaked(cloud, template, logs)


def test_a_task_stopped_by_hand_fails_the_wait(cloud: Cloud, logs: Logs) -> None:
    slow_load(cloud, "OrdersTask")
    when_loaded(cloud, ORDERS, 30, lambda: cloud.double.stop_by_hand(ORDERS))
    template = shape_template(LongOrders())
    assert cloud.deploy(template) == "ROLLBACK_COMPLETE"
    reason = failed_wait(cloud, ORDERS)
    assert "stopped" in reason, reason
    assert "Stop Reason NORMAL" in reason, reason
    # Stopped by someone: nothing for the rollback to stop; the task is deleted.
    assert cloud.writes_of("ROLLBACK_IN_PROGRESS") == []
    assert cloud.double.tasks == {}
    assert_nothing_left_running(cloud)
    assert_no_url_leaked(cloud, template, logs)


def test_the_maximum_reached_fails_the_wait_before_cloudformation_times_it_out(
    cloud: Cloud, logs: Logs
) -> None:
    slow_load(cloud, "OrdersTask")
    template = shape_template(LongOrders(maximum_minutes=90))
    assert cloud.deploy(template) == "ROLLBACK_COMPLETE"
    reason = failed_wait(cloud, ORDERS)
    assert "Waited the maximum of 1 h 30 min" in reason, reason
    assert "running" in reason, reason
    condition = step(cloud, logical_id(cloud, WAIT_CONDITION))
    started = step(cloud, logical_id(cloud, "Custom::DmsLongWait")).at
    # The signaller's deadline, then at most one check interval: before the condition's Timeout.
    assert 90 * 60 <= condition.at - started <= 90 * 60 + 60
    timeout = cloud.template["Resources"][condition.logical_id]["Properties"]["Timeout"]
    assert int(timeout) > condition.at - started
    # The running task is stopped by the rollback's Delete of the starter, then deleted.
    assert cloud.writes_of("ROLLBACK_IN_PROGRESS") == [stop_task(ORDERS)]
    assert cloud.double.tasks == {}
    assert_nothing_left_running(cloud)
    assert_no_url_leaked(cloud, template, logs)


# -- the stack goes away while it waits ------------------------------------------------------


def test_a_stack_deleted_while_waiting_stops_the_execution_and_the_task(
    cloud: Cloud, logs: Logs
) -> None:
    slow_load(cloud, "OrdersTask")
    template = shape_template(LongOrders())
    assert cloud.deploy(template, interrupt=Interrupt(2 * HOUR)) == "DELETE_COMPLETE"
    assert wait_error(cloud).endswith(": Resource creation cancelled")
    (execution,) = executions(cloud)
    assert (execution.status, execution.stopped_by) == ("ABORTED", "StopExecution")
    (deleted_machine,) = [
        s.at
        for s in cloud.steps_of("DELETE_IN_PROGRESS")
        if s.type == STATE_MACHINE_TYPE and "LongWait" in s.logical_id
    ]
    assert execution.stop_date is not None
    assert execution.stop_date <= deleted_machine
    assert cloud.writes_of("DELETE_IN_PROGRESS") == [stop_task(ORDERS)]
    assert cloud.double.tasks == {}
    assert cloud.waits.signals() == []
    assert_nothing_left_running(cloud)
    assert_no_url_leaked(cloud, template, logs)


def test_an_update_cancelled_while_waiting_stops_the_new_execution(
    cloud: Cloud, logs: Logs
) -> None:
    slow_load(cloud, "OrdersTask")
    base = LongOrders(long_wait=False, migration_type="full-load-and-cdc")
    assert cloud.deploy(shape_template(base)) == "CREATE_COMPLETE"
    assert cloud.double.tasks[ORDERS].status == "running"  # loading, for hours
    template = shape_template(LongOrders(migration_type="full-load-and-cdc", later="2"))
    assert cloud.deploy(template, interrupt=Interrupt(HOUR)) == "UPDATE_ROLLBACK_COMPLETE"
    assert wait_error(cloud).endswith(": Resource update cancelled")
    (execution,) = executions(cloud)
    assert (execution.status, execution.stopped_by) == ("ABORTED", "StopExecution")
    assert cloud.logical_ids(WAIT_CONDITION) == []  # the old template has none
    assert not any(r.type.startswith("AWS::CloudFormation::Wait") for r in cloud.deployed.values())
    assert cloud.double.tasks[ORDERS].status == "running"  # as before the update
    assert_nothing_left_running(cloud)
    assert cloud.cleanup_failures == []
    assert cloud.double.denials == []
    assert_no_url_leaked(cloud, template, logs)


# -- DMS Serverless: provisioning, then the full load ------------------------------------------


def test_a_serverless_long_wait_covers_provisioning_and_the_full_load(
    cloud: Cloud, logs: Logs
) -> None:
    slow_load(cloud, "OrdersConfig")
    template = shape_template(LongServerless())
    assert cloud.deploy(template) == "CREATE_COMPLETE"
    config = cloud.physical_id("OrdersConfig")
    replication = cloud.double.replications[config]
    assert replication.provision_state == "provisioned"
    finished = replication.run.full_load_finish_date
    condition = step(cloud, logical_id(cloud, WAIT_CONDITION)).at
    started = step(cloud, logical_id(cloud, "Custom::DmsLongWait")).at
    assert finished is not None
    assert finished <= condition <= step(cloud, "Later").at
    assert condition - started > HOUR
    (execution,) = executions(cloud)
    assert execution.status == "SUCCEEDED"
    (signalled,) = cloud.waits.signals()
    assert (signalled[1].status, signalled[1].unique_id) == ("SUCCESS", config)
    assert cloud.double.denials == cloud.stepfunctions.denials == []
    assert_no_url_leaked(cloud, template, logs)


def test_a_serverless_replication_that_fails_while_provisioning_fails_the_wait(
    cloud: Cloud, logs: Logs
) -> None:
    message = "Insufficient capacity units"
    created: list[str] = []

    def fail_its_start(config: Deployed) -> None:
        created.append(config.physical_id)
        cloud.double.fail_next_start(config.physical_id, message)

    cloud.after_create["OrdersConfig"] = fail_its_start
    template = shape_template(LongServerless())
    assert cloud.deploy(template) == "ROLLBACK_COMPLETE"
    reason = failed_wait(cloud, created[0])
    assert "failed" in reason, reason
    assert message in reason, reason
    assert cloud.double.replications == {}
    assert_nothing_left_running(cloud)
    assert_no_url_leaked(cloud, template, logs)


# -- backward and day-two paths ----------------------------------------------------------------


@dataclass(frozen=True)
class OrdersBeforeTheLibrary:
    """The stack before the library: the task alone, started by hand."""

    def build(self, stack: Stack) -> None:
        make_task(
            stack, "OrdersTask", resource_identifier="orders", migration_type="full-load-and-cdc"
        )
        _later(stack, "1")


def wait_resources(cloud: Cloud) -> list[str]:
    return [
        logical
        for logical, resource in cloud.deployed.items()
        if resource.type in (WAIT_CONDITION, "Custom::DmsLongWait")
        or resource.type.startswith("AWS::CloudFormation::WaitConditionHandle")
    ]


def test_a_long_wait_added_to_a_stack_whose_task_ran_by_hand_succeeds_at_once(
    cloud: Cloud, logs: Logs
) -> None:
    assert cloud.deploy(shape_template(OrdersBeforeTheLibrary())) == "CREATE_COMPLETE"
    while cloud.double.tasks[ORDERS].status != "ready":
        cloud.double.advance()
    started_by_hand(cloud.double, ORDERS)
    while cloud.double.tasks[ORDERS].run.full_load_finish_date is None:
        cloud.double.advance()
    finished = cloud.double.tasks[ORDERS].run.full_load_finish_date
    template = shape_template(LongOrders(migration_type="full-load-and-cdc"))
    assert cloud.deploy(template) == "UPDATE_COMPLETE"
    assert cloud.writes_of("UPDATE_IN_PROGRESS") == []  # adopted: nothing started again
    assert cloud.double.tasks[ORDERS].status == "running"
    (execution,) = executions(cloud)
    assert (execution.status, execution.invocations) == ("SUCCEEDED", 1)
    (signalled,) = cloud.waits.signals()
    assert (signalled[1].status, signalled[1].unique_id) == ("SUCCESS", ORDERS)
    assert cloud.double.tasks[ORDERS].run.full_load_finish_date == finished
    assert_nothing_left_running(cloud)
    assert cloud.double.denials == []
    assert_no_url_leaked(cloud, template, logs)


def test_removing_the_long_wait_deletes_its_resources_and_leaves_the_task(
    cloud: Cloud, logs: Logs
) -> None:
    template = shape_template(LongOrders(migration_type="full-load-and-cdc"))
    assert cloud.deploy(template) == "CREATE_COMPLETE"
    assert len(wait_resources(cloud)) == 3
    starts = [write for write in cloud.double.writes() if write[0] == "StartReplicationTask"]
    without = LongOrders(long_wait=False, migration_type="full-load-and-cdc")
    assert cloud.deploy(shape_template(without)) == "UPDATE_COMPLETE"
    assert wait_resources(cloud) == []
    assert [w for w in cloud.double.writes() if w[0] == "StartReplicationTask"] == starts
    assert cloud.double.tasks[ORDERS].status == "running"
    assert cloud.cleanup_failures == []
    assert_nothing_left_running(cloud)
    assert cloud.double.denials == []
    assert_no_url_leaked(cloud, template, logs)


def test_an_update_rolled_back_by_a_later_failure_after_its_wait_leaves_the_old_wait(
    cloud: Cloud, logs: Logs
) -> None:
    first = shape_template(LongOrders(migration_type="full-load-and-cdc"))
    assert cloud.deploy(first) == "CREATE_COMPLETE"
    old_waits = sorted(wait_resources(cloud))
    changed = LongOrders(migration_type="full-load-and-cdc", maximum_minutes=60, later="2")
    template = shape_template(changed)
    assert cloud.deploy(template, fail=Failure("Later")) == "UPDATE_ROLLBACK_COMPLETE"
    assert sorted(wait_resources(cloud)) == old_waits  # the new ones went in the cleanup
    assert len(executions(cloud)) == 2
    assert cloud.waits.signals()[-1][1].status == "SUCCESS"  # the new wait ended first
    assert cloud.double.tasks[ORDERS].status == "running"  # as before the update
    assert cloud.writes_of("UPDATE_ROLLBACK_IN_PROGRESS") == []
    assert cloud.cleanup_failures == []
    assert_nothing_left_running(cloud)
    assert cloud.double.denials == []
    assert_no_url_leaked(cloud, template, logs)
