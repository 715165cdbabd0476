"""The update guards and the stack's rollback guard: properties, digests and order."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

import pytest
from aws_cdk import App, CfnParameter, Stack, Tags
from aws_cdk.assertions import Annotations, Match, Template
from constructs import Construct
from dms_task_starter import (
    CdcStart,
    OnDelete,
    ReplicationTaskStarter,
    StartType,
    WaitFor,
    task_definition_digest,
)
from dms_task_starter_runtime import settings

from tests.support.cdk import (
    ROLLBACK_GUARD_TYPE,
    STARTER_TYPE,
    TASK_ARN,
    UPDATE_GUARD_TYPE,
    Synthesized,
    dependency_closure,
    depends_on,
    deterministic_arn,
    make_task,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_cdk import aws_dms as dms

DIGEST: Final = re.compile(r"[0-9a-f]{64}")
DEPLOYED_PSEUDO: Final = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
}


def _deployed_arn(value: Any) -> str:
    """The ARN CloudFormation hands the handler for a guard's ``Fn::Join`` of pseudo params."""
    (separator, parts) = value["Fn::Join"]
    return str(separator).join(
        p if isinstance(p, str) else DEPLOYED_PSEUDO[p["Ref"]] for p in parts
    )


def _guarded_tasks(synth: Synthesized | Template) -> dict[str, str]:
    template = synth.template if isinstance(synth, Synthesized) else synth
    (guard,) = template.find_resources(ROLLBACK_GUARD_TYPE).values()
    rendered = guard["Properties"]["GuardedTasks"]
    assert isinstance(rendered, str), rendered  # literal JSON, no Fn::Join or Ref
    decoded = json.loads(rendered)
    assert isinstance(decoded, dict)
    return decoded


# --- update guards ----------------------------------------------------------------------


def test_update_guard_properties(mixed: Synthesized) -> None:
    _, guard = mixed.only(UPDATE_GUARD_TYPE, "GuardedUpdateGuard")
    _, starter = mixed.only(STARTER_TYPE, "Guarded")
    props = dict(guard["Properties"])
    assert props.pop("ServiceToken") == starter["Properties"]["ServiceToken"]
    create_only = (
        "MigrationType",
        "ReplicationInstanceArn",
        "SourceEndpointArn",
        "TargetEndpointArn",
    )
    assert set(props) == {"ReplicationTaskArn", "TaskDefinitionDigest", *create_only}
    # The task's create-only properties, as the task has them: the guard refuses a
    # replacement that would keep the literal resource identifier.
    (task,) = [
        t
        for t in mixed.resources("AWS::DMS::ReplicationTask").values()
        if t["Properties"].get("ResourceIdentifier") == "guarded-task"
    ]
    assert {prop: props[prop] for prop in create_only} == {
        prop: task["Properties"][prop] for prop in create_only
    }
    assert props["ReplicationTaskArn"] == deterministic_arn("guarded-task")
    assert DIGEST.fullmatch(props["TaskDefinitionDigest"])
    # The starter carries the same digest, so it is updated (and restarts) after the task.
    assert starter["Properties"]["TaskDefinitionDigest"] == props["TaskDefinitionDigest"]
    assert starter["Properties"]["ReplicationTaskArn"] == {"Ref": "GuardedTask"}
    # What the handler receives parses with its own validator.
    parsed = settings.parse_guard_settings(
        {**props, "ReplicationTaskArn": _deployed_arn(props["ReplicationTaskArn"])}
    )
    assert parsed.task_arn == "arn:aws:dms:eu-west-1:123456789012:task:guarded-task"
    assert parsed.task_definition_digest == props["TaskDefinitionDigest"]
    assert set(parsed.create_only) == set(create_only)


def test_each_guarded_task_has_its_own_digest(mixed: Synthesized) -> None:
    digests = {
        name: guard["Properties"]["TaskDefinitionDigest"]
        for name, guard in mixed.resources(UPDATE_GUARD_TYPE).items()
    }
    assert len(digests) == 2
    assert len(set(digests.values())) == 2


