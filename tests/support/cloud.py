"""An emulated CloudFormation that deploys synthesized templates against the DMS double.

It walks a template's resources in dependency order (``DependsOn``, ``Ref``, ``Fn::GetAtt``),
resolves the intrinsics, and acts as CloudFormation does on the paths that matter here:

- Create, Update (an Update only when the resolved properties changed; a task whose
  create-only property changes is replaced; a custom resource that answers another
  physical id is replaced), cleanup (old physical ids of replaced resources and resources
  no longer in the template, deleted after every update, dependents first);
- rollback of a failed update: every resource the update changed, the failed one
  included, is updated back in dependency order; a replaced custom resource gets no
  rollback Update (its new id is deleted in the rollback cleanup, as is every resource
  the update created); a failure during rollback leaves ``UPDATE_ROLLBACK_FAILED``;
- rollback of a failed create (every created resource deleted), and stack delete.

Custom resources run through the Provider framework driver. Tasks, replication
configurations and endpoints are created, modified and deleted in the DMS double, as DMS
allows it (a running task cannot be modified or deleted; an endpoint a running task uses
cannot be modified, and an endpoint is modified in place, keeping its ARN; a configuration
whose replication ever started cannot be modified; a literal identifier that still exists
cannot be created again, so a replacement that keeps it collides with the old resource).
CloudFormation puts its system tags (``aws:cloudformation:stack-id``, ``-stack-name``,
``-logical-id``) on each one it creates. Whether a change of ``Tags`` alone goes through the
modify (its update handler holds ``dms:ModifyReplicationTask`` /
``dms:ModifyReplicationConfig``) or through the tag calls only is not published:
``TagUpdates`` models both readings. The double answers the handler only what the policies
attached to the handler role, as deployed at that moment, allow — actions, resources and
``aws:ResourceTag`` conditions — and so does the stack's DescribeStacks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Final

from dms_task_starter_runtime.contract import (
    GUARD_RESOURCE_TYPE,
    REPLICATION_STARTER_RESOURCE_TYPE,
    ROLLBACK_GUARD_RESOURCE_TYPE,
    STARTER_RESOURCE_TYPE,
)

from .dms_double import ACCOUNT, REGION, Call, DmsDouble, DmsError, Replicating
from .provider import ProviderFailedError, cfn_event, run_provider
from .served import ROOT_STACK_ID, STACK_ID, StackError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

TASK_TYPE: Final = "AWS::DMS::ReplicationTask"
CONFIG_TYPE: Final = "AWS::DMS::ReplicationConfig"
ENDPOINT_TYPE: Final = "AWS::DMS::Endpoint"
LATER_TYPE: Final = "AWS::SSM::Parameter"
"""A resource CloudFormation deploys after the starters, which a test can make fail."""
POLICY_TYPES: Final = ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
CUSTOM_TYPES: Final = (
    STARTER_RESOURCE_TYPE,
    GUARD_RESOURCE_TYPE,
    ROLLBACK_GUARD_RESOURCE_TYPE,
    REPLICATION_STARTER_RESOURCE_TYPE,
)
HANDLERS: Final = tuple(
    f"dms_task_starter_runtime.handler.{name}" for name in ("on_event", "is_complete")
)
REPLACING_PROPS: Final = {
    TASK_TYPE: (
        "ResourceIdentifier",
        "ReplicationInstanceArn",
        "SourceEndpointArn",
        "TargetEndpointArn",
        "MigrationType",
    ),
    CONFIG_TYPE: ("ResourceIdentifier",),
    ENDPOINT_TYPE: ("KmsKeyId", "ResourceIdentifier"),
}
"""The create-only properties (CloudFormation's resource schemas): a change replaces."""
PSEUDO: Final = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackId": STACK_ID,
    "AWS::StackName": STACK_ID.split("/")[1],
    "AWS::URLSuffix": "amazonaws.com",
}
Statement = dict[str, Any]
SYSTEM_TAG_PREFIX: Final = "aws:cloudformation:"


