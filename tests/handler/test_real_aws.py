"""Where real AWS differs from a quick DMS and a flat stack: a slow DMS against the Lambda
timeout, IAM propagation, nested stacks deleted whole while their root rolls back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pytest
from aws_cdk import App, Environment, NestedStack, Stack
from aws_cdk import aws_dms as dms
from aws_cdk.assertions import Template
from dms_task_starter import OnDelete, ReplicationTaskStarter
from dms_task_starter_runtime.contract import (
    CALL_BUDGET_SECONDS,
    HANDLER_MARGIN_SECONDS,
    HANDLER_TIMEOUT_SECONDS,
    IAM_PROPAGATION_SECONDS,
    MAX_TIMEOUT_SECONDS,
)

from tests.handler.test_template_lifecycle import EXISTING, Orders
from tests.support.cdk import selection_rules, shape_template
from tests.support.cloud import PolicedDouble
from tests.support.dms_double import (
    ACCOUNT,
    CLOCK_START,
    REGION,
    endpoint_arn,
    start_task,
    stop_task,
    task_arn,
)
from tests.support.provider import (
    FunctionTimedOutError,
    ProviderFailedError,
    cfn_event,
    run_provider,
)
from tests.support.served import ROOT_STACK_ID, STACK_ID, ServedAws

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.support.cloud import Cloud
    from tests.support.dms_double import DmsDouble
    from tests.support.served import FixedStack

T1: Final = task_arn("T1")
SLOW_CALL_SECONDS: Final = 500
"""A DMS so slow that after one call the next one's retry budget no longer fits."""


def props(**settings: Any) -> dict[str, Any]:
    return {"ReplicationTaskArn": T1, **settings}


def status(double: DmsDouble, arn: str) -> str:
    item = double.item(arn)
    assert item is not None
    return item.status


# -- a slow DMS against the function's timeout --------------------------------------------


def test_two_slow_calls_would_exceed_the_function_timeout() -> None:
    """The premise of the tests below: without the time-left check, a Create (a describe,
    then a start) would run past the synthesized Timeout."""
    assert 2 * SLOW_CALL_SECONDS > HANDLER_TIMEOUT_SECONDS
    reserve = CALL_BUDGET_SECONDS + HANDLER_MARGIN_SECONDS
    assert HANDLER_TIMEOUT_SECONDS - SLOW_CALL_SECONDS < reserve <= HANDLER_TIMEOUT_SECONDS


def test_forward_create_on_a_slow_dms_fails_with_what_it_waited_for(double: DmsDouble) -> None:
    """No invocation runs past its timeout; the Create fails at its own deadline with a
    message naming the task, the goal and the call it could not make."""
    double.add_task("T1")
    double.call_latency_seconds = SLOW_CALL_SECONDS
    with pytest.raises(ProviderFailedError) as caught:
        run_provider(cfn_event("Create", props(TimeoutSeconds="600")), double)
    assert not isinstance(caught.value.cause, FunctionTimedOutError)
    assert caught.value.reason == (
        f"Timed out after 600 s waiting for replication task {T1} to run; last status ready. "
        "It was left as it is."
    )
    assert double.writes() == []
    assert status(double, T1) == "ready"


