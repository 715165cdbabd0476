"""The Lambda functions, role and grants shared by every starter of a stack."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from aws_cdk import (
    ArnFormat,
    Aws,
    CfnMapping,
    CfnResource,
    CustomResource,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as sfn_tasks
from aws_cdk import custom_resources as cr
from aws_cdk.region_info import RegionInfo
from constructs import Construct
from dms_task_starter_runtime import contract
from dms_task_starter_runtime.contract import Kind

from dms_task_starter._asset import RUNTIME_PACKAGE, staged_runtime_dir
from dms_task_starter._lazy import lazy_string
from dms_task_starter.nag import (
    CONNECTION_TEST_RESOURCES,
    acknowledge_account_wide_connection_tests,
    acknowledge_long_wait_findings,
    acknowledge_long_wait_grants,
    acknowledge_provider_findings,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aws_cdk import aws_dms as dms

POWERTOOLS_LAYER_ACCOUNT: Final = "017000801446"
"""The AWS account that publishes the official Powertools for AWS Lambda (Python) layers in
every region of the ``aws`` partition."""
POWERTOOLS_LAYER_ACCOUNTS_OUTSIDE_AWS: Final = {
    "cn-north-1": "498634801083",
    "us-gov-east-1": "165087284144",
    "us-gov-west-1": "165093116878",
}
"""The accounts that publish the layer in the other partitions, by region (the Powertools
documentation lists no other region outside ``aws``)."""
POWERTOOLS_LAYER_NAME: Final = "AWSLambdaPowertoolsPythonV3-python313-arm64"
POWERTOOLS_LAYER_VERSION: Final = 27
"""Version of the public Powertools layer used unless ``powertools_layer`` is given (the same
version number in every partition)."""
POWERTOOLS_LAYER_MAPPING_ID: Final = "PowertoolsLayerAccounts"

PROVIDER_ID: Final = "DmsReplicationTaskStarterProvider"
"""Construct id of the per-stack provider, directly under the stack."""

TASKS_PER_GRANT_POLICY: Final = 40
"""Task ARNs per customer-managed grant policy (tasks given by ARN only).

A managed policy holds at most 6,144 characters and a role takes at most 10 managed
policies: 40 ARNs of about 70 characters fit one policy with room to spare, and 200
starters of tasks given by ARN need 5 primary and 5 retention policies.
"""
GRANT_POLICY_CHAR_BUDGET: Final = 5_000
"""Estimated characters of task ARNs per grant policy (below the 6,144 limit)."""
MAX_MANAGED_POLICIES_PER_ROLE: Final = 10
"""IAM's default quota of managed policies attached to one role."""
_UNKNOWN_ARN_CHARS: Final = 100
_ARN_OVERHEAD_CHARS: Final = 4

TASK_ACTIONS: Final = ("dms:StartReplicationTask", "dms:StopReplicationTask")
"""Granted on the tasks the stack created (CloudFormation's ``aws:cloudformation:stack-id``
tag), on those the handler tagged with the stack's tag, and on tasks given by ARN."""
TAG_ACTION: Final = "dms:AddTagsToResource"
"""Granted on tasks given by ARN only: the handler tags them with the stack's tag."""
REPLICATION_ACTIONS: Final = ("dms:StartReplication", "dms:StopReplication")
"""Granted on the replication configurations the stack created or the handler tagged."""
LIST_TAGS_ACTION: Final = "dms:ListTagsForResource"
"""Granted on the account's replication configurations (read only): the handler reads the
system tags of the configuration a ``ReplicationStarter``'s first configuration replaces."""
DESCRIBE_ACTIONS: Final = ("dms:DescribeReplicationTasks", "dms:DescribeConnections")
"""Granted on ``*``: these actions support no resource-level permissions (a start refused
while an endpoint is tested waits for the test: ``DescribeConnections``)."""
CONNECTION_TEST_ACTION: Final = "dms:TestConnection"
"""Granted only to stacks with a starter that tests connections, on the endpoints and the
replication instance (the action authorizes both)."""
ASSESSMENT_START_ACTION: Final = "dms:StartReplicationTaskAssessmentRun"
"""Granted only to stacks with a task starter that assesses, on the stack's tagged tasks."""
ASSESSMENT_DESCRIBE_ACTIONS: Final = (
    "dms:DescribeReplicationTaskAssessmentRuns",
    "dms:DescribeReplicationTaskIndividualAssessments",
)
"""Granted on ``*`` (read only, filtered by task or run) to stacks with a starter that assesses."""
PASS_ROLE_ACTION: Final = "iam:PassRole"
REPLICATION_DESCRIBE_ACTIONS: Final = ("dms:DescribeReplications", "dms:DescribeReplicationConfigs")
"""Granted on ``*``: these actions support no resource-level permissions."""
STACK_ACTION: Final = "cloudformation:DescribeStacks"
"""Granted on the stack itself: its status says whether an Update is a rollback."""
STACK_RESOURCE_ACTION: Final = "cloudformation:DescribeStackResource"
"""Granted on the stack itself where a starter uses ``long_wait``: a wait condition handle's
physical id is its presigned URL, which the handler reads (not passed as a property, which
the Provider framework logs)."""
GRANT_TAG_KEYS: Final = {
    "Stack": contract.CLOUDFORMATION_STACK_TAG_KEY,
    "Tagged": contract.STACK_TAG_KEY,
}
"""Statement id prefix -> the tag whose value, the stack id, grants Start/Stop: the system tag
on what the stack created, the handler's tag on what it does not own."""

