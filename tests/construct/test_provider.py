"""One provider per stack: functions, runtime, layer, logs, asset, sharing rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App, Duration, Environment, NestedStack, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from dms_task_starter import POWERTOOLS_LAYER_VERSION, ReplicationTaskStarter
from dms_task_starter.provider import PROVIDER_ID, ReplicationTaskStarterProvider
from dms_task_starter_runtime import contract

from tests.support.cdk import (
    HANDLER_ROLE_PREFIX,
    ROLLBACK_GUARD_TYPE,
    STARTER_TYPE,
    TASK_ARN,
    UPDATE_GUARD_TYPE,
    Synthesized,
    make_task,
)

if TYPE_CHECKING:
    from collections.abc import Callable

HANDLER_PREFIX = "dms_task_starter_runtime.handler."


def _starters(count: int) -> Callable[[Stack], None]:
    def build(stack: Stack) -> None:
        for index in range(count):
            task = make_task(stack, f"Task{index}", resource_identifier=f"task-{index}")
            ReplicationTaskStarter(stack, f"Starter{index}", task=task)

    return build


@pytest.fixture(scope="module")
def one(make_synth: Callable[..., Synthesized]) -> Synthesized:
    return make_synth(_starters(1))


@pytest.fixture(scope="module")
def five(make_synth: Callable[..., Synthesized]) -> Synthesized:
    return make_synth(_starters(5))


def _user_functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        name: fn
        for name, fn in synth.resources("AWS::Lambda::Function").items()
        if str(fn["Properties"].get("Handler", "")).startswith(HANDLER_PREFIX)
    }


def test_lambda_count_does_not_grow_with_starters(one: Synthesized, five: Synthesized) -> None:
    one_count = len(one.resources("AWS::Lambda::Function"))
    assert one_count == len(five.resources("AWS::Lambda::Function"))
    assert len(_user_functions(one)) == len(_user_functions(five)) == 2
    assert len(one.resources("AWS::StepFunctions::StateMachine")) == 1
    assert len(five.resources("AWS::StepFunctions::StateMachine")) == 1
    assert len(one.resources("AWS::IAM::Role")) == len(five.resources("AWS::IAM::Role"))


def test_one_custom_resource_per_starter(one: Synthesized, five: Synthesized) -> None:
    five.template.resource_count_is(STARTER_TYPE, 5)
    # Each guarded starter adds its update guard; the stack has one rollback guard.
    five.template.resource_count_is(UPDATE_GUARD_TYPE, 5)
    five.template.resource_count_is(ROLLBACK_GUARD_TYPE, 1)
    # Tasks of the template are granted by the stack's tag: no grant grows per starter.
    five.template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    grown = {
        type_
        for type_ in {r["Type"] for r in five.all_resources().values()}
        if len(five.resources(type_)) != len(one.resources(type_))
    }
    assert grown == {"AWS::DMS::ReplicationTask", STARTER_TYPE, UPDATE_GUARD_TYPE}


def test_handlers_runtime_architecture_layer_and_settings(five: Synthesized) -> None:
    functions = _user_functions(five)
    handlers = sorted(fn["Properties"]["Handler"] for fn in functions.values())
    assert handlers == [f"{HANDLER_PREFIX}is_complete", f"{HANDLER_PREFIX}on_event"]
    roles = {str(fn["Properties"]["Role"]) for fn in functions.values()}
    assert len(roles) == 1, "both handlers share one role"
    for fn in functions.values():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["MemorySize"] == 256
        assert props["Timeout"] == contract.HANDLER_TIMEOUT_SECONDS
        assert props["Environment"]["Variables"] == {
            "POWERTOOLS_SERVICE_NAME": "dms-task-starter",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "LOG_LEVEL": "INFO",
        }
        assert props["Layers"] == [
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":lambda:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {
                            "Fn::FindInMap": [
                                "PowertoolsLayerAccounts",
                                {"Ref": "AWS::Region"},
                                "Account",
                            ]
                        },
                        ":layer:AWSLambdaPowertoolsPythonV3-python313-arm64:"
                        f"{POWERTOOLS_LAYER_VERSION}",
                    ],
                ]
            }
        ]
        assert "LogGroup" in props["LoggingConfig"]


def test_log_groups_have_retention_and_are_destroyed(five: Synthesized) -> None:
    groups = five.resources("AWS::Logs::LogGroup")
    assert len(groups) == 3  # on_event, is_complete, provider framework
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 30
        assert group["DeletionPolicy"] == "Delete"


def _waiter_retry(synth: Synthesized) -> dict[str, Any]:
    machine = next(iter(synth.resources("AWS::StepFunctions::StateMachine").values()))
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    definition = "".join(p if isinstance(p, str) else '"' for p in parts)
    head = definition.split('"Resource":')[0] + "}}}"
    state = json.loads(head.replace(',"Type":"Task",}', "}").replace(',"Type":"Task"}', "}"))
    retry: dict[str, Any] = state["States"]["framework-isComplete-task"]["Retry"][0]
    return retry


def test_provider_timeouts_come_from_the_contract(five: Synthesized) -> None:
    retry = _waiter_retry(five)
    assert retry["IntervalSeconds"] == contract.DEFAULT_POLL_INTERVAL_SECONDS
    assert retry["MaxAttempts"] == (
        contract.PROVIDER_TOTAL_TIMEOUT_SECONDS // contract.DEFAULT_POLL_INTERVAL_SECONDS
    )


def test_asset_contains_the_runtime_package(five: Synthesized) -> None:
    code = next(iter(_user_functions(five).values()))["Properties"]["Code"]
    asset_hash = str(code["S3Key"]).removesuffix(".zip")
    asset_dir = five.outdir / f"asset.{asset_hash}"
    package = asset_dir / "dms_task_starter_runtime"
    assert (package / "handler.py").is_file()
    assert (package / "contract.py").is_file()
    assert not list(asset_dir.rglob("__pycache__"))
    assert not list(asset_dir.rglob("*.pyc"))
    assert sorted(p.name for p in asset_dir.iterdir()) == ["dms_task_starter_runtime"]


def test_each_stack_has_its_own_provider() -> None:
    app = App()
    first, second = Stack(app, "First"), Stack(app, "Second")
    a = ReplicationTaskStarter(first, "A", task=TASK_ARN)
    b = ReplicationTaskStarter(second, "B", task=TASK_ARN)
    nested = NestedStack(first, "Nested")
    c = ReplicationTaskStarter(nested, "C", task=TASK_ARN)
    assert len({id(a.provider), id(b.provider), id(c.provider)}) == 3
    assert c.provider.node.scope is nested
    for stack in (first, second, nested):
        template = Template.from_stack(stack)
        roles = [
            name
            for name in template.find_resources("AWS::IAM::Role")
            if name.startswith(HANDLER_ROLE_PREFIX)
        ]
        assert len(roles) == 1
        ((_, starter),) = template.find_resources(STARTER_TYPE).items()
        # The service token is the stack's own provider, not another stack's export.
        assert "Fn::ImportValue" not in str(starter["Properties"]["ServiceToken"])
        assert "Fn::GetAtt" in starter["Properties"]["ServiceToken"]


def test_provider_is_a_singleton_under_the_stack() -> None:
    stack = Stack()
    first = ReplicationTaskStarter(stack, "A", task=TASK_ARN)
    second = ReplicationTaskStarter(stack, "B", task=TASK_ARN, poll_interval=Duration.seconds(10))
    assert first.provider is second.provider
    assert stack.node.find_child(PROVIDER_ID) is first.provider
    assert ReplicationTaskStarterProvider.of(first) is first.provider


def test_poll_interval_reaches_the_waiter(make_synth: Callable[..., Synthesized]) -> None:
    synth = make_synth(
        lambda stack: ReplicationTaskStarter(
            stack, "A", task=TASK_ARN, poll_interval=Duration.seconds(30)
        )
    )
    retry = _waiter_retry(synth)
    assert retry["IntervalSeconds"] == 30
    assert retry["MaxAttempts"] == contract.PROVIDER_TOTAL_TIMEOUT_SECONDS // 30


def test_second_starter_with_other_poll_interval_fails() -> None:
    stack = Stack()
    ReplicationTaskStarter(stack, "A", task=TASK_ARN, poll_interval=Duration.seconds(20))
    with pytest.raises(ValueError, match=r"^poll_interval: .*shared per stack"):
        ReplicationTaskStarter(stack, "B", task=TASK_ARN, poll_interval=Duration.seconds(30))
    # None means "whatever the stack's provider uses".
    ReplicationTaskStarter(stack, "C", task=TASK_ARN)


def test_default_then_explicit_other_poll_interval_fails() -> None:
    stack = Stack()
    ReplicationTaskStarter(stack, "A", task=TASK_ARN)
    with pytest.raises(ValueError, match=r"^poll_interval: "):
        ReplicationTaskStarter(stack, "B", task=TASK_ARN, poll_interval=Duration.seconds(60))


def test_second_starter_with_other_layer_fails() -> None:
    stack = Stack()
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Layer", "arn:aws:lambda:eu-west-1:123456789012:layer:powertools:1"
    )
    ReplicationTaskStarter(stack, "A", task=TASK_ARN, powertools_layer=layer)
    ReplicationTaskStarter(stack, "B", task=TASK_ARN, powertools_layer=layer)
    other = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Other", "arn:aws:lambda:eu-west-1:123456789012:layer:powertools:2"
    )
    with pytest.raises(ValueError, match=r"^powertools_layer: .*shared per stack"):
        ReplicationTaskStarter(stack, "C", task=TASK_ARN, powertools_layer=other)


def test_custom_layer_is_used(make_synth: Callable[..., Synthesized]) -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:layer:powertools:7"

    def build(stack: Stack) -> None:
        layer = lambda_.LayerVersion.from_layer_version_arn(stack, "Layer", arn)
        ReplicationTaskStarter(stack, "A", task=TASK_ARN, powertools_layer=layer)

    synth = make_synth(build)
    synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": Match.string_like_regexp("^dms_task_starter_runtime"), "Layers": [arn]},
    )


@pytest.mark.parametrize("seconds", [contract.MIN_POLL_INTERVAL_SECONDS - 1, 301, 7.5])
def test_poll_interval_out_of_range(seconds: float) -> None:
    stack = Stack()
    interval = Duration.millis(int(seconds * 1000))
    with pytest.raises(ValueError, match=r"^poll_interval: "):
        ReplicationTaskStarter(stack, "A", task=TASK_ARN, poll_interval=interval)


def test_staged_asset_dir_is_cached_per_process() -> None:
    from dms_task_starter._asset import runtime_package_dir, staged_runtime_dir

    assert staged_runtime_dir() == staged_runtime_dir()
    assert (Path(staged_runtime_dir()) / "dms_task_starter_runtime" / "contract.py").is_file()
    assert (runtime_package_dir() / "contract.py").is_file()


def test_handler_timeout_holds_a_whole_call_retry_budget(one: Synthesized) -> None:
    """The client's retries of one call (every attempt timing out, every back-off the
    longest) and the handler's margin fit in the synthesized Timeout."""
    budget = (
        contract.CLIENT_MAX_ATTEMPTS
        * (contract.CLIENT_CONNECT_TIMEOUT_SECONDS + contract.CLIENT_READ_TIMEOUT_SECONDS)
        + (contract.CLIENT_MAX_ATTEMPTS - 1) * contract.CLIENT_MAX_BACKOFF_SECONDS
    )
    assert budget == contract.CALL_BUDGET_SECONDS == 475
    for fn in _user_functions(one).values():
        timeout = fn["Properties"]["Timeout"]
        assert timeout == contract.HANDLER_TIMEOUT_SECONDS
        assert contract.CALL_BUDGET_SECONDS + contract.HANDLER_MARGIN_SECONDS <= timeout <= 900


