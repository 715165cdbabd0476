"""An emulated AWS Step Functions: state machines, the execution API, and an ASL interpreter.

The emulated CloudFormation keeps ``AWS::StepFunctions::StateMachine`` resources here;
``ServedAws`` answers the Step Functions JSON protocol (``AWSStepFunctions.<Operation>``)
with ``StepFunctions.answer``. What the API reference documents, it enforces:

- StartExecution is idempotent by name for a STANDARD workflow: the same name and input as
  a running execution answers that execution; another input, or a closed execution of that
  name, is ``ExecutionAlreadyExists``. A state machine being deleted refuses new executions
  (``StateMachineDeleting``); an unknown one is ``StateMachineDoesNotExist``.
- StopExecution aborts a running execution: it runs no further state. DescribeExecution
  answers its status, dates, input, output, error and cause.
- Deleting a state machine terminates its running executions at their next transition
  (the reference: "On the next state transition, the state machine's executions are
  terminated").
- Every call is authorized by the caller's IAM policies (``authorize``): StartExecution on
  the state machine's ARN, StopExecution and DescribeExecution on the execution's ARN.

Executions run in the emulation's virtual time: ``run_due(now)`` runs every execution whose
next state is due, state after state, until it waits (``Wait``) or ends; ``next_due()`` says
when the next one is. The interpreter runs ``Task`` (a Lambda function ARN as ``Resource``,
or ``arn:aws:states:::lambda:invoke`` with ``Parameters``), ``Choice``, ``Wait``
(``Seconds``, ``SecondsPath``, ``Timestamp``, ``TimestampPath``), ``Pass``, ``Succeed`` and
``Fail``, with ``InputPath``, ``Parameters``, ``ResultSelector``, ``ResultPath`` and
``OutputPath`` (JSONPath: ``$``, ``$.a.b``, ``$.a[0]``, and ``$$`` for the context object),
``Catch``, and the definition's ``TimeoutSeconds``. ``Retry`` is ignored (a failed task is
not retried). Anything else is refused when the state machine is created
(``UnsupportedDefinitionError``), so that a test never passes on a definition the
interpreter does not run. Each execution counts the states it entered (Step Functions
Standard bills one state transition per state entered) and keeps its Lambda invocations.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from .dms_double import ACCOUNT, REGION, ServedError

if TYPE_CHECKING:
    from collections.abc import Callable

TARGET_PREFIX: Final = "AWSStepFunctions."
LAMBDA_INVOKE: Final = "arn:aws:states:::lambda:invoke"
"""The optimized Lambda integration: ``Parameters`` carry ``FunctionName`` and ``Payload``."""
LAMBDA_ARN: Final = re.compile(r"^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+$")
STATE_TYPES: Final = ("Task", "Choice", "Wait", "Pass", "Succeed", "Fail")
STATE_FIELDS: Final = {
    "Task": {"Resource", "Parameters", "ResultSelector", "Retry", "Catch", "TimeoutSeconds"},
    "Choice": {"Choices", "Default"},
    "Wait": {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Pass": {"Result", "Parameters"},
    "Succeed": set(),
    "Fail": {"Error", "Cause"},
}
"""The fields the interpreter honours per state type, besides the common ones."""
COMMON_FIELDS: Final = {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath"}
NO_RESULT_PATH: Final = ("Choice", "Wait", "Succeed", "Fail")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "StringEquals": lambda a, b: isinstance(a, str) and a == b,
    "StringLessThan": lambda a, b: isinstance(a, str) and a < b,
    "StringGreaterThan": lambda a, b: isinstance(a, str) and a > b,
    "NumericEquals": lambda a, b: _is_number(a) and a == b,
    "NumericLessThan": lambda a, b: _is_number(a) and a < b,
    "NumericGreaterThan": lambda a, b: _is_number(a) and a > b,
    "NumericLessThanEquals": lambda a, b: _is_number(a) and a <= b,
    "NumericGreaterThanEquals": lambda a, b: _is_number(a) and a >= b,
    "BooleanEquals": lambda a, b: isinstance(a, bool) and a == b,
}
"""Choice comparison operators (each also as ``<name>Path``): a value of another type than
the operator's does not match, as in the Amazon States Language."""
TYPE_TESTS: Final[dict[str, Callable[[Any], bool]]] = {
    "IsNull": lambda value: value is None,
    "IsString": lambda value: isinstance(value, str),
    "IsNumeric": _is_number,
    "IsBoolean": lambda value: isinstance(value, bool),
}
RUNNING: Final = "RUNNING"
MISSING: Final = object()


