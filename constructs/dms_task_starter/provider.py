"""The Lambda functions, role and grants shared by every starter of a stack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aws_cdk import (
    Acknowledgment,
    Aws,
    CfnElement,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct
from dms_task_starter_runtime import contract

from dms_task_starter._asset import RUNTIME_PACKAGE, staged_runtime_dir

if TYPE_CHECKING:
    from collections.abc import Sequence

POWERTOOLS_LAYER_ACCOUNT: Final = "017000801446"
"""The AWS account that publishes the official Powertools for AWS Lambda (Python) layers."""
POWERTOOLS_LAYER_NAME: Final = "AWSLambdaPowertoolsPythonV3-python313-arm64"
POWERTOOLS_LAYER_VERSION: Final = 27
"""Version of the public Powertools layer used unless ``powertools_layer`` is given."""

PROVIDER_ID: Final = "DmsReplicationTaskStarterProvider"
"""Construct id of the per-stack provider, directly under the stack."""

TASKS_PER_GRANT_POLICY: Final = 40
"""Task ARNs per customer-managed grant policy.

A managed policy holds at most 6,144 characters and a role takes at most 10 managed
policies: 40 ARNs of about 70 characters fit one policy with room to spare, and 200
starters need 5 primary and 5 retention policies.
"""
GRANT_POLICY_CHAR_BUDGET: Final = 5_000
"""Estimated characters of task ARNs per grant policy (below the 6,144 limit)."""
MAX_MANAGED_POLICIES_PER_ROLE: Final = 10
"""IAM's default quota of managed policies attached to one role."""
_ARN_PREFIX_CHARS: Final = len("arn:aws-us-gov:dms:ap-southeast-2:123456789012:task:")
_UNKNOWN_ARN_CHARS: Final = 100
_ARN_OVERHEAD_CHARS: Final = 4

TASK_ACTIONS: Final = ("dms:StartReplicationTask", "dms:StopReplicationTask")
"""Actions granted on each task's ARN only."""
DESCRIBE_ACTION: Final = "dms:DescribeReplicationTasks"
"""Granted on ``*``: DescribeReplicationTasks supports no resource-level permissions."""

LOG_RETENTION: Final = logs.RetentionDays.ONE_MONTH
HANDLER_MEMORY_MB: Final = 256
HANDLER_TIMEOUT: Final = Duration.minutes(3)
"""Room for botocore's retries (standard mode, 10 retries with back-off) of up to three DMS calls
under throttling; a handler that returns sooner costs nothing more."""
SERVICE_NAME: Final = "dms-task-starter"


def estimate_arn_chars(arn: str) -> int:
    """Estimate how many characters ``arn`` takes in a rendered policy document."""
    if not Token.is_unresolved(arn):
        return len(arn) + _ARN_OVERHEAD_CHARS
    return _UNKNOWN_ARN_CHARS + _ARN_OVERHEAD_CHARS


class _GrantChunks(Construct):
    """Customer-managed policies granting Start/Stop on task ARNs, created as needed."""

    def __init__(self, scope: Construct, id: str, *, role: iam.IRole, description: str) -> None:
        super().__init__(scope, id)
        self._role = role
        self._description = description
        self._policies: list[iam.ManagedPolicy] = []
        self._statement: iam.PolicyStatement | None = None
        self._count = 0
        self._chars = 0

    @property
    def policies(self) -> Sequence[iam.ManagedPolicy]:
        """The policies created so far."""
        return tuple(self._policies)

    def grant(self, arn: str, *, chars: int | None = None) -> iam.ManagedPolicy:
        """Add ``arn`` to the current policy (or a new one when it is full) and return it."""
        size = estimate_arn_chars(arn) if chars is None else chars
        full = (
            self._statement is None
            or self._count >= TASKS_PER_GRANT_POLICY
            or self._chars + size > GRANT_POLICY_CHAR_BUDGET
        )
        if full:
            self._statement = iam.PolicyStatement(
                sid="StartStopReplicationTasks", actions=list(TASK_ACTIONS), resources=[]
            )
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
        self._chars += size
        return self._policies[-1]


