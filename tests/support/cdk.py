"""Synthesis helpers: tasks, the mixed stack, template queries, the lifecycle suites' stacks."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from aws_cdk import App, CfnTag, Environment, Stack, Validations
from aws_cdk import aws_dms as dms
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from .dms_double import ACCOUNT, REGION

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path


ACCOUNT_ARN: Final = "arn:aws:dms:eu-west-1:123456789012"
INSTANCE_ARN: Final = f"{ACCOUNT_ARN}:rep:INSTANCE"
SOURCE_ARN: Final = f"{ACCOUNT_ARN}:endpoint:SOURCE"
TARGET_ARN: Final = f"{ACCOUNT_ARN}:endpoint:TARGET"
TASK_ARN: Final = f"{ACCOUNT_ARN}:task:EXISTINGTASK"
SECOND_TASK_ARN: Final = f"{ACCOUNT_ARN}:task:SECONDTASK"

PROVIDER_PREFIX: Final = "DmsReplicationTaskStarterProvider"
"""Logical ids of the provider's resources start with this (its construct id)."""
HANDLER_ROLE_PREFIX: Final = f"{PROVIDER_PREFIX}HandlerRole"
STACK_TAG: Final[dict[str, Any]] = {
    "Key": "dms-task-starter:stack",
    "Value": {"Ref": "AWS::StackId"},
}
"""The tag every DMS task and replication config of a stack with starters carries."""

STARTER_TYPE: Final = "Custom::DmsReplicationTaskStarter"
UPDATE_GUARD_TYPE: Final = "Custom::DmsReplicationTaskUpdateGuard"
ROLLBACK_GUARD_TYPE: Final = "Custom::DmsReplicationTaskRollbackGuard"
REPLICATION_STARTER_TYPE: Final = "Custom::DmsReplicationStarter"


class StackShape(Protocol):
    """A hashable description of a stack that a lifecycle test deploys, updates or rolls back."""

    def build(self, stack: Stack) -> None: ...


@functools.cache
def shape_template(shape: StackShape) -> dict[str, Any]:
    """The template of ``shape`` in the emulator's account and region, synthesized once."""
    stack = Stack(App(), "OrdersReplication", env=Environment(account=ACCOUNT, region=REGION))
    shape.build(stack)
    return dict(Template.from_stack(stack).to_json())


def selection_rules(*tables: str) -> dict[str, Any]:
    """Table mappings that include ``tables`` of the ``public`` schema."""
    return {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": str(n),
                "rule-name": table,
                "object-locator": {"schema-name": "public", "table-name": table},
                "rule-action": "include",
            }
            for n, table in enumerate(tables, start=1)
        ]
    }


def make_task(
    scope: Stack, id: str, *, resource_identifier: str | None = None, **overrides: Any
) -> dms.CfnReplicationTask:
    """A CfnReplicationTask with literal endpoints; ``overrides`` replace its props."""
    props: dict[str, Any] = {
        "migration_type": "full-load-and-cdc",
        "replication_instance_arn": INSTANCE_ARN,
        "source_endpoint_arn": SOURCE_ARN,
        "target_endpoint_arn": TARGET_ARN,
        "table_mappings": '{"rules": []}',
        "resource_identifier": resource_identifier,
    }
    props.update(overrides)
    return dms.CfnReplicationTask(scope, id, **props)


def orders_task(stack: Stack, *, instance: str, source: str, target: str) -> dms.CfnReplicationTask:
    """The stack's ``orders`` task (full load and CDC) on an instance and endpoints by ARN."""
    return dms.CfnReplicationTask(
        stack,
        "OrdersTask",
        migration_type="full-load-and-cdc",
        replication_instance_arn=instance,
        source_endpoint_arn=source,
        target_endpoint_arn=target,
        table_mappings=json.dumps(selection_rules("orders")),
        resource_identifier="orders",
    )


def make_config(scope: Stack, id: str, **overrides: Any) -> dms.CfnReplicationConfig:
    """A DMS Serverless CfnReplicationConfig with literal endpoints."""
    props: dict[str, Any] = {
        "compute_config": dms.CfnReplicationConfig.ComputeConfigProperty(max_capacity_units=2),
        "replication_config_identifier": id.lower(),
        "replication_type": "full-load-and-cdc",
        "source_endpoint_arn": SOURCE_ARN,
        "target_endpoint_arn": TARGET_ARN,
        "table_mappings": {"rules": []},
    }
    props.update(overrides)
    return dms.CfnReplicationConfig(scope, id, **props)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def arn_grants(template: Template, action: str, arn: Any) -> list[str]:
    """The policies of ``template`` that allow ``action`` on ``arn`` itself (no condition)."""
    policies = {
        **template.find_resources("AWS::IAM::Policy"),
        **template.find_resources("AWS::IAM::ManagedPolicy"),
    }
    return [
        name
        for name, policy in policies.items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if action in as_list(statement["Action"])
        and "Condition" not in statement
        and arn in as_list(statement["Resource"])
    ]


def depends_on(resource: Mapping[str, Any]) -> set[str]:
    """The explicit ``DependsOn`` of a template resource."""
    return set(as_list(resource.get("DependsOn", [])))


