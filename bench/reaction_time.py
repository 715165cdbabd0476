"""Reaction time: from the moment a start reaches ``running`` to the first is_complete that
reports complete, per poll interval P, under each reading of the DMS double.

Creates are driven as the Provider framework drives them (``run_provider``: is_complete
right after on_event, then every P seconds of the double's virtual clock), against the
real handler over HTTP. The moment the task runs is not set here: ``DrawnStartDouble``
draws how long each start takes when the start call arrives, as a real number of seconds,
so it ends anywhere between two polls, and records the moment its task reached
``running``. A Serverless replication passes through DMS's provisioning statuses, each
lasting a drawn time.

Per trial: the reaction time, and the polls made from the running moment on (one: the
first poll after it saw running and completed; more: the handler needed extra polls).
Also the wall time of every is_complete call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from dms_task_starter_runtime import dms, stack
from dms_task_starter_runtime.contract import REPLICATION_STARTER_RESOURCE_TYPE

from bench._common import Row, emit, median, module_command, percentile
from bench._recording import IS_COMPLETE, Invocation, recording
from tests.support.dms_double import BEHAVIOURS, SERVERLESS_START_STATUSES, DmsDouble
from tests.support.provider import ProviderFailedError, cfn_event, run_provider
from tests.support.served import FixedStack, ServedAws

if TYPE_CHECKING:
    from tests.support.dms_double import Behaviour, Replicating

COMMAND: Final = module_command("bench.reaction_time")
POLL_INTERVALS: Final = (5, 10, 30, 60)
TRIALS: Final = 40
"""Creates per poll interval, kind and reading."""
TASK_START_SECONDS: Final = (10.0, 130.0)
"""A task's ``starting`` lasts a time drawn uniformly from this range."""
SERVERLESS_STATUS_SECONDS: Final = (5.0, 45.0)
"""Each status a Serverless replication passes before ``running`` lasts a time drawn
uniformly from this range."""
TASK: Final = "task"
SERVERLESS: Final = "Serverless replication"


@dataclass
class DrawnStartDouble(DmsDouble):
    """A DMS double whose starts take a time it draws itself (continuous, not per step).

    Every other transition keeps the double's steps. ``running_at`` holds, per ARN, the
    moment its last start reached ``running``.
    """

    seed: int = 0
    running_at: dict[str, float] = field(default_factory=dict)
    _timelines: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    _draws: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._draws.seed(self.seed)

    def _transition(self, item: Replicating, *statuses: str, steps: int = 0) -> None:
        task_start = statuses == ("starting", "running")
        serverless_start = statuses == (*SERVERLESS_START_STATUSES, "running")
        if not (task_start or serverless_start):
            super()._transition(item, *statuses, steps=steps)
            return
        low, high = TASK_START_SECONDS if task_start else SERVERLESS_STATUS_SECONDS
        moment, timeline = self.clock, []
        for following in statuses[1:]:
            moment += self._draws.uniform(low, high)
            timeline.append((moment, following))
        item.status, item._queue = statuses[0], []
        self._timelines[item.arn] = timeline

    def advance(self, seconds: float = 10.0) -> None:
        """Let ``seconds`` pass: drawn transitions happen at their moments, then the steps."""
        with self._lock:
            until = self.clock + seconds
            due = sorted(
                (moment, arn, status)
                for arn, timeline in self._timelines.items()
                for moment, status in timeline
                if moment <= until
            )
            for moment, arn, status in due:
                self._timelines[arn].pop(0)
                item = self.item(arn)
                if item is None:
                    continue
                self.clock = moment
                item.status = status
                if status == "running":
                    self._now_running(item)
                    if item.status == "running":
                        self.running_at[arn] = moment
            super().advance(until - self.clock)

    def forget(self, arn: str) -> None:
        """Drop a task or replication once its trial is over."""
        self.tasks.pop(arn, None)
        self.replications.pop(arn, None)
        self._timelines.pop(arn, None)


@dataclass(frozen=True)
class Trial:
    reaction: float
    polls_after_running: int
    early: int
    """is_complete answers of complete before the task ran (must be none)."""


