"""Grants of the handler role: by CloudFormation's stack tag on what the stack created, by the
handler's stack tag and by ARN for tasks given as ARN strings.

The expected actions, ARNs and limits are written out here, not imported from the
construct: these tests are the specification of the synthesized template.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

import pytest
from aws_cdk import App, CfnParameter, NestedStack, Stack
from aws_cdk import aws_dms as dms
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from dms_task_starter import ReplicationTaskStarter
from dms_task_starter.provider import ReplicationTaskStarterProvider

from tests.support.cdk import (
    ACCOUNT_ARN,
    HANDLER_ROLE_PREFIX,
    PROVIDER_PREFIX,
    REPLICATION_STARTER_TYPE,
    ROLLBACK_GUARD_TYPE,
    SECOND_TASK_ARN,
    STACK_TAG,
    STARTER_TYPE,
    TASK_ARN,
    UPDATE_GUARD_TYPE,
    Synthesized,
    arn_grants,
    as_list,
    dependency_closure,
    depends_on,
    make_config,
    make_task,
    rendered_dms_arn,
    synthesize,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TASK_ACTIONS: Final = ["dms:StartReplicationTask", "dms:StopReplicationTask"]
REPLICATION_ACTIONS: Final = ["dms:StartReplication", "dms:StopReplication"]
TAG_ACTION: Final = "dms:AddTagsToResource"
UNSCOPABLE_ACTIONS: Final = {
    # The service authorization reference lists no resource type for these: "*" only.
    "dms:DescribeReplicationTasks",
    "dms:DescribeReplications",
    "dms:DescribeReplicationConfigs",
    "dms:DescribeConnections",
}
TAG_CONDITION: Final = {
    "StringEquals": {"aws:ResourceTag/dms-task-starter:stack": {"Ref": "AWS::StackId"}}
}
SYSTEM_TAG_CONDITION: Final = {
    "StringEquals": {"aws:ResourceTag/aws:cloudformation:stack-id": {"Ref": "AWS::StackId"}}
}
LIST_TAGS_ACTION: Final = "dms:ListTagsForResource"
TASKS_PER_POLICY: Final = 40
MAX_MANAGED_POLICIES: Final = 10


def _account_wide(resource: str) -> dict[str, Any]:
    """Every ``resource`` of the stack's account and region, as CloudFormation renders it."""
    return rendered_dms_arn(f"{resource}:*")


def _default_policy(synth: Synthesized) -> dict[str, Any]:
    _, policy = synth.only("AWS::IAM::Policy", f"{HANDLER_ROLE_PREFIX}DefaultPolicy")
    assert policy["Properties"]["Roles"] == [{"Ref": synth.handler_role()}]
    return policy


def _statement(synth: Synthesized, sid: str) -> dict[str, Any]:
    """The statement ``sid`` of the handler role's default policy, actions sorted."""
    statements = _default_policy(synth)["Properties"]["PolicyDocument"]["Statement"]
    (statement,) = (s for s in statements if s.get("Sid") == sid)
    return {**statement, "Action": sorted(as_list(statement["Action"]))}


def _statements_with(synth: Synthesized, action: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, statement)
        for name, statement in synth.handler_role_statements()
        if action in as_list(statement["Action"])
    ]


def _grant_policies(synth: Synthesized, kind: str) -> dict[str, Any]:
    """The customer-managed grant policies of ``kind`` (TaskGrants or RetainedTaskGrants)."""
    pattern = re.compile(rf"^{PROVIDER_PREFIX}{kind}Policy\d+[0-9A-F]{{8}}$")
    return {
        name: policy
        for name, policy in synth.resources("AWS::IAM::ManagedPolicy").items()
        if pattern.match(name)
    }


def _resources_of(policy: dict[str, Any]) -> list[Any]:
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    return as_list(statement["Resource"])


# --- the grant by tag -------------------------------------------------------------------


