"""The synthesized template and the handler fit together, under an emulated CloudFormation.

The construct's template is synthesized in-process; a small emulator walks its resources in
dependency order (``DependsOn`` and ``Ref``/``Fn::GetAtt``; deletes in reverse), resolves the
intrinsics, sends the custom resources the events CloudFormation would send (an Update only when
the resolved properties changed, the Delete of a replaced physical id in the cleanup phase) and
creates, modifies and deletes the task in the DMS double. The double answers only what the
handler role's policies, as deployed at that moment of the lifecycle, allow.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_dms as dms
from aws_cdk.assertions import Template
from dms_task_starter import CdcStart, ReplicationTaskStarter
from dms_task_starter_runtime.contract import GUARD_RESOURCE_TYPE, STARTER_RESOURCE_TYPE
from dms_task_starter_runtime.dms import DmsCallError

from .dms_double import ACCOUNT, REGION, DmsDouble, DmsError, ServedDouble, task_arn
from .provider import cfn_event, run_provider

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

Write = tuple[str, dict[str, Any]]
Statement = tuple[tuple[str, ...], tuple[str, ...]]
Templates = dict[str, dict[str, Any]]

TASK_TYPE = "AWS::DMS::ReplicationTask"
POLICY_TYPES = ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
HANDLERS = tuple(f"dms_task_starter_runtime.handler.{name}" for name in ("on_event", "is_complete"))
# CloudFormation replaces a task when one of these changes; other changes modify it in place.
ENDPOINT_PROPS = ("SourceEndpointArn", "TargetEndpointArn")
REPLACING_TASK_PROPS = ("ResourceIdentifier", "ReplicationInstanceArn", *ENDPOINT_PROPS)
AT_REST = ("ready", "stopped", "failed")
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
DMS_ARN = f"arn:aws:dms:{REGION}:{ACCOUNT}"
T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 2, 1, 6, 30, tzinfo=UTC)
ORDERS = task_arn("orders")
ORDERS_V2 = task_arn("orders-v2")
EXISTING = task_arn("EXISTINGTASK")


def start(arn: str, start_type: str, **cdc: object) -> Write:
    params = {"ReplicationTaskArn": arn, "StartReplicationTaskType": start_type, **cdc}
    return ("StartReplicationTask", params)


def stop(arn: str) -> Write:
    return ("StopReplicationTask", {"ReplicationTaskArn": arn})


def epoch(rendered: str) -> int:
    """The CdcStartTime botocore puts on the wire for a rendered ``...Z`` property."""
    return int(datetime.strptime(rendered, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


# -- the templates ------------------------------------------------------------------------


def table_mappings(*tables: str) -> str:
    locators = [{"schema-name": "public", "table-name": table} for table in tables]
    rules = [
        {"rule-type": "selection", "rule-id": str(n), "rule-name": str(n), "object-locator": o}
        for n, o in enumerate(locators, start=1)
    ]
    return json.dumps({"rules": [{**rule, "rule-action": "include"} for rule in rules]})


def guarded(
    identifier: str = "orders",
    *,
    migration_type: str = "full-load-and-cdc",
    tables: tuple[str, ...] = ("orders",),
    cdc_start: datetime | None = T1,
) -> Callable[[Stack], None]:
    """The README example: a guarded CfnReplicationTask with literal ARNs and its starter."""

    def build(stack: Stack) -> None:
        task = dms.CfnReplicationTask(
            stack,
            "OrdersTask",
            migration_type=migration_type,
            replication_instance_arn=f"{DMS_ARN}:rep:EXAMPLEINSTANCE",
            source_endpoint_arn=f"{DMS_ARN}:endpoint:EXAMPLESOURCE",
            target_endpoint_arn=f"{DMS_ARN}:endpoint:EXAMPLETARGET",
            table_mappings=table_mappings(*tables),
            resource_identifier=identifier,
        )
        at = None if cdc_start is None else CdcStart.at_time(cdc_start)
        ReplicationTaskStarter(stack, "StartOrdersTask", task=task, cdc_start=at)

    return build


def by_arn(stack: Stack) -> None:
    ReplicationTaskStarter(stack, "StartExistingTask", task=EXISTING)


VARIANTS: dict[str, Callable[[Stack], None]] = {
    "base": guarded(),
    "new_cdc_start": guarded(cdc_start=T2),
    "new_mappings": guarded(tables=("orders", "customers")),
    "replaced": guarded("orders-v2", migration_type="cdc", cdc_start=None),
    "by_arn": by_arn,
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    """Every variant synthesized once, as CloudFormation receives it."""
    rendered: Templates = {}
    for name, build in VARIANTS.items():
        outdir: Path = tmp_path_factory.mktemp(f"cdk.out-{name}")
        app = App(outdir=str(outdir))
        stack = Stack(app, "OrdersReplication", env=Environment(account=ACCOUNT, region=REGION))
        build(stack)
        rendered[name] = dict(Template.from_stack(stack).to_json())
    return rendered


def without_retention(template: dict[str, Any]) -> dict[str, Any]:
    """The template without the retention grants (to show that the emulated IAM bites)."""
    resources = template["Resources"].items()
    return {**template, "Resources": {k: v for k, v in resources if "RetainedTask" not in k}}


# -- the emulated CloudFormation ------------------------------------------------------------


class DeploymentFailedError(Exception):
    """CloudFormation (or DMS on its behalf) refused a step."""


@dataclass
class PolicedDouble(DmsDouble):
    """The double behind IAM: the handler role's deployed ``dms:`` statements decide each call."""

    policies: dict[str, list[Statement]] = field(default_factory=dict)
    denials: list[tuple[str, str]] = field(default_factory=list)

    def allows(self, operation: str, resource: str) -> bool:
        return any(
            fnmatchcase(f"dms:{operation}", action) and fnmatchcase(resource, pattern)
            for statements in self.policies.values()
            for actions, resources in statements
            for action in actions
            for pattern in resources
        )

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        # DescribeReplicationTasks has no resource-level permissions: it is authorized on "*".
        resource = str(params.get("ReplicationTaskArn", "*"))
        if not self.allows(operation, resource):
            self.denials.append((operation, resource))
            raise DmsError(
                "AccessDeniedFault",
                f"User is not authorized to perform: dms:{operation} on resource: {resource}",
            )
        return super().handle(operation, params)


