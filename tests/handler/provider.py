"""Drive the handler the way the CDK Provider framework does.

The framework calls ``on_event`` once, merges its answer into the event, then calls
``is_complete`` with that same event until it answers ``IsComplete: true``; the final
``Data`` is the merge of both answers. Between polls the test lets time pass in the double.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from dms_task_starter_runtime import handler
from dms_task_starter_runtime.contract import GUARD_RESOURCE_TYPE, STARTER_RESOURCE_TYPE

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from .dms_double import DmsDouble

RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/"
    "arn%3Aaws%3Acloudformation?X-Amz-Signature=SECRET-SIGNATURE-0123456789abcdef"
)
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
MAX_POLLS = 30


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "dms-task-starter-on-event"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:dms-task-starter-on-event"
    )
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


CONTEXT = cast("LambdaContext", FakeLambdaContext())


def cfn_event(
    request_type: str,
    properties: dict[str, Any],
    *,
    old_properties: dict[str, Any] | None = None,
    physical_id: str | None = None,
    resource_type: str = STARTER_RESOURCE_TYPE,
) -> dict[str, Any]:
    """A CloudFormation custom resource event as the framework hands it on."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent",
        "ResponseURL": RESPONSE_URL,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "TaskStarter" if resource_type != GUARD_RESOURCE_TYPE else "Guard",
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": "token", **properties},
    }
    if old_properties is not None:
        event["OldResourceProperties"] = {"ServiceToken": "token", **old_properties}
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


@dataclass(frozen=True)
class ProviderResult:
    physical_id: str
    data: dict[str, str]
    polls: int


def run_provider(event: dict[str, Any], double: DmsDouble) -> ProviderResult:
    """Run one request to completion; exceptions are the failures CloudFormation would show."""
    on_event_result = handler.on_event(event, CONTEXT)
    resource_event = {**event, **on_event_result}
    for poll in range(1, MAX_POLLS + 1):
        answer = handler.is_complete(resource_event, CONTEXT)
        if answer["IsComplete"]:
            data = {**resource_event.get("Data", {}), **answer.get("Data", {})}
            return ProviderResult(on_event_result["PhysicalResourceId"], data, poll)
        assert "Data" not in answer, "the framework rejects Data with IsComplete false"
        double.advance()
    raise AssertionError(f"not complete after {MAX_POLLS} polls")
