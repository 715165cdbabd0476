"""The stop-before-modify guard: digest, ordering guard -> task -> starter, preconditions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pytest
from aws_cdk import App, CfnParameter, Stack, Tags
from aws_cdk.assertions import Annotations, Match, Template
from cdk_support import TASK_ARN, Synthesized, deterministic_arn, make_task
from dms_task_starter import (
    ReplicationTaskStarter,
    StartType,
    WaitFor,
    task_definition_digest,
)
from dms_task_starter_runtime import contract
from dms_task_starter_runtime.contract import Prop

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_cdk import aws_dms as dms


def _only(synth: Synthesized, type_: str, prefix: str) -> tuple[str, dict[str, Any]]:
    matches = [(n, r) for n, r in synth.resources(type_).items() if n.startswith(prefix)]
    assert len(matches) == 1, matches
    return matches[0]


def test_guard_properties_and_digest(mixed: Synthesized) -> None:
    _, guard = _only(mixed, contract.GUARD_RESOURCE_TYPE, "GuardedUpdateGuard")
    _, starter = _only(mixed, contract.STARTER_RESOURCE_TYPE, "Guarded")
    props = dict(guard["Properties"])
    props.pop("ServiceToken")
    assert props[Prop.TASK_ARN] == deterministic_arn("guarded-task")
    digest = props[Prop.TASK_DEFINITION_DIGEST]
    assert isinstance(digest, str)
    assert len(digest) == 64
    assert set(props) == {Prop.TASK_ARN, Prop.TASK_DEFINITION_DIGEST}
    assert starter["Properties"][Prop.TASK_DEFINITION_DIGEST] == digest
    assert starter["Properties"][Prop.TASK_ARN] == {"Ref": "GuardedTask"}
    assert guard["Properties"]["ServiceToken"] == starter["Properties"]["ServiceToken"]


def test_order_is_grant_then_guard_then_task_then_starter(mixed: Synthesized) -> None:
    guard_id, guard = _only(mixed, contract.GUARD_RESOURCE_TYPE, "GuardedUpdateGuard")
    _, starter = _only(mixed, contract.STARTER_RESOURCE_TYPE, "Guarded")
    task = mixed.resources("AWS::DMS::ReplicationTask")["GuardedTask"]
    assert guard_id in task["DependsOn"]
    assert starter["Properties"][Prop.TASK_ARN] == {"Ref": "GuardedTask"}
    policies = mixed.resources("AWS::IAM::ManagedPolicy")
    (guard_grant,) = (name for name in policies if "GuardedTaskGrants" in name)
    (grant,) = (name for name in policies if "ProviderTaskGrants" in name)
    assert guard_grant in guard["DependsOn"]
    assert grant in starter["DependsOn"]
    # The guard's grant does not wait for the task (the deterministic ARN is no Ref): no cycle.
    assert '"GuardedTask"' not in json.dumps(policies[guard_grant])


def test_unguarded_and_arn_starters_have_no_guard(mixed: Synthesized) -> None:
    guards = mixed.resources(contract.GUARD_RESOURCE_TYPE)
    assert len(guards) == 2
    assert "DependsOn" not in mixed.resources("AWS::DMS::ReplicationTask")["UnguardedTask"]
    for prefix in ("Unguarded", "ByArn"):
        for name, starter in mixed.resources(contract.STARTER_RESOURCE_TYPE).items():
            if name.startswith(prefix):
                assert Prop.TASK_DEFINITION_DIGEST not in starter["Properties"]


def _digest(
    configure: Callable[[dms.dms.CfnReplicationTask], None] | None = None,
    *,
    build_extra: Callable[[Stack], None] | None = None,
    **starter_options: Any,
) -> str:
    stack = Stack(App(), "DigestStack")
    task = make_task(stack, "Task", resource_identifier="digest-task")
    starter = ReplicationTaskStarter(stack, "Starter", task=task, **starter_options)
    if configure is not None:
        configure(task)  # after the starter: the digest is computed lazily, at synthesis
    if build_extra is not None:
        build_extra(stack)
    assert starter.guard is not None
    # Synthesize: aspects (Tags.of) run first, then the lazy digest is computed.
    template = Template.from_stack(stack)
    guards = template.find_resources(contract.GUARD_RESOURCE_TYPE)
    (guard,) = guards.values()
    digest = guard["Properties"][Prop.TASK_DEFINITION_DIGEST]
    assert digest == task_definition_digest(task)
    return str(digest)


BASE = _digest()


def _set(name: str, value: Any) -> Callable[[dms.dms.CfnReplicationTask], None]:
    return lambda task: setattr(task, name, value)


@pytest.mark.parametrize(
    "change",
    [
        _set("table_mappings", '{"rules": [{"rule-type": "selection"}]}'),
        _set("replication_task_settings", '{"Logging": {"EnableLogging": true}}'),
        _set("migration_type", "cdc"),
        _set("source_endpoint_arn", "arn:aws:dms:eu-west-1:123456789012:endpoint:OTHER"),
        _set("target_endpoint_arn", "arn:aws:dms:eu-west-1:123456789012:endpoint:OTHER"),
        _set("replication_instance_arn", "arn:aws:dms:eu-west-1:123456789012:rep:OTHER"),
        _set("replication_task_identifier", "renamed"),
        _set("cdc_start_position", "0/5120E10"),
        _set("cdc_stop_position", "server_time:2030-01-01T00:00:00"),
        lambda task: Tags.of(task).add("team", "data"),
        lambda task: task.add_property_override("TableMappings", "{}"),
    ],
    ids=[
        "table_mappings",
        "settings",
        "migration_type",
        "source",
        "target",
        "instance",
        "identifier",
        "cdc_start",
        "cdc_stop",
        "tags",
        "override-is-not-seen",
    ],
)
def test_digest_changes_with_the_task_definition(
    change: Callable[[dms.dms.CfnReplicationTask], None], request: pytest.FixtureRequest
) -> None:
    changed = _digest(change)
    if request.node.callspec.id == "override-is-not-seen":
        # Raw overrides bypass the typed properties: documented limitation.
        assert changed == BASE
    else:
        assert changed != BASE


def test_digest_ignores_unrelated_changes() -> None:
    assert _digest() == BASE
    assert (
        _digest(start_type=StartType.RELOAD_TARGET, wait_for=WaitFor.NOTHING, cdc_handover=False)
        == BASE
    )
    assert _digest(build_extra=lambda stack: make_task(stack, "Another", migration_type="cdc")) == (
        BASE
    )
    assert (
        _digest(
            build_extra=lambda stack: Tags.of(stack.node.find_child("Starter")).add("owner", "me")
        )
        == BASE
    )


def test_digest_of_a_token_property_is_its_expression() -> None:
    def configure(task: dms.dms.CfnReplicationTask) -> None:
        task.table_mappings = CfnParameter(Stack.of(task), "Mappings").value_as_string

    assert _digest(configure) not in (BASE, "")


def test_guard_with_an_arn_string_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^guard_task_updates: .*CfnReplicationTask"):
        ReplicationTaskStarter(Stack(), "A", task=TASK_ARN, guard_task_updates=True)
    ReplicationTaskStarter(Stack(), "B", task=TASK_ARN, guard_task_updates=False)


def _task_without_identifier(stack: Stack) -> dms.CfnReplicationTask:
    return make_task(stack, "Task")


def _task_with_token_identifier(stack: Stack) -> dms.CfnReplicationTask:
    identifier = CfnParameter(stack, "Identifier").value_as_string
    return make_task(stack, "Task", resource_identifier=identifier)


def _task_in_another_stack(stack: Stack) -> dms.CfnReplicationTask:
    return make_task(Stack(stack.node.scope, "Tasks"), "Task", resource_identifier="t")


UNGUARDABLE_TASKS: Final = {
    "no resource_identifier": (_task_without_identifier, "has no literal resource_identifier"),
    "token resource_identifier": (
        _task_with_token_identifier,
        "has no literal resource_identifier",
    ),
    "task in another stack": (_task_in_another_stack, "is in another stack"),
}


@pytest.mark.parametrize(
    ("make", "reason"), UNGUARDABLE_TASKS.values(), ids=list(UNGUARDABLE_TASKS)
)
def test_an_unguardable_task_asked_to_be_guarded_is_refused(
    make: Callable[[Stack], dms.CfnReplicationTask], reason: str
) -> None:
    stack = Stack(App(), "Starters")
    with pytest.raises(
        ValueError, match=rf"^guard_task_updates: .*{reason}.*guard_task_updates=False"
    ):
        ReplicationTaskStarter(stack, "A", task=make(stack), guard_task_updates=True)


@pytest.mark.parametrize(
    ("make", "reason"), UNGUARDABLE_TASKS.values(), ids=list(UNGUARDABLE_TASKS)
)
def test_an_unguardable_task_by_default_gets_no_guard_and_a_warning(
    make: Callable[[Stack], dms.CfnReplicationTask], reason: str
) -> None:
    stack = Stack(App(), "Starters")
    ReplicationTaskStarter(stack, "A", task=make(stack))
    template = Template.from_stack(stack)
    template.resource_count_is(contract.GUARD_RESOURCE_TYPE, 0)
    warnings = Annotations.from_stack(stack).find_warning(
        "/Starters/A", Match.string_like_regexp(f"The update guard is off: .*{reason}")
    )
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("make", "reason"), UNGUARDABLE_TASKS.values(), ids=list(UNGUARDABLE_TASKS)
)
def test_an_unguardable_task_with_the_guard_off_gets_no_warning(
    make: Callable[[Stack], dms.CfnReplicationTask], reason: str
) -> None:
    stack = Stack(App(), "Starters")
    ReplicationTaskStarter(stack, "A", task=make(stack), guard_task_updates=False)
    assert Annotations.from_stack(stack).find_warning("/Starters/A", Match.any_value()) == []
