"""Throttling: 100 lifecycles at once against one DMS double that throttles 20% of calls.

Each lifecycle, in its own thread, is a Create driven to completion and then a Delete
(stop), as the Provider framework drives them (``run_provider``). The handler keeps its
real botocore retry configuration (``dms.CLIENT_CONFIG``: standard mode, 10 attempts);
only the back-off delay is shrunk to 1 ms, as tests/handler/conftest.py does, so that the
benchmark does not sleep for minutes.

``TaskClockDouble`` gives each task its own virtual clock, moved only by its own
lifecycle's polls: 100 lifecycles advancing one shared clock would make time pass 100 times
faster for each of them, and could time them out. Two client layouts: one client per thread (one per
Lambda sandbox, as in AWS) and the handler's single cached client shared by all threads
(its retry quota is shared too).

A retry is a throttled answer the double gave (botocore retries each one until the
attempts run out, and then the lifecycle fails).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.retries.standard import ExponentialBackoff
from dms_task_starter_runtime import dms, handler, stack

from bench._common import Row, emit, module_command
from tests.support.dms_double import CLOCK_START, DmsDouble
from tests.support.provider import ProviderFailedError, cfn_event, run_provider
from tests.support.served import FixedStack, ServedAws

if TYPE_CHECKING:
    from collections.abc import Iterator

COMMAND: Final = module_command("bench.throttling")
LIFECYCLES: Final = 100
THROTTLE_RATE: Final = 0.2
BACK_OFF_SECONDS: Final = 0.001


class TaskClockDouble(DmsDouble):
    """The DMS double with a virtual clock per task: a lifecycle's polls move only its own
    task's clock and statuses, and a call about a task is answered at that task's time."""

    def __init__(self, **attributes: Any) -> None:
        self._local = threading.local()
        self._clocks: dict[str, float] = {}
        self._default_clock = CLOCK_START
        super().__init__(**attributes)

    def bind(self, arn: str) -> None:
        """The calling thread acts for ``arn``: a lifecycle's thread, or the server's thread
        answering a call about ``arn``."""
        self._local.arn = arn

    @property
    def _bound(self) -> str:
        return str(getattr(self._local, "arn", ""))

    @property
    def clock(self) -> float:
        return self._clocks.get(self._bound, self._default_clock)

    @clock.setter
    def clock(self, value: float) -> None:
        if self._bound:
            self._clocks[self._bound] = value
        else:
            self._default_clock = value

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.bind(arn_of(params))
        return super().handle(operation, params)

    def advance(self, seconds: float = 10.0) -> None:
        with self._lock:
            self.clock += seconds
            item = self.item(self._bound)
            if item is not None:
                self._step(item)


def arn_of(params: dict[str, Any]) -> str:
    """The task a DMS call is about."""
    if "ReplicationTaskArn" in params:
        return str(params["ReplicationTaskArn"])
    filters = params.get("Filters") or [{}]
    return str((filters[0].get("Values") or [""])[0])


@contextmanager
def shrunk_back_off() -> Iterator[None]:
    """botocore's back-off delay is 1 ms while the block runs; the retry count is unchanged."""
    original = ExponentialBackoff.delay_amount
    ExponentialBackoff.delay_amount = lambda _self, _context: BACK_OFF_SECONDS  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        ExponentialBackoff.delay_amount = original  # type: ignore[method-assign]


def run(per_thread_clients: bool) -> tuple[int, list[int], list[str], float]:
    """The successes, the retries per lifecycle, the failures and the wall seconds."""
    double = TaskClockDouble(throttle_rate=THROTTLE_RATE)
    stack_status = FixedStack(status="DELETE_IN_PROGRESS")  # only the Delete reads it
    arns = [double.add_task(f"T{index:04d}").arn for index in range(LIFECYCLES)]
    local = threading.local()
    shared_dms, shared_stack = dms.dms_client, stack.cloudformation_client
    real_clock = handler.now_epoch_seconds
    failures: list[str] = []

    def lifecycle(index: int) -> bool:
        arn = arns[index]
        double.bind(arn)
        local.index = index
        try:
            run_provider(cfn_event("Create", {"ReplicationTaskArn": arn}), double)
            run_provider(cfn_event("Delete", {"ReplicationTaskArn": arn}, physical_id=arn), double)
        except ProviderFailedError as error:
            failures.append(f"{arn}: {error.reason}")
            return False
        return double.tasks[arn].status == "stopped"

    with ServedAws(double, stack_status), shrunk_back_off():
        shared_dms.cache_clear()
        shared_stack.cache_clear()
        # Each thread's run_provider swaps the handler's clock for the double's and back, in
        # whatever order the threads finish; swapped once for the whole run, every thread
        # stays on its own task's clock (the double's clock is the bound task's).
        handler.now_epoch_seconds = lambda: int(double.clock)
        if per_thread_clients:
            # One pair of clients per lifecycle (each with its own retry quota), made here
            # from one session: creating them is not thread-safe, and one session loads
            # the service models once.
            session = boto3.session.Session()
            dms_clients = [session.client("dms", config=dms.CLIENT_CONFIG) for _ in arns]
            stack_clients = [
                session.client("cloudformation", config=dms.CLIENT_CONFIG) for _ in arns
            ]
            dms.dms_client = lambda: dms_clients[local.index]  # type: ignore[assignment]
            stack.cloudformation_client = lambda: stack_clients[local.index]  # type: ignore[assignment]
        else:  # created here, once: creating boto3 clients is not thread-safe
            shared_dms()
            shared_stack()
        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(max_workers=LIFECYCLES) as pool:
                succeeded = sum(pool.map(lifecycle, range(LIFECYCLES)))
        finally:
            seconds = time.perf_counter() - started
            dms.dms_client, stack.cloudformation_client = shared_dms, shared_stack
            handler.now_epoch_seconds = real_clock
            shared_dms.cache_clear()
            shared_stack.cache_clear()
    retries = Counter(arn_of(params) for _, params in double.throttled_calls)
    return succeeded, [retries[arn] for arn in arns], failures, seconds


def main() -> None:
    layouts: tuple[tuple[bool, str], ...] = (
        (True, "client per thread (per Lambda sandbox)"),
        (False, "one shared client"),
    )
    print(
        f"{LIFECYCLES} concurrent Create+Delete lifecycles, {THROTTLE_RATE:.0%} of DMS calls "
        f"throttled; botocore retries as the handler configures them "
        f"({vars(dms.CLIENT_CONFIG)['retries']}), "
        f"back-off delay shrunk to {BACK_OFF_SECONDS * 1000:g} ms"
    )
    for per_thread, label in layouts:
        succeeded, retries, failures, seconds = run(per_thread)
        mean, worst = statistics.mean(retries), max(retries)
        print(
            f"{label}: {succeeded}/{LIFECYCLES} succeeded in {seconds:.1f} s; retries per "
            f"lifecycle mean {mean:.2f}, max {worst}"
        )
        for failure in failures[:3]:
            print(f"  failure: {failure[:300]}")
        figure = (
            f"{succeeded}/{LIFECYCLES} Create+Delete lifecycles succeeded; retries per lifecycle "
            f"mean {mean:.2f}, max {worst} (back-off shrunk to {BACK_OFF_SECONDS * 1000:g} ms)"
        )
        if failures:
            figure += f"; first failure: {failures[0][:160]}"
        emit(
            Row(
                f"throttling, {THROTTLE_RATE:.0%} of DMS calls: {label}",
                figure,
                "all succeed",
                succeeded == LIFECYCLES,
                COMMAND,
            )
        )


if __name__ == "__main__":
    main()
