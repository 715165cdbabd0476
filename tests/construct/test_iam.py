"""Grants: scoped to task ARNs, chunked into managed policies, outliving the resources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import Stack
from cdk_support import ACCOUNT_ARN, TASK_ARN, Synthesized, deterministic_arn
from dms_task_starter import ReplicationTaskStarter
from dms_task_starter.provider import (
    DESCRIBE_ACTION,
    MAX_MANAGED_POLICIES_PER_ROLE,
    TASK_ACTIONS,
    TASKS_PER_GRANT_POLICY,
    ReplicationTaskStarterProvider,
)
from dms_task_starter_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Iterator


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(synth: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    for type_ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for name, resource in synth.resources(type_).items():
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                yield name, statement


def _managed(synth: Synthesized, prefix: str) -> dict[str, Any]:
    return {
        name: resource
        for name, resource in synth.resources("AWS::IAM::ManagedPolicy").items()
        if name.startswith(f"DmsReplicationTaskStarterProvider{prefix}")
    }


def test_only_describe_is_granted_on_star(mixed: Synthesized) -> None:
    star = [(name, s) for name, s in _statements(mixed) if "*" in _as_list(s.get("Resource"))]
    assert len(star) == 1
    assert star[0][1]["Action"] == DESCRIBE_ACTION


def test_dms_actions_are_scoped_to_task_arns(mixed: Synthesized) -> None:
    dms_statements = [
        s for _, s in _statements(mixed) if any(a.startswith("dms:") for a in _as_list(s["Action"]))
    ]
    actions = {a for s in dms_statements for a in _as_list(s["Action"])}
    assert actions == {*TASK_ACTIONS, DESCRIBE_ACTION}
    for statement in dms_statements:
        if statement["Action"] == DESCRIBE_ACTION:
            continue
        assert sorted(statement["Action"]) == sorted(TASK_ACTIONS)
        for resource in statement["Resource"]:
            assert resource != "*"
            assert "*" not in str(resource)


def test_primary_grant_lists_each_task_as_the_starter_names_it(mixed: Synthesized) -> None:
    (policy,) = _managed(mixed, "TaskGrants").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [
        {"Ref": "GuardedTask"},
        {"Ref": "OtherTask"},
        {"Ref": "UnguardedTask"},
        TASK_ARN,
        f"{ACCOUNT_ARN}:task:SECONDTASK",
    ]
    (role,) = policy["Properties"]["Roles"]
    assert role["Ref"].startswith("DmsReplicationTaskStarterProviderHandlerRole")


def test_guard_grant_lists_the_deterministic_arns_of_guarded_tasks(mixed: Synthesized) -> None:
    (policy,) = _managed(mixed, "GuardedTaskGrants").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [
        deterministic_arn("guarded-task"),
        deterministic_arn("other-task"),
    ]


def test_retention_grant_covers_the_reported_arns(mixed: Synthesized) -> None:
    (policy,) = _managed(mixed, "RetainedTaskGrants").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    starters = sorted(mixed.resources(contract.STARTER_RESOURCE_TYPE))
    assert sorted(r["Fn::GetAtt"][0] for r in statement["Resource"]) == starters
    assert {r["Fn::GetAtt"][1] for r in statement["Resource"]} == {contract.Attr.TASK_ARN}
    # It follows the starters (GetAtt) and nothing waits for it: no cycle, and CloudFormation
    # updates it only after the starters' updates and deletes it before them.
    assert "DependsOn" not in policy


def test_starters_and_guards_depend_on_their_grants(mixed: Synthesized) -> None:
    (primary,) = _managed(mixed, "TaskGrants")
    (guarded,) = _managed(mixed, "GuardedTaskGrants")
    for resource in mixed.resources(contract.STARTER_RESOURCE_TYPE).values():
        assert primary in resource["DependsOn"]
    for resource in mixed.resources(contract.GUARD_RESOURCE_TYPE).values():
        assert guarded in resource["DependsOn"]


def test_shared_role_has_scoped_logs_and_no_managed_aws_policies(mixed: Synthesized) -> None:
    roles = {
        name: role
        for name, role in mixed.resources("AWS::IAM::Role").items()
        if name.startswith("DmsReplicationTaskStarterProviderHandlerRole")
    }
    ((role_name, role),) = roles.items()
    assert "ManagedPolicyArns" not in role["Properties"]
    inline = [
        p
        for p in mixed.resources("AWS::IAM::Policy").values()
        if {"Ref": role_name} in p["Properties"]["Roles"]
    ]
    statements = [s for p in inline for s in p["Properties"]["PolicyDocument"]["Statement"]]
    logs = [s for s in statements if any(a.startswith("logs:") for a in _as_list(s["Action"]))]
    log_groups = {r["Fn::GetAtt"][0] for s in logs for r in _as_list(s["Resource"])}
    assert log_groups == {
        name
        for name in mixed.resources("AWS::Logs::LogGroup")
        if name.startswith(
            (
                "DmsReplicationTaskStarterProviderOnEventLogs",
                "DmsReplicationTaskStarterProviderIsCompleteLogs",
            )
        )
    }
    assert len(log_groups) == 2


def test_grants_are_chunked() -> None:
    stack = Stack()
    count = TASKS_PER_GRANT_POLICY + 1
    for index in range(count):
        ReplicationTaskStarter(stack, f"S{index}", task=f"{ACCOUNT_ARN}:task:TASK{index:04d}")
    provider = ReplicationTaskStarterProvider.of(stack)
    assert len(provider.grant_policies) == 4  # 2 primary + 2 retention
    sizes = [
        len(_as_list(stack.resolve(p.document.to_json())["Statement"][0]["Resource"]))
        for p in provider.grant_policies
    ]
    assert sizes == [TASKS_PER_GRANT_POLICY, 1, TASKS_PER_GRANT_POLICY, 1]


def test_two_hundred_starters_fit_and_more_are_refused() -> None:
    stack = Stack()
    for index in range(200):
        ReplicationTaskStarter(stack, f"S{index}", task=f"{ACCOUNT_ARN}:task:TASK{index:04d}")
    provider = ReplicationTaskStarterProvider.of(stack)
    assert len(provider.grant_policies) == MAX_MANAGED_POLICIES_PER_ROLE
    for policy in provider.grant_policies:
        document = stack.resolve(policy.document.to_json())
        # IAM counts a managed policy's characters without whitespace (limit 6,144).
        assert len(str(document).replace(" ", "")) < 6_144
    with pytest.raises(ValueError, match=r"Split the starters across stacks"):
        ReplicationTaskStarter(stack, "S200", task=f"{ACCOUNT_ARN}:task:TASK0200")
