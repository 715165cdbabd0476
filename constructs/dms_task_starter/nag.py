"""cdk-nag (AwsSolutions) findings of the provider, each acknowledged with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from aws_cdk import aws_lambda as lambda_

if TYPE_CHECKING:
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_stepfunctions as sfn
    from constructs import Construct

    from dms_task_starter.provider import ReplicationTaskStarterProvider

TAGGED_RESOURCES: Final = ("task", "replication-config")

FRAMEWORK_ACKNOWLEDGMENTS: Final = (
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


PYTHON_RUNTIME_ACKNOWLEDGMENT: Final = Acknowledgment(
    id="AwsSolutions-L1",
    reason=(
        "Python 3.13 on purpose: the public Powertools layer used by the handlers is built "
        "for python3.13 on arm64."
    ),
)


CONNECTION_TEST_RESOURCES: Final = ("endpoint", "rep")
"""What ``dms:TestConnection`` authorizes (endpoints and replication instances), granted
account-wide for a starter that tests the connections of a task given by ARN."""


def acknowledge_account_wide_connection_tests(role: Construct) -> None:
    """The account-wide TestConnection grant of a task given by ARN (its endpoints and
    instance are not known at synth time)."""
    Validations.of(role).acknowledge(
        *(
            Acknowledgment(
                id=(
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dms:<AWS::Region>:"
                    f"<AWS::AccountId>:{resource}:*]"
                ),
                reason=(
                    "dms:TestConnection (a connection test, it changes nothing) for a starter "
                    "with test_connections of a task given by ARN: its endpoints and "
                    "replication instance are not known at synth time."
                ),
            )
            for resource in CONNECTION_TEST_RESOURCES
        )
    )


def acknowledge_provider_findings(provider: ReplicationTaskStarterProvider) -> None:
    """Acknowledge the findings that the provider's design causes, with their reasons."""
    Validations.of(provider.role).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason=(
                "dms:DescribeReplicationTasks, dms:DescribeReplications and "
                "dms:DescribeReplicationConfigs support no resource-level permissions (the "
                "service authorization reference lists no resource type for them), so they "
                "are granted on '*'; so are the read-only "
                "dms:DescribeReplicationTaskAssessmentRuns and "
                "dms:DescribeReplicationTaskIndividualAssessments (filtered by task or run) of "
                "a starter with a premigration assessment."
            ),
        ),
        *(
            Acknowledgment(
                id=(
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dms:<AWS::Region>:"
                    f"<AWS::AccountId>:{resource}:*]"
                ),
                reason=(
                    f"Start/Stop are granted on the DMS {resource}s that carry the tag "
                    "dms-task-starter:stack with this stack's id (an aws:ResourceTag "
                    "condition), which the provider puts on its stack's DMS resources: a grant "
                    "that never changes, so it outlives every starter on every path."
                ),
            )
            for resource in TAGGED_RESOURCES
        ),
    )
    for function in (provider.on_event_function, provider.is_complete_function):
        Validations.of(function).acknowledge(PYTHON_RUNTIME_ACKNOWLEDGMENT)
    Validations.of(provider.provider).acknowledge(*FRAMEWORK_ACKNOWLEDGMENTS)
    invoked = [provider.on_event_function, provider.is_complete_function]
    invoked += [
        child
        for child in provider.provider.node.children
        if isinstance(child, lambda_.Function)
        and child.node.id in ("framework-isComplete", "framework-onTimeout")
    ]
    Validations.of(provider.provider).acknowledge(
        *(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{_logical_id(function)}.Arn>:*]",
                reason=(
                    "The aws-cdk Provider framework grants lambda:InvokeFunction on "
                    f"{function.node.id}'s ARN with ':*' (its versions and aliases): "
                    "exactly one function of this provider."
                ),
            )
            for function in invoked
        )
    )


def acknowledge_long_wait_findings(
    state_machine: sfn.StateMachine, signaller: lambda_.Function, signaller_role: iam.Role
) -> None:
    """Acknowledge the findings of the long-wait state machine and its signaller."""
    Validations.of(state_machine).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SF1",
            reason=(
                "Each execution's input holds the wait condition handle's presigned URL, a "
                "credential that must not be logged; the execution history shows every check, "
                "and the signaller logs each check's DMS status to its own log group."
            ),
        ),
        Acknowledgment(
            id="AwsSolutions-SF2",
            reason=(
                "The state machine only invokes the signaller and waits; X-Ray would add a "
                "trace per check of a wait of up to 12 hours, for nothing the signaller's "
                "log lines do not say."
            ),
        ),
        Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{_logical_id(signaller)}.Arn>:*]",
            reason=(
                "aws-cdk's LambdaInvoke grants lambda:InvokeFunction on the signaller's ARN "
                "with ':*' (its versions and aliases): exactly one function."
            ),
        ),
    )
    Validations.of(signaller).acknowledge(PYTHON_RUNTIME_ACKNOWLEDGMENT)
    Validations.of(signaller_role).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason=(
                "dms:DescribeReplicationTasks and dms:DescribeReplications support no "
                "resource-level permissions: granted on '*', read only."
            ),
        )
    )


def acknowledge_long_wait_grants(grants: iam.Policy, state_machine: sfn.StateMachine) -> None:
    """StopExecution on the executions of the stack's long-wait state machine."""
    Validations.of(grants).acknowledge(
        Acknowledgment(
            id=(
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
                f"<AWS::AccountId>:execution:<{_logical_id(state_machine)}.Name>:*]"
            ),
            reason=(
                "states:StopExecution on the executions of the stack's own long-wait state "
                "machine, whose names are known only when a long wait starts: a Delete stops "
                "the execution its long wait started."
            ),
        )
    )


def _logical_id(construct: Construct) -> str:
    stack = Stack.of(construct)
    cfn = construct.node.default_child
    assert isinstance(cfn, CfnElement)
    return str(stack.resolve(stack.get_logical_id(cfn)))
