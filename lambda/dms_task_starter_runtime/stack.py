"""The status of the stack a request comes from, and its wait condition handles' URLs:
the only CloudFormation calls.

CloudFormation does not tell a custom resource whether an Update is a rollback or
why a Delete is sent; the stack's own status does (``UPDATE_ROLLBACK_IN_PROGRESS``,
``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`` ...). For a nested stack the root stack's status
counts too: a nested stack that a failed parent create or update created is deleted whole
(its own status ``DELETE_IN_PROGRESS``) while the root rolls back. The handler role may
describe its own stack and its root stack only.

A wait condition handle's physical id is its presigned URL (a credential): the long wait
reads it here, since the Provider framework logs every property a request carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dms_task_starter_runtime.dms import CLIENT_CONFIG, DmsCallError, check_time_left

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient

WAIT_HANDLE_TYPE: Final = "AWS::CloudFormation::WaitConditionHandle"


class StackStatusUnknownError(Exception):
    """The stack's status could not be read; the message says why."""


class WaitHandleUnknownError(Exception):
    """A wait condition handle's URL could not be read; the message says why (not the URL)."""


@cache
def cloudformation_client() -> CloudFormationClient:
    """Created on first use, so that it picks up ``AWS_ENDPOINT_URL_CLOUDFORMATION``."""
    return boto3.client("cloudformation", config=CLIENT_CONFIG)


@dataclass(frozen=True)
class StackStatuses:
    """The status of the request's stack and, for a nested stack, of its root stack."""

    own: str
    root: str | None = None
    """None for a stack that is not nested."""


def _describe(stack_id: str) -> Any:  # noqa: ANN401 - boto3's StackTypeDef
    try:
        check_time_left("DescribeStacks", stack_id)
        stacks = cloudformation_client().describe_stacks(StackName=stack_id).get("Stacks", [])
    except (ClientError, BotoCoreError, DmsCallError) as error:
        raise StackStatusUnknownError(f"DescribeStacks for {stack_id} failed: {error}") from error
    if not stacks:
        raise StackStatusUnknownError(f"DescribeStacks for {stack_id} listed no stack")
    return stacks[0]


def stack_status(stack_id: str) -> str:
    """The StackStatus of ``stack_id`` (the event's StackId)."""
    status: str = _describe(stack_id)["StackStatus"]
    return status


def stack_statuses(stack_id: str) -> StackStatuses:
    """The status of ``stack_id`` and, when DescribeStacks names a ``RootId`` (a nested
    stack), the root stack's status."""
    own = _describe(stack_id)
    root_id = own.get("RootId")
    if not root_id or root_id == own.get("StackId", stack_id):
        return StackStatuses(own["StackStatus"])
    return StackStatuses(own["StackStatus"], _describe(root_id)["StackStatus"])


URL_SCHEMES: Final = ("https://", "http://")


def wait_handle_url(stack_id: str, logical_id: str) -> str:
    """The presigned URL of the wait condition handle ``logical_id`` of ``stack_id``."""
    operation = f"DescribeStackResource of {logical_id} in {stack_id}"
    try:
        check_time_left("DescribeStackResource", stack_id)
        detail = cloudformation_client().describe_stack_resource(
            StackName=stack_id, LogicalResourceId=logical_id
        )["StackResourceDetail"]
    except (ClientError, BotoCoreError, DmsCallError) as error:
        raise WaitHandleUnknownError(f"{operation} failed: {error}") from error
    url = detail.get("PhysicalResourceId", "")
    # CloudFormation's URLs are https; an emulation of it may serve its handles on http.
    if detail.get("ResourceType") != WAIT_HANDLE_TYPE or not url.startswith(URL_SCHEMES):
        raise WaitHandleUnknownError(
            f"{operation}: not a {WAIT_HANDLE_TYPE} with a URL "
            f"(type {detail.get('ResourceType')}, status {detail.get('ResourceStatus')})"
        )
    return url