def references(value: Any) -> Iterator[str]:
    """The logical ids that ``Ref`` or ``Fn::GetAtt`` name anywhere in ``value``."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            yield value["Ref"]
        elif set(value) == {"Fn::GetAtt"}:
            yield value["Fn::GetAtt"][0]
        else:
            for item in value.values():
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def direct_dependencies(resources: dict[str, Any], logical_id: str) -> set[str]:
    """What CloudFormation creates before ``logical_id``: DependsOn, Ref and GetAtt."""
    resource = resources[logical_id]
    implicit = {name for name in references(resource.get("Properties", {})) if name in resources}
    return depends_on(resource) | implicit


def dependency_closure(resources: dict[str, Any], logical_id: str) -> set[str]:
    """Everything CloudFormation creates before ``logical_id`` (transitively)."""
    seen: set[str] = set()
    pending = [logical_id]
    while pending:
        for name in direct_dependencies(resources, pending.pop()):
            if name not in seen:
                seen.add(name)
                pending.append(name)
    return seen


@dataclass
class Synthesized:
    app: App
    stack: Stack
    template: Template
    outdir: Path

    def resources(self, type_: str) -> dict[str, Any]:
        return dict(self.template.find_resources(type_))

    def template_json(self) -> dict[str, Any]:
        return dict(self.template.to_json())

    def all_resources(self) -> dict[str, Any]:
        return dict(self.template_json()["Resources"])

    def only(self, type_: str, prefix: str = "") -> tuple[str, dict[str, Any]]:
        """The one resource of ``type_`` whose logical id starts with ``prefix``."""
        matches = [(n, r) for n, r in self.resources(type_).items() if n.startswith(prefix)]
        assert len(matches) == 1, [name for name, _ in matches]
        return matches[0]

    def handler_role(self) -> str:
        """The logical id of the provider's handler role."""
        name, _ = self.only("AWS::IAM::Role", HANDLER_ROLE_PREFIX)
        return name

    def handler_role_policies(self) -> dict[str, Any]:
        """Inline and customer-managed policies attached to the handler role."""
        role = {"Ref": self.handler_role()}
        return {
            name: resource
            for type_ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
            for name, resource in self.resources(type_).items()
            if role in resource["Properties"].get("Roles", [])
        }

    def handler_role_statements(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (name, statement)
            for name, policy in self.handler_role_policies().items()
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]


def synthesize(
    build: Callable[[Stack], object],
    outdir: Path,
    *,
    nag: bool = False,
    stack_name: str = "TestStack",
) -> Synthesized:
    """Build a stack with ``build`` and synthesize it into ``outdir`` (optionally with cdk-nag).

    With ``nag``, AwsSolutionsChecks runs as a validation plugin (synthesis raises on an
    unacknowledged finding) and writes the acknowledgements into the resources' metadata.
    """
    app = App(outdir=str(outdir))
    stack = Stack(app, stack_name)
    build(stack)
    if nag:
        Validations.of(app).add_plugins(
            AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True)
        )
    app.synth()  # raises when cdk-nag reports an unacknowledged finding
    return Synthesized(app, stack, Template.from_stack(stack), outdir)


def build_mixed(stack: Stack) -> None:
    """Everything at once: two guarded tasks, an unguarded one, two ARN strings, a task no
    starter starts, and a Serverless replication config with its starter."""
    from dms_task_starter import CdcStart, CdcStop, ReplicationStarter, ReplicationTaskStarter

    guarded = make_task(stack, "GuardedTask", resource_identifier="guarded-task")
    ReplicationTaskStarter(stack, "Guarded", task=guarded)
    other = make_task(
        stack,
        "OtherTask",
        resource_identifier="other-task",
        tags=[CfnTag(key="team", value="data")],
    )
    ReplicationTaskStarter(stack, "Other", task=other, cdc_start=CdcStart.at_position("0/5120E10"))
    unguarded = make_task(stack, "UnguardedTask")
    ReplicationTaskStarter(stack, "Unguarded", task=unguarded, guard_task_updates=False)
    ReplicationTaskStarter(
        stack,
        "ByArn",
        task=TASK_ARN,
        cdc_stop=CdcStop.at_position("server_time:2030-01-01T00:00:00"),
    )
    ReplicationTaskStarter(stack, "ByArn2", task=SECOND_TASK_ARN)
    make_task(stack, "BystanderTask", migration_type="cdc")
    ReplicationStarter(stack, "Serverless", replication_config=make_config(stack, "Config"))


def rendered_dms_arn(resource: str) -> dict[str, Any]:
    """``arn:${Partition}:dms:${Region}:${Account}:<resource>`` as CloudFormation renders it."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":dms:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{resource}",
            ],
        ]
    }


def deterministic_arn(identifier: str) -> dict[str, Any]:
    """The task ARN a guard knows before the task exists, as CloudFormation renders it."""
    return rendered_dms_arn(f"task:{identifier}")


def run_python_process(
    args: list[str], *, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with ``args`` in a fresh process and return what happened."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def run_python(args: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    """Run this interpreter with ``args`` in a fresh process; fail the test unless it succeeds."""
    result = run_python_process(args, cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
