"""The status of the stack a request comes from: the only CloudFormation call.

CloudFormation does not tell a custom resource whether an Update is a rollback or
why a Delete is sent; the stack's own status does (``UPDATE_ROLLBACK_IN_PROGRESS``,
``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`` ...). The handler role may describe its own
stack only.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dms_task_starter_runtime.dms import CLIENT_CONFIG

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient


class StackStatusUnknownError(Exception):
    """The stack's status could not be read; the message says why."""


@cache
def cloudformation_client() -> CloudFormationClient:
    """Created on first use, so that it picks up ``AWS_ENDPOINT_URL_CLOUDFORMATION``."""
    return boto3.client("cloudformation", config=CLIENT_CONFIG)


def stack_status(stack_id: str) -> str:
    """The StackStatus of ``stack_id`` (the event's StackId)."""
    try:
        stacks = cloudformation_client().describe_stacks(StackName=stack_id).get("Stacks", [])
    except (ClientError, BotoCoreError) as error:
        raise StackStatusUnknownError(f"DescribeStacks for {stack_id} failed: {error}") from error
    if not stacks:
        raise StackStatusUnknownError(f"DescribeStacks for {stack_id} listed no stack")
    return stacks[0]["StackStatus"]