LOG_RETENTION: Final = logs.RetentionDays.ONE_MONTH
HANDLER_MEMORY_MB: Final = 256
HANDLER_TIMEOUT: Final = Duration.seconds(contract.HANDLER_TIMEOUT_SECONDS)
"""Room for the whole retry budget of a DMS call (``contract.CALL_BUDGET_SECONDS``) and the
handler's margin: the handler makes no call that would not fit, so it never times out; a
handler that returns sooner costs nothing more."""
ROLLBACK_GUARD_ID: Final = "RollbackGuard"
SIGNALLER_ACTIONS: Final = ("dms:DescribeReplicationTasks", "dms:DescribeReplications")
"""All the long-wait signaller may do besides writing its logs (granted on ``*``: these
actions support no resource-level permissions). The signal needs no IAM: it is a PUT to the
wait condition handle's presigned URL."""
SIGNALLER_ENTRY_POINT: Final = "long_wait.check"


def estimate_arn_chars(arn: str) -> int:
    """Estimate how many characters ``arn`` takes in a rendered policy document."""
    if not Token.is_unresolved(arn):
        return len(arn) + _ARN_OVERHEAD_CHARS
    return _UNKNOWN_ARN_CHARS + _ARN_OVERHEAD_CHARS


class _GrantChunks(Construct):
    """Customer-managed policies granting ``actions`` on ARNs, created as they fill up."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role: iam.IRole,
        actions: Sequence[str],
        description: str,
    ) -> None:
        super().__init__(scope, id)
        self._role = role
        self._actions = list(actions)
        self._description = description
        self._policies: list[iam.ManagedPolicy] = []
        self._statement: iam.PolicyStatement | None = None
        self._count = 0
        self._chars = 0

    @property
    def policies(self) -> Sequence[iam.ManagedPolicy]:
        """The policies created so far."""
        return tuple(self._policies)

    def grant(self, arn: str, *, chars: int) -> iam.ManagedPolicy:
        """Add ``arn`` to the current policy (or a new one when it is full) and return it."""
        full = (
            self._statement is None
            or self._count >= TASKS_PER_GRANT_POLICY
            or self._chars + chars > GRANT_POLICY_CHAR_BUDGET
        )
        if full:
            self._statement = iam.PolicyStatement(actions=self._actions, resources=[])
            policy = iam.ManagedPolicy(
                self,
                f"Policy{len(self._policies) + 1}",
                description=self._description,
                roles=[self._role],
                statements=[self._statement],
            )
            self._policies.append(policy)
            self._count = 0
            self._chars = 0
        assert self._statement is not None
        self._statement.add_resources(arn)
        self._count += 1
        self._chars += chars
        return self._policies[-1]


class ReplicationTaskStarterProvider(Construct):
    """The custom resource provider shared by all starters of one stack.

    It holds one IAM role for the two handler functions (``on_event`` and ``is_complete``),
    their log groups, the ``custom_resources.Provider`` framework, the grants, and, once a
    task is guarded, the stack's rollback guard. Get it with :meth:`of`; starters call it
    for you.

    **Grants.** Start and stop are granted on the DMS tasks (and replication
    configurations) that CloudFormation created in this stack: CloudFormation tags each
    with ``aws:cloudformation:stack-id``, so the template adds no tag of its own and adding
    the library never changes a task. A task the stack does not own (given by ARN, of
    another stack) gets grants by ARN (customer-managed policies, 40 ARNs each), and the
    handler tags it with ``dms-task-starter:stack``, which is granted too. These grants
    never change, so they outlive every task and starter on every path: delete, removal,
    replacement and the rollback of each.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        poll_interval: Duration | None = None,
        powertools_layer: lambda_.ILayerVersion | None = None,
    ) -> None:
        """Create the provider. Prefer :meth:`of`, which creates it once per stack.

        :param scope: The stack.
        :param id: The construct id (:meth:`of` uses ``DmsReplicationTaskStarterProvider``).
        :param poll_interval: How often ``is_complete`` checks the task. Default: 10 seconds.
        :param powertools_layer: The Powertools for AWS Lambda (Python) v3 layer for
            Python 3.13 on arm64. Default: the public layer version
            ``POWERTOOLS_LAYER_VERSION`` published by AWS.
        """
        super().__init__(scope, id)
        self.poll_interval: Duration = poll_interval or Duration.seconds(
            contract.DEFAULT_POLL_INTERVAL_SECONDS
        )
        _validate_poll_interval(self.poll_interval)
        self.powertools_layer: lambda_.ILayerVersion = powertools_layer or (
            lambda_.LayerVersion.from_layer_version_arn(
                self,
                "PowertoolsLayer",
                f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{_powertools_layer_account(self)}:layer:"
                f"{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}",
            )
        )
        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Starts, stops and describes DMS replication tasks for CloudFormation.",
        )
        self._grant_stack_access()
        self._code = lambda_.Code.from_asset(staged_runtime_dir())
        self.on_event_function = self._function("OnEvent", "handler.on_event", self.role)
        self.is_complete_function = self._function("IsComplete", "handler.is_complete", self.role)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=self.poll_interval,
            total_timeout=Duration.seconds(contract.PROVIDER_TOTAL_TIMEOUT_SECONDS),
            log_group=logs.LogGroup(
                self, "FrameworkLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
            ),
            # The waiter's execution data holds the presigned ResponseURL: not logged.
            disable_waiter_state_machine_logging=True,
        )
        self._by_arn = {
            Kind.TASK: self._chunks("TaskGrants", (*TASK_ACTIONS, TAG_ACTION), "tasks", "tag"),
            Kind.REPLICATION: self._chunks(
                "ReplicationGrants", (*REPLICATION_ACTIONS, TAG_ACTION), "configurations", "tag"
            ),
        }
        self._retained = {
            Kind.TASK: self._chunks("RetainedTaskGrants", TASK_ACTIONS, "tasks"),
            Kind.REPLICATION: self._chunks(
                "RetainedReplicationGrants", REPLICATION_ACTIONS, "configurations"
            ),
        }
        self._guarded_digests: dict[str, str] = {}
        self._guarded_replications: dict[str, str] = {}
        self._rollback_guard: CustomResource | None = None
        self._replications_enabled = False
        self._assessments: set[Kind] = set()
        self._long_wait_grants: iam.Policy | None = None
        self.long_wait_state_machine: sfn.StateMachine | None = None
        """The state machine that signals the stack's wait conditions (``long_wait``);
        None until a starter of the stack uses ``long_wait``."""
        acknowledge_provider_findings(self)

    @property
    def service_token(self) -> str:
        """The service token of the custom resources."""
        return self.provider.service_token

    @classmethod
    def of(
        cls,
        scope: Construct,
        *,
        poll_interval: Duration | None = None,
        powertools_layer: lambda_.ILayerVersion | None = None,
    ) -> ReplicationTaskStarterProvider:
        """Return the provider of ``scope``'s stack, creating it on first use.

        ``None`` means "whatever the stack's provider uses". A value that differs from
        the existing provider's raises ``ValueError``: the provider is shared per stack.

        :param scope: Any construct of the stack.
        :param poll_interval: How often ``is_complete`` checks the task. Default: 10 seconds.
        :param powertools_layer: The Powertools for AWS Lambda (Python) v3 layer. Default: the
            public layer version ``POWERTOOLS_LAYER_VERSION``.
        """
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(PROVIDER_ID)
        if existing is None:
            return cls(
                stack, PROVIDER_ID, poll_interval=poll_interval, powertools_layer=powertools_layer
            )
        if not isinstance(existing, ReplicationTaskStarterProvider):
            raise ValueError(
                f"the construct id {PROVIDER_ID!r} in stack {stack.stack_name} is taken by "
                "another construct"
            )
        existing._check_compatible(poll_interval, powertools_layer)
        return existing

    def grant_by_arn(self, arn: str, kind: Kind = Kind.TASK) -> iam.ManagedPolicy:
        """Grant Start/Stop/tag on a task (or configuration) that the stack does not tag: one
        given by ARN, or one of another stack. Return the policy the starter depends on.

        :param arn: The task's (or configuration's) ARN, literal or token.
        :param kind: ``Kind.TASK`` or ``Kind.REPLICATION``.
        """
        policy = self._by_arn[kind].grant(arn, chars=estimate_arn_chars(arn))
        self._check_policy_count()
        return policy

    def retain_grant(self, reported_arn: str, kind: Kind = Kind.TASK) -> iam.ManagedPolicy:
        """Grant Start/Stop on the ARN a starter last reported (``Fn::GetAtt``).

        The returned policy depends on the starter, so CloudFormation updates it only after
        the starter's update, and deletes it before the starter.

        :param reported_arn: The ARN attribute the starter reports (a ``Fn::GetAtt`` token).
        :param kind: ``Kind.TASK`` or ``Kind.REPLICATION``.
        """
        policy = self._retained[kind].grant(reported_arn, chars=_UNKNOWN_ARN_CHARS)
        self._check_policy_count()
        return policy

    @property
    def grant_policies(self) -> Sequence[iam.ManagedPolicy]:
        """All customer-managed grant policies attached to the handler role."""
        chunks = (*self._by_arn.values(), *self._retained.values())
        return tuple(policy for chunk in chunks for policy in chunk.policies)

    def _chunks(self, id: str, actions: Sequence[str], things: str, verb: str = "") -> _GrantChunks:
        what = "Start/Stop" + (f"/{verb}" if verb else "")
        return _GrantChunks(
            self,
            id,
            role=self.role,
            actions=actions,
            description=(
                f"{what} the DMS {things} this stack's starters were given by ARN or from "
                "another stack (the stack does not tag them)"
                + ("" if verb else ", as the starters last reported them")
                + "."
            ),
        )

    def guard_task(
        self, *, task: dms.CfnReplicationTask, guard: CustomResource, digest: str
    ) -> None:
        """Put a guarded task under the stack's rollback guard.

        The rollback guard comes after every update guard and before every guarded task.
        Forward, the update guards have stopped the tasks already; in a rollback it gets an
        Update of its own (it keeps its physical id) and stops the tasks the starters
        restarted, before CloudFormation modifies them back.

        :param task: The guarded task (with a literal ``resource_identifier``).
        :param guard: The task's update guard resource.
        :param digest: The task's definition digest (a token resolved at synthesis).
        """
        assert task.resource_identifier is not None
        rollback_guard = self._rollback_guard_resource()
        self._guarded_digests[task.resource_identifier] = digest
        rollback_guard.node.add_dependency(guard)
        task.node.add_dependency(rollback_guard)

    def guard_replication(self, *, identifier: str, guard: CustomResource, digest: str) -> None:
        """Put the replication of a configuration (by its resource identifier) whose
        endpoints are in the stack under the stack's rollback guard, after ``guard``.

        :param identifier: The configuration's literal resource identifier.
        :param guard: The configuration's update guard resource.
        :param digest: The digest of the endpoints the configuration uses (a token resolved at
            synthesis).
        """
        rollback_guard = self._rollback_guard_resource()
        self._guarded_replications[identifier] = digest
        rollback_guard.node.add_dependency(guard)

    def guard_endpoint(self, endpoint: CfnResource, guard: CustomResource) -> None:
        """Order an endpoint of the stack after ``guard`` and the stack's rollback guard.

        DMS refuses to modify an endpoint while a task using it runs. Forward, ``guard``
        stops the task before CloudFormation modifies the endpoint; in a rollback the
        rollback guard (which keeps its physical id) stops it before the endpoint is
        modified back.

        :param endpoint: The ``AWS::DMS::Endpoint`` of the stack.
        :param guard: The update guard of a task or configuration that uses the endpoint.
        """
        endpoint.node.add_dependency(guard)
        endpoint.node.add_dependency(self._rollback_guard_resource())

    def enable_replications(self) -> None:
        """Grant what Serverless replication starters need (once per provider)."""
        if self._replications_enabled:
            return
        self._replications_enabled = True
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeReplications",
                actions=list(REPLICATION_DESCRIBE_ACTIONS),
                resources=["*"],
            )
        )
        self._grant_tagged("Replications", "replication-config", REPLICATION_ACTIONS)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListReplicationConfigTags",
                actions=[LIST_TAGS_ACTION],
                resources=[self._dms_arn("replication-config")],
            )
        )

    def enable_long_waits(self) -> iam.Policy:
        """Create the long-wait state machine and its signaller (once per provider); return
        the policy that lets the handler start and stop its executions.

        The grants are a policy of their own that every ``Custom::DmsLongWait`` depends on:
        removed with the last long wait, it is deleted after them, so their Deletes may
        still stop their executions.
        """
        if self._long_wait_grants is not None:
            return self._long_wait_grants
        state_machine = self._long_wait_state_machine()
        self.long_wait_state_machine = state_machine
        self.on_event_function.add_environment(
            contract.STATE_MACHINE_ARN_ENV, state_machine.state_machine_arn
        )
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self._long_wait_grants = iam.Policy(
            self,
            "LongWaitGrants",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="StartLongWaits",
                    actions=["states:StartExecution"],
                    resources=[state_machine.state_machine_arn],
                ),
                iam.PolicyStatement(
                    sid="StopLongWaits", actions=["states:StopExecution"], resources=[executions]
                ),
                iam.PolicyStatement(
                    sid="ReadWaitHandles",
                    actions=[STACK_RESOURCE_ACTION],
                    resources=[Aws.STACK_ID],
                ),
            ],
        )
        acknowledge_long_wait_grants(self._long_wait_grants, state_machine)
        return self._long_wait_grants

    def _long_wait_state_machine(self) -> sfn.StateMachine:
        """Check, decide, wait a check interval, check again, until the signaller says it
        signalled. Plain ASL: a Lambda task, a choice, a wait, a success."""
        role = iam.Role(
            self,
            "SignallerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Reads the DMS status for the long-wait signaller; nothing else.",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeReplications", actions=list(SIGNALLER_ACTIONS), resources=["*"]
            )
        )
        signaller = self._function("Signaller", SIGNALLER_ENTRY_POINT, role)
        result = f"$.{contract.LongWaitInput.CHECK}"
        check = sfn_tasks.LambdaInvoke(
            self,
            "Check",
            lambda_function=signaller,
            payload_response_only=True,
            result_path=result,
        )
        interval = sfn.Wait(
            self,
            "CheckInterval",
            time=sfn.WaitTime.duration(Duration.seconds(contract.LONG_WAIT_CHECK_INTERVAL_SECONDS)),
        )
        # The output is the last check's result: the input (with the URL) is not repeated.
        signalled = sfn.Succeed(self, "Signalled", output_path=result)
        done = sfn.Choice(self, "Signalled?").when(
            sfn.Condition.boolean_equals(f"{result}.{contract.LongWaitInput.DONE}", True),
            signalled,
        )
        done.otherwise(interval.next(check))
        state_machine = sfn.StateMachine(
            self,
            "LongWaitStateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(check.next(done)),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.seconds(contract.LONG_WAIT_EXECUTION_TIMEOUT_SECONDS),
            comment="Signals the wait conditions of the stack's DMS starters (long_wait).",
        )
        acknowledge_long_wait_findings(state_machine, signaller, role)
        return state_machine

    def grant_connection_tests(self, resources: Sequence[str] | None) -> None:
        """Grant ``dms:TestConnection`` on a task's instance and endpoints.

        The grant is in the role's default policy, which every starter depends on, so it is
        in place before the starter's Create or Update (the only requests that test).

        :param resources: The ARNs of the instance and endpoints (tokens or literals); None
            for a task given by ARN: every endpoint and instance of the account and region.
        """
        if resources is None:
            resources = [self._dms_arn(resource) for resource in CONNECTION_TEST_RESOURCES]
            acknowledge_account_wide_connection_tests(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(actions=[CONNECTION_TEST_ACTION], resources=list(resources))
        )

    def grant_assessments(self, kind: Kind, role_arn: str | None) -> None:
        """Grant what a starter with a premigration assessment needs, in the role's default
        policy (which every starter depends on: in place before its Create or Update, removed
        after its Delete): reading runs and their assessments; for a task, starting a run on
        the stack's tagged tasks and passing ``role_arn`` (that role only) to DMS.

        :param kind: ``Kind.TASK`` or ``Kind.REPLICATION``.
        :param role_arn: The role DMS assumes to write a task's results (None: Serverless).
        """
        if not self._assessments:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="DescribeAssessments",
                    actions=list(ASSESSMENT_DESCRIBE_ACTIONS),
                    resources=["*"],
                )
            )
        if kind is Kind.TASK and kind not in self._assessments:
            self._grant_tagged("Tasks", "task", [ASSESSMENT_START_ACTION], verb="Assess")
        self._assessments.add(kind)
        if role_arn is not None:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=[PASS_ROLE_ACTION],
                    resources=[role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "dms.amazonaws.com"}},
                )
            )

    def _dms_arn(self, resource: str) -> str:
        """Every DMS ``resource`` of the stack's account and region."""
        return Stack.of(self).format_arn(
            service="dms",
            resource=resource,
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _grant_tagged(
        self, things: str, resource: str, actions: Sequence[str], verb: str = "StartStop"
    ) -> None:
        """``actions`` on every DMS ``resource`` tagged with the stack's id by CloudFormation
        (what the stack created) or by the handler (what the stack does not own)."""
        for prefix, tag_key in GRANT_TAG_KEYS.items():
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid=f"{verb}{prefix}{things}",
                    actions=list(actions),
                    resources=[self._dms_arn(resource)],
                    conditions={"StringEquals": {f"aws:ResourceTag/{tag_key}": Aws.STACK_ID}},
                )
            )

    def _grant_stack_access(self) -> None:
        """The grants that never change: they outlive every starter of the stack."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeReplicationTasks", actions=list(DESCRIBE_ACTIONS), resources=["*"]
            )
        )
        self._grant_tagged("Tasks", "task", TASK_ACTIONS)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeOwnStack", actions=[STACK_ACTION], resources=[Aws.STACK_ID]
            )
        )
        self._grant_root_stack_access()

    def _grant_root_stack_access(self) -> None:
        """In a nested stack, DescribeStacks on the root stack too: a nested stack deleted
        whole while its root rolls back says so only through the root's status."""
        root = _root_stack(Stack.of(self))
        if root is Stack.of(self):
            return
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeRootStack",
                actions=[STACK_ACTION],
                resources=[
                    Stack.of(self).format_arn(
                        service="cloudformation",
                        resource="stack",
                        resource_name=f"{root.stack_name}/*",
                    )
                ],
            )
        )

    def _rollback_guard_resource(self) -> CustomResource:
        if self._rollback_guard is None:
            self._rollback_guard = CustomResource(
                self,
                ROLLBACK_GUARD_ID,
                service_token=self.service_token,
                resource_type=contract.ROLLBACK_GUARD_RESOURCE_TYPE,
                properties={
                    contract.Prop.GUARDED_TASKS: lazy_string(self._render_guarded_tasks),
                    # Absent without guarded replications: a stack of tasks keeps its template.
                    contract.Prop.GUARDED_REPLICATIONS: lazy_string(
                        self._render_guarded_replications
                    ),
                },
            )
        return self._rollback_guard

    def _render_guarded_tasks(self) -> str:
        return self._render(self._guarded_digests)

    def _render_guarded_replications(self) -> str | None:
        return self._render(self._guarded_replications) if self._guarded_replications else None

    def _render(self, digests: dict[str, str]) -> str:
        resolved = Stack.of(self).resolve(digests)
        return json.dumps(resolved, sort_keys=True, separators=(",", ":"))

    def _check_policy_count(self) -> None:
        count = len(self.grant_policies)
        if count > MAX_MANAGED_POLICIES_PER_ROLE:
            raise ValueError(
                f"task: stack {Stack.of(self).stack_name} has more starters of tasks given by "
                f"ARN (or from other stacks) than one provider can grant: {count} managed "
                "policies would be attached to the handler role (IAM allows "
                f"{MAX_MANAGED_POLICIES_PER_ROLE} by default). Split the starters across stacks, "
                "or create them in the tasks' stack (granted by the stack's tag, without limit)."
            )

    def _check_compatible(
        self, poll_interval: Duration | None, powertools_layer: lambda_.ILayerVersion | None
    ) -> None:
        stack_name = Stack.of(self).stack_name
        if poll_interval is not None:
            _validate_poll_interval(poll_interval)
            if poll_interval.to_seconds() != self.poll_interval.to_seconds():
                raise ValueError(
                    f"poll_interval: {poll_interval.to_seconds()} seconds differs from the "
                    f"{self.poll_interval.to_seconds()} seconds of the provider that all "
                    f"starters in stack {stack_name} share. The provider is shared per stack: "
                    "pass the same poll_interval to every starter of the stack, or none."
                )
        if powertools_layer is not None and not (
            powertools_layer is self.powertools_layer
            or powertools_layer.layer_version_arn == self.powertools_layer.layer_version_arn
        ):
            raise ValueError(
                "powertools_layer: differs from the layer of the provider that all starters in "
                f"stack {stack_name} share. The provider is shared per stack: pass the same "
                "powertools_layer to every starter of the stack, or none."
            )

    def _function(self, id: str, entry_point: str, role: iam.Role) -> lambda_.Function:
        """A function of the runtime package (one asset for all): ``entry_point`` is
        ``<module>.<function>``."""
        log_group = logs.LogGroup(
            self, f"{id}Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        log_group.grant_write(role)
        return lambda_.Function(
            self,
            id,
            description=f"DMS replication task starter: {entry_point.rsplit('.', 1)[-1]}",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"{RUNTIME_PACKAGE}.{entry_point}",
            code=self._code,
            memory_size=HANDLER_MEMORY_MB,
            timeout=HANDLER_TIMEOUT,
            role=role,
            layers=[self.powertools_layer],
            log_group=log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": contract.SERVICE_NAME,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "LOG_LEVEL": "INFO",
            },
        )