@dataclass
class Deployed:
    """A resource as CloudFormation keeps it: resolved properties, physical id, attributes."""

    type: str
    label: str
    properties: dict[str, Any]
    physical_id: str = ""
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One CloudFormation operation, the physical id it concerned and the DMS calls it caused."""

    action: str
    label: str
    physical_id: str
    writes: list[Write]
    calls: int


def references(properties: Any) -> list[str]:
    """The names every ``Ref`` and ``Fn::GetAtt`` in ``properties`` refers to."""
    return re.findall(r'\{"(?:Ref|Fn::GetAtt)": \[?"([^"]+)"', json.dumps(properties))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def topological_order(resources: dict[str, Any]) -> list[str]:
    """Dependencies first: ``DependsOn`` and every ``Ref``/``Fn::GetAtt`` of a resource."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        assert logical_id not in visiting, f"dependency cycle through {logical_id}"
        visiting.add(logical_id)
        resource = resources[logical_id]
        depends_on = as_list(resource.get("DependsOn", []))
        for dependency in [*depends_on, *references(resource.get("Properties", {}))]:
            if dependency in resources:
                visit(dependency)
        order.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return order


def handler_role(resources: dict[str, Any]) -> str:
    """The role of the two Python handler functions: the one whose calls DMS authorizes."""
    roles: list[str] = [
        resource["Properties"]["Role"]["Fn::GetAtt"][0]
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Handler") in HANDLERS
    ]
    assert len(roles) == 2, "expected the on_event and is_complete functions"
    assert len(set(roles)) == 1, "both handlers use one role"
    return roles[0]


def label_of(logical_id: str, resource: dict[str, Any], role: str) -> str | None:
    """A readable name for the resources the emulator models; None for the others."""
    kind = resource["Type"]
    simple = {TASK_TYPE: "task", STARTER_RESOURCE_TYPE: "starter", GUARD_RESOURCE_TYPE: "guard"}
    if kind in simple:
        return simple[kind]
    if kind not in POLICY_TYPES or {"Ref": role} not in resource["Properties"].get("Roles", []):
        return None
    if kind == "AWS::IAM::Policy":
        return "role-policy"
    markers = ("GuardedTaskGrants", "guard-grants"), ("RetainedTaskGrants", "retained-grants")
    return next((label for marker, label in markers if marker in logical_id), "grants")


