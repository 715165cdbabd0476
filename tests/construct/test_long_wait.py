"""``long_wait`` in the template: the wait condition, its handle and ``Custom::DmsLongWait`` per
starter, their order and logical ids, the stack's one state machine, its grants, nag and
cfn-lint."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint
from dms_task_starter import (
    CdcStart,
    LongWait,
    OnDelete,
    ReplicationStarter,
    ReplicationTaskStarter,
    StartType,
    WaitFor,
)
from dms_task_starter_runtime import contract

from tests.support.cdk import (
    PROVIDER_PREFIX,
    REPLICATION_STARTER_TYPE,
    STARTER_TYPE,
    TASK_ARN,
    depends_on,
    make_config,
    make_task,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.support.cdk import Synthesized

HANDLE_TYPE: Final = "AWS::CloudFormation::WaitConditionHandle"
CONDITION_TYPE: Final = "AWS::CloudFormation::WaitCondition"
LONG_WAIT_TYPE: Final = "Custom::DmsLongWait"
STATE_MACHINE_TYPE: Final = "AWS::StepFunctions::StateMachine"


def build_long_waits(stack: Stack) -> None:
    """A guarded task waited for until its full load is finished (6 h at most), a task given
    by ARN waited for until it runs, and a Serverless replication with the defaults."""
    task = make_task(stack, "Task", resource_identifier="orders")
    ReplicationTaskStarter(
        stack, "Orders", task=task, long_wait=LongWait(maximum=Duration.hours(6))
    )
    ReplicationTaskStarter(stack, "ByArn", task=TASK_ARN, long_wait=LongWait(until=WaitFor.RUNNING))
    ReplicationStarter(
        stack, "Serverless", replication_config=make_config(stack, "Config"), long_wait=LongWait()
    )


@pytest.fixture(scope="module")
def waits(make_synth: Callable[..., Synthesized]) -> Synthesized:
    return make_synth(build_long_waits, nag=True)


def trio(
    synth: Synthesized, starter: str
) -> tuple[tuple[str, Any], tuple[str, Any], tuple[str, Any]]:
    return (
        synth.only(HANDLE_TYPE, f"{starter}WaitHandle"),
        synth.only(LONG_WAIT_TYPE, f"{starter}LongWait"),
        synth.only(CONDITION_TYPE, f"{starter}WaitCondition"),
    )


def starter_id(synth: Synthesized, type_: str, prefix: str) -> str:
    return synth.only(type_, prefix)[0]


def test_each_starter_gets_a_handle_a_long_wait_and_a_wait_condition_in_order(
    waits: Synthesized,
) -> None:
    (handle, _), (long_wait, resource), (_, condition) = trio(waits, "Orders")
    grants = waits.only("AWS::IAM::Policy", f"{PROVIDER_PREFIX}LongWaitGrants")[0]
    assert resource["Properties"] == {
        "ServiceToken": waits.only(STARTER_TYPE, "Orders")[1]["Properties"]["ServiceToken"],
        "ReplicationTaskArn": {"Ref": "Task"},
        "Until": "full-load-finished",
        "MaximumSeconds": "21600",
        "WaitHandle": handle,
    }
    assert {
        starter_id(waits, STARTER_TYPE, "Orders"),
        handle,
        grants,
        waits.handler_role(),
    } <= depends_on(resource)
    assert condition["Properties"] == {
        "Handle": {"Ref": handle},
        "Count": 1,
        "Timeout": str(21600 + 240),
    }
    assert depends_on(condition) == {long_wait}


def test_a_twelve_hour_wait_stays_within_the_wait_conditions_limit(waits: Synthesized) -> None:
    _, (_, resource), (_, condition) = trio(waits, "Serverless")
    assert resource["Properties"]["ReplicationConfigArn"] == {"Ref": "Config"}
    assert resource["Properties"]["MaximumSeconds"] == "43200"
    assert condition["Properties"]["Timeout"] == "43200"
    assert starter_id(waits, REPLICATION_STARTER_TYPE, "Serverless") in depends_on(resource)
    _, by_arn = trio(waits, "ByArn")[1]
    assert by_arn["Properties"]["ReplicationTaskArn"] == TASK_ARN
    assert by_arn["Properties"]["Until"] == "running"


def test_with_a_long_wait_the_starter_answers_once_the_start_is_accepted(
    make_synth: Callable[..., Synthesized],
) -> None:
    def build(stack: Stack) -> None:
        ReplicationTaskStarter(stack, "Implicit", task=TASK_ARN, long_wait=LongWait())
        ReplicationTaskStarter(
            stack, "Explicit", task=TASK_ARN, long_wait=LongWait(), wait_for=WaitFor.RUNNING
        )
        ReplicationTaskStarter(stack, "Plain", task=TASK_ARN)

    synth = make_synth(build)
    wait_for = {
        name: synth.only(STARTER_TYPE, name)[1]["Properties"]["WaitFor"]
        for name in ("Implicit", "Explicit", "Plain")
    }
    assert wait_for == {"Implicit": "nothing", "Explicit": "running", "Plain": "running"}


def test_the_starter_exposes_its_wait_condition_and_a_dependency_on_it_orders_after_it() -> None:
    stack = Stack(App(), "S")
    starter = ReplicationTaskStarter(stack, "Orders", task=TASK_ARN, long_wait=LongWait())
    consumer = make_task(stack, "Consumer", migration_type="cdc")
    consumer.node.add_dependency(starter)
    plain = ReplicationTaskStarter(stack, "Plain", task=TASK_ARN)
    assert starter.wait_condition is not None
    resources = Template.from_stack(stack).to_json()["Resources"]
    condition = stack.resolve(starter.wait_condition.logical_id)
    assert resources[condition]["Type"] == CONDITION_TYPE
    assert condition in depends_on(resources["Consumer"])
    assert plain.wait_condition is None


# -- logical ids: a new start, a new wait ---------------------------------------------------------


def long_wait_ids(**starter: Any) -> tuple[str, ...]:
    """The logical ids of the trio of a guarded task's starter built with ``starter``."""
    stack = Stack(App(), "S")
    task_props = starter.pop("task_props", {})
    task = make_task(stack, "Task", resource_identifier="orders", **task_props)
    ReplicationTaskStarter(stack, "Orders", task=task, **{"long_wait": LongWait(), **starter})
    resources = Template.from_stack(stack).to_json()["Resources"]
    return tuple(
        sorted(
            name
            for name, r in resources.items()
            if r["Type"] in (HANDLE_TYPE, LONG_WAIT_TYPE, CONDITION_TYPE)
        )
    )


