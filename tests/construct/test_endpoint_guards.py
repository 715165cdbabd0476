"""Endpoints of the stack under the guards: digests, properties and order in the template."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

from aws_cdk import App, Stack
from aws_cdk import aws_dms as dms
from aws_cdk.assertions import Template
from dms_task_starter import ReplicationStarter, ReplicationTaskStarter, task_definition_digest
from dms_task_starter_runtime import settings

from tests.support.cdk import (
    REPLICATION_STARTER_TYPE,
    ROLLBACK_GUARD_TYPE,
    SOURCE_ARN,
    STARTER_TYPE,
    UPDATE_GUARD_TYPE,
    dependency_closure,
    depends_on,
    make_config,
    make_task,
)

if TYPE_CHECKING:
    from collections.abc import Callable

DIGEST: Final = re.compile(r"[0-9a-f]{64}")


def endpoint(stack: Stack, id: str = "Source", port: int = 5432) -> dms.CfnEndpoint:
    return dms.CfnEndpoint(
        stack,
        id,
        endpoint_type="source",
        engine_name="postgres",
        server_name="db.example.com",
        port=port,
        database_name="orders",
    )


def guarded_task_stack(
    port: int = 5432, *, source: Callable[[dms.CfnEndpoint], str] | None = None
) -> tuple[Stack, dms.CfnReplicationTask]:
    stack = Stack(App(), "Orders")
    ep = endpoint(stack, port=port)
    task = make_task(
        stack,
        "OrdersTask",
        resource_identifier="orders",
        source_endpoint_arn=(source or (lambda e: e.ref))(ep),
    )
    ReplicationTaskStarter(stack, "StartOrders", task=task)
    return stack, task


def resources(stack: Stack) -> dict[str, Any]:
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return resources


def only(found: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    ((name, resource),) = [(n, r) for n, r in found.items() if r["Type"] == type_]
    return name, resource


def guard_digest(found: dict[str, Any]) -> str:
    _, guard = only(found, UPDATE_GUARD_TYPE)
    digest: str = guard["Properties"]["TaskDefinitionDigest"]
    return digest


def test_the_endpoint_comes_after_the_update_guard_and_the_rollback_guard() -> None:
    stack, _ = guarded_task_stack()
    found = resources(stack)
    guard, _ = only(found, UPDATE_GUARD_TYPE)
    rollback_guard, _ = only(found, ROLLBACK_GUARD_TYPE)
    assert {guard, rollback_guard} <= depends_on(found["Source"])
    # Neither guard waits for the endpoint: no cycle.
    assert "Source" not in dependency_closure(found, guard)
    assert "Source" not in dependency_closure(found, rollback_guard)


def test_the_guards_watch_the_endpoint_and_the_starter_its_guard() -> None:
    stack, task = guarded_task_stack()
    found = resources(stack)
    digest = guard_digest(found)
    _, starter = only(found, STARTER_TYPE)
    _, rollback_guard = only(found, ROLLBACK_GUARD_TYPE)
    guard_id, _ = only(found, UPDATE_GUARD_TYPE)
    assert DIGEST.fullmatch(digest)
    # The starter keeps the task's own digest: an endpoint change alone is no definition change.
    assert starter["Properties"]["TaskDefinitionDigest"] == task_definition_digest(task)
    assert starter["Properties"]["TaskDefinitionDigest"] != digest
    assert starter["Properties"]["UpdateGuard"] == {"Ref": guard_id}
    assert json.loads(rollback_guard["Properties"]["GuardedTasks"]) == {"orders": digest}
    assert "GuardedReplications" not in rollback_guard["Properties"]


def test_an_endpoint_change_changes_the_guards_digest_only() -> None:
    before, _ = guarded_task_stack(5432)
    after, _ = guarded_task_stack(5433)
    old, new = resources(before), resources(after)
    assert guard_digest(old) != guard_digest(new)
    _, old_starter = only(old, STARTER_TYPE)
    _, new_starter = only(new, STARTER_TYPE)
    assert old_starter["Properties"] == new_starter["Properties"]


def test_an_endpoint_given_by_arn_or_by_attribute_is_not_watched() -> None:
    for source in (lambda _e: SOURCE_ARN, lambda e: e.attr_external_id):
        stack, task = guarded_task_stack(source=source)
        found = resources(stack)
        assert guard_digest(found) == task_definition_digest(task)
        assert "DependsOn" not in found["Source"]


def test_a_serverless_configuration_on_an_endpoint_of_its_stack_gets_an_update_guard() -> None:
    stack = Stack(App(), "Orders")
    config = make_config(stack, "OrdersConfig", source_endpoint_arn=endpoint(stack).ref)
    ReplicationStarter(stack, "StartOrders", replication_config=config)
    found = resources(stack)
    guard_id, guard = only(found, UPDATE_GUARD_TYPE)
    rollback_guard_id, rollback_guard = only(found, ROLLBACK_GUARD_TYPE)
    _, starter = only(found, REPLICATION_STARTER_TYPE)
    _, config_resource = only(found, "AWS::DMS::ReplicationConfig")
    identifier = config_resource["Properties"]["ResourceIdentifier"]
    arn = guard["Properties"]["ReplicationConfigArn"]
    assert arn["Fn::Join"][1][-1] == f":replication-config:{identifier}"
    digest = guard["Properties"]["TaskDefinitionDigest"]
    assert DIGEST.fullmatch(digest)
    assert starter["Properties"]["UpdateGuard"] == {"Ref": guard_id}
    parsed = settings.parse_rollback_guard_settings(rollback_guard["Properties"])
    assert dict(parsed.guarded_replications) == {identifier: digest}
    assert dict(parsed.guarded_tasks) == {}
    assert {guard_id, rollback_guard_id} <= depends_on(found["Source"])
    assert "Source" not in dependency_closure(found, guard_id)


def test_a_serverless_configuration_without_endpoints_of_its_stack_has_no_guard() -> None:
    stack = Stack(App(), "Orders")
    config = make_config(stack, "OrdersConfig")
    ReplicationStarter(stack, "StartOrders", replication_config=config)
    other = make_config(stack, "OtherConfig", source_endpoint_arn=endpoint(stack).ref)
    ReplicationStarter(stack, "StartOther", replication_config=other, replace_on_change=False)
    found = resources(stack)
    assert [r for r in found.values() if r["Type"] == UPDATE_GUARD_TYPE] == []
    assert [r for r in found.values() if r["Type"] == ROLLBACK_GUARD_TYPE] == []
    assert "DependsOn" not in found["Source"]