def replaces(old: Deployed, new: Deployed) -> bool:
    """Whether CloudFormation creates a new physical resource for this change."""
    before, after = old.properties, new.properties
    return new.type == TASK_TYPE and any(before[k] != after[k] for k in REPLACING_TASK_PROPS)


class Cloud:
    """Deploys templates in dependency order against the policed DMS double."""

    def __init__(self, double: PolicedDouble) -> None:
        self.double = double
        self.deployed: dict[str, Deployed] = {}
        self.order: list[str] = []
        self.steps: list[Step] = []
        self.modified: list[tuple[str, str]] = []
        """(task ARN, its status) each time CloudFormation modified a task in place."""

    def resource(self, label: str) -> Deployed:
        (found,) = [resource for resource in self.deployed.values() if resource.label == label]
        return found

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            name = value["Ref"]
            return PSEUDO[name] if name in PSEUDO else self.deployed[name].physical_id
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(self.resolve(parts))
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.deployed[logical_id].data[attribute]
        return {key: self.resolve(item) for key, item in value.items()}

    def desired(self, resource: dict[str, Any]) -> dict[str, Any]:
        """The resource's properties as CloudFormation resolves them at this point."""
        properties = resource["Properties"]
        if resource["Type"] in POLICY_TYPES:
            document = properties["PolicyDocument"]["Statement"]
            assert all(statement["Effect"] == "Allow" for statement in document)
            dms_statements = [
                (tuple(as_list(s["Action"])), tuple(as_list(self.resolve(s["Resource"]))))
                for s in document
                if any(action.startswith("dms:") for action in as_list(s["Action"]))
            ]
            return {"Statements": dms_statements}
        resolved = self.resolve({k: v for k, v in properties.items() if k != "ServiceToken"})
        if resource["Type"] != TASK_TYPE:  # CloudFormation hands custom resources strings
            assert all(isinstance(value, str) for value in resolved.values()), resolved
        return dict(resolved)

    def deploy(self, template: dict[str, Any]) -> list[Step]:
        """Create or update the stack; return the steps of this deployment."""
        first = len(self.steps)
        resources: dict[str, Any] = template["Resources"]
        role = handler_role(resources)
        order = topological_order(resources)
        replaced: list[tuple[str, Deployed]] = []
        for logical_id in order:
            label = label_of(logical_id, resources[logical_id], role)
            if label is None:
                continue
            resource = resources[logical_id]
            new = Deployed(resource["Type"], label, self.desired(resource))
            old = self.deployed.get(logical_id)
            if old is not None and old.properties == new.properties:
                continue  # CloudFormation sends nothing
            if old is None or replaces(old, new):
                self._call("Create", logical_id, new)
            else:
                new.physical_id, new.data = old.physical_id, old.data
                self._call("Update", logical_id, new, old)
            if old is not None and new.physical_id != old.physical_id:
                replaced.append((logical_id, old))
            self.deployed[logical_id] = new
        # Cleanup phase: replaced physical ids, then resources no longer in the template.
        for logical_id, old in reversed(replaced):
            self._call("Delete", logical_id, old)
        for logical_id in reversed(self.order):
            if logical_id not in resources and logical_id in self.deployed:
                self._call("Delete", logical_id, self.deployed.pop(logical_id))
        self.order = order
        return self.steps[first:]

    def delete_stack(self) -> list[Step]:
        first = len(self.steps)
        for logical_id in reversed(self.order):
            if logical_id in self.deployed:
                self._call("Delete", logical_id, self.deployed.pop(logical_id))
        return self.steps[first:]

    def _call(
        self, request: str, logical_id: str, resource: Deployed, old: Deployed | None = None
    ) -> None:
        """Carry out one operation on ``resource`` (``old``: its state before an Update)."""
        writes, calls = len(self.double.accepted_writes), len(self.double.calls)
        try:
            if resource.type == TASK_TYPE:
                self._task(request, resource)
            elif resource.type in POLICY_TYPES:
                resource.physical_id = logical_id
                self.double.policies.pop(logical_id, None)
                if request != "Delete":
                    self.double.policies[logical_id] = resource.properties["Statements"]
            else:
                event = cfn_event(
                    request,
                    resource.properties,
                    old_properties=None if old is None else old.properties,
                    physical_id=resource.physical_id or None,
                    resource_type=resource.type,
                )
                event["LogicalResourceId"] = logical_id
                result = run_provider(event, self.double)
                if request != "Delete":
                    resource.physical_id, resource.data = result.physical_id, result.data
        finally:
            new_writes = self.double.accepted_writes[writes:]
            new_calls = len(self.double.calls) - calls
            step = Step(request, resource.label, resource.physical_id, new_writes, new_calls)
            self.steps.append(step)

    def _task(self, request: str, resource: Deployed) -> None:
        """CloudFormation's own handler of AWS::DMS::ReplicationTask, as DMS lets it act."""
        properties = resource.properties
        if request == "Create":
            created = self.double.add_task(properties["ResourceIdentifier"], status="creating")
            resource.physical_id = created.arn
        task = self.double.tasks[resource.physical_id]
        if request == "Update":
            self.modified.append((task.arn, task.status))
        if request != "Create" and task.status not in AT_REST:
            raise DeploymentFailedError(f"DMS refuses to {request.lower()} the {task.status} task")
        if request == "Delete":
            del self.double.tasks[task.arn]
        else:
            task.migration_type = properties["MigrationType"]


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    """An empty account: the policed double, served, with boto3 pointed at it."""
    double = PolicedDouble()
    with ServedDouble(double):
        yield Cloud(double)