def test_update_guard_comes_before_its_task_and_the_starter_after(mixed: Synthesized) -> None:
    resources = mixed.all_resources()
    for prefix, task in (("Guarded", "GuardedTask"), ("Other", "OtherTask")):
        guard_id, _ = mixed.only(UPDATE_GUARD_TYPE, f"{prefix}UpdateGuard")
        starter_id, _ = mixed.only(STARTER_TYPE, prefix)
        assert guard_id in depends_on(resources[task])
        # The guard does not wait for the task (its ARN is no Ref): no cycle.
        assert task not in dependency_closure(resources, guard_id)
        # The starter refers to the task: it comes after it.
        assert task in dependency_closure(resources, starter_id)
        assert guard_id in dependency_closure(resources, starter_id)


def test_unguarded_and_arn_starters_have_no_update_guard(mixed: Synthesized) -> None:
    assert len(mixed.resources(UPDATE_GUARD_TYPE)) == 2
    tasks = mixed.resources("AWS::DMS::ReplicationTask")
    assert "DependsOn" not in tasks["UnguardedTask"]
    assert "DependsOn" not in tasks["BystanderTask"]
    for name, starter in mixed.resources(STARTER_TYPE).items():
        if name.startswith(("Unguarded", "ByArn")):
            assert "TaskDefinitionDigest" not in starter["Properties"], name


# --- the rollback guard -----------------------------------------------------------------


def test_rollback_guard_lists_every_guarded_task_with_its_digest(mixed: Synthesized) -> None:
    guarded = _guarded_tasks(mixed)
    assert set(guarded) == {"guarded-task", "other-task"}
    for identifier, digest in guarded.items():
        assert DIGEST.fullmatch(digest)
        (guard,) = (
            g
            for g in mixed.resources(UPDATE_GUARD_TYPE).values()
            if g["Properties"]["ReplicationTaskArn"] == deterministic_arn(identifier)
        )
        assert guard["Properties"]["TaskDefinitionDigest"] == digest
    _, rollback = mixed.only(ROLLBACK_GUARD_TYPE)
    parsed = settings.parse_rollback_guard_settings(rollback["Properties"])
    assert dict(parsed.guarded_tasks) == guarded
    assert set(rollback["Properties"]) == {"ServiceToken", "GuardedTasks"}


def test_rollback_guard_comes_after_every_update_guard_and_before_every_guarded_task(
    mixed: Synthesized,
) -> None:
    rollback_id, rollback = mixed.only(ROLLBACK_GUARD_TYPE)
    assert set(mixed.resources(UPDATE_GUARD_TYPE)) <= depends_on(rollback)
    tasks = mixed.resources("AWS::DMS::ReplicationTask")
    for name in ("GuardedTask", "OtherTask"):
        assert rollback_id in depends_on(tasks[name]), name
    for name in ("UnguardedTask", "BystanderTask"):
        assert rollback_id not in depends_on(tasks[name]), name
    # Nothing of the guarded tasks comes before it: no cycle.
    assert not set(tasks) & dependency_closure(mixed.all_resources(), rollback_id)


def _guarded_stack(stack: Stack, count: int, prefix: str = "") -> None:
    for index in range(count):
        task = make_task(stack, f"Task{index}", resource_identifier=f"{prefix}task-{index}")
        ReplicationTaskStarter(stack, f"Starter{index}", task=task)


@pytest.mark.parametrize("count", [1, 2, 7])
def test_one_rollback_guard_per_stack_however_many_guarded_starters(count: int) -> None:
    stack = Stack(App(), "Guarded")
    _guarded_stack(stack, count)
    template = Template.from_stack(stack)
    template.resource_count_is(UPDATE_GUARD_TYPE, count)
    template.resource_count_is(ROLLBACK_GUARD_TYPE, 1)
    assert set(_guarded_tasks(template)) == {f"task-{index}" for index in range(count)}
    ((rollback_id, rollback),) = template.find_resources(ROLLBACK_GUARD_TYPE).items()
    assert depends_on(rollback) == set(template.find_resources(UPDATE_GUARD_TYPE))
    for task in template.find_resources("AWS::DMS::ReplicationTask").values():
        assert rollback_id in depends_on(task)