class ReplicationTaskStarterProvider(Construct):
    """The custom resource provider shared by all ``ReplicationTaskStarter`` of one stack.

    It holds one IAM role for the two handler functions (``on_event`` and
    ``is_complete``), their log groups, the ``custom_resources.Provider`` framework and the
    customer-managed policies that grant Start/Stop on each task. Get it with
    :meth:`of`; starters call it for you.
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
                f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
                f"{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}",
            )
        )

        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Starts, stops and describes DMS replication tasks for CloudFormation.",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeReplicationTasks", actions=[DESCRIBE_ACTION], resources=["*"]
            )
        )

        code = lambda_.Code.from_asset(staged_runtime_dir())
        self.on_event_function = self._handler_function("OnEvent", "on_event", code)
        self.is_complete_function = self._handler_function("IsComplete", "is_complete", code)

        framework_log_group = logs.LogGroup(
            self,
            "FrameworkLogs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=self.poll_interval,
            total_timeout=Duration.seconds(contract.PROVIDER_TOTAL_TIMEOUT_SECONDS),
            log_group=framework_log_group,
            # The waiter's execution data holds the presigned ResponseURL: not logged.
            disable_waiter_state_machine_logging=True,
        )

        self._primary = _GrantChunks(
            self,
            "TaskGrants",
            role=self.role,
            description="Start/Stop on the DMS tasks of this stack's starters (by Ref).",
        )
        self._guarded = _GrantChunks(
            self,
            "GuardedTaskGrants",
            role=self.role,
            description=(
                "Start/Stop on the guarded DMS tasks by their deterministic ARN, for the update "
                "guards, which come before the tasks."
            ),
        )
        self._retention = _GrantChunks(
            self,
            "RetainedTaskGrants",
            role=self.role,
            description=(
                "Start/Stop on the DMS tasks the starters last reported, so a replaced "
                "task can still be stopped during the starter's update."
            ),
        )
        self._suppress_findings()

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

    def grant_task(self, task_arn: str, *, chars: int | None = None) -> iam.ManagedPolicy:
        """Grant Start/Stop on ``task_arn``; return the policy a resource must depend on."""
        policy = self._primary.grant(task_arn, chars=chars)
        self._check_policy_count()
        return policy

    def grant_guarded_task(self, deterministic_task_arn: str) -> iam.ManagedPolicy:
        """Grant Start/Stop on a guarded task's ARN as known before the task exists.

        The update guard depends on this policy and the task on the guard, so the policy
        must not refer to the task: it names the ARN DMS derives from the task's
        ``resource_identifier``.
        """
        policy = self._guarded.grant(deterministic_task_arn)
        self._check_policy_count()
        return policy

    def retain_grant(self, reported_task_arn: str) -> iam.ManagedPolicy:
        """Grant Start/Stop on the ARN a starter last reported (``Fn::GetAtt``).

        The returned policy depends on the starter, so CloudFormation updates it only after
        the starter's update, and deletes it before the starter.
        """
        policy = self._retention.grant(reported_task_arn, chars=_UNKNOWN_ARN_CHARS)
        self._check_policy_count()
        return policy

    @property
    def grant_policies(self) -> Sequence[iam.ManagedPolicy]:
        """All customer-managed grant policies attached to the handler role."""
        return (*self._primary.policies, *self._guarded.policies, *self._retention.policies)

    def _check_policy_count(self) -> None:
        count = len(self.grant_policies)
        if count > MAX_MANAGED_POLICIES_PER_ROLE:
            raise ValueError(
                f"task: stack {Stack.of(self).stack_name} has more starters than one provider "
                f"can grant: {count} managed policies would be attached to the handler role "
                f"(IAM allows {MAX_MANAGED_POLICIES_PER_ROLE} by default). Split the "
                "starters across stacks."
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
                    f"ReplicationTaskStarter in stack {stack_name} share. The provider "
                    "is shared per stack: pass the same poll_interval to every starter of "
                    "the stack, or none."
                )
        if powertools_layer is not None and not (
            powertools_layer is self.powertools_layer
            or powertools_layer.layer_version_arn == self.powertools_layer.layer_version_arn
        ):
            raise ValueError(
                "powertools_layer: differs from the layer of the provider that all "
                f"ReplicationTaskStarter in stack {stack_name} share. The provider is shared "
                "per stack: pass the same powertools_layer to every starter of the stack, "
                "or none."
            )

    def _handler_function(self, id: str, entry_point: str, code: lambda_.Code) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{id}Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        log_group.grant_write(self.role)
        return lambda_.Function(
            self,
            id,
            description=f"DMS replication task starter: {entry_point}",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"{RUNTIME_PACKAGE}.handler.{entry_point}",
            code=code,
            memory_size=HANDLER_MEMORY_MB,
            timeout=HANDLER_TIMEOUT,
            role=self.role,
            layers=[self.powertools_layer],
            log_group=log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "LOG_LEVEL": "INFO",
            },
        )

    def _suppress_findings(self) -> None:
        """Acknowledge cdk-nag (AwsSolutions) findings with the reasons that justify them."""
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "dms:DescribeReplicationTasks supports no resource-level permissions "
                    "(the DMS service authorization reference lists no resource type for it), "
                    "so it is granted on '*'; Start/Stop are granted per task ARN in the "
                    "customer-managed TaskGrants policies."
                ),
            )
        )
        for function in (self.on_event_function, self.is_complete_function):
            Validations.of(function).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-L1",
                    reason=(
                        "Python 3.13 on purpose: the public Powertools layer used by the "
                        "handlers is built for python3.13 on arm64."
                    ),
                )
            )
        Validations.of(self.provider).acknowledge(*_FRAMEWORK_ACKNOWLEDGMENTS)
        invoked = [self.on_event_function, self.is_complete_function]
        invoked += [
            child
            for child in self.provider.node.children
            if isinstance(child, lambda_.Function)
            and child.node.id in ("framework-isComplete", "framework-onTimeout")
        ]
        Validations.of(self.provider).acknowledge(
            *(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::<{self._logical_id(function)}.Arn>:*]",
                    reason=(
                        "The aws-cdk Provider framework grants lambda:InvokeFunction on "
                        f"{function.node.id}'s ARN with ':*' (its versions and aliases): "
                        "exactly one function of this provider."
                    ),
                )
                for function in invoked
            )
        )

    def _logical_id(self, construct: Construct) -> str:
        stack = Stack.of(self)
        cfn = construct.node.default_child
        assert isinstance(cfn, CfnElement)
        return str(stack.resolve(stack.get_logical_id(cfn)))


def _validate_poll_interval(poll_interval: Duration) -> None:
    seconds = poll_interval.to_seconds(integral=False)
    low, high = contract.MIN_POLL_INTERVAL_SECONDS, contract.MAX_POLL_INTERVAL_SECONDS
    if not (seconds == int(seconds) and low <= seconds <= high):
        raise ValueError(
            f"poll_interval: {seconds} seconds is not a whole number of seconds from {low} "
            f"to {high}"
        )


_FRAMEWORK_ACKNOWLEDGMENTS: Final = (
    Acknowledgment(
        id=(
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]"
        ),
        reason=(
            "The roles of the aws-cdk custom_resources.Provider framework functions use "
            "AWSLambdaBasicExecutionRole as aws-cdk-lib sets it; they only write their own "
            "logs and invoke this provider's two handlers."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-L1",
        reason=(
            "The Node.js runtime of the Provider framework functions is chosen by aws-cdk-lib "
            "and follows its releases; it is not configurable."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-SF1",
        reason=(
            "The waiter state machine's execution data contains the presigned CloudFormation "
            "ResponseURL, a credential that must not be logged; the handlers log every "
            "decision to their own log groups."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-SF2",
        reason=(
            "The Provider framework's waiter state machine offers no X-Ray tracing option; "
            "it only waits and invokes is_complete, whose logs name the task and its status."
        ),
    ),
)