def test_start_stop_is_granted_on_the_tasks_the_stack_created_or_tagged(
    mixed: Synthesized,
) -> None:
    assert _statement(mixed, "StartStopStackTasks") == {
        "Sid": "StartStopStackTasks",
        "Effect": "Allow",
        "Action": TASK_ACTIONS,
        "Resource": _account_wide("task"),
        "Condition": SYSTEM_TAG_CONDITION,
    }
    assert _statement(mixed, "StartStopTaggedTasks") == {
        "Sid": "StartStopTaggedTasks",
        "Effect": "Allow",
        "Action": TASK_ACTIONS,
        "Resource": _account_wide("task"),
        "Condition": TAG_CONDITION,
    }
    # These two statements are the only grants of Start/Stop in the role's default policy.
    statements = _default_policy(mixed)["Properties"]["PolicyDocument"]["Statement"]
    starting = [s for s in statements if set(as_list(s["Action"])) & set(TASK_ACTIONS)]
    assert len(starting) == 2


def test_no_dms_task_or_config_gets_a_template_tag(mixed: Synthesized) -> None:
    """Adding the library changes no task: CloudFormation's own tag grants."""
    resources = {
        **mixed.resources("AWS::DMS::ReplicationTask"),
        **mixed.resources("AWS::DMS::ReplicationConfig"),
    }
    # Started or not, guarded or not: GuardedTask, OtherTask, UnguardedTask, BystanderTask,
    # and the Serverless Config.
    assert len(resources) == 5
    for name, resource in resources.items():
        tags = resource["Properties"].get("Tags", [])
        if resource["Type"] == "AWS::DMS::ReplicationConfig":
            # replace_on_change: created with 0.2.0's tag, kept so that no 0.2.0 stack's
            # configuration gets a tag-only update; it grants nothing any more.
            assert tags == [STACK_TAG], name
        else:
            assert STACK_TAG["Key"] not in json.dumps(tags), name
    # The user's own tags stay.
    other_tags = mixed.resources("AWS::DMS::ReplicationTask")["OtherTask"]["Properties"]["Tags"]
    assert other_tags == [{"Key": "team", "Value": "data"}]


def test_no_other_resource_of_the_stack_gets_the_stack_tag(mixed: Synthesized) -> None:
    for name, resource in mixed.all_resources().items():
        if resource["Type"] == "AWS::DMS::ReplicationConfig":
            continue
        tags = resource.get("Properties", {}).get("Tags", [])
        assert STACK_TAG["Key"] not in json.dumps(tags), name


def test_tasks_of_a_stack_without_starters_are_not_tagged() -> None:
    app = App()
    plain = Stack(app, "Plain")
    make_task(plain, "Task")
    starters = Stack(app, "Starters")
    ReplicationTaskStarter(starters, "S", task=TASK_ARN)
    task = Template.from_stack(plain).find_resources("AWS::DMS::ReplicationTask")["Task"]
    assert "Tags" not in task["Properties"]


def test_the_grants_by_tag_are_the_only_conditioned_grants(
    make_synth: Callable[..., Synthesized],
) -> None:
    """Without Serverless replications, the task statements are the only tag-conditioned ones."""
    alone = make_synth(lambda stack: ReplicationTaskStarter(stack, "S", task=make_task(stack, "T")))
    statements = _default_policy(alone)["Properties"]["PolicyDocument"]["Statement"]
    tagged = [s for s in statements if s.get("Condition")]
    assert [s["Sid"] for s in tagged] == ["StartStopStackTasks", "StartStopTaggedTasks"]
    assert [s["Condition"] for s in tagged] == [SYSTEM_TAG_CONDITION, TAG_CONDITION]
    assert all(s["Resource"] == _account_wide("task") for s in tagged)


# --- the other grants of the role -------------------------------------------------------


def test_describe_stacks_is_scoped_to_the_own_stack(mixed: Synthesized) -> None:
    cloudformation = [
        (name, s)
        for name, s in mixed.handler_role_statements()
        if any(a.startswith("cloudformation:") for a in as_list(s["Action"]))
    ]
    assert len(cloudformation) == 1
    _, statement = cloudformation[0]
    assert statement["Action"] == "cloudformation:DescribeStacks"
    assert statement["Resource"] == {"Ref": "AWS::StackId"}
    assert "Condition" not in statement