class StepFunctionsError(ServedError):
    """A Step Functions error answer: the code goes in ``__type``."""


class UnsupportedDefinitionError(Exception):
    """The definition uses something the interpreter does not run."""


class TaskFailedError(Exception):
    """A Task's resource failed: ``error`` and ``cause`` as Step Functions reports them."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class StatesRuntimeError(TaskFailedError):
    """``States.Runtime``: a path that selects nothing, a Choice that matches nothing."""

    def __init__(self, cause: str, error: str = "States.Runtime") -> None:
        super().__init__(error, cause)


class FunctionRunner(Protocol):
    """Runs a Lambda function for a Task, as Step Functions' role ``invoker_role`` may."""

    def invoke_function(self, function: str, payload: Any, invoker_role: str) -> Any:
        """The function's answer; ``TaskFailedError`` when the invocation failed."""
        ...


@dataclass
class StateMachine:
    arn: str
    name: str
    definition: dict[str, Any]
    role: str
    """The logical id of the role Step Functions assumes (its RoleArn)."""
    type: str = "STANDARD"
    deleting: bool = False


@dataclass
class Execution:
    """One execution, its position in the state machine and what it cost."""

    arn: str
    name: str
    machine: StateMachine
    input: str
    start_date: float
    status: str = RUNNING
    stop_date: float | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stopped_by: str = ""
    """How it ended without finishing: ``StopExecution`` or ``DeleteStateMachine``."""
    state: str = ""
    """The state to enter next."""
    data: Any = None
    """The input of that state."""
    resume_at: float = 0.0
    transitions: int = 0
    """States entered (each is one billed state transition of a Standard workflow)."""
    entered: list[str] = field(default_factory=list)
    invocations: int = 0
    """Lambda invocations its Task states made."""

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.machine.arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.start_date,
            "input": self.input,
        }
        optional = {
            "stopDate": self.stop_date,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
        }
        described.update({key: value for key, value in optional.items() if value is not None})
        return described


@dataclass(frozen=True)
class StopReadings:
    """What StopExecution answers for an execution that already ended: the API reference
    lists ``ExecutionDoesNotExist`` and ``ValidationException`` without saying."""

    closed_refused: bool = False
    """False: accepted, nothing changes (the stop date stays the end date). True: refused
    with a ``ValidationException``."""

    @property
    def name(self) -> str:
        return "stop-closed-" + ("refused" if self.closed_refused else "accepted")


STOP_READINGS: Final = (StopReadings(), StopReadings(closed_refused=True))


def state_machine_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def execution_arn(machine_name: str, name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine_name}:{name}"


# -- the definition ----------------------------------------------------------------------------


def check_definition(definition: dict[str, Any]) -> None:
    """Refuse a definition the interpreter cannot run faithfully, naming what it uses."""
    if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise UnsupportedDefinitionError("QueryLanguage JSONata is not modelled")
    states = definition["States"]
    if definition["StartAt"] not in states:
        raise UnsupportedDefinitionError(f"StartAt {definition['StartAt']} is not a state")
    for name, state in states.items():
        _check_state(name, state, states)


