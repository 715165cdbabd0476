"""``test_connections`` at synth time: the property, and the grant added only with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dms_task_starter import ReplicationTaskStarter

from tests.support.cdk import (
    HANDLER_ROLE_PREFIX,
    INSTANCE_ARN,
    SOURCE_ARN,
    STARTER_TYPE,
    TARGET_ARN,
    TASK_ARN,
    Synthesized,
    as_list,
    make_task,
    rendered_dms_arn,
    synthesize,
)

if TYPE_CHECKING:
    from pathlib import Path

    from aws_cdk import Stack

ACTION = "dms:TestConnection"


def _connection_grants(synth: Synthesized) -> list[dict[str, Any]]:
    return [
        statement
        for _, statement in synth.handler_role_statements()
        if ACTION in as_list(statement["Action"])
    ]


def _starter_properties(synth: Synthesized) -> dict[str, Any]:
    (starter,) = synth.resources(STARTER_TYPE).values()
    return dict(starter["Properties"])


def test_the_grant_names_the_tasks_instance_and_endpoints(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        task = make_task(stack, "Task", resource_identifier="orders")
        ReplicationTaskStarter(stack, "Start", task=task, test_connections=True)

    synth = synthesize(build, tmp_path, nag=True)
    (grant,) = _connection_grants(synth)
    assert grant["Action"] == ACTION
    assert as_list(grant["Resource"]) == [INSTANCE_ARN, SOURCE_ARN, TARGET_ARN]
    assert "Condition" not in grant
    assert _starter_properties(synth)["TestConnections"] == "true"


def test_a_task_given_by_arn_is_granted_the_accounts_endpoints_and_instances(
    tmp_path: Path,
) -> None:
    def build(stack: Stack) -> None:
        ReplicationTaskStarter(stack, "Start", task=TASK_ARN, test_connections=True)

    synth = synthesize(build, tmp_path, nag=True)  # the wildcard is acknowledged for cdk-nag
    (grant,) = _connection_grants(synth)
    assert as_list(grant["Resource"]) == [
        rendered_dms_arn("endpoint:*"),
        rendered_dms_arn("rep:*"),
    ]


def test_without_the_option_there_is_no_grant_and_no_property(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        ReplicationTaskStarter(stack, "Start", task=make_task(stack, "Task"))

    synth = synthesize(build, tmp_path)
    assert _connection_grants(synth) == []
    assert "TestConnections" not in _starter_properties(synth)


def test_the_starter_depends_on_the_role_that_holds_the_grant(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        task = make_task(stack, "Task", resource_identifier="orders")
        ReplicationTaskStarter(stack, "Start", task=task, test_connections=True)

    synth = synthesize(build, tmp_path)
    (starter,) = synth.resources(STARTER_TYPE).values()
    policy, _ = synth.only("AWS::IAM::Policy", f"{HANDLER_ROLE_PREFIX}DefaultPolicy")
    assert policy in as_list(starter["DependsOn"])
