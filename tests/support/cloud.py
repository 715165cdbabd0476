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
``TagUpdates`` models both readings. The double answers each function only what the
policies attached to its role, as deployed at that moment, allow — actions, resources and
``aws:ResourceTag`` conditions — and so do the stack's DescribeStacks and
DescribeStackResource, Step Functions' API, and Lambda's InvokeFunction by a state machine.

Long waits (CloudFormation beyond a custom resource's hour):

- ``AWS::CloudFormation::WaitConditionHandle``: ``Ref`` is a presigned-like HTTPS URL on the
  served emulation with a secret signature (``tests.support.wait_conditions``);
  ``AWS::CloudFormation::WaitCondition`` waits, in virtual time, for ``Count`` SUCCESS
  signals, fails on a FAILURE or at its ``Timeout`` (at most 43200 s) with CloudFormation's
  texts, answers ``Data``; neither is ever updated (a new logical id waits). A failed wait
  condition fails the stack operation like any resource (rollback); ``Interrupt`` deletes
  the stack, or cancels the update, while one waits.
- ``AWS::StepFunctions::StateMachine`` lives in the emulated Step Functions
  (``tests.support.stepfunctions``), whose executions run while CloudFormation waits and
  whenever the double's clock moves on; a Task invokes the template's Python
  ``AWS::Lambda::Function`` in-process, with that function's role, environment and
  timeout (``invocations`` records each).
- A custom resource that does not answer within ``custom_resource_limit_seconds``
  (CloudFormation's hour; a test scales it down) fails with CloudFormation's text.
"""

from __future__ import annotations

import importlib
import json
import re
import time
import uuid
from contextlib import contextmanager
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
from .provider import (
    CUSTOM_RESOURCE_LIMIT_SECONDS,
    FakeLambdaContext,
    FunctionTimedOutError,
    ProviderFailedError,
    cfn_event,
    double_clock,
    invoke,
    run_provider,
)
from .served import ROOT_STACK_ID, STACK_ID, StackError
from .stepfunctions import StepFunctions, StopReadings, TaskFailedError
from .wait_conditions import MAX_TIMEOUT_SECONDS, WaitConditions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

TASK_TYPE: Final = "AWS::DMS::ReplicationTask"
CONFIG_TYPE: Final = "AWS::DMS::ReplicationConfig"
ENDPOINT_TYPE: Final = "AWS::DMS::Endpoint"
FUNCTION_TYPE: Final = "AWS::Lambda::Function"
STATE_MACHINE_TYPE: Final = "AWS::StepFunctions::StateMachine"
HANDLE_TYPE: Final = "AWS::CloudFormation::WaitConditionHandle"
WAIT_CONDITION_TYPE: Final = "AWS::CloudFormation::WaitCondition"
NOT_UPDATED: Final = (HANDLE_TYPE, WAIT_CONDITION_TYPE)
"""CloudFormation updates neither (their resource references: "Updates aren't supported"):
an update that changes one leaves it as it is; only a new one (a new logical id) waits."""
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
    STATE_MACHINE_TYPE: ("StateMachineName", "StateMachineType"),
    FUNCTION_TYPE: ("FunctionName",),
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
    at: float = 0.0
    """When it ended (virtual clock)."""


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
    """The double behind IAM: the calling role's deployed statements decide each call.

    Each policy is attached to roles (logical ids); the caller is the role whose function
    runs now (``acting_as``), by default ``default_role``: the handler functions' role. A
    policy granted without roles is the default role's. Time passing (``advance``) also
    runs what waits on the clock elsewhere in the account (``on_advance``).
    """

    policies: dict[str, list[Statement]] = field(default_factory=dict)
    policy_roles: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    """The roles each policy is attached to (None: the default role)."""
    default_role: str = ""
    caller: str = ""
    """The role making calls now ("": ``default_role``)."""
    denials: list[tuple[str, str]] = field(default_factory=list)
    propagation_seconds: float = 0.0
    """IAM's propagation delay: a policy denies for this long after it is created or rewritten."""
    granted_at: dict[str, float] = field(default_factory=dict)
    on_advance: list[Callable[[], None]] = field(default_factory=list)

    def grant(
        self, policy_id: str, statements: list[Statement], roles: tuple[str, ...] | None = None
    ) -> None:
        self.policies[policy_id] = statements
        self.policy_roles[policy_id] = roles
        self.granted_at[policy_id] = self.clock

    def revoke(self, policy_id: str) -> None:
        self.policies.pop(policy_id, None)
        self.policy_roles.pop(policy_id, None)

    def allows(
        self,
        action: str,
        resource: str,
        tags: dict[str, str],
        context: dict[str, str] | None = None,
        *,
        role: str | None = None,
    ) -> bool:
        """Whether ``role`` (by default the caller) may call ``action`` on ``resource``."""
        role = role if role is not None else (self.caller or self.default_role)
        return any(
            _matches(statement, action, resource, tags, context or {})
            for policy_id, statements in self.policies.items()
            if self._attached(policy_id, role)
            and self.granted_at.get(policy_id, self.clock) + self.propagation_seconds <= self.clock
            for statement in statements
        )

    def _attached(self, policy_id: str, role: str) -> bool:
        roles = self.policy_roles.get(policy_id)
        return role == self.default_role if roles is None else role in roles

    @contextmanager
    def acting_as(self, role: str) -> Iterator[None]:
        """Calls made meanwhile carry ``role``'s credentials."""
        previous, self.caller = self.caller, role
        try:
            yield
        finally:
            self.caller = previous

    def advance(self, seconds: float = 10.0) -> None:
        super().advance(seconds)
        for listener in list(self.on_advance):
            listener()

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
    if not roles:
        return ""  # a template without the starter (the emulation's own tests)
    assert len(roles) == 2, "expected the on_event and is_complete functions"
    assert len(set(roles)) == 1, "both handlers use one role"
    return roles[0]


@dataclass(frozen=True)
class Failure:
    """Make CloudFormation's ``action`` on ``logical_id`` fail (as if its handler failed)."""

    logical_id: str
    action: str = "Update"


@dataclass(frozen=True)
class Interrupt:
    """The user stops the stack operation ``after_seconds`` into it, while a wait condition
    waits: during a create, by deleting the stack (the waiting resource's creation is
    cancelled, everything created is deleted); during an update, by CancelUpdateStack (the
    update is rolled back)."""

    after_seconds: float


class StackInterruptedError(DeploymentFailedError):
    """The user deleted the stack while it was being created (see ``Interrupt``)."""


@dataclass(frozen=True)
class LambdaFunction:
    """A function as Lambda keeps it: what Step Functions needs to invoke it in-process."""

    logical_id: str
    arn: str
    handler: str
    runtime: str
    role: str
    """The logical id of its execution role: its calls carry that role's policies."""
    memory_mb: int
    timeout_seconds: int
    environment: dict[str, str]


@dataclass(frozen=True)
class Invocation:
    """One invocation of a function by a state machine."""

    function: str
    """Its logical id."""
    role: str
    at: float
    wall_seconds: float
    """How long the handler ran here, in real time."""
    memory_mb: int
    error: str = ""


class UnsupportedFunctionError(Exception):
    """A function the emulation cannot run in-process (not a Python handler)."""


class Cloud:
    """Deploys templates in dependency order against the policed DMS double."""

    def __init__(
        self,
        double: PolicedDouble,
        tag_updates: TagUpdates = TagUpdates.THROUGH_MODIFY,
        *,
        custom_resource_limit_seconds: float = CUSTOM_RESOURCE_LIMIT_SECONDS,
        stop_readings: StopReadings | None = None,
    ) -> None:
        self.double = double
        self.tag_updates = tag_updates
        self.custom_resource_limit_seconds = custom_resource_limit_seconds
        """CloudFormation's hour for a custom resource's answer (scaled down by a test)."""
        self.waits = WaitConditions()
        self.stepfunctions = StepFunctions(
            functions=self,
            authorize=lambda action, resource: self.double.allows(action, resource, {}),
            readings=stop_readings or StopReadings(),
            clock=lambda: self.double.clock,
        )
        double.on_advance.append(self.stepfunctions.run_due)
        self.functions: dict[str, LambdaFunction] = {}
        """By ARN, every function the stack has (had: a deleted one stays, marked)."""
        self.deleted_functions: set[str] = set()
        self.invocations: list[Invocation] = []
        self.after_create: dict[str, Callable[[Deployed], None]] = {}
        """By logical id: what happens outside CloudFormation once it created that resource
        (a test starts an execution, sends a signal)."""
        self._interrupt_at: float | None = None
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

    def describe_stack_resource(self, stack_name: str, logical_id: str) -> dict[str, str]:
        """DescribeStackResource: a resource of this stack, as deployed (a handle's physical
        id is its presigned URL)."""
        if not self.double.allows("cloudformation:DescribeStackResource", stack_name, {}):
            self.double.denials.append(("DescribeStackResource", stack_name))
            raise StackError("AccessDenied", f"not authorized to describe {stack_name}", 403)
        if stack_name not in (STACK_ID, PSEUDO["AWS::StackName"]):
            raise StackError("ValidationError", f"Stack with id {stack_name} does not exist")
        resource = self.deployed.get(logical_id)
        if resource is None:
            raise StackError(
                "ValidationError",
                f"Resource {logical_id} does not exist for stack {PSEUDO['AWS::StackName']}",
            )
        return {
            "StackName": PSEUDO["AWS::StackName"],
            "StackId": STACK_ID,
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": resource.physical_id,
            "ResourceType": resource.type,
            "ResourceStatus": "CREATE_COMPLETE",
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

    def deploy(
        self,
        template: dict[str, Any],
        *,
        fail: Failure | None = None,
        interrupt: Interrupt | None = None,
    ) -> str:
        """Create or update the stack; return its final status."""
        self._failure = fail
        if interrupt is not None:
            self._interrupt_at = self.double.clock + interrupt.after_seconds
        self.double.default_role = handler_role(template["Resources"])
        try:
            if self.status == "NONE":
                return self._create(template)
            return self._update(template)
        finally:
            self._failure = None
            self._interrupt_at = None

    def delete_stack(self) -> str:
        return self._delete(topological_order(self.template["Resources"]))

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
            if isinstance(failed, StackInterruptedError):
                return self._delete(created)  # the user deleted the stack
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

    def _delete(self, logical_ids: list[str]) -> str:
        """DeleteStack: what was created is deleted, dependents first."""
        self.status = self.phase = "DELETE_IN_PROGRESS"
        try:
            self._delete_all(logical_ids)
        except DeploymentFailedError:
            self.status = "DELETE_FAILED"
            return self.status
        self.template = {"Resources": {}}
        self.status = "DELETE_COMPLETE"
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
        if old is not None and old.type in NOT_UPDATED:
            return None  # CloudFormation never updates these, whatever changed
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
            return {
                "Statement": self.resolve(properties["PolicyDocument"]["Statement"]),
                "Roles": _referenced_roles(properties),
            }
        resolved = self.resolve({k: v for k, v in properties.items() if k != "ServiceToken"})
        if _is_custom(resource["Type"]):  # CloudFormation hands custom resources strings
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
        try:
            self._operate_deployed(action, logical_id, desired, old)
        except DeploymentFailedError as failed:
            failed.resource = desired
            raise
        hook = self.after_create.get(logical_id)
        if action == "Create" and hook is not None:
            hook(desired)
        return desired

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
            if _is_custom(resource.type):
                handle = self._custom
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
                self.double.clock,
            )
            self.steps.append(step)

    def _handlers(self) -> dict[str, Callable[[str, str, Deployed, Deployed | None], None]]:
        return {
            TASK_TYPE: self._task,
            CONFIG_TYPE: self._config,
            ENDPOINT_TYPE: self._endpoint,
            "AWS::IAM::Policy": self._policy,
            "AWS::IAM::ManagedPolicy": self._policy,
            FUNCTION_TYPE: self._function,
            STATE_MACHINE_TYPE: self._state_machine,
            HANDLE_TYPE: self._handle,
            WAIT_CONDITION_TYPE: self._wait_condition,
        }

    def _policy(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        resource.physical_id = resource.physical_id or logical_id
        self.double.revoke(resource.physical_id)
        if action != "Delete":
            statements = _as_list(resource.properties["Statement"])
            self.double.grant(resource.physical_id, statements, tuple(resource.properties["Roles"]))

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
            result = run_provider(
                event,
                self.double,
                limit_seconds=self.custom_resource_limit_seconds,
                environments=self._handler_environments(),
            )
        except ProviderFailedError as failed:
            if action == "Create":
                resource.physical_id = failed.physical_id
            raise DeploymentFailedError(f"{logical_id}: {failed.reason}") from failed
        if action != "Delete":
            resource.physical_id, resource.data = result.physical_id, result.data

    # -- IAM roles, Lambda functions, Step Functions ---------------------------------------

    def _function(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        """Lambda keeps the function; a state machine's Task may invoke it (Python only)."""
        props = resource.properties
        name = props.get("FunctionName") or _generated_name(logical_id)
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        resource.physical_id, resource.data = name, {"Arn": arn}
        if action == "Delete":
            self.deleted_functions.add(arn)
            return
        self.deleted_functions.discard(arn)
        self.functions[arn] = LambdaFunction(
            logical_id,
            arn,
            str(props.get("Handler", "")),
            str(props.get("Runtime", "")),
            self._role_of(logical_id, "Role"),
            int(props.get("MemorySize", 128)),
            int(props.get("Timeout", 3)),
            {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
        )

    def _role_of(self, logical_id: str, prop: str) -> str:
        """The logical id of the role a resource's ``prop`` names (``Fn::GetAtt [Role, Arn]``)."""
        value = self.template["Resources"][logical_id]["Properties"][prop]
        if isinstance(value, str):  # a role outside the stack, by ARN: its name
            return value.rsplit("/", 1)[-1]
        assert set(value) == {"Fn::GetAtt"}, f"{logical_id}.{prop}: {value} is not modelled"
        return str(value["Fn::GetAtt"][0])

    def _state_machine(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        props = resource.properties
        if action == "Delete":
            self.stepfunctions.delete_state_machine(resource.physical_id)
            return
        definition = props.get("DefinitionString") or json.dumps(props["Definition"])
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        role = self._role_of(logical_id, "RoleArn")
        if action == "Update":
            self.stepfunctions.update_state_machine(resource.physical_id, definition, role)
            return
        name = props.get("StateMachineName") or _generated_name(logical_id)
        machine_type = props.get("StateMachineType", "STANDARD")
        machine = self.stepfunctions.create_state_machine(name, definition, role, machine_type)
        resource.physical_id = machine.arn
        resource.data = {"Arn": machine.arn, "Name": machine.name}

    def invoke_function(self, function: str, payload: Any, invoker_role: str) -> Any:
        """Invoke ``function`` (ARN or name) for a state machine whose role is ``invoker_role``:
        in-process, with the function's own role, on the virtual clock."""
        arn = (
            function
            if function.startswith("arn:")
            else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
        )
        spec = self.functions.get(arn)
        if spec is None or arn in self.deleted_functions:
            raise TaskFailedError("Lambda.ResourceNotFoundException", f"Function not found: {arn}")
        if not self.double.allows("lambda:InvokeFunction", arn, {}, role=invoker_role):
            self.double.denials.append(("InvokeFunction", arn))
            raise TaskFailedError(
                "Lambda.AWSLambdaException",
                f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{invoker_role}/states is not "
                f"authorized to perform: lambda:InvokeFunction on resource: {arn} because no "
                "identity-based policy allows the lambda:InvokeFunction action",
            )
        entry_point = _entry_point(spec)
        context = FakeLambdaContext(
            function_name=arn.rsplit(":", 1)[1],
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=arn,
            aws_request_id=str(uuid.uuid4()),
        )
        started, wall = self.double.clock, time.perf_counter()
        error = ""
        try:
            with self.double.acting_as(spec.role), double_clock(self.double):
                answer = invoke(
                    entry_point,
                    payload,
                    self.double,
                    spec.timeout_seconds,
                    context=context,
                    environment=spec.environment,
                )
        except FunctionTimedOutError as timed_out:
            error = "Sandbox.Timedout"
            raise TaskFailedError(error, str(timed_out)) from timed_out
        except Exception as failed:
            error = type(failed).__name__
            cause = {"errorMessage": str(failed), "errorType": error, "stackTrace": []}
            raise TaskFailedError(error, json.dumps(cause)) from failed
        finally:
            self.invocations.append(
                Invocation(
                    spec.logical_id,
                    spec.role,
                    started,
                    time.perf_counter() - wall,
                    spec.memory_mb,
                    error,
                )
            )
        return json.loads(json.dumps(answer))  # Lambda hands the answer on as JSON

    # -- wait conditions --------------------------------------------------------------------

    def _handle(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        if action == "Create":
            resource.physical_id = self.waits.create_handle(logical_id)
        elif action == "Delete":
            self.waits.delete_handle(resource.physical_id, self.double.clock)

    def _wait_condition(
        self, action: str, logical_id: str, resource: Deployed, old: Deployed | None
    ) -> None:
        """Create: wait for the handle's signals while time passes (executions run, DMS moves
        on); Delete: nothing to do."""
        if action != "Create":
            return
        props = resource.properties
        timeout, count = int(props["Timeout"]), int(props.get("Count", 1))
        if not 0 < timeout <= MAX_TIMEOUT_SECONDS:
            raise DeploymentFailedError(
                f"{logical_id}: Timeout {timeout} is not between 1 and {MAX_TIMEOUT_SECONDS} "
                "seconds (the emulation's words)"
            )
        url = props["Handle"]
        resource.physical_id = f"{STACK_ID}/{self.waits.handle_of(url).logical_id}"
        deadline = self.double.clock + timeout
        while True:
            self.stepfunctions.run_due()
            verdict = self.waits.verdict(url, count)
            if verdict.failure:
                raise DeploymentFailedError(f"{logical_id}: {verdict.failure}")
            if verdict.done:
                resource.data = {"Data": verdict.data}
                return
            self._check_interrupt(logical_id)
            if self.double.clock >= deadline:
                raise DeploymentFailedError(
                    f"{logical_id}: {self.waits.timed_out(verdict.received, count)}"
                )
            wake = [deadline, self.stepfunctions.next_due(), self._interrupt_at]
            self.double.advance(min(t for t in wake if t is not None) - self.double.clock)

    def _check_interrupt(self, logical_id: str) -> None:
        if self._interrupt_at is None or self.double.clock < self._interrupt_at:
            return
        self._interrupt_at = None
        if self.phase == "CREATE_IN_PROGRESS":
            raise StackInterruptedError(f"{logical_id}: Resource creation cancelled")
        raise DeploymentFailedError(f"{logical_id}: Resource update cancelled")

    def _handler_environments(self) -> dict[str, dict[str, str]]:
        """The environment variables of the deployed on_event and is_complete functions."""
        return {
            spec.handler.rsplit(".", 1)[1]: spec.environment
            for arn, spec in self.functions.items()
            if spec.handler in HANDLERS and arn not in self.deleted_functions
        }

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


def _is_custom(resource_type: str) -> bool:
    """Every custom resource of these stacks runs through the starter's provider."""
    return resource_type in CUSTOM_TYPES or resource_type.startswith("Custom::")


def _referenced_roles(properties: dict[str, Any]) -> list[str]:
    """The logical ids of the roles a policy is attached to (``Roles: [{"Ref": ...}]``)."""
    return [role["Ref"] for role in properties.get("Roles", []) if isinstance(role, dict)]


def _generated_name(logical_id: str) -> str:
    """The name CloudFormation gives a resource the template does not name."""
    return f"{PSEUDO['AWS::StackName']}-{logical_id}"[:64]


def _entry_point(spec: LambdaFunction) -> Callable[[Any, Any], Any]:
    """The handler function of a Python Lambda function, imported here."""
    if not spec.runtime.startswith("python"):
        raise UnsupportedFunctionError(
            f"{spec.logical_id}: runtime {spec.runtime} cannot run in the emulation"
        )
    module, _, name = spec.handler.rpartition(".")
    entry_point: Callable[[Any, Any], Any] = getattr(importlib.import_module(module), name)
    return entry_point


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