def _root_stack(stack: Stack) -> Stack:
    """The outermost stack of a chain of CDK nested stacks (``stack`` itself if not nested)."""
    while stack.nested_stack_parent is not None:
        stack = stack.nested_stack_parent
    return stack


def powertools_layer_account(region: str) -> str | None:
    """The account that publishes the Powertools layer in ``region``; None where none does."""
    if region in POWERTOOLS_LAYER_ACCOUNTS_OUTSIDE_AWS:
        return POWERTOOLS_LAYER_ACCOUNTS_OUTSIDE_AWS[region]
    partition = RegionInfo.get(region).partition or "aws"  # a region too new for the CDK: aws
    return POWERTOOLS_LAYER_ACCOUNT if partition == "aws" else None


def _powertools_layer_account(scope: Construct) -> str:
    """The publishing account of the stack's region: a literal when the region is known at
    synth (an error where no layer is published), else a lookup in a mapping of the regions
    the CDK knows."""
    stack = Stack.of(scope)
    if not Token.is_unresolved(stack.region):
        account = powertools_layer_account(stack.region)
        if account is None:
            raise ValueError(
                f"powertools_layer: no public Powertools for AWS Lambda (Python) layer is "
                f"published in region {stack.region} (stack {stack.stack_name}). Publish the "
                "layer in your account and pass it as powertools_layer "
                "(lambda_.LayerVersion.from_layer_version_arn)."
            )
        return account
    existing = stack.node.try_find_child(POWERTOOLS_LAYER_MAPPING_ID)
    mapping = existing if isinstance(existing, CfnMapping) else None
    if mapping is None:
        accounts = {
            info.name: {"Account": account}
            for info in RegionInfo.regions
            if (account := powertools_layer_account(info.name)) is not None
        }
        mapping = CfnMapping(stack, POWERTOOLS_LAYER_MAPPING_ID, mapping=accounts)
    return mapping.find_in_map(Aws.REGION, "Account")


def _validate_poll_interval(poll_interval: Duration) -> None:
    seconds = poll_interval.to_seconds(integral=False)
    low, high = contract.MIN_POLL_INTERVAL_SECONDS, contract.MAX_POLL_INTERVAL_SECONDS
    if not (seconds == int(seconds) and low <= seconds <= high):
        raise ValueError(
            f"poll_interval: {seconds} seconds is not a whole number of seconds from {low} "
            f"to {high}"
        )
