"""The emulated Step Functions: its ASL interpreter, in virtual time, and its API over HTTP.

Expected values come from the Amazon States Language specification (paths, Choice rules,
Wait, Catch, Fail) and from the Step Functions API reference (StartExecution's idempotency by
name, StopExecution, DescribeExecution, the errors each names).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.dms_double import CLOCK_START, DmsDouble
from tests.support.served import ServedAws
from tests.support.stepfunctions import (
    LAMBDA_INVOKE,
    STOP_READINGS,
    StepFunctions,
    StepFunctionsError,
    StopReadings,
    TaskFailedError,
    UnsupportedDefinitionError,
    execution_arn,
    state_machine_arn,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:poll"
MACHINE = state_machine_arn("Waiter")


@dataclass
class Functions:
    """Lambda functions for the interpreter: each answers from ``answers`` in turn."""

    answers: list[Any] = field(default_factory=list)
    calls: list[tuple[str, Any, str]] = field(default_factory=list)

    def invoke_function(self, function: str, payload: Any, invoker_role: str) -> Any:
        self.calls.append((function, payload, invoker_role))
        answer = self.answers.pop(0)
        if isinstance(answer, TaskFailedError):
            raise answer
        return answer


@dataclass
class Clock:
    now: float = CLOCK_START

    def __call__(self) -> float:
        return self.now


def service(
    definition: dict[str, Any],
    answers: list[Any] | None = None,
    *,
    authorize: Callable[[str, str], bool] = lambda _a, _r: True,
    readings: StopReadings | None = None,
) -> tuple[StepFunctions, Functions, Clock]:
    functions, clock = Functions(list(answers or [])), Clock()
    sfn = StepFunctions(
        functions, authorize=authorize, readings=readings or StopReadings(), clock=clock
    )
    sfn.create_state_machine("Waiter", json.dumps(definition), role="MachineRole")
    return sfn, functions, clock


def start(sfn: StepFunctions, payload: Any, name: str = "run-1") -> str:
    answer = sfn.handle(
        "StartExecution", {"stateMachineArn": MACHINE, "name": name, "input": json.dumps(payload)}
    )
    return str(answer["executionArn"])


POLL_LOOP: dict[str, Any] = {
    "StartAt": "Poll",
    "States": {
        "Poll": {"Type": "Task", "Resource": FUNCTION, "ResultPath": "$.poll", "Next": "Done?"},
        "Done?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.poll.done", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 60, "Next": "Poll"},
        "Done": {"Type": "Succeed"},
    },
}


# -- the interpreter -----------------------------------------------------------------------------


def test_a_poll_loop_runs_in_virtual_time_and_counts_its_transitions() -> None:
    sfn, functions, clock = service(POLL_LOOP, [{"done": False}, {"done": False}, {"done": True}])
    arn = start(sfn, {"arn": "task"})
    assert sfn.next_due() == CLOCK_START  # the first state runs as soon as time passes
    sfn.run_due()
    execution = sfn.executions[arn]
    assert execution.entered == ["Poll", "Done?", "Pause"]
    assert sfn.next_due() == CLOCK_START + 60
    clock.now += 59
    sfn.run_due()
    assert len(execution.entered) == 3  # not due yet
    clock.now += 1
    sfn.run_due()
    clock.now += 60
    sfn.run_due()
    assert execution.status == "SUCCEEDED"
    assert execution.entered == ["Poll", "Done?", "Pause"] * 2 + ["Poll", "Done?", "Done"]
    assert (execution.transitions, execution.invocations) == (9, 3)
    # ResultPath keeps the input: each poll gets the task and the previous answer.
    assert [payload for _, payload, _ in functions.calls] == [
        {"arn": "task"},
        {"arn": "task", "poll": {"done": False}},
        {"arn": "task", "poll": {"done": False}},
    ]
    assert {role for _, _, role in functions.calls} == {"MachineRole"}
    assert json.loads(execution.output or "") == {"arn": "task", "poll": {"done": True}}
    assert execution.stop_date == CLOCK_START + 120


def test_paths_parameters_and_pass_results() -> None:
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "InputPath": "$.job",
                "Parameters": {"target.$": "$.arn", "fixed": 1, "who.$": "$$.Execution.Name"},
                "ResultPath": "$.shaped",
                "Next": "Constant",
            },
            "Constant": {
                "Type": "Pass",
                "Result": {"x": [1, 2]},
                "ResultPath": "$.constant",
                "OutputPath": "$.constant.x[1]",
                "End": True,
            },
        },
    }
    sfn, _, _ = service(definition)
    arn = start(sfn, {"job": {"arn": "task-1"}}, name="named")
    sfn.run_due()
    execution = sfn.executions[arn]
    assert execution.status == "SUCCEEDED"
    assert json.loads(execution.output or "") == 2
    assert execution.transitions == 2


def test_a_result_path_of_null_keeps_the_input() -> None:
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": FUNCTION, "ResultPath": None, "End": True}},
    }
    sfn, _, _ = service(definition, [{"ignored": True}])
    arn = start(sfn, {"kept": 1})
    sfn.run_due()
    assert json.loads(sfn.executions[arn].output or "") == {"kept": 1}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.status", "StringEquals": "running"}, True),
        ({"Variable": "$.status", "StringEquals": "stopped"}, False),
        ({"Variable": "$.percent", "NumericGreaterThanEquals": 100}, False),
        ({"Variable": "$.percent", "NumericLessThan": 100}, True),
        ({"Variable": "$.percent", "StringEquals": "40"}, False),  # another type: no match
        ({"Variable": "$.flag", "BooleanEquals": False}, True),
        ({"Variable": "$.status", "StringEqualsPath": "$.wanted"}, True),
        ({"Variable": "$.missing", "IsPresent": False}, True),
        ({"Variable": "$.nothing", "IsNull": True}, True),
        ({"Not": {"Variable": "$.flag", "BooleanEquals": True}}, True),
        (
            {
                "And": [
                    {"Variable": "$.status", "StringEquals": "running"},
                    {"Variable": "$.percent", "NumericEquals": 40},
                ]
            },
            True,
        ),
        (
            {
                "Or": [
                    {"Variable": "$.status", "StringEquals": "failed"},
                    {"Variable": "$.percent", "NumericGreaterThan": 50},
                ]
            },
            False,
        ),
    ],
)
def test_choice_rules(rule: dict[str, Any], expected: bool) -> None:
    definition = {
        "StartAt": "Which",
        "States": {
            "Which": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }
    sfn, _, _ = service(definition)
    document = {"status": "running", "percent": 40, "flag": False, "wanted": "running"}
    arn = start(sfn, {**document, "nothing": None})
    sfn.run_due()
    assert json.loads(sfn.executions[arn].output or "") == ("yes" if expected else "no")


def done_or_not(**default: str) -> dict[str, Any]:
    """A Choice on ``$.done`` (with ``Default`` if given), then the end."""
    which = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "End"}],
        **default,
    }
    return {"StartAt": "Which", "States": {"Which": which, "End": {"Type": "Succeed"}}}


def test_a_choice_that_matches_nothing_without_default_fails_the_execution() -> None:
    sfn, _, _ = service(done_or_not())
    arn = start(sfn, {"done": False})
    sfn.run_due()
    assert (sfn.executions[arn].status, sfn.executions[arn].error) == (
        "FAILED",
        "States.NoChoiceMatched",
    )


def test_a_choice_on_a_missing_variable_is_a_runtime_error() -> None:
    sfn, _, _ = service(done_or_not(Default="End"))
    arn = start(sfn, {})
    sfn.run_due()
    assert sfn.executions[arn].error == "States.Runtime"
    assert "$.done" in (sfn.executions[arn].cause or "")


@pytest.mark.parametrize(
    ("wait", "expected"),
    [
        ({"SecondsPath": "$.pause"}, 90),
        ({"Timestamp": "2026-03-01T01:00:00Z"}, 3600),
        ({"TimestampPath": "$.until"}, 7200),
    ],
)
def test_wait_forms(wait: dict[str, Any], expected: int) -> None:
    definition = {
        "StartAt": "Wait",
        "States": {"Wait": {"Type": "Wait", **wait, "Next": "End"}, "End": {"Type": "Succeed"}},
    }
    sfn, _, clock = service(definition)
    arn = start(sfn, {"pause": 90, "until": "2026-03-01T02:00:00Z"})
    sfn.run_due()
    assert sfn.next_due() == CLOCK_START + expected
    clock.now = CLOCK_START + expected
    sfn.run_due()
    assert sfn.executions[arn].status == "SUCCEEDED"


def test_lambda_invoke_integration_wraps_the_payload() -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": FUNCTION, "Payload.$": "$.job"},
                "ResultSelector": {"answer.$": "$.Payload"},
                "End": True,
            }
        },
    }
    sfn, functions, _ = service(definition, [{"done": True}])
    arn = start(sfn, {"job": {"arn": "t"}})
    sfn.run_due()
    assert functions.calls == [(FUNCTION, {"arn": "t"}, "MachineRole")]
    assert json.loads(sfn.executions[arn].output or "") == {"answer": {"done": True}}


def test_a_failed_task_is_caught_or_fails_the_execution() -> None:
    caught: dict[str, Any] = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": FUNCTION,
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Bad"}],
                "End": True,
            },
            "Bad": {"Type": "Fail", "Error": "Gave", "Cause": "up"},
        },
    }
    failure = TaskFailedError("ClientError", '{"errorMessage": "denied"}')
    sfn, functions, _ = service(caught, [failure])
    arn = start(sfn, {})
    sfn.run_due()
    execution = sfn.executions[arn]
    assert (execution.status, execution.error, execution.cause) == ("FAILED", "Gave", "up")
    assert execution.entered == ["Call", "Bad"]
    assert len(functions.calls) == 1  # Retry is not modelled: one attempt
    call = {key: value for key, value in caught["States"]["Call"].items() if key != "Catch"}
    uncaught = {"StartAt": "Call", "States": {"Call": call}}
    sfn, _, _ = service(uncaught, [failure])
    arn = start(sfn, {})
    sfn.run_due()
    assert (sfn.executions[arn].error, sfn.executions[arn].cause) == (
        "ClientError",
        '{"errorMessage": "denied"}',
    )


def test_the_definition_timeout_times_the_execution_out() -> None:
    sfn, _, clock = service({**POLL_LOOP, "TimeoutSeconds": 100}, [{"done": False}] * 5)
    arn = start(sfn, {})
    sfn.run_due()
    clock.now += 60
    sfn.run_due()
    assert sfn.next_due() == CLOCK_START + 100  # the timeout comes before the next poll
    clock.now = CLOCK_START + 100
    sfn.run_due()
    assert (sfn.executions[arn].status, sfn.executions[arn].error) == (
        "TIMED_OUT",
        "States.Timeout",
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"States": {"P": {"Type": "Parallel", "Branches": [], "End": True}}}, "Parallel"),
        ({"States": {"P": {"Type": "Map", "End": True}}}, "Map"),
        (
            {
                "States": {
                    "P": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sqs:sendMessage",
                        "End": True,
                    }
                }
            },
            "sqs:sendMessage",
        ),
        ({"QueryLanguage": "JSONata", "States": {"P": {"Type": "Succeed"}}}, "JSONata"),
        ({"States": {"P": {"Type": "Pass", "Next": "Nowhere"}}}, "Nowhere"),
        (
            {"States": {"P": {"Type": "Wait", "Seconds": 1, "Heartbeat": 1, "End": True}}},
            "Heartbeat",
        ),
        (
            {
                "States": {
                    "P": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.t", "TimestampEquals": "x", "Next": "P"}],
                    }
                }
            },
            "TimestampEquals",
        ),
    ],
)
def test_what_the_interpreter_does_not_run_is_refused_at_creation(
    change: dict[str, Any], named: str
) -> None:
    with pytest.raises(UnsupportedDefinitionError, match=named):
        service({"StartAt": "P", **change})


def test_intrinsic_functions_are_refused_when_reached() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Parameters": {"x.$": "States.Format('{}', $.a)"}, "End": True}
        },
    }
    sfn, _, _ = service(definition)
    start(sfn, {"a": 1})
    with pytest.raises(UnsupportedDefinitionError, match="intrinsics"):
        sfn.run_due()


# -- the API -------------------------------------------------------------------------------------


def test_start_execution_is_idempotent_by_name_and_input() -> None:
    sfn, _, _ = service(POLL_LOOP, [{"done": True}])
    first = start(sfn, {"a": 1}, name="same")
    assert first == execution_arn("Waiter", "same")
    assert start(sfn, {"a": 1}, name="same") == first  # running, same input
    with pytest.raises(StepFunctionsError, match="Execution Already Exists"):
        start(sfn, {"a": 2}, name="same")
    sfn.run_due()
    assert sfn.executions[first].status == "SUCCEEDED"
    with pytest.raises(StepFunctionsError, match="Execution Already Exists"):
        start(sfn, {"a": 1}, name="same")  # closed: the name is taken


def test_a_stopped_execution_runs_no_further() -> None:
    sfn, functions, clock = service(POLL_LOOP, [{"done": False}] * 3)
    arn = start(sfn, {})
    sfn.run_due()
    clock.now += 30
    answer = sfn.handle("StopExecution", {"executionArn": arn, "error": "E", "cause": "C"})
    assert answer == {"stopDate": CLOCK_START + 30}
    clock.now += 3600
    sfn.run_due()
    execution = sfn.executions[arn]
    assert (execution.status, execution.stopped_by, execution.error) == (
        "ABORTED",
        "StopExecution",
        "E",
    )
    assert len(functions.calls) == 1
    assert sfn.next_due() is None


@pytest.mark.parametrize("readings", STOP_READINGS, ids=lambda r: r.name)
def test_stopping_an_execution_that_ended(readings: StopReadings) -> None:
    sfn, _, _ = service(POLL_LOOP, [{"done": True}], readings=readings)
    arn = start(sfn, {})
    sfn.run_due()
    if readings.closed_refused:
        with pytest.raises(StepFunctionsError, match="not running"):
            sfn.handle("StopExecution", {"executionArn": arn})
    else:
        assert sfn.handle("StopExecution", {"executionArn": arn}) == {"stopDate": CLOCK_START}
    assert sfn.executions[arn].status == "SUCCEEDED"


def test_deleting_the_state_machine_terminates_its_executions_at_their_next_transition() -> None:
    sfn, functions, clock = service(POLL_LOOP, [{"done": False}] * 3)
    arn = start(sfn, {})
    sfn.run_due()
    sfn.delete_state_machine(MACHINE)
    assert sfn.executions[arn].status == "RUNNING"
    clock.now += 60
    sfn.run_due()
    assert (sfn.executions[arn].status, sfn.executions[arn].stopped_by) == (
        "ABORTED",
        "DeleteStateMachine",
    )
    assert len(functions.calls) == 1
    with pytest.raises(StepFunctionsError, match="State Machine Does Not Exist"):
        start(sfn, {}, name="again")


@pytest.fixture
def served() -> Iterator[StepFunctions]:
    """The emulated Step Functions on HTTP, calls authorized on the state machine only."""
    sfn, _, _ = service(
        POLL_LOOP,
        [{"done": False}],
        authorize=lambda action, resource: resource == MACHINE or action != "states:StopExecution",
    )
    with ServedAws(DmsDouble(), stepfunctions=sfn):
        yield sfn


def test_the_api_over_http_as_boto3_calls_it(served: StepFunctions) -> None:
    client = boto3.client("stepfunctions")
    started = client.start_execution(stateMachineArn=MACHINE, name="n", input='{"a": 1}')
    arn = started["executionArn"]
    assert arn == execution_arn("Waiter", "n")
    described = client.describe_execution(executionArn=arn)
    assert (described["status"], described["input"], described["name"]) == (
        "RUNNING",
        '{"a": 1}',
        "n",
    )
    with pytest.raises(client.exceptions.ExecutionAlreadyExists):
        client.start_execution(stateMachineArn=MACHINE, name="n", input='{"a": 2}')
    with pytest.raises(client.exceptions.ExecutionDoesNotExist):
        client.describe_execution(executionArn=execution_arn("Waiter", "other"))
    with pytest.raises(client.exceptions.StateMachineDoesNotExist):
        client.start_execution(stateMachineArn=state_machine_arn("Other"))
    with pytest.raises(ClientError) as denied:
        client.stop_execution(executionArn=arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert served.denials == [("StopExecution", arn)]
    assert served.executions[arn].status == "RUNNING"