class TagUpdates(Enum):
    """How CloudFormation applies a change of a DMS resource's ``Tags`` alone: unpublished."""

    THROUGH_MODIFY = "tags-through-modify"
    """The update handler modifies the resource (refused while a task runs, and for a
    configuration after its first run), then tags it."""
    TAG_CALLS_ONLY = "tags-by-tag-calls"
    """The update handler only adds and removes tags, whatever the resource's state."""


TAG_UPDATES: Final = tuple(TagUpdates)
"""Both readings; the day-two suites run against each."""


class DeploymentFailedError(Exception):
    """CloudFormation (or DMS on its behalf) refused a step."""

    resource: Deployed | None = None
    """The resource as the failed step left it (a failed Create may have a physical id)."""


@dataclass
class Deployed:
    """A resource as CloudFormation keeps it: resolved properties, physical id, attributes."""

    type: str
    properties: dict[str, Any]
    physical_id: str = ""
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One operation on a resource, the DMS writes it caused and how it ended."""

    phase: str
    action: str
    logical_id: str
    type: str
    physical_id: str
    writes: list[Call]
    error: str = ""


@dataclass(frozen=True)
class Change:
    """What the forward update did to a resource, for the rollback."""

    logical_id: str
    how: str
    """created, updated or replaced; failed-create, failed-update or failed-replacement."""
    old: Deployed | None
    new: Deployed | None
    """The resource as the update left it (what it was being updated to, if that failed)."""


@dataclass
class PolicedDouble(DmsDouble):
    """The double behind IAM: the handler role's deployed statements decide each call."""

    policies: dict[str, list[Statement]] = field(default_factory=dict)
    denials: list[tuple[str, str]] = field(default_factory=list)
    propagation_seconds: float = 0.0
    """IAM's propagation delay: a policy denies for this long after it is created or rewritten."""
    granted_at: dict[str, float] = field(default_factory=dict)

    def grant(self, policy_id: str, statements: list[Statement]) -> None:
        self.policies[policy_id] = statements
        self.granted_at[policy_id] = self.clock

    def allows(
        self,
        action: str,
        resource: str,
        tags: dict[str, str],
        context: dict[str, str] | None = None,
    ) -> bool:
        return any(
            _matches(statement, action, resource, tags, context or {})
            for policy_id, statements in self.policies.items()
            if self.granted_at.get(policy_id, self.clock) + self.propagation_seconds <= self.clock
            for statement in statements
        )

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        # The Describe actions have no resource-level permissions: authorized on "*".
        # TestConnection is authorized on the endpoint and on the replication instance.
        resources = [
            str(params[key])
            for key in ("ReplicationTaskArn", "ReplicationConfigArn", "ResourceArn")
            if key in params
        ] or [
            str(params[key]) for key in ("EndpointArn", "ReplicationInstanceArn") if key in params
        ]
        for resource in resources or ["*"]:
            item = self.item(resource)
            tags = {} if item is None else item.tags
            if not self.allows(f"dms:{operation}", resource, tags):
                self.denials.append((operation, resource))
                raise DmsError(
                    "AccessDeniedFault",
                    f"User is not authorized to perform: dms:{operation} on resource: {resource}",
                )
        # DMS assumes ServiceAccessRoleArn: the caller must be allowed to pass it to DMS.
        role = params.get("ServiceAccessRoleArn")
        passed_to = {"iam:PassedToService": "dms.amazonaws.com"}
        if role is not None and not self.allows("iam:PassRole", role, {}, passed_to):
            self.denials.append(("PassRole", role))
            raise DmsError(
                "AccessDeniedFault",
                f"User is not authorized to perform: iam:PassRole on resource: {role}",
            )
        return super().handle(operation, params)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(
    statement: Statement, action: str, resource: str, tags: dict[str, str], context: dict[str, str]
) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if not any(fnmatchcase(action, pattern) for pattern in _as_list(statement["Action"])):
        return False
    if not any(fnmatchcase(resource, pattern) for pattern in _as_list(statement["Resource"])):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        assert operator == "StringEquals", f"condition operator {operator} is not modelled"
        for key, expected in conditions.items():
            tagged = key.startswith("aws:ResourceTag/")
            assert tagged or key in context, f"condition key {key} is not modelled"
            actual = tags.get(key.removeprefix("aws:ResourceTag/")) if tagged else context[key]
            if actual not in _as_list(expected):
                return False
    return True