BASE: Final = long_wait_ids()


def digests(ids: tuple[str, ...]) -> set[str]:
    return {name[-8:] for name in ids}


def test_the_trio_shares_one_digest() -> None:
    assert len(BASE) == 3
    assert len(digests(BASE)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"cdc_start": CdcStart.at_position("0/5120E10")},
        {"start_type": StartType.RELOAD_TARGET},
        {"task_props": {"table_mappings": '{"rules": [1]}'}},
        {"task_props": {"replication_task_settings": '{"Logging": {}}'}},
        {"long_wait": LongWait(until=WaitFor.RUNNING)},
        {"long_wait": LongWait(maximum=Duration.hours(2))},
    ],
    ids=["cdc_start", "start_type", "table_mappings", "task_settings", "until", "maximum"],
)
def test_what_makes_a_new_start_makes_a_new_wait(change: dict[str, Any]) -> None:
    changed = long_wait_ids(**change)
    assert digests(changed).isdisjoint(digests(BASE))
    assert [name[:-8] for name in changed] == [name[:-8] for name in BASE]


@pytest.mark.parametrize(
    "change",
    [
        {"on_delete": OnDelete.LEAVE_RUNNING},
        {"timeout": Duration.minutes(10)},
        {"poll_interval": Duration.seconds(30)},
        {"wait_for": WaitFor.RUNNING},
        {"long_wait": LongWait(until=WaitFor.FULL_LOAD_FINISHED, maximum=Duration.minutes(720))},
    ],
    ids=["on_delete", "timeout", "poll_interval", "wait_for", "same_long_wait"],
)
def test_what_starts_nothing_keeps_the_wait(change: dict[str, Any]) -> None:
    assert long_wait_ids(**change) == BASE


# -- the state machine and its grants ----------------------------------------------------------


def test_one_state_machine_per_stack_and_none_without_long_waits(
    waits: Synthesized, make_synth: Callable[..., Synthesized]
) -> None:
    assert len(waits.resources(STATE_MACHINE_TYPE)) == 2  # the Provider framework's waiter, ours
    without = make_synth(lambda stack: ReplicationTaskStarter(stack, "S", task=TASK_ARN))
    assert len(without.resources(STATE_MACHINE_TYPE)) == 1
    assert without.resources("AWS::CloudFormation::WaitCondition") == {}
    on_event = without.only("AWS::Lambda::Function", f"{PROVIDER_PREFIX}OnEvent")[1]
    assert contract.STATE_MACHINE_ARN_ENV not in on_event["Properties"]["Environment"]["Variables"]