@dataclass
class Cell:
    """The trials of one kind, reading and poll interval."""

    trials: list[Trial] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def trial(
    double: DrawnStartDouble, stack_status: FixedStack, kind: str, number: int, interval: int
) -> tuple[Trial | None, str, list[Invocation]]:
    """One create, driven to completion; None and the reason if it failed."""
    if kind == TASK:
        arn = double.add_task(f"T{number}").arn
        event = cfn_event("Create", {"ReplicationTaskArn": arn})
    else:
        arn = double.add_replication(f"R{number}").arn
        event = cfn_event(
            "Create", {"ReplicationConfigArn": arn}, resource_type=REPLICATION_STARTER_RESOURCE_TYPE
        )
    try:
        with recording(double, stack_status) as invocations:
            run_provider(event, double, poll_seconds=interval)
    except ProviderFailedError as error:
        return None, error.reason, invocations
    finally:
        double.forget(arn)
    running_at = double.running_at.get(arn)
    if running_at is None:
        return None, "complete, but the double never reached running", invocations
    polls = [invocation for invocation in invocations if invocation.entry_point == IS_COMPLETE]
    after = [poll for poll in polls if poll.clock >= running_at]
    early = sum(1 for poll in polls if poll.clock < running_at and poll.complete)
    reaction = polls[-1].clock - running_at
    return Trial(reaction, len(after), early), "", invocations


def run_reading(behaviour: Behaviour, seed: int) -> tuple[dict[tuple[str, int], Cell], list[float]]:
    double = DrawnStartDouble(behaviour=behaviour, seed=seed)
    stack_status = FixedStack()
    cells: dict[tuple[str, int], Cell] = {}
    wall: list[float] = []
    number = 0
    with ServedAws(double, stack_status):
        dms.dms_client.cache_clear()
        stack.cloudformation_client.cache_clear()
        for kind in (TASK, SERVERLESS):
            for interval in POLL_INTERVALS:
                cell = cells.setdefault((kind, interval), Cell())
                for _ in range(TRIALS):
                    number += 1
                    result, reason, invocations = trial(
                        double, stack_status, kind, number, interval
                    )
                    wall += [i.seconds for i in invocations if i.entry_point == IS_COMPLETE]
                    if result is None:
                        cell.failures.append(reason)
                    else:
                        cell.trials.append(result)
    dms.dms_client.cache_clear()
    stack.cloudformation_client.cache_clear()
    return cells, wall


def summary(cell: Cell) -> str:
    if not cell.trials:
        return f"all {len(cell.failures)} failed: {cell.failures[0]}"
    reactions = [t.reaction for t in cell.trials]
    extra = sum(1 for t in cell.trials if t.polls_after_running > 1)
    text = (
        f"median {median(reactions):.1f} s, max {max(reactions):.1f} s, polls after running "
        f"max {max(t.polls_after_running for t in cell.trials)} ({extra} of "
        f"{len(cell.trials)} trials > 1)"
    )
    early = sum(t.early for t in cell.trials)
    if early:
        text += f", {early} completes before running"
    if cell.failures:
        text += f", {len(cell.failures)} failed: {cell.failures[0]}"
    return text


def met(cell: Cell, interval: int) -> bool:
    return (
        not cell.failures
        and bool(cell.trials)
        and all(t.reaction <= interval and t.polls_after_running == 1 for t in cell.trials)
        and not any(t.early for t in cell.trials)
    )


def main() -> None:
    readings: list[dict[tuple[str, int], Cell]] = []
    wall: list[float] = []
    for index, behaviour in enumerate(BEHAVIOURS, start=1):
        cells, seconds = run_reading(behaviour, seed=index)
        readings.append(cells)
        wall += seconds
    print(
        f"{TRIALS} creates per kind, poll interval and reading; task starts take "
        f"U{TASK_START_SECONDS} s, each Serverless start status U{SERVERLESS_STATUS_SECONDS} s"
    )
    for kind in (TASK, SERVERLESS):
        for interval in POLL_INTERVALS:
            row_cells = [reading[(kind, interval)] for reading in readings]
            for index, cell in enumerate(row_cells, start=1):
                print(f"{kind}, P={interval} s, reading {index}: {summary(cell)}")
            emit(
                Row(
                    f"reaction time: {kind}, P={interval} s",
                    "; ".join(
                        f"reading {index}: {summary(cell)}"
                        for index, cell in enumerate(row_cells, start=1)
                    ),
                    f"max <= {interval} s, 1 poll after running",
                    all(met(cell, interval) for cell in row_cells),
                    COMMAND,
                )
            )
    emit(
        Row(
            "reaction time: wall time of the handler's is_complete calls",
            f"median {median(wall) * 1000:.1f} ms, p95 {percentile(wall, 0.95) * 1000:.1f} ms, "
            f"max {max(wall) * 1000:.1f} ms over {len(wall)} calls (HTTP to the local double "
            "included)",
            "n/a",
            None,
            COMMAND,
        )
    )


if __name__ == "__main__":
    main()