@pytest.mark.parametrize("depth", [1, 2])
def test_nested_stack_may_describe_its_root_stack(depth: int) -> None:
    """A nested stack deleted whole while its root rolls back says so only through the
    root's status: the role may describe its own stack and the root (by name), no other."""
    app = App()
    root = Stack(app, "OrdersRoot")
    stack: Stack = root
    for level in range(depth):
        stack = NestedStack(stack, f"Level{level}")
    ReplicationTaskStarter(stack, "S", task=make_task(stack, "Task", resource_identifier="t"))
    template = Template.from_stack(stack).to_json()
    statements = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "cloudformation:DescribeStacks"
    ]
    assert [s["Resource"] for s in statements] == [
        {"Ref": "AWS::StackId"},
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":cloudformation:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":stack/OrdersRoot/*",
                ],
            ]
        },
    ]


def test_star_is_granted_only_for_actions_without_resource_level_permissions(
    mixed: Synthesized,
) -> None:
    on_star = [s for _, s in mixed.handler_role_statements() if "*" in as_list(s["Resource"])]
    actions = {a for s in on_star for a in as_list(s["Action"])}
    assert actions == UNSCOPABLE_ACTIONS
    for statement in on_star:
        assert as_list(statement["Resource"]) == ["*"]
    # No action of the role is a wildcard ("dms:*", "dms:Describe*").
    for _, statement in mixed.handler_role_statements():
        for action in as_list(statement["Action"]):
            assert "*" not in action


def test_the_role_grants_exactly_these_dms_actions(mixed: Synthesized) -> None:
    actions = {
        a
        for _, s in mixed.handler_role_statements()
        for a in as_list(s["Action"])
        if a.startswith("dms:")
    }
    assert actions == {
        *TASK_ACTIONS,
        *REPLICATION_ACTIONS,
        TAG_ACTION,
        LIST_TAGS_ACTION,
        *UNSCOPABLE_ACTIONS,
    }
    # Tagging is granted by ARN only (tasks given as ARN strings), never account-wide.
    for name, statement in _statements_with(mixed, TAG_ACTION):
        assert name in _grant_policies(mixed, "TaskGrants")
        assert "Condition" not in statement
        assert all(isinstance(r, str) and ":task:" in r for r in as_list(statement["Resource"]))


def test_logs_are_granted_on_the_two_handler_log_groups_only(mixed: Synthesized) -> None:
    role = mixed.resources("AWS::IAM::Role")[mixed.handler_role()]
    assert "ManagedPolicyArns" not in role["Properties"]
    logs = [
        s
        for _, s in mixed.handler_role_statements()
        if any(a.startswith("logs:") for a in as_list(s["Action"]))
    ]
    groups = {r["Fn::GetAtt"][0] for s in logs for r in as_list(s["Resource"])}
    assert groups == {
        name
        for name in mixed.resources("AWS::Logs::LogGroup")
        if name.startswith((f"{PROVIDER_PREFIX}OnEventLogs", f"{PROVIDER_PREFIX}IsCompleteLogs"))
    }
    assert len(groups) == 2


# --- Serverless replications -------------------------------------------------------------


def test_enable_replications_grants_start_stop_on_tagged_configs(mixed: Synthesized) -> None:
    assert _statement(mixed, "DescribeReplications") == {
        "Sid": "DescribeReplications",
        "Effect": "Allow",
        "Action": ["dms:DescribeReplicationConfigs", "dms:DescribeReplications"],
        "Resource": "*",
    }
    for sid, condition in (
        ("StartStopStackReplications", SYSTEM_TAG_CONDITION),
        ("StartStopTaggedReplications", TAG_CONDITION),
    ):
        assert _statement(mixed, sid) == {
            "Sid": sid,
            "Effect": "Allow",
            "Action": REPLICATION_ACTIONS,
            "Resource": _account_wide("replication-config"),
            "Condition": condition,
        }
    # Read only: the tags of the configuration a first configuration replaces.
    assert _statement(mixed, "ListReplicationConfigTags") == {
        "Sid": "ListReplicationConfigTags",
        "Effect": "Allow",
        "Action": [LIST_TAGS_ACTION],
        "Resource": _account_wide("replication-config"),
    }


def test_replications_are_not_granted_unless_enabled(
    make_synth: Callable[..., Synthesized],
) -> None:
    def build(stack: Stack) -> None:
        ReplicationTaskStarter(stack, "S", task=TASK_ARN)
        make_config(stack, "Config")

    synth = make_synth(build)
    actions = {a for _, s in synth.handler_role_statements() for a in as_list(s["Action"])}
    assert not actions & {*REPLICATION_ACTIONS, "dms:DescribeReplications", LIST_TAGS_ACTION}
    # No template tag without a ReplicationStarter: enabling the grant later changes no
    # DMS resource.
    (config,) = synth.resources("AWS::DMS::ReplicationConfig").values()
    assert "Tags" not in config["Properties"]


def test_enable_replications_grants_once() -> None:
    stack = Stack()
    provider = ReplicationTaskStarterProvider.of(stack)
    provider.enable_replications()
    provider.enable_replications()
    default_policy = provider.role.node.find_child("DefaultPolicy")
    assert isinstance(default_policy, iam.Policy)
    statements = stack.resolve(default_policy.document.to_json())
    sids = [s.get("Sid") for s in statements["Statement"]]
    assert sids.count("DescribeReplications") == 1
    assert sids.count("StartStopTaggedReplications") == 1
    assert sids.count("StartStopStackReplications") == 1


# --- tasks given by ARN -----------------------------------------------------------------


def test_tasks_given_by_arn_are_granted_by_arn(mixed: Synthesized) -> None:
    policies = _grant_policies(mixed, "TaskGrants")
    assert len(policies) == 1
    (policy,) = policies.values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == [*TASK_ACTIONS, TAG_ACTION]
    assert statement["Resource"] == [TASK_ARN, SECOND_TASK_ARN]
    assert "Condition" not in statement
    assert policy["Properties"]["Roles"] == [{"Ref": mixed.handler_role()}]


def test_tasks_given_by_arn_keep_a_grant_on_the_arn_they_last_reported(
    mixed: Synthesized,
) -> None:
    policies = _grant_policies(mixed, "RetainedTaskGrants")
    assert len(policies) == 1
    (policy,) = policies.values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == TASK_ACTIONS
    by_arn = {
        name: starter["Properties"]["ReplicationTaskArn"]
        for name, starter in mixed.resources(STARTER_TYPE).items()
        if "TagResource" in starter["Properties"]
    }
    assert sorted(by_arn.values()) == [TASK_ARN, SECOND_TASK_ARN]
    assert sorted(statement["Resource"], key=json.dumps) == [
        {"Fn::GetAtt": [name, "ReplicationTaskArn"]} for name in sorted(by_arn)
    ]
    assert policy["Properties"]["Roles"] == [{"Ref": mixed.handler_role()}]
    # It follows the starters (GetAtt) and nothing waits for it: no cycle, and CloudFormation
    # updates it only after the starters' updates and deletes it before them.
    assert "DependsOn" not in policy
    for resource in mixed.all_resources().values():
        assert not depends_on(resource) & set(policies)


def test_a_starter_of_a_task_given_by_arn_depends_on_its_grant(mixed: Synthesized) -> None:
    (grant,) = _grant_policies(mixed, "TaskGrants")
    for name, starter in mixed.resources(STARTER_TYPE).items():
        by_arn = starter["Properties"].get("TagResource") == "true"
        assert (grant in depends_on(starter)) is by_arn, name


def test_tasks_of_the_stack_get_no_grant_by_arn(mixed: Synthesized) -> None:
    in_stack = set(mixed.resources("AWS::DMS::ReplicationTask"))
    for name, policy in mixed.handler_role_policies().items():
        document = json.dumps(policy["Properties"]["PolicyDocument"])
        for task in in_stack:
            assert f'"{task}"' not in document, (name, task)
        assert ":task:guarded-task" not in document
        assert ":task:other-task" not in document


def test_a_stack_of_template_tasks_has_no_managed_grant_policies(
    make_synth: Callable[..., Synthesized],
) -> None:
    def build(stack: Stack) -> None:
        for index in range(3):
            task = make_task(stack, f"Task{index}", resource_identifier=f"task-{index}")
            ReplicationTaskStarter(stack, f"Starter{index}", task=task)
        ReplicationTaskStarter(
            stack, "Unguarded", task=make_task(stack, "Plain"), guard_task_updates=False
        )

    synth = make_synth(build)
    synth.template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    for starter in synth.resources(STARTER_TYPE).values():
        assert "TagResource" not in starter["Properties"]


def test_a_token_arn_is_granted_and_tagged_too(make_synth: Callable[..., Synthesized]) -> None:
    def build(stack: Stack) -> None:
        arn = CfnParameter(stack, "TaskArn").value_as_string
        ReplicationTaskStarter(stack, "S", task=arn)

    synth = make_synth(build)
    (policy,) = _grant_policies(synth, "TaskGrants").values()
    assert _resources_of(policy) == [{"Ref": "TaskArn"}]
    _, starter = synth.only(STARTER_TYPE)
    assert starter["Properties"]["TagResource"] == "true"


def _arn(index: int) -> str:
    return f"{ACCOUNT_ARN}:task:TASK{index:04d}"


def _by_arn_stack(count: int, outdir: Path) -> Synthesized:
    def build(stack: Stack) -> None:
        for index in range(count):
            ReplicationTaskStarter(stack, f"S{index}", task=_arn(index))

    return synthesize(build, outdir)


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        (1, [1]),
        (TASKS_PER_POLICY, [TASKS_PER_POLICY]),
        (TASKS_PER_POLICY + 1, [TASKS_PER_POLICY, 1]),
        (2 * TASKS_PER_POLICY, [TASKS_PER_POLICY, TASKS_PER_POLICY]),
        (2 * TASKS_PER_POLICY + 1, [TASKS_PER_POLICY, TASKS_PER_POLICY, 1]),
    ],
)
def test_grants_by_arn_are_chunked_forty_per_policy(
    count: int, sizes: list[int], tmp_path: Path
) -> None:
    synth = _by_arn_stack(count, tmp_path)
    for kind in ("TaskGrants", "RetainedTaskGrants"):
        policies = _grant_policies(synth, kind)
        ordered = sorted(policies, key=lambda n: int(re.findall(r"Policy(\d+)[0-9A-F]{8}$", n)[0]))
        assert [len(_resources_of(policies[name])) for name in ordered] == sizes, kind
    # Every ARN is granted exactly once, and each starter depends on the policy holding it.
    granted: dict[str, str] = {}
    for name, policy in _grant_policies(synth, "TaskGrants").items():
        for arn in _resources_of(policy):
            assert arn not in granted
            granted[arn] = name
    assert set(granted) == {_arn(index) for index in range(count)}
    for starter in synth.resources(STARTER_TYPE).values():
        holder = granted[starter["Properties"]["ReplicationTaskArn"]]
        assert holder in depends_on(starter)


def test_two_hundred_starters_by_arn_fit_and_the_next_is_refused() -> None:
    stack = Stack()
    for index in range(200):
        ReplicationTaskStarter(stack, f"S{index}", task=_arn(index))
    provider = ReplicationTaskStarterProvider.of(stack)
    assert len(provider.grant_policies) == MAX_MANAGED_POLICIES  # 5 primary + 5 retention
    for policy in provider.grant_policies:
        document = json.dumps(stack.resolve(policy.document.to_json()), separators=(",", ":"))
        # IAM counts a managed policy's characters without whitespace (limit 6,144).
        assert len(document) < 6_144
    with pytest.raises(ValueError, match=r"^task: .*\b11 managed policies\b.*IAM allows 10\b"):
        ReplicationTaskStarter(stack, "S200", task=_arn(200))


def test_template_tasks_do_not_count_against_the_policy_limit() -> None:
    stack = Stack()
    for index in range(200):
        ReplicationTaskStarter(stack, f"S{index}", task=_arn(index))
    for index in range(50):
        task = make_task(stack, f"T{index}", resource_identifier=f"t-{index}")
        ReplicationTaskStarter(stack, f"G{index}", task=task)
    assert len(ReplicationTaskStarterProvider.of(stack).grant_policies) == MAX_MANAGED_POLICIES


# --- the grants outlive the custom resources ---------------------------------------------


def test_every_starter_and_guard_depends_on_the_role_and_its_policy(mixed: Synthesized) -> None:
    role = mixed.handler_role()
    (default_policy,) = (n for n in mixed.handler_role_policies() if "DefaultPolicy" in n)
    custom = {
        **mixed.resources(STARTER_TYPE),
        **mixed.resources(REPLICATION_STARTER_TYPE),
        **mixed.resources(UPDATE_GUARD_TYPE),
        **mixed.resources(ROLLBACK_GUARD_TYPE),
    }
    assert len(custom) == 5 + 1 + 2 + 1
    for name, resource in custom.items():
        if resource["Type"] == ROLLBACK_GUARD_TYPE:
            # Through the update guards it depends on (see test_guard.py).
            closure = dependency_closure(mixed.all_resources(), name)
        else:
            closure = depends_on(resource)
        assert {role, default_policy} <= closure, name


# --- tasks outside the starter's stack -----------------------------------------------------


def _refusal(build: Callable[[], object]) -> str | None:
    """The message of the ValueError ``build`` raises, or None when it raises none."""
    try:
        build()
    except ValueError as error:
        return str(error)
    return None


def _sibling_stacks(app: App) -> tuple[Stack, dms.CfnReplicationTask]:
    task = make_task(Stack(app, "Tasks"), "Task", resource_identifier="t")
    return Stack(app, "Starters"), task


def _task_in_nested_stack(app: App) -> tuple[Stack, dms.CfnReplicationTask]:
    parent = Stack(app, "Parent")
    task = make_task(NestedStack(parent, "Nested"), "Task", resource_identifier="t")
    return parent, task


def _starter_in_nested_stack(app: App) -> tuple[Stack, dms.CfnReplicationTask]:
    parent = Stack(app, "Parent")
    task = make_task(parent, "Task", resource_identifier="t")
    return NestedStack(parent, "Nested"), task


OTHER_STACK_LAYOUTS: Final = {
    "task in a sibling stack": _sibling_stacks,
    "task in a nested stack": _task_in_nested_stack,
    "starter in a nested stack": _starter_in_nested_stack,
}


@pytest.mark.parametrize("layout", OTHER_STACK_LAYOUTS.values(), ids=list(OTHER_STACK_LAYOUTS))
def test_a_task_outside_the_starters_stack_is_granted_or_refused(
    layout: Callable[[App], tuple[Stack, dms.CfnReplicationTask]],
) -> None:
    """The grant by tag covers the tasks tagged with the starter's own stack id. A task of
    another stack is not tagged so (``Tags.of`` covers the provider's stack; in a nested
    stack ``AWS::StackId`` is the nested stack's id), so the starter must grant it by ARN or
    refuse it at synth time; otherwise every deployment fails on StartReplicationTask with
    AccessDenied."""
    app = App()
    starter_stack, task = layout(app)
    refusal = _refusal(
        lambda: ReplicationTaskStarter(starter_stack, "S", task=task, guard_task_updates=False)
    )
    if refusal is not None:
        assert refusal.startswith("task: ")
        return
    synth_starter = Template.from_stack(starter_stack)
    ((_, starter),) = synth_starter.find_resources(STARTER_TYPE).items()
    arn = starter["Properties"]["ReplicationTaskArn"]
    granted_by_arn = arn_grants(synth_starter, "dms:StartReplicationTask", arn)
    task_template = Template.from_stack(Stack.of(task)).to_json()
    task_tags = task_template["Resources"][Stack.of(task).get_logical_id(task)]["Properties"].get(
        "Tags", []
    )
    own_stack_id_tags = [t for t in task_tags if t == STACK_TAG]
    assert granted_by_arn, (
        f"the starter's role has no grant on {arn} and the task's only stack tag is "
        f"{own_stack_id_tags or 'missing'} (its own stack's id, not the starter's)"
    )