def long_wait_machine(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    return synth.only(STATE_MACHINE_TYPE, f"{PROVIDER_PREFIX}LongWaitStateMachine")


def definition(synth: Synthesized) -> dict[str, Any]:
    """The ASL, with the signaller's ARN as a placeholder."""
    parts = long_wait_machine(synth)[1]["Properties"]["DefinitionString"]["Fn::Join"][1]
    return dict(json.loads("".join(p if isinstance(p, str) else "SIGNALLER" for p in parts)))


def test_the_state_machine_checks_waits_and_checks_again_until_signalled(
    waits: Synthesized,
) -> None:
    _, machine = long_wait_machine(waits)
    assert machine["Properties"]["StateMachineType"] == "STANDARD"
    asl = definition(waits)
    states = asl["States"]
    assert asl["StartAt"] == "Check"
    assert asl["TimeoutSeconds"] == contract.LONG_WAIT_EXECUTION_TIMEOUT_SECONDS
    assert {name: state["Type"] for name, state in states.items()} == {
        "Check": "Task",
        "Signalled?": "Choice",
        "CheckInterval": "Wait",
        "Signalled": "Succeed",
    }
    assert states["Check"]["Resource"] == "SIGNALLER"
    assert (states["Check"]["ResultPath"], states["Check"]["Next"]) == ("$.check", "Signalled?")
    assert states["Signalled?"]["Choices"] == [
        {"Variable": "$.check.done", "BooleanEquals": True, "Next": "Signalled"}
    ]
    assert states["Signalled?"]["Default"] == "CheckInterval"
    assert states["CheckInterval"] == {"Type": "Wait", "Seconds": 60, "Next": "Check"}
    assert states["Signalled"]["OutputPath"] == "$.check"  # not the input, which holds the URL


def test_the_signaller_runs_the_check_entry_point_with_its_own_role(waits: Synthesized) -> None:
    name, signaller = waits.only("AWS::Lambda::Function", f"{PROVIDER_PREFIX}Signaller")
    assert signaller["Properties"]["Handler"] == "dms_task_starter_runtime.long_wait.check"
    role = signaller["Properties"]["Role"]["Fn::GetAtt"][0]
    assert role != waits.handler_role()
    statements = [
        statement
        for policy in waits.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = sorted(
        action
        for s in statements
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )
    assert actions == [
        "dms:DescribeReplicationTasks",
        "dms:DescribeReplications",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    machine_role = long_wait_machine(waits)[1]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invoke = [
        statement
        for policy in waits.resources("AWS::IAM::Policy").values()
        if {"Ref": machine_role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert [s["Action"] for s in invoke] == ["lambda:InvokeFunction"]
    assert invoke[0]["Resource"][0] == {"Fn::GetAtt": [name, "Arn"]}


def test_the_handler_may_start_and_stop_only_its_stacks_long_waits(waits: Synthesized) -> None:
    name, grants = waits.only("AWS::IAM::Policy", f"{PROVIDER_PREFIX}LongWaitGrants")
    machine = long_wait_machine(waits)[0]
    assert grants["Properties"]["Roles"] == [{"Ref": waits.handler_role()}]
    statements = {s["Sid"]: s for s in grants["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["StartLongWaits"]["Action"] == "states:StartExecution"
    assert statements["StartLongWaits"]["Resource"] == {"Ref": machine}
    assert statements["StopLongWaits"]["Action"] == "states:StopExecution"
    executions = statements["StopLongWaits"]["Resource"]["Fn::Join"][1]
    assert executions[-3:] == [":execution:", {"Fn::GetAtt": [machine, "Name"]}, ":*"]
    assert statements["ReadWaitHandles"]["Action"] == "cloudformation:DescribeStackResource"
    assert statements["ReadWaitHandles"]["Resource"] == {"Ref": "AWS::StackId"}
    other_states = [
        s
        for _, s in waits.handler_role_statements()
        if "states:" in json.dumps(s.get("Action")) and _ != name
    ]
    assert other_states == []
    on_event = waits.only("AWS::Lambda::Function", f"{PROVIDER_PREFIX}OnEvent")[1]
    variables = on_event["Properties"]["Environment"]["Variables"]
    assert variables[contract.STATE_MACHINE_ARN_ENV] == {"Ref": machine}


def test_no_url_is_in_a_property_or_an_output(waits: Synthesized) -> None:
    """The handle's Ref (its URL) goes only into the wait condition."""
    handles = set(waits.resources(HANDLE_TYPE))
    for name, resource in waits.all_resources().items():
        refs = {h for h in handles if json.dumps({"Ref": h}) in json.dumps(resource)}
        assert not refs or resource["Type"] == CONDITION_TYPE, name
    assert "Outputs" not in waits.template_json()


def test_nag_passes_with_each_finding_acknowledged_on_the_provider(waits: Synthesized) -> None:
    """``waits`` was synthesized with AwsSolutionsChecks, which raises on any finding left."""
    acknowledged = {
        name: {
            rule["id"]
            for rule in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        }
        for name, r in waits.all_resources().items()
    }
    assert {"AwsSolutions-SF1", "AwsSolutions-SF2"} <= acknowledged[long_wait_machine(waits)[0]]
    signaller = waits.only("AWS::Lambda::Function", f"{PROVIDER_PREFIX}Signaller")[0]
    assert acknowledged[signaller] == {"AwsSolutions-L1"}
    assert {
        name
        for name, rules in acknowledged.items()
        if rules and not name.startswith(PROVIDER_PREFIX)
    } == set()


def test_cfn_lint_is_clean(waits: Synthesized) -> None:
    template = (waits.outdir / f"{waits.stack.artifact_id}.template.json").read_text()
    matches = lint(template, config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")] == []


# -- synth-time errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: LongWait(until=WaitFor.NOTHING), ValueError, "long_wait.until: WaitFor.NOTHING"),
        (
            lambda: LongWait(until="sometime"),  # type: ignore[arg-type]
            ValueError,
            "long_wait.until: got str 'sometime'",
        ),
        (
            lambda: LongWait(maximum=Duration.seconds(30)),
            ValueError,
            "long_wait.maximum: got 30 seconds",
        ),
        (
            lambda: LongWait(maximum=Duration.seconds(90)),
            ValueError,
            "long_wait.maximum: got 90 seconds",
        ),
        (
            lambda: LongWait(maximum=Duration.hours(13)),
            ValueError,
            "long_wait.maximum: got 46800 seconds",
        ),
        (
            lambda: LongWait(maximum=3600),  # type: ignore[arg-type]
            TypeError,
            "long_wait.maximum: got int 3600; expected an aws_cdk.Duration",
        ),
        (
            lambda: LongWait(WaitFor.RUNNING),  # type: ignore[call-arg]
            TypeError,
            "positional",
        ),
    ],
)
def test_bad_long_waits_are_refused_naming_the_property(
    make: Callable[[], object], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        make()


def test_a_long_wait_that_is_not_a_long_wait_is_refused() -> None:
    stack = Stack(App(), "S")
    with pytest.raises(TypeError, match=r"long_wait: got bool True; expected a LongWait"):
        ReplicationTaskStarter(stack, "S", task=TASK_ARN, long_wait=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"long_wait: got str '12h'; expected a LongWait"):
        ReplicationStarter(stack, "R", replication_config=make_config(stack, "C"), long_wait="12h")  # type: ignore[arg-type]


def test_waiting_for_the_full_load_of_a_cdc_task_is_refused() -> None:
    stack = Stack(App(), "S")
    cdc = make_task(stack, "Cdc", migration_type="cdc")
    with pytest.raises(
        ValueError, match=r"long_wait\.until: a cdc task \(replication\) has no full load"
    ):
        ReplicationTaskStarter(stack, "S", task=cdc, long_wait=LongWait())
    config = make_config(stack, "Config", replication_type="cdc")
    with pytest.raises(ValueError, match=r"long_wait\.until: a cdc task"):
        ReplicationStarter(stack, "R", replication_config=config, long_wait=LongWait())
    ReplicationTaskStarter(stack, "Running", task=cdc, long_wait=LongWait(until=WaitFor.RUNNING))


def test_the_string_value_of_until_is_accepted_and_normalized() -> None:
    assert LongWait(until="running").until is WaitFor.RUNNING  # type: ignore[arg-type]
    assert LongWait(maximum=Duration.minutes(1)).maximum_seconds == 60
    assert LongWait().maximum_seconds == 43200