def test_rollback_delete_on_a_slow_dms_never_fails(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    """A Delete in a rollback whose stop never fits in an invocation completes (with a
    warning) instead of failing through a Lambda timeout."""
    double.add_task("T1", status="running")
    double.call_latency_seconds = SLOW_CALL_SECONDS
    stack_status.status = "ROLLBACK_IN_PROGRESS"
    result = run_provider(cfn_event("Delete", props(), physical_id=T1), double)
    assert result.physical_id == T1
    assert result.polls > MAX_TIMEOUT_SECONDS // (SLOW_CALL_SECONDS + 10) - 2


def test_rollback_delete_on_a_moderately_slow_dms_stops_the_task(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    double.add_task("T1", status="running")
    double.call_latency_seconds = SLOW_CALL_SECONDS // 3
    stack_status.status = "ROLLBACK_IN_PROGRESS"
    run_provider(cfn_event("Delete", props(), physical_id=T1), double)
    assert double.writes() == [stop_task(T1)]
    assert status(double, T1) == "stopped"


# -- IAM propagation ------------------------------------------------------------------------

READS: Final = {"Effect": "Allow", "Action": "dms:Describe*", "Resource": "*"}
STARTS: Final = {"Effect": "Allow", "Action": "dms:StartReplicationTask", "Resource": "*"}


def _policed(stack: FixedStack, *, start_granted_ago: float | None) -> Iterator[PolicedDouble]:
    """The double behind IAM with IAM's propagation delay: reads granted long ago, the start
    granted ``start_granted_ago`` seconds before the request (None: never)."""
    double = PolicedDouble(propagation_seconds=IAM_DELAY_SECONDS)
    double.grant("Reads", [READS])
    double.granted_at["Reads"] -= 3600
    if start_granted_ago is not None:
        double.grant("Starts", [STARTS])
        double.granted_at["Starts"] -= start_granted_ago
    double.add_task("T1")
    with ServedAws(double, stack):
        yield double


IAM_DELAY_SECONDS: Final = 60


def test_start_denied_while_the_grant_propagates_is_made_by_a_later_poll(
    stack_status: FixedStack,
) -> None:
    for double in _policed(stack_status, start_granted_ago=0):
        result = run_provider(cfn_event("Create", props()), double)
        assert result.data["Status"] == "running"
        assert double.writes() == [start_task(T1, "start-replication")]
        # Denied in on_event and by the polls of the first minute, then allowed.
        denied = [operation for operation, _ in double.denials]
        assert set(denied) == {"StartReplicationTask"}
        assert 1 < len(denied) <= 1 + IAM_DELAY_SECONDS // 10


def test_start_denied_beyond_the_propagation_window_fails_naming_task_and_action(
    stack_status: FixedStack,
) -> None:
    for double in _policed(stack_status, start_granted_ago=None):
        with pytest.raises(ProviderFailedError) as caught:
            run_provider(cfn_event("Create", props()), double)
        assert caught.value.reason == (
            f"StartReplicationTask for {T1} failed, this function is not allowed to do that: "
            "AccessDeniedFault: User is not authorized to perform: dms:StartReplicationTask on "
            f"resource: {T1}"
        )
        assert double.writes() == []
        assert double.clock - CLOCK_START >= IAM_PROPAGATION_SECONDS


# -- nested stacks ----------------------------------------------------------------------------

ROOT_ROLLBACKS: Final = ("ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS")


@pytest.mark.parametrize("root_status", ROOT_ROLLBACKS)
@pytest.mark.parametrize("on_delete", ["leave-running", "stop"])
def test_nested_stack_deleted_whole_in_a_root_rollback_stops_the_run_it_started(
    double: DmsDouble, stack_status: FixedStack, root_status: str, on_delete: str
) -> None:
    """The nested stack's own status is DELETE_IN_PROGRESS; the root's says rollback: the
    starter stops the run it started, whatever OnDelete says, and never fails."""
    double.add_task("T1", status="running")
    stack_status.status, stack_status.root_status = "DELETE_IN_PROGRESS", root_status
    run_provider(cfn_event("Delete", props(OnDelete=on_delete), physical_id=T1), double)
    assert double.writes() == [stop_task(T1)]
    assert status(double, T1) == "stopped"
    assert stack_status.calls == [STACK_ID, ROOT_STACK_ID]


@pytest.mark.parametrize("on_delete", ["leave-running", "stop"])
def test_nested_stack_deleted_whole_in_a_root_rollback_leaves_an_adopted_run(
    double: DmsDouble, stack_status: FixedStack, on_delete: str
) -> None:
    double.add_task("T1", status="running")
    stack_status.status, stack_status.root_status = "DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"
    event = cfn_event("Delete", props(OnDelete=on_delete), physical_id=f"{T1}#adopted")
    run_provider(event, double)
    assert double.writes() == []
    assert status(double, T1) == "running"


def test_nested_stack_removed_by_a_forward_root_update_follows_on_delete(
    double: DmsDouble, stack_status: FixedStack
) -> None:
    """A nested stack deleted because the root's update removed it: a forward Delete."""
    double.add_task("T1", status="running")
    stack_status.status = "DELETE_IN_PROGRESS"
    stack_status.root_status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    run_provider(cfn_event("Delete", props(OnDelete="leave-running"), physical_id=T1), double)
    assert double.writes() == []
    assert status(double, T1) == "running"


# -- the emulated CloudFormation with IAM's propagation delay ---------------------------------


def test_create_goes_through_iam_propagation_delay(cloud: Cloud) -> None:
    """Every policy denies for a while after it is created; the starter of a task given by
    ARN runs right after its grant was created and retries until the grant holds."""
    cloud.double.add_task("EXISTINGTASK", status="stopped")
    cloud.double.propagation_seconds = 30
    cloud.seconds_per_resource = 10
    assert cloud.deploy(shape_template(Orders(by_arn=True))) == "CREATE_COMPLETE"
    assert status(cloud.double, EXISTING) == "running"
    # The grant by ARN was created right before the starter: its start was denied first.
    assert ("StartReplicationTask", EXISTING) in cloud.double.denials
    assert start_task(EXISTING, "resume-processing") in cloud.double.accepted_writes


# -- the emulated CloudFormation: a nested stack deleted whole in its root's rollback -----------


@dataclass(frozen=True)
class NestedOrders:
    """A nested stack (in the root ``OrdersRoot``) with a task, its starter, and a starter of
    an existing task given by ARN (running before: adopted)."""

    on_delete: OnDelete

    def template(self) -> dict[str, Any]:
        root = Stack(App(), "OrdersRoot", env=Environment(account=ACCOUNT, region=REGION))
        nested = NestedStack(root, "Orders")
        task = dms.CfnReplicationTask(
            nested,
            "OrdersTask",
            migration_type="full-load-and-cdc",
            replication_instance_arn=f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:INSTANCE",
            source_endpoint_arn=endpoint_arn("SOURCE"),
            target_endpoint_arn=endpoint_arn("TARGET"),
            table_mappings=json.dumps(selection_rules("orders")),
            resource_identifier="orders",
        )
        ReplicationTaskStarter(nested, "StartOrders", task=task, on_delete=self.on_delete)
        ReplicationTaskStarter(nested, "StartExisting", task=EXISTING, on_delete=self.on_delete)
        return dict(Template.from_stack(nested).to_json())


@pytest.mark.parametrize("on_delete", [OnDelete.LEAVE_RUNNING, OnDelete.STOP])
def test_nested_stack_deleted_whole_in_a_root_rollback(cloud: Cloud, on_delete: OnDelete) -> None:
    """A root update adds a nested stack with a starter, then fails: CloudFormation deletes
    the nested stack whole while the root rolls back. The starter stops the run it started
    (so the task can be deleted), leaves the adopted run alone, and nothing is denied."""
    cloud.double.add_task("EXISTINGTASK", status="running")
    orders = task_arn("orders")
    assert cloud.create_in_root_update(NestedOrders(on_delete).template()) == "CREATE_COMPLETE"
    assert status(cloud.double, orders) == "running"
    assert cloud.delete_whole_in_root_rollback() == "DELETE_COMPLETE"
    assert cloud.writes_of("DELETE_IN_PROGRESS") == [stop_task(orders)]
    assert orders not in cloud.double.tasks  # stopped, then deleted by CloudFormation
    assert status(cloud.double, EXISTING) == "running"
    assert cloud.double.denials == []
    assert cloud.root_status == "UPDATE_ROLLBACK_COMPLETE"