def _layers_in(region: str | None) -> list[Any]:
    app = App()
    env = None if region is None else Environment(account="123456789012", region=region)
    stack = Stack(app, "Partitioned", env=env)
    ReplicationTaskStarter(stack, "A", task=TASK_ARN)
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    layers = [
        fn["Properties"]["Layers"] for fn in functions.values() if "Layers" in fn["Properties"]
    ]
    assert len(layers) == 2
    return [stack.resolve(layer) for layer in layers[0]]


def _rendered(layer: Any, partition: str, region: str) -> str:
    parts = layer["Fn::Join"][1]
    pseudo = {"AWS::Partition": partition, "AWS::Region": region}
    return "".join(part if isinstance(part, str) else pseudo[part["Ref"]] for part in parts)


@pytest.mark.parametrize(
    ("region", "partition", "account"),
    [
        ("eu-west-1", "aws", "017000801446"),
        ("us-east-1", "aws", "017000801446"),
        ("cn-north-1", "aws-cn", "498634801083"),
        ("us-gov-east-1", "aws-us-gov", "165087284144"),
        ("us-gov-west-1", "aws-us-gov", "165093116878"),
    ],
)
def test_default_layer_of_each_partition(region: str, partition: str, account: str) -> None:
    """A stack with a region names the account that publishes the layer there."""
    (layer,) = _layers_in(region)
    assert _rendered(layer, partition, region) == (
        f"arn:{partition}:lambda:{region}:{account}:layer:"
        f"AWSLambdaPowertoolsPythonV3-python313-arm64:{POWERTOOLS_LAYER_VERSION}"
    )


@pytest.mark.parametrize("region", ["cn-northwest-1", "us-iso-east-1"])
def test_default_layer_where_none_is_published_fails_at_synth(region: str) -> None:
    with pytest.raises(ValueError, match=rf"^powertools_layer: .*region {region}.*pass it as"):
        _layers_in(region)


def test_environment_agnostic_stack_looks_the_account_up_by_region() -> None:
    app = App()
    stack = Stack(app, "Agnostic")
    ReplicationTaskStarter(stack, "A", task=TASK_ARN)
    template = Template.from_stack(stack).to_json()
    accounts = {
        region: entry["Account"]
        for region, entry in template["Mappings"]["PowertoolsLayerAccounts"].items()
    }
    assert accounts["eu-west-1"] == accounts["us-east-1"] == "017000801446"
    assert accounts["cn-north-1"] == "498634801083"
    assert accounts["us-gov-east-1"] == "165087284144"
    assert accounts["us-gov-west-1"] == "165093116878"
    # No region without a published layer: there the lookup fails before any Lambda exists.
    assert "cn-northwest-1" not in accounts
    assert "us-iso-east-1" not in accounts