def _check_state(name: str, state: dict[str, Any], states: dict[str, Any]) -> None:
    kind = state["Type"]
    if kind not in STATE_TYPES:
        raise UnsupportedDefinitionError(f"state {name}: type {kind} is not modelled")
    unknown = set(state) - COMMON_FIELDS - STATE_FIELDS[kind]
    if unknown:
        raise UnsupportedDefinitionError(f"state {name}: {sorted(unknown)} not modelled")
    targets = [state.get("Default"), state.get("Next")]
    targets += [choice.get("Next") for choice in state.get("Choices", [])]
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    for target in targets:
        if target is not None and target not in states:
            raise UnsupportedDefinitionError(f"state {name}: Next {target} is not a state")
    if kind == "Task":
        _check_resource(name, state)
    for choice in state.get("Choices", []):
        _check_rule(name, choice)


def _check_resource(name: str, state: dict[str, Any]) -> None:
    resource = state["Resource"]
    if resource == LAMBDA_INVOKE:
        parameters = state.get("Parameters", {})
        if not {"FunctionName", "FunctionName.$"} & set(parameters):
            raise UnsupportedDefinitionError(f"state {name}: lambda:invoke without FunctionName")
        return
    if not LAMBDA_ARN.match(resource):
        raise UnsupportedDefinitionError(
            f"state {name}: Resource {resource} is not modelled (a Lambda function ARN or "
            f"{LAMBDA_INVOKE})"
        )


def _check_rule(name: str, rule: dict[str, Any]) -> None:
    if "And" in rule or "Or" in rule:
        for inner in rule.get("And", rule.get("Or", [])):
            _check_rule(name, inner)
        return
    if "Not" in rule:
        _check_rule(name, rule["Not"])
        return
    operators = set(rule) - {"Variable", "Next"}
    known = {*COMPARISONS, *(f"{op}Path" for op in COMPARISONS), *TYPE_TESTS, "IsPresent"}
    if len(operators) != 1 or not operators <= known:
        raise UnsupportedDefinitionError(f"state {name}: choice rule {rule} is not modelled")


# -- JSONPath ----------------------------------------------------------------------------------

_TOKEN: Final = re.compile(r"\.([A-Za-z0-9_$-]+)|\['([^']+)'\]|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    rest = path[1:]
    steps: list[str | int] = []
    while rest:
        match = _TOKEN.match(rest)
        if match is None:
            raise UnsupportedDefinitionError(f"path {path} is not modelled")
        name, quoted, index = match.groups()
        steps.append(int(index) if index is not None else (name or quoted))
        rest = rest[match.end() :]
    return steps


def read_path(data: Any, path: str, context: dict[str, Any] | None = None) -> Any:
    """The value ``path`` selects (``MISSING`` if it selects nothing); ``$$`` reads the
    context object."""
    if path.startswith("$$"):
        data, path = context or {}, path[1:]
    if not path.startswith("$"):
        raise UnsupportedDefinitionError(f"path {path} is not modelled")
    value = data
    for step in _steps(path):
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
            value = value[step]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return MISSING
    return value


def _select(data: Any, path: str | None, field_name: str, context: dict[str, Any]) -> Any:
    """``InputPath``/``OutputPath``: ``None`` (JSON null) selects ``{}``."""
    if path is None:
        return {}
    value = read_path(data, path, context)
    if value is MISSING:
        raise StatesRuntimeError(
            f"Invalid path '{path}' : No results for path: {field_name}: {path}"
        )
    return value


def write_result(data: Any, result: Any, path: str | None) -> Any:
    """``ResultPath``: the result put into (a copy of) the state's input."""
    if path is None:
        return data
    steps = _steps(path)
    if not steps:
        return result
    output = copy.deepcopy(data) if isinstance(data, dict) else {}
    node = output
    for step in steps[:-1]:
        node = node.setdefault(step, {})
    node[steps[-1]] = result
    return output


def fill_template(template: Any, data: Any, context: dict[str, Any]) -> Any:
    """``Parameters``/``ResultSelector``: keys ending ``.$`` take the value of their path."""
    if isinstance(template, list):
        return [fill_template(item, data, context) for item in template]
    if not isinstance(template, dict):
        return template
    filled: dict[str, Any] = {}
    for key, value in template.items():
        if key.endswith(".$"):
            if not isinstance(value, str) or not value.startswith("$"):
                raise UnsupportedDefinitionError(f"{key}: {value} (intrinsics are not modelled)")
            selected = read_path(data, value, context)
            if selected is MISSING:
                raise StatesRuntimeError(
                    f"The JSONPath '{value}' specified for the field "
                    f"'{key}' could not be found in the input"
                )
            filled[key[:-2]] = selected
        else:
            filled[key] = fill_template(value, data, context)
    return filled


def matches(rule: dict[str, Any], data: Any, context: dict[str, Any]) -> bool:
    """Whether a Choice rule matches ``data``."""
    if "And" in rule:
        return all(matches(inner, data, context) for inner in rule["And"])
    if "Or" in rule:
        return any(matches(inner, data, context) for inner in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], data, context)
    value = read_path(data, rule["Variable"], context)
    if "IsPresent" in rule:
        return (value is not MISSING) is bool(rule["IsPresent"])
    if value is MISSING:
        raise StatesRuntimeError(
            f"Invalid path '{rule['Variable']}': The choice state's condition path references "
            "an invalid value."
        )
    ((operator, expected),) = [(k, v) for k, v in rule.items() if k not in ("Variable", "Next")]
    if operator in TYPE_TESTS:
        return TYPE_TESTS[operator](value) is bool(expected)
    if operator.endswith("Path"):
        operator, expected = operator.removesuffix("Path"), read_path(data, expected, context)
    return bool(COMPARISONS[operator](value, expected))


