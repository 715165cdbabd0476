"""The only module that calls AWS Step Functions: start and stop long-wait executions.

An execution's input holds the wait condition handle's presigned URL: nothing here logs
it, and no error raised here quotes the input.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dms_task_starter_runtime.contract import LongWaitInput, long_wait_deadline_seconds
from dms_task_starter_runtime.dms import CLIENT_CONFIG, DmsCallError, check_time_left
from dms_task_starter_runtime.text import MAX_DMS_MESSAGE_CHARS, truncate

if TYPE_CHECKING:
    from dms_task_starter_runtime.settings import LongWaitSettings

ALREADY_EXISTS_CODE: Final = "ExecutionAlreadyExists"
"""StartExecution of a name already taken: the execution a retried request started."""
DOES_NOT_EXIST_CODE: Final = "ExecutionDoesNotExist"
MAX_EXECUTION_NAME_CHARS: Final = 80
NAME_DIGEST_CHARS: Final = 32


# -- the execution ------------------------------------------------------------------------


def execution_name(stack_id: str, logical_id: str, request_id: str) -> str:
    """A name that one request always gives its execution (a retried request finds the one
    it started) and no other request gives (a name stays taken 90 days after its end)."""
    text = "\n".join((stack_id, logical_id, request_id))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:NAME_DIGEST_CHARS]
    return f"{logical_id[: MAX_EXECUTION_NAME_CHARS - NAME_DIGEST_CHARS - 1]}-{digest}"


def execution_input(settings: LongWaitSettings, url: str, now: int) -> dict[str, Any]:
    """What the state machine hands the signaller on every check."""
    return {
        LongWaitInput.KIND: settings.kind.value,
        LongWaitInput.ARN: settings.arn,
        LongWaitInput.UNTIL: settings.until.value,
        LongWaitInput.DEADLINE: now + long_wait_deadline_seconds(settings.maximum_seconds),
        LongWaitInput.MAXIMUM_SECONDS: settings.maximum_seconds,
        LongWaitInput.URL: url,
    }


class ExecutionCallError(Exception):
    """A Step Functions call failed (after the client's retries)."""

    def __init__(self, operation: str, arn: str, code: str, message: str) -> None:
        self.code = code
        super().__init__(
            f"{operation} for {arn} failed: {code}: {truncate(message, MAX_DMS_MESSAGE_CHARS)}"
        )


@cache
def stepfunctions_client() -> Any:  # noqa: ANN401 - no stubs of the stepfunctions client here
    """Created on first use (it picks up ``AWS_ENDPOINT_URL_SFN``), kept for the sandbox."""
    return boto3.client("stepfunctions", config=CLIENT_CONFIG)


def _call(operation: str, arn: str, call: Any) -> Any:  # noqa: ANN401 - boto3
    try:
        check_time_left(operation, arn)
        return call()
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "Unknown")
        raise ExecutionCallError(operation, arn, code, details.get("Message", "")) from None
    except (BotoCoreError, DmsCallError) as error:
        raise ExecutionCallError(operation, arn, type(error).__name__, str(error)) from None


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of the execution ``name`` of ``state_machine_arn`` (Step Functions' form)."""
    prefix, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:execution:{machine}:{name}"


def start_execution(state_machine_arn: str, name: str, execution_input: dict[str, Any]) -> str:
    """Start the execution ``name`` (or find the one a retry of the request started) and
    return its ARN."""
    arn = execution_arn(state_machine_arn, name)
    try:
        _call(
            "StartExecution",
            arn,
            lambda: stepfunctions_client().start_execution(
                stateMachineArn=state_machine_arn,
                name=name,
                input=json.dumps(execution_input, separators=(",", ":")),
            ),
        )
    except ExecutionCallError as error:
        if error.code != ALREADY_EXISTS_CODE:
            raise
    return arn


def stop_execution(arn: str) -> bool:
    """Stop an execution; False when Step Functions knows none of that ARN."""
    try:
        _call("StopExecution", arn, lambda: stepfunctions_client().stop_execution(executionArn=arn))
    except ExecutionCallError as error:
        if error.code != DOES_NOT_EXIST_CODE:
            raise
        return False
    return True