def test_each_stack_has_its_own_rollback_guard() -> None:
    app = App()
    first, second = Stack(app, "First"), Stack(app, "Second")
    _guarded_stack(first, 2, prefix="first-")
    _guarded_stack(second, 3, prefix="second-")
    assert set(_guarded_tasks(Template.from_stack(first))) == {"first-task-0", "first-task-1"}
    assert set(_guarded_tasks(Template.from_stack(second))) == {
        "second-task-0",
        "second-task-1",
        "second-task-2",
    }


def _unguarded_only(stack: Stack) -> None:
    ReplicationTaskStarter(stack, "ByArn", task=TASK_ARN)
    task = make_task(stack, "Task", resource_identifier="task")
    ReplicationTaskStarter(stack, "Off", task=task, guard_task_updates=False)
    ReplicationTaskStarter(stack, "NoIdentifier", task=make_task(stack, "Other"))


def test_no_rollback_guard_when_no_task_is_guarded() -> None:
    stack = Stack(App(), "Unguarded")
    _unguarded_only(stack)
    template = Template.from_stack(stack)
    template.resource_count_is(UPDATE_GUARD_TYPE, 0)
    template.resource_count_is(ROLLBACK_GUARD_TYPE, 0)
    for task in template.find_resources("AWS::DMS::ReplicationTask").values():
        assert "DependsOn" not in task


def test_the_rollback_guard_stays_literal_with_token_task_properties() -> None:
    stack = Stack(App(), "Tokens")
    task = make_task(stack, "Task", resource_identifier="tokens")
    task.table_mappings = CfnParameter(stack, "Mappings").value_as_string
    ReplicationTaskStarter(stack, "S", task=task)
    guarded = _guarded_tasks(Template.from_stack(stack))
    assert set(guarded) == {"tokens"}
    assert DIGEST.fullmatch(guarded["tokens"])


# --- tasks that cannot be guarded -------------------------------------------------------


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
    app = stack.node.scope
    assert isinstance(app, Construct)
    return make_task(Stack(app, "Tasks"), "Task", resource_identifier="t")


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
    task = make(stack)
    ReplicationTaskStarter(stack, "A", task=task)
    template = Template.from_stack(stack)
    template.resource_count_is(UPDATE_GUARD_TYPE, 0)
    template.resource_count_is(ROLLBACK_GUARD_TYPE, 0)
    (starter,) = template.find_resources(STARTER_TYPE).values()
    assert "TaskDefinitionDigest" not in starter["Properties"]
    warnings = Annotations.from_stack(stack).find_warning(
        "/Starters/A",
        Match.string_like_regexp(
            rf"The update guard is off: .*{reason}.*Pass guard_task_updates=False to silence"
        ),
    )
    assert len(warnings) == 1
    assert "dms-task-starter:update-guard-off" in json.dumps(warnings[0].entry.data)


@pytest.mark.parametrize(
    ("make", "reason"), UNGUARDABLE_TASKS.values(), ids=list(UNGUARDABLE_TASKS)
)
def test_an_unguardable_task_with_the_guard_off_gets_no_warning(
    make: Callable[[Stack], dms.CfnReplicationTask], reason: str
) -> None:
    stack = Stack(App(), "Starters")
    ReplicationTaskStarter(stack, "A", task=make(stack), guard_task_updates=False)
    assert Annotations.from_stack(stack).find_warning("/Starters/A", Match.any_value()) == []


# --- the digest changes exactly when the task definition changes -----------------------