def references(value: Any) -> list[str]:
    """The names every ``Ref`` and ``Fn::GetAtt`` in ``value`` refers to."""
    return re.findall(r'\{"(?:Ref|Fn::GetAtt)": \[?"([^"]+)"', json.dumps(value))


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
        depends_on = _as_list(resource.get("DependsOn", []))
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


@dataclass(frozen=True)
class Failure:
    """Make CloudFormation's ``action`` on ``logical_id`` fail (as if its handler failed)."""

    logical_id: str
    action: str = "Update"


class Cloud:
    """Deploys templates in dependency order against the policed DMS double."""

    def __init__(
        self, double: PolicedDouble, tag_updates: TagUpdates = TagUpdates.THROUGH_MODIFY
    ) -> None:
        self.double = double
        self.tag_updates = tag_updates
        self.status = "NONE"
        self.deployed: dict[str, Deployed] = {}
        self.template: dict[str, Any] = {"Resources": {}}
        self.steps: list[Step] = []
        self.phase = ""
        self.cleanup_failures: list[str] = []
        self.stack_calls: list[str] = []
        self._failure: Failure | None = None
        self.root_status: str | None = None
        """Set: this stack is nested in ``ROOT_STACK_ID``, whose status this is."""
        self.seconds_per_resource = 0.0
        """How long CloudFormation takes over each resource operation (IAM propagates meanwhile)."""

    # -- DescribeStacks, as the served double answers it -----------------------------

    def describe_stack(self, stack_name: str) -> dict[str, str]:
        self.stack_calls.append(self.status)
        if not self.double.allows("cloudformation:DescribeStacks", stack_name, {}):
            self.double.denials.append(("DescribeStacks", stack_name))
            raise StackError("AccessDenied", f"not authorized to describe {stack_name}", 403)
        if self.root_status is not None:
            return self._describe_nested(stack_name, self.root_status)
        return {
            "StackId": STACK_ID,
            "StackName": PSEUDO["AWS::StackName"],
            "StackStatus": self.status,
        }

    # -- a nested stack: this stack, in ROOT_STACK_ID --------------------------------------

    def _describe_nested(self, stack_name: str, root_status: str) -> dict[str, str]:
        if stack_name == ROOT_STACK_ID:
            return {"StackId": ROOT_STACK_ID, "StackName": "OrdersRoot", "StackStatus": root_status}
        own = {"StackId": STACK_ID, "StackName": PSEUDO["AWS::StackName"]}
        return {
            **own,
            "StackStatus": self.status,
            "ParentId": ROOT_STACK_ID,
            "RootId": ROOT_STACK_ID,
        }

    def create_in_root_update(self, template: dict[str, Any]) -> str:
        """Create this stack as a nested stack that the root's update adds."""
        self.root_status = "UPDATE_IN_PROGRESS"
        return self.deploy(template)

    def delete_whole_in_root_rollback(self) -> str:
        """The root's update failed after it created this nested stack: CloudFormation
        deletes the nested stack whole while the root rolls back."""
        self.root_status = "UPDATE_ROLLBACK_IN_PROGRESS"
        status = self.delete_stack()
        self.root_status = "UPDATE_ROLLBACK_COMPLETE"
        return status

    # -- stack operations -------------------------------------------------------------

    def deploy(self, template: dict[str, Any], *, fail: Failure | None = None) -> str:
        """Create or update the stack; return its final status."""
        self._failure = fail
        try:
            if self.status == "NONE":
                return self._create(template)
            return self._update(template)
        finally:
            self._failure = None

    def delete_stack(self) -> str:
        self.status = self.phase = "DELETE_IN_PROGRESS"
        try:
            self._delete_all(topological_order(self.template["Resources"]))
        except DeploymentFailedError:
            self.status = "DELETE_FAILED"
            return self.status
        self.template = {"Resources": {}}
        self.status = "DELETE_COMPLETE"
        return self.status

    def _create(self, template: dict[str, Any]) -> str:
        self.status = self.phase = "CREATE_IN_PROGRESS"
        self.template = template
        resources = template["Resources"]
        created: list[str] = []
        try:
            for logical_id in topological_order(resources):
                created.append(logical_id)
                self.deployed[logical_id] = self._operate(
                    "Create", logical_id, resources[logical_id]
                )
        except DeploymentFailedError as failed:
            if failed.resource is not None and failed.resource.physical_id:
                self.deployed[created[-1]] = failed.resource
            self.status = self.phase = "ROLLBACK_IN_PROGRESS"
            try:
                self._delete_all(created)
            except DeploymentFailedError:
                self.status = "ROLLBACK_FAILED"
                return self.status
            self.status = "ROLLBACK_COMPLETE"
            return self.status
        self.status = "CREATE_COMPLETE"
        return self.status

    def _update(self, template: dict[str, Any]) -> str:
        self.status = self.phase = "UPDATE_IN_PROGRESS"
        old_template, old_deployed = self.template, dict(self.deployed)
        resources = template["Resources"]
        order = topological_order(resources)
        changes: list[Change] = []
        self.template = template
        try:
            for logical_id in order:
                change = self._update_one(logical_id, resources[logical_id], changes)
                if change is not None:
                    changes.append(change)
        except DeploymentFailedError:
            return self._roll_back(old_template, old_deployed, changes)
        self.status = self.phase = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
        leftovers = [
            (change.logical_id, change.old)
            for change in changes
            if change.how == "replaced" and change.old is not None
        ]
        removed = [
            (logical_id, old_deployed[logical_id])
            for logical_id in old_deployed
            if logical_id not in resources
        ]
        self._clean_up([*leftovers, *removed], old_template)
        self.status = "UPDATE_COMPLETE"
        return self.status

    def _update_one(
        self, logical_id: str, resource: dict[str, Any], changes: list[Change]
    ) -> Change | None:
        old = self.deployed.get(logical_id)
        desired = self._desired(logical_id, resource)
        if old is not None and desired == old.properties:
            return None  # CloudFormation sends nothing
        replacing = old is not None and any(
            old.properties.get(key) != desired.get(key) for key in REPLACING_PROPS.get(old.type, ())
        )
        action = "Update" if old is not None and not replacing else "Create"
        try:
            new = self._operate(action, logical_id, resource, old if action == "Update" else None)
        except DeploymentFailedError as failed:
            how = (
                "failed-create"
                if old is None
                else "failed-replacement"
                if replacing
                else "failed-update"
            )
            attempted = failed.resource or Deployed(resource["Type"], desired)
            changes.append(Change(logical_id, how, old, attempted))
            raise
        self.deployed[logical_id] = new
        if old is None:
            return Change(logical_id, "created", None, new)
        how = "replaced" if new.physical_id != old.physical_id else "updated"
        return Change(logical_id, how, old, new)

    def _roll_back(
        self, old_template: dict[str, Any], old_deployed: dict[str, Deployed], changes: list[Change]
    ) -> str:
        self.status = self.phase = "UPDATE_ROLLBACK_IN_PROGRESS"
        new_template = self.template
        self.template = old_template
        old_order = topological_order(old_template["Resources"])
        by_id = {change.logical_id: change for change in changes}
        try:
            for logical_id in old_order:
                change = by_id.get(logical_id)
                if change is None or change.how not in ("updated", "failed-update"):
                    # Created resources go in the cleanup; a replaced one goes back to its
                    # old physical id without a call (its new one goes in the cleanup).
                    if change is not None and change.old is not None:
                        self.deployed[logical_id] = change.old
                    continue
                assert change.new is not None
                resource = old_template["Resources"][logical_id]
                self.deployed[logical_id] = self._operate(
                    "Update", logical_id, resource, change.new
                )
        except DeploymentFailedError:
            self.status = "UPDATE_ROLLBACK_FAILED"
            return self.status
        self.status = self.phase = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        leftovers: list[tuple[str, Deployed]] = []
        for change in changes:
            new = change.new
            leaves_physical = change.how in (
                "created",
                "replaced",
                "failed-create",
                "failed-replacement",
            )
            if leaves_physical and new is not None and new.physical_id:
                leftovers.append((change.logical_id, new))
            if change.how in ("created", "failed-create"):
                self.deployed.pop(change.logical_id, None)
        self._clean_up(leftovers, new_template)
        self.status = "UPDATE_ROLLBACK_COMPLETE"
        return self.status

    def _clean_up(self, leftovers: list[tuple[str, Deployed]], template: dict[str, Any]) -> None:
        """Delete what is left over, dependents first; failures do not fail the stack."""
        rank = {
            logical_id: n for n, logical_id in enumerate(topological_order(template["Resources"]))
        }
        for logical_id, resource in sorted(leftovers, key=lambda item: -rank.get(item[0], -1)):
            try:
                self._operate_deployed("Delete", logical_id, resource)
            except DeploymentFailedError as error:
                self.cleanup_failures.append(f"{logical_id}: {error}")
            if self.deployed.get(logical_id) is resource:
                del self.deployed[logical_id]

    def _delete_all(self, logical_ids: Iterable[str]) -> None:
        for logical_id in reversed(list(logical_ids)):
            resource = self.deployed.pop(logical_id, None)
            if resource is not None:
                self._operate_deployed("Delete", logical_id, resource)

    # -- one resource -----------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            intrinsic = self._intrinsics().get(name)
            if intrinsic is not None:
                return intrinsic(argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def _intrinsics(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": lambda name: PSEUDO[name] if name in PSEUDO else self.deployed[name].physical_id,
            "Fn::Join": lambda args: args[0].join(str(part) for part in self.resolve(args[1])),
            "Fn::GetAtt": lambda args: self.deployed[args[0]].data.get(
                args[1], f"{args[0]}.{args[1]}"
            ),
            "Fn::Select": lambda args: self.resolve(args[1])[int(args[0])],
            "Fn::FindInMap": lambda args: self.template["Mappings"][args[0]][self.resolve(args[1])][
                args[2]
            ],
            "Fn::Split": lambda args: str(self.resolve(args[1])).split(args[0]),
        }

    def _desired(self, logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        properties = resource.get("Properties", {})
        if resource["Type"] in POLICY_TYPES:
            return {"Statement": self.resolve(properties["PolicyDocument"]["Statement"])}
        resolved = self.resolve({k: v for k, v in properties.items() if k != "ServiceToken"})
        if resource["Type"] in CUSTOM_TYPES:  # CloudFormation hands custom resources strings
            assert all(isinstance(value, str) for value in resolved.values()), resolved
        return dict(resolved)

    def _operate(
        self, action: str, logical_id: str, resource: dict[str, Any], old: Deployed | None = None
    ) -> Deployed:
        if self.seconds_per_resource:
            self.double.advance(self.seconds_per_resource)
        desired = Deployed(resource["Type"], self._desired(logical_id, resource))
        if old is not None:
            desired.physical_id, desired.data = old.physical_id, dict(old.data)
        if resource["Type"] in POLICY_TYPES and not self._attached_to_handler(resource):
            desired.type = "AWS::IAM::Unrelated"
        try:
            self._operate_deployed(action, logical_id, desired, old)
        except DeploymentFailedError as failed:
            failed.resource = desired
            raise
        return desired

    def _attached_to_handler(self, resource: dict[str, Any]) -> bool:
        role = handler_role(self.template["Resources"])
        return {"Ref": role} in resource["Properties"].get("Roles", [])

    def _operate_deployed(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None = None
    ) -> None:
        writes = len(self.double.accepted_writes)
        error = ""
        try:
            failure = self._failure
            if failure is not None and (failure.logical_id, failure.action) == (logical_id, action):
                self._failure = None
                raise DeploymentFailedError(f"{logical_id}: injected failure of its {action}")
            handle = self._handlers().get(resource.type)
            if handle is not None:
                try:
                    handle(action, logical_id, resource, old)
                except DmsError as refused:
                    # CloudFormation's DMS handlers fail the resource with DMS's refusal.
                    raise DeploymentFailedError(
                        f"{logical_id}: {refused.code}: {refused.message}"
                    ) from refused
            elif not resource.physical_id:
                resource.physical_id = _physical_id_of_unmodelled(resource.type, logical_id)
                resource.data = _attributes_of_unmodelled(resource.type, resource.physical_id)
        except DeploymentFailedError as failed:
            error = str(failed)
            raise
        finally:
            step = Step(
                self.phase,
                action,
                logical_id,
                resource.type,
                resource.physical_id,
                self.double.accepted_writes[writes:],
                error,
            )
            self.steps.append(step)

    def _handlers(self) -> dict[str, Callable[[str, str, Deployed, Deployed | None], None]]:
        return {
            TASK_TYPE: self._task,
            CONFIG_TYPE: self._config,
            ENDPOINT_TYPE: self._endpoint,
            "AWS::IAM::Policy": self._policy,
            "AWS::IAM::ManagedPolicy": self._policy,
            **dict.fromkeys(CUSTOM_TYPES, self._custom),
        }

    def _policy(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        resource.physical_id = resource.physical_id or logical_id
        self.double.policies.pop(resource.physical_id, None)
        if action != "Delete":
            self.double.grant(resource.physical_id, _as_list(resource.properties["Statement"]))

    def _custom(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        event = cfn_event(
            action,
            resource.properties,
            old_properties=None if old is None or action != "Update" else old.properties,
            physical_id=resource.physical_id or None,
            resource_type=resource.type,
            logical_id=logical_id,
        )
        try:
            result = run_provider(event, self.double)
        except ProviderFailedError as failed:
            if action == "Create":
                resource.physical_id = failed.physical_id
            raise DeploymentFailedError(f"{logical_id}: {failed.reason}") from failed
        if action != "Delete":
            resource.physical_id, resource.data = result.physical_id, result.data

    def _task(self, action: str, logical_id: str, resource: Deployed, old: Deployed | None) -> None:
        """CloudFormation's handler of AWS::DMS::ReplicationTask, as DMS lets it act."""
        props = resource.properties
        fields = _task_fields(props)
        tags = {**fields.pop("tags"), **self._system_tags(logical_id)}
        if action == "Create":
            task = self.double.create_task(props["ResourceIdentifier"], tags=tags, **fields)
            resource.physical_id = task.arn
        elif action == "Update":
            if not self._tags_only(resource, old):
                self.double.modify_task(resource.physical_id, **fields)
            _retag(self.double.tasks[resource.physical_id], old, tags)
        else:
            self.double.delete_task(resource.physical_id)
        resource.data = {"TaskArn": resource.physical_id}

    def _config(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        """CloudFormation's handler of AWS::DMS::ReplicationConfig, as DMS lets it act."""
        props = resource.properties
        fields = _config_fields(props)
        tags = {**fields.pop("tags"), **self._system_tags(logical_id)}
        if action == "Create":
            config = self.double.create_config(props["ResourceIdentifier"], tags=tags, **fields)
            resource.physical_id = config.arn
        elif action == "Update":
            if not self._tags_only(resource, old):
                self.double.modify_config(resource.physical_id, **fields)
            _retag(self.double.replications[resource.physical_id], old, tags)
        else:
            self.double.delete_config(resource.physical_id)

    def _endpoint(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        """CloudFormation's handler of AWS::DMS::Endpoint: modified in place (same ARN)."""
        props = resource.properties
        if action == "Create":
            identifier = props.get("ResourceIdentifier") or logical_id
            resource.physical_id = self.double.create_endpoint(identifier, props).arn
        elif action == "Update":
            self.double.modify_endpoint(resource.physical_id, props)
        else:
            self.double.delete_endpoint(resource.physical_id)

    def _tags_only(self, resource: Deployed, old: Deployed | None) -> bool:
        """Whether this update changes nothing but ``Tags`` and, in the reading under test,
        CloudFormation then only calls the tag actions (no modify)."""
        if self.tag_updates is not TagUpdates.TAG_CALLS_ONLY or old is None:
            return False
        untagged = {key: value for key, value in resource.properties.items() if key != "Tags"}
        return untagged == {key: value for key, value in old.properties.items() if key != "Tags"}

    @staticmethod
    def _system_tags(logical_id: str) -> dict[str, str]:
        """The tags CloudFormation puts on every resource it creates, whatever the template."""
        return {
            f"{SYSTEM_TAG_PREFIX}stack-id": STACK_ID,
            f"{SYSTEM_TAG_PREFIX}stack-name": PSEUDO["AWS::StackName"],
            f"{SYSTEM_TAG_PREFIX}logical-id": logical_id,
        }

    # -- reading what happened ----------------------------------------------------------

    def steps_of(self, phase: str | None = None) -> list[Step]:
        return [step for step in self.steps if phase is None or step.phase == phase]

    def writes_of(self, phase: str) -> list[Call]:
        """The DMS writes of every step of ``phase``, in order."""
        return [write for step in self.steps_of(phase) for write in step.writes]

    def physical_id(self, logical_id: str) -> str:
        return self.deployed[logical_id].physical_id

    def logical_ids(self, resource_type: str) -> list[str]:
        return [
            logical_id
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        ]


def _physical_id_of_unmodelled(resource_type: str, logical_id: str) -> str:
    """What ``Ref`` returns for a resource the emulator does not model (an ARN for DMS, a
    name S3 accepts for a bucket)."""
    kinds = {"AWS::DMS::ReplicationInstance": "rep"}
    kind = kinds.get(resource_type)
    if resource_type == "AWS::S3::Bucket":
        return logical_id.lower()
    return f"arn:aws:dms:{REGION}:{ACCOUNT}:{kind}:{logical_id}" if kind else logical_id


def _attributes_of_unmodelled(resource_type: str, physical_id: str) -> dict[str, str]:
    """The ``Fn::GetAtt`` attributes CloudFormation gives a role or a bucket."""
    arns = {
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{physical_id}",
        "AWS::S3::Bucket": f"arn:aws:s3:::{physical_id}",
    }
    return {"Arn": arns[resource_type]} if resource_type in arns else {}


def _retag(item: Replicating, old: Deployed | None, tags: dict[str, str]) -> None:
    """Remove the template tags the update dropped, put the new ones; tags the template
    never had (added by API) stay."""
    dropped = set(_tags(old.properties)) - set(tags) if old is not None else set()
    item.tags = {key: value for key, value in item.tags.items() if key not in dropped} | tags


def _tags(props: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in props.get("Tags", [])}


def _task_fields(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "migration_type": props["MigrationType"],
        "source_endpoint_arn": props["SourceEndpointArn"],
        "target_endpoint_arn": props["TargetEndpointArn"],
        "replication_instance_arn": props["ReplicationInstanceArn"],
        "table_mappings": props["TableMappings"],
        "settings": props.get("ReplicationTaskSettings", "{}"),
        "tags": _tags(props),
    }


def _config_fields(props: dict[str, Any]) -> dict[str, Any]:
    definition = {
        key: props.get(key)
        for key in ("TableMappings", "ReplicationSettings", "SupplementalSettings", "ComputeConfig")
    }
    return {
        "migration_type": props["ReplicationType"],
        "source_endpoint_arn": props["SourceEndpointArn"],
        "target_endpoint_arn": props["TargetEndpointArn"],
        "definition": json.dumps(definition, sort_keys=True, default=str),
        "tags": _tags(props),
    }