def actions(steps: list[Step]) -> str:
    """The operations in order: ``+`` Create, ``~`` Update, ``-`` Delete, then the label."""
    sign = {"Create": "+", "Update": "~", "Delete": "-"}
    return " ".join(sign[step.action] + step.label for step in steps)


def step(steps: list[Step], action: str, label: str) -> Step:
    (found,) = [s for s in steps if (s.action, s.label) == (action, label)]
    return found


def granted(cloud: Cloud, label: str) -> list[str]:
    statements = cloud.resource(label).properties["Statements"]
    return [arn for _, resources in statements for arn in resources]


# -- the scenarios --------------------------------------------------------------------------


def test_create_starts_the_task_as_rendered(cloud: Cloud, templates: Templates) -> None:
    steps = cloud.deploy(templates["base"])
    assert (
        actions(steps)
        == "+guard-grants +role-policy +guard +task +grants +starter +retained-grants"
    )
    starter = cloud.resource("starter")
    rendered = starter.properties["CdcStartTime"]
    assert rendered == "2026-01-01T00:00:00Z"
    assert step(steps, "Create", "guard").calls == 0
    # The task is still creating when the starter is created: it waits, then starts it.
    expected = [start(ORDERS, "start-replication", CdcStartTime=epoch(rendered))]
    assert step(steps, "Create", "starter").writes == expected
    assert cloud.double.writes() == expected
    assert starter.physical_id == ORDERS
    assert starter.data["Status"] == "running"
    assert starter.data["ReplicationTaskArn"] == ORDERS
    for grants in ("grants", "guard-grants", "retained-grants"):
        assert granted(cloud, grants) == [ORDERS]
    assert granted(cloud, "role-policy") == ["*"]  # dms:DescribeReplicationTasks
    assert cloud.double.denials == []


def test_new_cdc_start_time_restarts_the_task(cloud: Cloud, templates: Templates) -> None:
    cloud.deploy(templates["base"])
    steps = cloud.deploy(templates["new_cdc_start"])
    assert actions(steps) == "~starter"  # the guard's properties are unchanged: no event
    rendered = cloud.resource("starter").properties["CdcStartTime"]
    assert rendered == "2026-02-01T06:30:00Z"
    restart = [stop(ORDERS), start(ORDERS, "resume-processing", CdcStartTime=epoch(rendered))]
    assert steps[0].writes == restart
    assert cloud.resource("starter").data["Status"] == "running"
    assert cloud.double.denials == []


