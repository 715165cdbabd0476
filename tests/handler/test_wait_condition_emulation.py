"""The emulated CloudFormation's wait conditions, with a state machine that signals them.

The templates here are written by hand from CloudFormation's resource references (a handle,
a wait condition, a Lambda function and a Step Functions state machine that polls DMS and
PUTs the signal), independent of the library's long wait, so that the emulation is tested on
its own: what a wait condition does with the signals (Count, UniqueId, SUCCESS, FAILURE,
Timeout, unparsable data, a refused PUT), how it is updated (never), how a stack deleted or
an update cancelled while it waits ends, and that each function's calls carry its own role's
grants. Texts are CloudFormation's, as stack events show them.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError

import boto3
import pytest
from aws_cdk import Duration, Stack
from botocore.exceptions import ClientError
from dms_task_starter import ReplicationTaskStarter, WaitFor
from dms_task_starter_runtime.contract import STARTER_RESOURCE_TYPE

from tests.support.cdk import make_task, shape_template
from tests.support.cloud import FUNCTION_TYPE, Cloud, Deployed, Interrupt, PolicedDouble
from tests.support.dms_double import INSTANCE_ARN, endpoint_arn, task_arn
from tests.support.emulated_functions import UNIQUE_ID
from tests.support.provider import CUSTOM_RESOURCE_TIMED_OUT
from tests.support.served import STACK_ID
from tests.support.wait_conditions import SECRET_PREFIX

if TYPE_CHECKING:
    from tests.support.stepfunctions import Execution

ORDERS = task_arn("orders")
POLL_SECONDS = 60
OPERATOR = "Operator"
"""A role outside the stack: the person (or pipeline) who starts the task and the wait."""


def _role() -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}


def _policy(role: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": f"{role}Policy",
            "Roles": [{"Ref": role}],
            "PolicyDocument": {"Statement": statements},
        },
    }


def _allow(action: str, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _definition() -> dict[str, Any]:
    """Poll (the signaller), Choice on its answer, Wait, poll again; succeed when done."""
    states = {
        "Poll": {"Type": "Task", "Resource": "@", "ResultPath": "$.poll", "Next": "Done?"},
        "Done?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.poll.done", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": "Poll"},
        "Done": {"Type": "Succeed"},
    }
    before, after = json.dumps({"StartAt": "Poll", "States": states}).split('"@"')
    return {"Fn::Join": ["", [f'{before}"', {"Fn::GetAtt": ["Signaller", "Arn"]}, f'"{after}']]}


@dataclass(frozen=True)
class Pair:
    handle: str = "Handle"
    wait: str = "Wait"
    timeout: int = 7200
    count: int | None = None


@dataclass
class Shape:
    pairs: tuple[Pair, ...] = (Pair(),)
    signaller_reads_dms: bool = True
    machine_invokes: bool = True
    later: str = "1"

    def template(self) -> dict[str, Any]:
        reads = [_allow("dms:DescribeReplicationTasks", "*")] if self.signaller_reads_dms else []
        invokes = [_allow("lambda:InvokeFunction", {"Fn::GetAtt": ["Signaller", "Arn"]})]
        resources: dict[str, Any] = {
            "Task": {
                "Type": "AWS::DMS::ReplicationTask",
                "Properties": {
                    "ResourceIdentifier": "orders",
                    "MigrationType": "full-load",
                    "ReplicationInstanceArn": INSTANCE_ARN,
                    "SourceEndpointArn": endpoint_arn("SOURCE"),
                    "TargetEndpointArn": endpoint_arn("TARGET"),
                    "TableMappings": '{"rules": []}',
                },
            },
            "SignallerRole": _role(),
            "SignallerPolicy": _policy("SignallerRole", reads or [_allow("s3:GetObject", "*")]),
            "Signaller": {
                "Type": FUNCTION_TYPE,
                "DependsOn": ["SignallerPolicy"],
                "Properties": {
                    "Handler": "tests.support.emulated_functions.signal_when_loaded",
                    "Runtime": "python3.13",
                    "Role": {"Fn::GetAtt": ["SignallerRole", "Arn"]},
                    "MemorySize": 256,
                    "Timeout": 60,
                },
            },
            "MachineRole": _role(),
            "MachinePolicy": _policy(
                "MachineRole", invokes if self.machine_invokes else [_allow("s3:GetObject", "*")]
            ),
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "DependsOn": ["MachinePolicy"],
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
                    "DefinitionString": _definition(),
                },
            },
            "Later": {
                "Type": "AWS::SSM::Parameter",
                "DependsOn": [pair.wait for pair in self.pairs],
                "Properties": {"Type": "String", "Value": self.later},
            },
        }
        for pair in self.pairs:
            resources[pair.handle] = {
                "Type": "AWS::CloudFormation::WaitConditionHandle",
                "DependsOn": ["Task", "Machine"],
            }
            properties: dict[str, Any] = {
                "Handle": {"Ref": pair.handle},
                "Timeout": str(pair.timeout),
            }
            if pair.count is not None:
                properties["Count"] = str(pair.count)
            resources[pair.wait] = {
                "Type": "AWS::CloudFormation::WaitCondition",
                "Properties": properties,
            }
        return {"Resources": resources}


@dataclass
class Operator:
    """Outside CloudFormation: starts the task and the state machine once the handle exists,
    or PUTs signals itself."""

    cloud: Cloud
    load_steps: int = 30
    start_task: bool = True
    start_wait: bool = True
    signals: list[tuple[dict[str, Any] | bytes, dict[str, str]]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    fail_start: str = ""

    def __post_init__(self) -> None:
        self.cloud.double.grant(
            "OperatorPolicy",
            [_allow("dms:*", "*"), _allow("states:StartExecution", "*")],
            (OPERATOR,),
        )

    def on(self, handle: str) -> Operator:
        self.cloud.after_create[handle] = self.act
        return self

    def act(self, handle: Deployed) -> None:
        double = self.cloud.double
        task = double.tasks[ORDERS]
        task.full_load_steps = self.load_steps
        if self.fail_start:
            double.fail_next_start(ORDERS, self.fail_start)
        with double.acting_as(OPERATOR):
            if self.start_task:
                while task.status != "ready":
                    double.advance()
                double.handle(
                    "StartReplicationTask",
                    {"ReplicationTaskArn": ORDERS, "StartReplicationTaskType": "start-replication"},
                )
            if self.start_wait:
                machine = self.cloud.physical_id("Machine")
                document = json.dumps({"arn": ORDERS, "url": handle.physical_id})
                self.cloud.stepfunctions.handle(
                    "StartExecution", {"stateMachineArn": machine, "input": document}
                )
        for body, headers in self.signals:
            self.answers.append(put(handle.physical_id, body, headers))


def put(url: str, body: dict[str, Any] | bytes, headers: dict[str, str]) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except HTTPError as refused:
        return refused.code


def signal(status: str, unique_id: str, reason: str = "", data: str = "") -> dict[str, Any]:
    return {"Status": status, "UniqueId": unique_id, "Reason": reason, "Data": data}


NO_CONTENT_TYPE = {"Content-Type": ""}


def error_of(cloud: Cloud, logical_id: str) -> str:
    (step,) = [s for s in cloud.steps if s.logical_id == logical_id and s.error]
    return step.error


def step_at(cloud: Cloud, logical_id: str, action: str = "Create") -> float:
    (step,) = [s for s in cloud.steps if (s.logical_id, s.action) == (logical_id, action)]
    return step.at


def only_execution(cloud: Cloud) -> Execution:
    (execution,) = cloud.stepfunctions.executions.values()
    return execution


# -- waits that end ----------------------------------------------------------------------------


def test_a_wait_outlasts_the_custom_resource_limit_and_ends_with_the_full_load(
    cloud: Cloud,
) -> None:
    cloud.custom_resource_limit_seconds = 600
    Operator(cloud, load_steps=30).on("Handle")
    assert cloud.deploy(Shape().template()) == "CREATE_COMPLETE"
    task = cloud.double.tasks[ORDERS]
    finished = task.run.full_load_finish_date
    assert finished is not None
    assert task.stop_reason == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    waited = step_at(cloud, "Wait") - step_at(cloud, "Handle")
    assert waited > cloud.custom_resource_limit_seconds
    # The signal comes at the first poll after the load finished; Later only after it.
    assert finished <= step_at(cloud, "Wait") < finished + POLL_SECONDS + 1
    assert step_at(cloud, "Later") >= step_at(cloud, "Wait")
    assert json.loads(cloud.deployed["Wait"].data["Data"]) == {UNIQUE_ID: "stopped"}
    execution = only_execution(cloud)
    polls = execution.invocations
    assert execution.status == "SUCCEEDED"
    assert execution.transitions == 3 * polls  # Poll, Done?, then Pause or Done
    assert len(cloud.invocations) == polls
    assert {(i.function, i.role, i.memory_mb, i.error) for i in cloud.invocations} == {
        ("Signaller", "SignallerRole", 256, "")
    }
    assert cloud.double.denials == []
    assert cloud.waits.refused == []


def test_a_failure_signal_fails_the_wait_and_rolls_the_create_back(cloud: Cloud) -> None:
    Operator(cloud, fail_start="ORA-00942: table or view does not exist").on("Handle")
    assert cloud.deploy(Shape().template()) == "ROLLBACK_COMPLETE"
    assert error_of(cloud, "Wait") == (
        "Wait: WaitCondition received failed message: 'failed: ORA-00942: table or view does "
        f"not exist' for uniqueId: {UNIQUE_ID}"
    )
    assert "Later" not in [step.logical_id for step in cloud.steps]
    assert cloud.deployed == {}
    assert cloud.double.tasks == {}


def test_no_signal_times_the_wait_out_and_the_deleted_machine_stops_polling(cloud: Cloud) -> None:
    Operator(cloud, start_task=False).on("Handle")
    assert cloud.deploy(Shape(pairs=(Pair(timeout=900),)).template()) == "ROLLBACK_COMPLETE"
    assert error_of(cloud, "Wait") == (
        "Wait: WaitCondition timed out. Received 0 conditions when expecting 1"
    )
    assert step_at(cloud, "Wait") - step_at(cloud, "Handle") == 900
    polls = len(cloud.invocations)
    cloud.double.advance(3600)
    execution = only_execution(cloud)
    assert (execution.status, execution.stopped_by) == ("ABORTED", "DeleteStateMachine")
    assert len(cloud.invocations) == polls


def test_count_needs_distinct_unique_ids(cloud: Cloud) -> None:
    operator = Operator(cloud, start_task=False, start_wait=False).on("Handle")
    operator.signals = [(signal("SUCCESS", "one", data="a"), NO_CONTENT_TYPE)] * 2
    shape = Shape(pairs=(Pair(count=2, timeout=300),))
    assert cloud.deploy(shape.template()) == "ROLLBACK_COMPLETE"
    assert error_of(cloud, "Wait") == (
        "Wait: WaitCondition timed out. Received 1 conditions when expecting 2"
    )
    assert operator.answers == [200, 200]


def test_count_distinct_signals_succeed_with_their_data(cloud: Cloud) -> None:
    operator = Operator(cloud, start_task=False, start_wait=False).on("Handle")
    operator.signals = [
        (signal("SUCCESS", "one", data="a"), NO_CONTENT_TYPE),
        (signal("SUCCESS", "two", data="b"), NO_CONTENT_TYPE),
    ]
    assert cloud.deploy(Shape(pairs=(Pair(count=2),)).template()) == "CREATE_COMPLETE"
    assert json.loads(cloud.deployed["Wait"].data["Data"]) == {"one": "a", "two": "b"}
    assert step_at(cloud, "Wait") == step_at(cloud, "Handle")  # no time passed


def test_a_put_with_a_content_type_or_another_signature_is_refused(cloud: Cloud) -> None:
    operator = Operator(cloud, start_task=False, start_wait=False).on("Handle")
    good = signal("SUCCESS", "one")
    operator.signals = [(good, {"Content-Type": "application/json"})]
    cloud.after_create["Machine"] = lambda _machine: None
    original = operator.act

    def act_then_forge(handle: Deployed) -> None:
        original(handle)
        forged = handle.physical_id.replace(SECRET_PREFIX, f"{SECRET_PREFIX}0")
        operator.answers.append(put(forged, good, NO_CONTENT_TYPE))

    cloud.after_create["Handle"] = act_then_forge
    assert cloud.deploy(Shape(pairs=(Pair(timeout=120),)).template()) == "ROLLBACK_COMPLETE"
    assert operator.answers == [403, 403]
    assert len(cloud.waits.refused) == 2
    assert "Received 0 conditions" in error_of(cloud, "Wait")


def test_unparsable_data_fails_the_wait(cloud: Cloud) -> None:
    operator = Operator(cloud, start_task=False, start_wait=False).on("Handle")
    operator.signals = [(b"done", NO_CONTENT_TYPE)]
    assert cloud.deploy(Shape().template()) == "ROLLBACK_COMPLETE"
    assert error_of(cloud, "Wait") == "Wait: Unparsable WaitCondition data"


def test_a_timeout_above_twelve_hours_is_refused(cloud: Cloud) -> None:
    Operator(cloud, start_task=False, start_wait=False).on("Handle")
    assert cloud.deploy(Shape(pairs=(Pair(timeout=43201),)).template()) == "ROLLBACK_COMPLETE"
    assert "Timeout 43201 is not between 1 and 43200" in error_of(cloud, "Wait")


# -- updates --------------------------------------------------------------------------------


def test_an_existing_wait_condition_is_never_updated_and_a_new_pair_waits(cloud: Cloud) -> None:
    operator = Operator(cloud, start_task=False, start_wait=False).on("Handle")
    operator.signals = [(signal("SUCCESS", "first"), NO_CONTENT_TYPE)]
    assert cloud.deploy(Shape().template()) == "CREATE_COMPLETE"
    changed = Shape(pairs=(Pair(timeout=60),), later="2")
    assert cloud.deploy(changed.template()) == "UPDATE_COMPLETE"
    updated = [step.logical_id for step in cloud.steps_of("UPDATE_IN_PROGRESS")]
    assert updated == ["Later"]  # neither the handle nor the wait condition
    assert cloud.deployed["Wait"].properties["Timeout"] == "7200"
    second = Operator(cloud, start_task=False, start_wait=False).on("Handle2")
    second.signals = [(signal("SUCCESS", "second", data="x"), NO_CONTENT_TYPE)]
    both = Shape(pairs=(Pair(), Pair("Handle2", "Wait2")), later="3")
    assert cloud.deploy(both.template()) == "UPDATE_COMPLETE"
    created = [(s.action, s.logical_id) for s in cloud.steps_of("UPDATE_IN_PROGRESS")][1:]
    assert created == [("Create", "Handle2"), ("Create", "Wait2"), ("Update", "Later")]
    assert json.loads(cloud.deployed["Wait2"].data["Data"]) == {"second": "x"}


def test_an_update_cancelled_while_a_new_wait_condition_waits_is_rolled_back(
    cloud: Cloud,
) -> None:
    operator = Operator(cloud, start_task=False, start_wait=False).on("Handle")
    operator.signals = [(signal("SUCCESS", "first"), NO_CONTENT_TYPE)]
    cloud.deploy(Shape().template())
    Operator(cloud, start_task=False).on("Handle2")
    both = Shape(pairs=(Pair(), Pair("Handle2", "Wait2")), later="2")
    assert cloud.deploy(both.template(), interrupt=Interrupt(600)) == "UPDATE_ROLLBACK_COMPLETE"
    assert error_of(cloud, "Wait2") == "Wait2: Resource update cancelled"
    assert set(cloud.deployed) == set(Shape().template()["Resources"])
    handle2 = next(h for h in cloud.waits.handles.values() if h.logical_id == "Handle2")
    assert handle2.deleted_at is not None


def test_a_stack_deleted_while_it_waits_deletes_what_was_created(cloud: Cloud) -> None:
    Operator(cloud, start_task=False).on("Handle")
    assert cloud.deploy(Shape().template(), interrupt=Interrupt(1800)) == "DELETE_COMPLETE"
    assert error_of(cloud, "Wait") == "Wait: Resource creation cancelled"
    assert step_at(cloud, "Wait") == step_at(cloud, "Handle") + 1800
    assert cloud.deployed == {}
    assert [s.logical_id for s in cloud.steps_of("DELETE_IN_PROGRESS")][:3] == [
        "Wait",
        "Handle",
        "Machine",
    ]


# -- IAM, per role -------------------------------------------------------------------------


def test_a_signaller_without_its_grant_fails_as_on_aws(cloud: Cloud) -> None:
    Operator(cloud, start_task=False).on("Handle")
    shape = Shape(pairs=(Pair(timeout=300),), signaller_reads_dms=False)
    assert cloud.deploy(shape.template()) == "ROLLBACK_COMPLETE"
    execution = only_execution(cloud)
    # Lambda's errorType is the exception's class: botocore's modelled DMS fault.
    assert (execution.status, execution.error) == ("FAILED", "AccessDeniedFault")
    assert "dms:DescribeReplicationTasks" in json.loads(execution.cause or "")["errorMessage"]
    assert cloud.double.denials == [("DescribeReplicationTasks", "*")]
    assert "Received 0 conditions" in error_of(cloud, "Wait")


def test_a_state_machine_role_that_cannot_invoke_the_signaller_fails_the_execution(
    cloud: Cloud,
) -> None:
    Operator(cloud, start_task=False).on("Handle")
    shape = Shape(pairs=(Pair(timeout=300),), machine_invokes=False)
    assert cloud.deploy(shape.template()) == "ROLLBACK_COMPLETE"
    execution = only_execution(cloud)
    assert (execution.status, execution.error) == ("FAILED", "Lambda.AWSLambdaException")
    assert cloud.invocations == []


# -- the custom resource limit ------------------------------------------------------------


@dataclass(frozen=True)
class LoadAwaitedByTheStarter:
    """A full load awaited inside the custom resource (no long wait)."""

    def build(self, stack: Stack) -> None:
        task = make_task(
            stack, "OrdersTask", resource_identifier="orders", migration_type="full-load"
        )
        ReplicationTaskStarter(
            stack,
            "StartOrders",
            task=task,
            wait_for=WaitFor.FULL_LOAD_FINISHED,
            timeout=Duration.minutes(50),
        )


def test_a_custom_resource_that_outlasts_the_scaled_limit_fails_as_cloudformation_says(
    cloud: Cloud,
) -> None:
    cloud.custom_resource_limit_seconds = 600

    def long_load(task: Deployed) -> None:
        cloud.double.tasks[task.physical_id].full_load_steps = 120

    cloud.after_create["OrdersTask"] = long_load
    assert cloud.deploy(shape_template(LoadAwaitedByTheStarter())) == "ROLLBACK_COMPLETE"
    (starter,) = cloud.logical_ids(STARTER_RESOURCE_TYPE)
    assert error_of(cloud, starter) == f"{starter}: {CUSTOM_RESOURCE_TIMED_OUT}"
    assert 600 < step_at(cloud, starter) - step_at(cloud, "OrdersTask") <= 610


# -- DescribeStackResource -----------------------------------------------------------------


def test_describe_stack_resource_answers_a_handle_with_its_url(cloud: Cloud) -> None:
    Operator(cloud, start_task=False, start_wait=False).on("Handle").signals = [
        (signal("SUCCESS", "one"), NO_CONTENT_TYPE)
    ]
    cloud.deploy(Shape().template())
    client = boto3.client("cloudformation")
    with cloud.double.acting_as(OPERATOR):
        with pytest.raises(ClientError) as denied:
            client.describe_stack_resource(StackName=STACK_ID, LogicalResourceId="Handle")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        cloud.double.grant(
            "Describe", [_allow("cloudformation:DescribeStackResource", STACK_ID)], (OPERATOR,)
        )
        detail = client.describe_stack_resource(StackName=STACK_ID, LogicalResourceId="Handle")
        with pytest.raises(ClientError, match="Resource Nothing does not exist for stack"):
            client.describe_stack_resource(StackName=STACK_ID, LogicalResourceId="Nothing")
    resource = detail["StackResourceDetail"]
    assert resource["PhysicalResourceId"] == cloud.physical_id("Handle")
    assert SECRET_PREFIX in resource["PhysicalResourceId"]
    assert resource["ResourceType"] == "AWS::CloudFormation::WaitConditionHandle"


def test_a_policy_grants_only_the_roles_it_is_attached_to() -> None:
    double = PolicedDouble(default_role="HandlerRole")
    reads = [_allow("dms:DescribeReplicationTasks", "*")]
    double.grant("Unattached", reads, ())
    double.grant("Signaller", reads, ("SignallerRole",))
    assert not double.allows("dms:DescribeReplicationTasks", "*", {})
    assert double.allows("dms:DescribeReplicationTasks", "*", {}, role="SignallerRole")
    with double.acting_as("SignallerRole"):
        assert double.allows("dms:DescribeReplicationTasks", "*", {})
    double.grant("Default", reads)  # no roles given: the default role's (the handlers')
    assert double.allows("dms:DescribeReplicationTasks", "*", {})
    assert not double.allows("dms:DescribeReplicationTasks", "*", {}, role="Other")