def _synth_digests(
    configure: Callable[[dms.CfnReplicationTask], None] | None = None,
    *,
    build_extra: Callable[[Stack], object] | None = None,
    **starter_options: Any,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The guarded task's digest and the rendered update and rollback guards."""
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
    (guard,) = (
        g
        for g in template.find_resources(UPDATE_GUARD_TYPE).values()
        if g["Properties"]["ReplicationTaskArn"] == deterministic_arn("digest-task")
    )
    ((_, rollback),) = template.find_resources(ROLLBACK_GUARD_TYPE).items()
    digest = guard["Properties"]["TaskDefinitionDigest"]
    assert digest == task_definition_digest(task)
    assert json.loads(rollback["Properties"]["GuardedTasks"])["digest-task"] == digest
    return str(digest), guard["Properties"], rollback["Properties"]


def _digest(
    configure: Callable[[dms.CfnReplicationTask], None] | None = None,
    *,
    build_extra: Callable[[Stack], object] | None = None,
    **starter_options: Any,
) -> str:
    return _synth_digests(configure, build_extra=build_extra, **starter_options)[0]


BASE: Final = _digest()


def _set(name: str, value: Any) -> Callable[[dms.CfnReplicationTask], None]:
    return lambda task: setattr(task, name, value)


DEFINITION_CHANGES: Final = {
    "table_mappings": _set("table_mappings", '{"rules": [{"rule-type": "selection"}]}'),
    "settings": _set("replication_task_settings", '{"Logging": {"EnableLogging": true}}'),
    "migration_type": _set("migration_type", "cdc"),
    "source": _set("source_endpoint_arn", "arn:aws:dms:eu-west-1:123456789012:endpoint:OTHER"),
    "target": _set("target_endpoint_arn", "arn:aws:dms:eu-west-1:123456789012:endpoint:OTHER"),
    "instance": _set("replication_instance_arn", "arn:aws:dms:eu-west-1:123456789012:rep:OTHER"),
    "identifier": _set("replication_task_identifier", "renamed"),
    "cdc_start_position": _set("cdc_start_position", "0/5120E10"),
    "cdc_start_time": _set("cdc_start_time", 1706702400),
    "cdc_stop": _set("cdc_stop_position", "server_time:2030-01-01T00:00:00"),
    "task_data": _set("task_data", '{"key": "value"}'),
    "tags": lambda task: Tags.of(task).add("team", "data"),
}


@pytest.mark.parametrize("change", DEFINITION_CHANGES.values(), ids=list(DEFINITION_CHANGES))
def test_digest_changes_with_the_task_definition(
    change: Callable[[dms.CfnReplicationTask], None],
) -> None:
    assert _digest(change) != BASE


def test_every_definition_change_gives_its_own_digest() -> None:
    digests = {name: _digest(change) for name, change in DEFINITION_CHANGES.items()}
    assert len(set(digests.values())) == len(digests)


def test_raw_overrides_are_not_seen() -> None:
    # Raw overrides bypass the typed properties: documented limitation.
    assert _digest(lambda task: task.add_property_override("TableMappings", "{}")) == BASE


STARTER_ONLY_CHANGES: Final = {
    "start_type": {"start_type": StartType.RELOAD_TARGET},
    "wait_for": {"wait_for": WaitFor.NOTHING},
    "on_delete": {"on_delete": OnDelete.LEAVE_RUNNING},
    "cdc_handover": {"cdc_handover": False},
    "cdc_start": {"cdc_start": CdcStart.at_position("0/5120E10")},
}


@pytest.mark.parametrize("options", STARTER_ONLY_CHANGES.values(), ids=list(STARTER_ONLY_CHANGES))
def test_starter_only_changes_leave_both_guards_unchanged(options: dict[str, Any]) -> None:
    _, base_guard, base_rollback = _synth_digests()
    digest, guard, rollback = _synth_digests(**options)
    assert digest == BASE
    assert guard == base_guard
    assert rollback == base_rollback


def test_digest_ignores_the_rest_of_the_stack() -> None:
    assert _digest() == BASE
    assert _digest(build_extra=lambda stack: make_task(stack, "Another", migration_type="cdc")) == (
        BASE
    )
    assert (
        _digest(
            build_extra=lambda stack: Tags.of(stack.node.find_child("Starter")).add("owner", "me")
        )
        == BASE
    )
    assert _digest(build_extra=lambda stack: _guarded_stack(stack, 2)) == BASE


def test_digest_of_a_token_property_is_its_expression() -> None:
    def mappings(parameter: str) -> Callable[[dms.CfnReplicationTask], None]:
        def configure(task: dms.CfnReplicationTask) -> None:
            task.table_mappings = CfnParameter(Stack.of(task), parameter).value_as_string

        return configure

    first = _digest(mappings("Mappings"))
    assert first not in (BASE, "")
    assert _digest(mappings("Mappings")) == first
    assert _digest(mappings("OtherMappings")) != first