def test_new_table_mappings_stop_modify_restart(cloud: Cloud, templates: Templates) -> None:
    cloud.deploy(templates["base"])
    first_guard_id = cloud.resource("guard").physical_id
    steps = cloud.deploy(templates["new_mappings"])
    # Cleanup deletes the guard's first id: the new one names the run the guard stopped.
    assert actions(steps) == "~guard ~task ~starter -guard"
    assert steps[0].writes == [stop(ORDERS)]
    assert cloud.modified == [(ORDERS, "stopped")]  # the guard waited until it was stopped
    # The CDC start time was applied by the first run: the restart resumes from the task's
    # checkpoint instead of replaying every change since that time.
    assert steps[2].writes == [start(ORDERS, "resume-processing")]
    assert steps[3] == Step("Delete", "guard", first_guard_id, [], 0)
    assert cloud.resource("guard").physical_id.startswith(f"{ORDERS}#update-guard#stopped-run:")
    assert cloud.double.tasks[ORDERS].status == "running"
    assert cloud.double.denials == []


def test_replacement_hands_cdc_over_under_the_retained_grant(
    cloud: Cloud, templates: Templates
) -> None:
    cloud.deploy(templates["base"])
    checkpoint = cloud.double.tasks[ORDERS].recovery_checkpoint
    assert checkpoint.startswith("checkpoint:")
    steps = cloud.deploy(templates["replaced"])
    assert (
        actions(steps)
        == "~guard-grants ~guard +task ~grants ~starter ~retained-grants -starter -task -guard"
    )
    assert step(steps, "Update", "guard").calls == 0  # replaced, not modified: nothing to stop
    # The old task's stop is allowed only by the retained grant (it still names the old ARN).
    assert step(steps, "Update", "starter").writes == [
        stop(ORDERS),
        start(ORDERS_V2, "start-replication", CdcStartPosition=checkpoint),
    ]
    old_starter = step(steps, "Delete", "starter")
    assert old_starter.physical_id == ORDERS
    assert old_starter.writes == []  # the old task is stopped already
    assert step(steps, "Delete", "task").physical_id == ORDERS
    assert set(cloud.double.tasks) == {ORDERS_V2}
    assert cloud.resource("starter").data["ReplicationTaskArn"] == ORDERS_V2
    assert cloud.resource("starter").data["Status"] == "running"
    for grants in ("grants", "guard-grants", "retained-grants"):
        assert granted(cloud, grants) == [ORDERS_V2]
    assert cloud.double.denials == []


def test_the_emulated_iam_denies_what_no_policy_grants(cloud: Cloud, templates: Templates) -> None:
    """Without the retained grants, the replaced task's stop is denied: the policing is real."""
    cloud.deploy(without_retention(templates["base"]))
    with pytest.raises(DmsCallError, match="AccessDeniedFault"):
        cloud.deploy(without_retention(templates["replaced"]))
    assert cloud.double.denials == [("StopReplicationTask", ORDERS)]
    assert cloud.double.tasks[ORDERS].status == "running"


def test_stack_delete_stops_the_task_before_its_grant_goes(
    cloud: Cloud, templates: Templates
) -> None:
    cloud.deploy(templates["base"])
    steps = cloud.delete_stack()
    assert (
        actions(steps)
        == "-retained-grants -starter -grants -task -guard -role-policy -guard-grants"
    )
    assert step(steps, "Delete", "starter").writes == [stop(ORDERS)]
    assert step(steps, "Delete", "guard").calls == 0
    assert cloud.double.tasks == {}
    assert cloud.double.policies == {}
    assert cloud.double.denials == []


def test_arn_string_starter_is_granted_its_task(cloud: Cloud, templates: Templates) -> None:
    cloud.double.add_task("EXISTINGTASK")
    created = cloud.deploy(templates["by_arn"])
    assert actions(created) == "+grants +role-policy +starter +retained-grants"
    assert granted(cloud, "grants") == [EXISTING]
    deleted = cloud.delete_stack()
    assert step(deleted, "Delete", "starter").writes == [stop(EXISTING)]
    assert cloud.double.writes() == [start(EXISTING, "start-replication"), stop(EXISTING)]
    assert cloud.double.denials == []