# -- the service -------------------------------------------------------------------------------


@dataclass
class StepFunctions:
    """State machines and executions; ``authorize(action, resource)`` is the caller's IAM."""

    functions: FunctionRunner
    authorize: Callable[[str, str], bool] = lambda _action, _resource: True
    readings: StopReadings = field(default_factory=StopReadings)
    machines: dict[str, StateMachine] = field(default_factory=dict)
    executions: dict[str, Execution] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    denials: list[tuple[str, str]] = field(default_factory=list)
    clock: Callable[[], float] = lambda: 0.0
    _running: bool = False

    # -- what CloudFormation does ----------------------------------------------------------

    def create_state_machine(
        self, name: str, definition: str, role: str, machine_type: str = "STANDARD"
    ) -> StateMachine:
        parsed = json.loads(definition)
        check_definition(parsed)
        machine = StateMachine(state_machine_arn(name), name, parsed, role, machine_type)
        self.machines[machine.arn] = machine
        return machine

    def update_state_machine(self, arn: str, definition: str, role: str) -> None:
        """UpdateStateMachine: running executions keep the definition they started with."""
        parsed = json.loads(definition)
        check_definition(parsed)
        old = self.machines[arn]
        self.machines[arn] = StateMachine(arn, old.name, parsed, role, old.type)

    def delete_state_machine(self, arn: str) -> None:
        machine = self.machines.pop(arn, None)
        if machine is not None:
            machine.deleting = True

    # -- the protocol ----------------------------------------------------------------------

    def answer(self, operation: str, body: bytes) -> tuple[int, dict[str, Any]]:
        params = json.loads(body or b"{}")
        try:
            return 200, self.handle(operation, params)
        except StepFunctionsError as fault:
            return fault.status, {"__type": fault.code, "message": fault.message}

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, params))
        handler = {
            "StartExecution": self._start_execution,
            "StopExecution": self._stop_execution,
            "DescribeExecution": self._describe_execution,
        }.get(operation)
        if handler is None:
            raise StepFunctionsError("UnknownOperationException", f"{operation} is not modelled")
        return handler(params)

    def _check(self, action: str, resource: str) -> None:
        if not self.authorize(f"states:{action}", resource):
            self.denials.append((action, resource))
            raise StepFunctionsError(
                "AccessDeniedException",
                f"User is not authorized to perform: states:{action} on resource: {resource} "
                f"because no identity-based policy allows the states:{action} action",
            )

    def _start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["stateMachineArn"]
        self._check("StartExecution", arn)
        machine = self.machines.get(arn)
        if machine is None:
            raise StepFunctionsError(
                "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
            )
        name = params.get("name") or str(uuid.uuid4())
        execution_input = params.get("input", "{}")
        try:
            data = json.loads(execution_input)
        except ValueError as error:
            raise StepFunctionsError(
                "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{error}'"
            ) from error
        arn_of_execution = execution_arn(machine.name, name)
        existing = self.executions.get(arn_of_execution)
        if existing is not None:
            if existing.status == RUNNING and existing.input == execution_input:
                return {"executionArn": existing.arn, "startDate": existing.start_date}
            raise StepFunctionsError(
                "ExecutionAlreadyExists", f"Execution Already Exists: '{arn_of_execution}'"
            )
        now = self.clock()
        execution = Execution(
            arn_of_execution,
            name,
            machine,
            execution_input,
            now,
            state=machine.definition["StartAt"],
            data=data,
            resume_at=now,
        )
        self.executions[execution.arn] = execution
        return {"executionArn": execution.arn, "startDate": execution.start_date}

    def _execution(self, arn: str) -> Execution:
        execution = self.executions.get(arn)
        if execution is None:
            raise StepFunctionsError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return execution

    def _stop_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["executionArn"]
        self._check("StopExecution", arn)
        execution = self._execution(arn)
        if execution.status == RUNNING:
            self._end(execution, "ABORTED", error=params.get("error"), cause=params.get("cause"))
            execution.stopped_by = "StopExecution"
        elif self.readings.closed_refused:
            raise StepFunctionsError(
                "ValidationException", f"Execution {arn} is not running: {execution.status}"
            )
        assert execution.stop_date is not None
        return {"stopDate": execution.stop_date}

    def _describe_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["executionArn"]
        self._check("DescribeExecution", arn)
        return self._execution(arn).describe()

    # -- running executions ----------------------------------------------------------------

    def running(self) -> list[Execution]:
        return [e for e in self.executions.values() if e.status == RUNNING]

    def next_due(self) -> float | None:
        """When the next running execution takes its next step (``None``: none runs)."""
        due = [self._due(execution) for execution in self.running()]
        return min(due) if due else None

    @staticmethod
    def _due(execution: Execution) -> float:
        timeout = execution.machine.definition.get("TimeoutSeconds")
        if timeout is None:
            return execution.resume_at
        return min(execution.resume_at, execution.start_date + float(timeout))

    def run_due(self) -> None:
        """Run every execution whose next step is due, earliest first, until each waits or
        ends (re-entrant calls, made while an execution runs, do nothing)."""
        if self._running:
            return
        self._running = True
        try:
            while True:
                now = self.clock()
                due = [e for e in self.running() if self._due(e) <= now]
                if not due:
                    return
                self._step(min(due, key=self._due), now)
        finally:
            self._running = False

    def _step(self, execution: Execution, now: float) -> None:
        machine = execution.machine
        timeout = machine.definition.get("TimeoutSeconds")
        if machine.deleting:
            self._end(execution, "ABORTED")
            execution.stopped_by = "DeleteStateMachine"
            return
        if timeout is not None and now >= execution.start_date + float(timeout):
            self._end(execution, "TIMED_OUT", error="States.Timeout")
            return
        name = execution.state
        state = machine.definition["States"][name]
        execution.transitions += 1
        execution.entered.append(name)
        context = self._context(execution, name, now)
        try:
            self._enter(execution, state, context, now)
        except TaskFailedError as failed:
            self._catch(execution, state, failed)

    def _context(self, execution: Execution, state: str, now: float) -> dict[str, Any]:
        return {
            "Execution": {
                "Id": execution.arn,
                "Name": execution.name,
                "Input": json.loads(execution.input),
                "StartTime": _iso(execution.start_date),
            },
            "State": {"Name": state, "EnteredTime": _iso(now)},
            "StateMachine": {"Id": execution.machine.arn, "Name": execution.machine.name},
        }

    def _enter(
        self, execution: Execution, state: dict[str, Any], context: dict[str, Any], now: float
    ) -> None:
        kind = state["Type"]
        raw = execution.data
        effective = _select(raw, state.get("InputPath", "$"), "InputPath", context)
        if kind == "Fail":
            self._end(execution, "FAILED", error=state.get("Error"), cause=state.get("Cause"))
            return
        if kind == "Choice":
            self._choose(execution, state, effective, context)
            return
        result = self._result(execution, state, effective, context)
        if kind not in NO_RESULT_PATH:
            result = write_result(raw, result, state.get("ResultPath", "$"))
        output = _select(result, state.get("OutputPath", "$"), "OutputPath", context)
        if kind == "Succeed" or state.get("End"):
            self._end(execution, "SUCCEEDED", output=output)
            return
        execution.state, execution.data = state["Next"], output
        if kind == "Wait":
            execution.resume_at = self._wake_at(state, effective, context, now)

    def _result(
        self, execution: Execution, state: dict[str, Any], data: Any, context: dict[str, Any]
    ) -> Any:
        """What a Task, Pass, Wait or Succeed state makes of its effective input."""
        if "Parameters" in state:
            data = fill_template(state["Parameters"], data, context)
        if state["Type"] == "Task":
            return self._task(execution, state, data, context)
        return state.get("Result", data)

    def _choose(
        self, execution: Execution, state: dict[str, Any], data: Any, context: dict[str, Any]
    ) -> None:
        target = next(
            (choice["Next"] for choice in state["Choices"] if matches(choice, data, context)),
            state.get("Default"),
        )
        if target is None:
            raise StatesRuntimeError(
                "An error occurred while executing the state. No Choice rule matched and no "
                "Default was specified",
                error="States.NoChoiceMatched",
            )
        execution.state = target
        execution.data = _select(data, state.get("OutputPath", "$"), "OutputPath", context)

    @staticmethod
    def _wake_at(state: dict[str, Any], data: Any, context: dict[str, Any], now: float) -> float:
        if "Seconds" in state:
            return now + float(state["Seconds"])
        if "SecondsPath" in state:
            seconds = read_path(data, state["SecondsPath"], context)
            if not _is_number(seconds) or seconds < 0:
                raise StatesRuntimeError(f"SecondsPath {state['SecondsPath']} is {seconds!r}")
            return now + float(seconds)
        stamp = state.get("Timestamp")
        if stamp is None:
            stamp = read_path(data, state["TimestampPath"], context)
        if not isinstance(stamp, str):
            raise StatesRuntimeError(f"TimestampPath {state['TimestampPath']} is {stamp!r}")
        return max(now, datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())

    def _task(
        self, execution: Execution, state: dict[str, Any], data: Any, context: dict[str, Any]
    ) -> Any:
        resource = state["Resource"]
        execution.invocations += 1
        if resource != LAMBDA_INVOKE:
            answer = self.functions.invoke_function(resource, data, execution.machine.role)
        else:
            function = data["FunctionName"]
            payload = data.get("Payload", context["Execution"]["Input"])
            answer = {
                "ExecutedVersion": "$LATEST",
                "Payload": self.functions.invoke_function(
                    function, payload, execution.machine.role
                ),
                "StatusCode": 200,
            }
        if "ResultSelector" in state:
            answer = fill_template(state["ResultSelector"], answer, context)
        return answer

    def _catch(self, execution: Execution, state: dict[str, Any], failed: TaskFailedError) -> None:
        for catcher in state.get("Catch", []):
            names = catcher["ErrorEquals"]
            if failed.error in names or "States.ALL" in names:
                error_output = {"Error": failed.error, "Cause": failed.cause}
                execution.data = write_result(
                    execution.data, error_output, catcher.get("ResultPath", "$")
                )
                execution.state = catcher["Next"]
                return
        self._end(execution, "FAILED", error=failed.error, cause=failed.cause)

    def _end(
        self,
        execution: Execution,
        status: str,
        *,
        output: Any = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        execution.status = status
        execution.stop_date = self.clock()
        execution.output = None if status != "SUCCEEDED" else json.dumps(output)
        execution.error, execution.cause = error, cause


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
