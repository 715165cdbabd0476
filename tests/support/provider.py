"""Drive the handler the way the CDK Provider framework does.

The framework calls ``on_event`` once, merges its answer into the event, then calls
``is_complete`` with that same event every poll interval until it answers
``IsComplete: true``; the final ``Data`` is the merge of both answers. A Create whose
``on_event`` failed gets the framework's marker as physical id, and the Delete of that
marker never reaches the handler. Time is the double's: each poll moves it on.
"""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, cast

from dms_task_starter_runtime import handler, long_wait
from dms_task_starter_runtime.contract import (
    GUARD_RESOURCE_TYPE,
    HANDLER_TIMEOUT_SECONDS,
    PROVIDER_TOTAL_TIMEOUT_SECONDS,
    STARTER_RESOURCE_TYPE,
)

from .served import STACK_ID

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from .dms_double import DmsDouble

RESPONSE_URL: Final = (
    "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/"
    "arn%3Aaws%3Acloudformation?X-Amz-Signature=SECRET-SIGNATURE-0123456789abcdef"
)
CREATE_FAILED_MARKER: Final = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
TIMED_OUT: Final = "Operation timed out"
CUSTOM_RESOURCE_LIMIT_SECONDS: Final = 3600
"""How long CloudFormation waits for a custom resource's answer (its hour)."""
CUSTOM_RESOURCE_TIMED_OUT: Final = (
    "CloudFormation did not receive a response from your Custom Resource"
)
"""CloudFormation's reason when that hour passes (quoted in aws-cdk#24974)."""
POLL_SECONDS: Final = 10
_request_ids = itertools.count(1)


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "dms-task-starter-on-event"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:dms-task-starter-on-event"
    )
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    remaining_millis: Callable[[], int] = lambda: HANDLER_TIMEOUT_SECONDS * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis()


CONTEXT: Final = cast("LambdaContext", FakeLambdaContext())


class FunctionTimedOutError(Exception):
    """The Lambda function ran past its timeout (Lambda kills it; the framework fails)."""


@contextmanager
def lambda_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """The function's environment variables (its template's ``Environment``) meanwhile."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def invoke(
    entry_point: Callable[[Any, LambdaContext], Any],
    event: Any,
    double: DmsDouble,
    timeout_seconds: int,
    *,
    context: FakeLambdaContext | None = None,
    environment: Mapping[str, str] | None = None,
) -> Any:
    """Invoke a handler as Lambda does, its time measured on the double's clock (every DMS
    call takes ``double.call_latency_seconds``)."""
    started = double.clock

    def remaining() -> int:
        return int((started + timeout_seconds - double.clock) * 1000)

    context = replace(context or FakeLambdaContext(), remaining_millis=remaining)
    with lambda_environment(environment or {}):
        answer = entry_point(event, cast("LambdaContext", context))
    if remaining() < 0:
        raise FunctionTimedOutError(
            f"Task timed out after {timeout_seconds} seconds ({double.clock - started:.0f} s used)"
        )
    return answer


def cfn_event(
    request_type: str,
    properties: dict[str, Any],
    *,
    old_properties: dict[str, Any] | None = None,
    physical_id: str | None = None,
    resource_type: str = STARTER_RESOURCE_TYPE,
    logical_id: str | None = None,
) -> dict[str, Any]:
    """A CloudFormation custom resource event as the framework hands it on."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent",
        "ResponseURL": RESPONSE_URL,
        "StackId": STACK_ID,
        "RequestId": f"request-{next(_request_ids)}",
        "LogicalResourceId": logical_id
        or ("Guard" if resource_type == GUARD_RESOURCE_TYPE else "TaskStarter"),
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


class ProviderFailedError(Exception):
    """The FAILED answer the framework sends CloudFormation, with the handler's reason."""

    def __init__(self, reason: str, physical_id: str, cause: BaseException | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_id = physical_id
        self.cause = cause


@contextmanager
def double_clock(double: DmsDouble) -> Iterator[None]:
    """The handler and the long wait's signaller read the double's clock: deadlines and
    times are virtual."""
    real = handler.now_epoch_seconds, long_wait.now_epoch_seconds
    handler.now_epoch_seconds = long_wait.now_epoch_seconds = lambda: int(double.clock)
    try:
        yield
    finally:
        handler.now_epoch_seconds, long_wait.now_epoch_seconds = real


def run_provider(
    event: dict[str, Any],
    double: DmsDouble,
    *,
    poll_seconds: int = POLL_SECONDS,
    function_timeout: int = HANDLER_TIMEOUT_SECONDS,
    limit_seconds: float = CUSTOM_RESOURCE_LIMIT_SECONDS,
    environments: Mapping[str, Mapping[str, str]] | None = None,
) -> ProviderResult:
    """Run one request to completion, as the framework would; ``ProviderFailedError`` is the
    failure CloudFormation shows (its ``cause`` is the handler's exception). CloudFormation
    gives up after ``limit_seconds`` (its hour; a test may scale it down). ``environments``:
    the variables of the ``on_event`` and ``is_complete`` functions, by handler name."""
    variables = environments or {}
    if event["RequestType"] == "Delete" and event.get("PhysicalResourceId") == CREATE_FAILED_MARKER:
        return ProviderResult(CREATE_FAILED_MARKER, {}, 0)
    given_up_at = double.clock + limit_seconds
    with double_clock(double):
        try:
            on_event_result = invoke(
                handler.on_event,
                event,
                double,
                function_timeout,
                environment=variables.get("on_event"),
            )
        except Exception as error:
            physical_id = event.get("PhysicalResourceId") or CREATE_FAILED_MARKER
            raise ProviderFailedError(str(error), physical_id, error) from error
        physical_id = on_event_result.get("PhysicalResourceId") or event["RequestId"]
        resource_event = {**event, **on_event_result, "PhysicalResourceId": physical_id}
        deadline = double.clock + PROVIDER_TOTAL_TIMEOUT_SECONDS
        for poll in itertools.count(1):
            try:
                answer = invoke(
                    handler.is_complete,
                    resource_event,
                    double,
                    function_timeout,
                    environment=variables.get("is_complete"),
                )
            except Exception as error:
                raise ProviderFailedError(str(error), physical_id, error) from error
            if answer["IsComplete"]:
                data = {**resource_event.get("Data", {}), **answer.get("Data", {})}
                return ProviderResult(physical_id, data, poll)
            assert "Data" not in answer, "the framework rejects Data with IsComplete false"
            double.advance(poll_seconds)
            if double.clock > deadline:
                raise ProviderFailedError(TIMED_OUT, physical_id, None)
            if double.clock > given_up_at:
                raise ProviderFailedError(CUSTOM_RESOURCE_TIMED_OUT, physical_id, None)
    raise AssertionError("unreachable")
