"""Record each handler invocation of a lifecycle: its calls, the double's clock, its wall time.

``recording`` wraps ``handler.on_event`` and ``handler.is_complete`` while
``tests.support.provider.run_provider`` drives them, so every DMS call the double answered
and every DescribeStacks the stack source answered is attributed to the invocation that
made it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from dms_task_starter_runtime import handler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from tests.support.dms_double import DmsDouble
    from tests.support.served import FixedStack

    EntryPoint = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

ON_EVENT: Final = "on_event"
IS_COMPLETE: Final = "is_complete"


@dataclass(frozen=True)
class Invocation:
    """One call of an entry point."""

    entry_point: str
    clock: float
    """The double's (virtual) clock when the call was made."""
    dms_calls: tuple[str, ...]
    """The DMS operations the double answered during the call, in order."""
    stack_calls: int
    """DescribeStacks calls the stack source answered during the call."""
    complete: bool | None
    """``IsComplete`` of an is_complete answer; None for on_event or a failure."""
    seconds: float
    """Wall time of the call (the handler and its HTTP round trips to the double)."""


@contextmanager
def recording(double: DmsDouble, stack: FixedStack) -> Iterator[list[Invocation]]:
    """Record every invocation of the handler's entry points until the block ends."""
    invocations: list[Invocation] = []
    on_event, is_complete = handler.on_event, handler.is_complete

    def recorded(name: str, entry_point: EntryPoint) -> EntryPoint:
        def call(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            calls, stack_calls, clock = len(double.calls), len(stack.calls), double.clock
            complete: bool | None = None
            started = time.perf_counter()
            try:
                answer = entry_point(event, context)
                if name == IS_COMPLETE:
                    complete = bool(answer["IsComplete"])
                return answer
            finally:
                seconds = time.perf_counter() - started
                operations = tuple(operation for operation, _ in double.calls[calls:])
                invocations.append(
                    Invocation(
                        name, clock, operations, len(stack.calls) - stack_calls, complete, seconds
                    )
                )

        return call

    handler.on_event = recorded(ON_EVENT, on_event)
    handler.is_complete = recorded(IS_COMPLETE, is_complete)
    try:
        yield invocations
    finally:
        handler.on_event, handler.is_complete = on_event, is_complete
