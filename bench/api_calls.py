"""AWS API calls per lifecycle, by operation, under each reading of the DMS double.

Lifecycles, driven as the Provider framework drives them (``run_provider``) against the
DMS double served over HTTP, with the stack's status answered by a ``FixedStack``:

- a task (``cdc``): create of a ready task; update with a new CdcStartPosition while it
  runs (stop, then start again); delete with stop;
- a Serverless replication (``cdc``): create; update with a new CdcStartPosition; delete.

The target is checked against the recorded calls of each invocation, not assumed: the
on_event makes exactly one describe before its first write, each is_complete poll exactly
one describe (and at most one write, after it), the writes are exactly one per start and
per stop, nothing else is called, and DescribeStacks is called at most once, by on_event.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from dms_task_starter_runtime import dms, stack
from dms_task_starter_runtime.contract import REPLICATION_STARTER_RESOURCE_TYPE

from bench._common import Row, emit, module_command
from bench._recording import ON_EVENT, Invocation, recording
from tests.support.dms_double import BEHAVIOURS, DmsDouble, config_arn, task_arn
from tests.support.provider import cfn_event, run_provider
from tests.support.served import FixedStack, ServedAws

if TYPE_CHECKING:
    from tests.support.dms_double import Behaviour

COMMAND: Final = module_command("bench.api_calls")
POSITION: Final = "mysql-bin-changelog.000024:373"
TARGET: Final = (
    "on_event: 1 read before acting; 1 read per poll; 1 write per start/stop; "
    "DescribeStacks <= 1, in on_event (a read of a Serverless replication DMS does not list "
    "yet is DescribeReplications, then DescribeReplicationConfigs)"
)
CONFIG_READ: Final = "DescribeReplicationConfigs"
TASK_WRITES: Final = {"start": "StartReplicationTask", "stop": "StopReplicationTask"}
REPLICATION_WRITES: Final = {"start": "StartReplication", "stop": "StopReplication"}


@dataclass(frozen=True)
class Lifecycle:
    name: str
    request: str
    properties: dict[str, str]
    old_properties: dict[str, str] | None
    stack_status: str
    writes: tuple[str, ...]
    """The writes the lifecycle needs ("start", "stop"), in order."""


@dataclass(frozen=True)
class Subject:
    """A task or a Serverless replication, and how its lifecycles look."""

    label: str
    arn_property: str
    resource_type: str | None
    write_names: dict[str, str]

    def lifecycles(self, arn: str) -> tuple[Lifecycle, ...]:
        props = {self.arn_property: arn}
        moved = {**props, "CdcStartPosition": POSITION}
        return (
            Lifecycle("create", "Create", props, None, "CREATE_IN_PROGRESS", ("start",)),
            Lifecycle(
                "update with a new CdcStartPosition while running",
                "Update",
                moved,
                props,
                "UPDATE_IN_PROGRESS",
                ("stop", "start"),
            ),
            Lifecycle("delete (stop)", "Delete", moved, None, "DELETE_IN_PROGRESS", ("stop",)),
        )


TASK: Final = Subject("task", "ReplicationTaskArn", None, TASK_WRITES)
REPLICATION: Final = Subject(
    "Serverless replication",
    "ReplicationConfigArn",
    REPLICATION_STARTER_RESOURCE_TYPE,
    REPLICATION_WRITES,
)


@dataclass(frozen=True)
class Observed:
    invocations: tuple[Invocation, ...]
    problems: tuple[str, ...]

    @property
    def polls(self) -> int:
        return sum(1 for invocation in self.invocations if invocation.entry_point != ON_EVENT)

    @property
    def counts(self) -> Counter[str]:
        return Counter(op for invocation in self.invocations for op in invocation.dms_calls)

    @property
    def stack_calls(self) -> int:
        return sum(invocation.stack_calls for invocation in self.invocations)


def is_read(operation: str) -> bool:
    """A read of the task; the configuration read that follows an empty DescribeReplications
    belongs to the same read."""
    return operation.startswith("Describe") and operation != CONFIG_READ


def on_event_problems(first: Invocation, writes: set[str]) -> list[str]:
    """on_event reads exactly once, before its first write."""
    reads = [op for op in first.dms_calls if is_read(op)]
    acted = [index for index, op in enumerate(first.dms_calls) if op in writes]
    reads_before = [op for op in first.dms_calls[: acted[0] if acted else None] if is_read(op)]
    if len(reads) == 1 and len(reads_before) == 1:
        return []
    calls = ", ".join(first.dms_calls)
    return [f"on_event called {calls}: {len(reads_before)} reads before acting"]


def poll_problems(polls: list[Invocation], writes: set[str]) -> list[str]:
    """Each poll reads exactly once and then makes at most one write."""
    problems = []
    for number, poll in enumerate(polls, start=1):
        reads = [op for op in poll.dms_calls if is_read(op)]
        acts = [op for op in poll.dms_calls if op in writes]
        calls = [op for op in poll.dms_calls if op != CONFIG_READ]
        if len(reads) != 1 or len(acts) > 1 or calls != reads + acts:
            problems.append(f"poll {number} called {list(poll.dms_calls)}")
    return problems


def check(invocations: list[Invocation], writes: list[str]) -> list[str]:
    """What in the recorded calls breaks the target (nothing: it is met)."""
    first, *polls = invocations
    write_set = set(writes)
    problems = on_event_problems(first, write_set) + poll_problems(polls, write_set)
    operations = [op for invocation in invocations for op in invocation.dms_calls]
    made = [op for op in operations if op in write_set]
    if made != writes:
        problems.append(f"writes {made}, expected {writes}")
    others = sorted(
        {op for op in operations if op not in write_set and not is_read(op) and op != CONFIG_READ}
    )
    if others:
        problems.append(f"other calls: {others}")
    if first.stack_calls > 1 or any(poll.stack_calls for poll in polls):
        polled = sum(poll.stack_calls for poll in polls)
        problems.append(f"DescribeStacks: {first.stack_calls} in on_event, {polled} in polls")
    return problems


def run_lifecycles(behaviour: Behaviour, subject: Subject) -> list[Observed]:
    double = DmsDouble(behaviour=behaviour)
    stack_status = FixedStack()
    if subject is TASK:
        arn = double.add_task("T1", migration_type="cdc").arn
    else:
        arn = double.add_replication("R1", migration_type="cdc").arn
    assert arn in (task_arn("T1"), config_arn("R1"))
    observed: list[Observed] = []
    with ServedAws(double, stack_status):
        dms.dms_client.cache_clear()
        stack.cloudformation_client.cache_clear()
        for lifecycle in subject.lifecycles(arn):
            stack_status.status = lifecycle.stack_status
            extra: dict[str, Any] = {}
            if subject.resource_type is not None:
                extra["resource_type"] = subject.resource_type
            event = cfn_event(
                lifecycle.request,
                lifecycle.properties,
                old_properties=lifecycle.old_properties,
                physical_id=None if lifecycle.request == "Create" else arn,
                **extra,
            )
            with recording(double, stack_status) as invocations:
                run_provider(event, double)
            writes = [subject.write_names[write] for write in lifecycle.writes]
            problems = check(invocations, writes)
            observed.append(Observed(tuple(invocations), tuple(problems)))
    dms.dms_client.cache_clear()
    stack.cloudformation_client.cache_clear()
    return observed


def sequence(invocations: tuple[Invocation, ...]) -> str:
    return " / ".join(
        f"{invocation.entry_point}: {', '.join(invocation.dms_calls) or '-'}"
        + (f" +DescribeStacks x{invocation.stack_calls}" if invocation.stack_calls else "")
        for invocation in invocations
    )


def figure(observed: Observed) -> str:
    counts = ", ".join(f"{op} {count}" for op, count in sorted(observed.counts.items()))
    text = f"{counts}; {observed.polls} polls; DescribeStacks {observed.stack_calls}"
    if observed.problems:
        text += " (" + "; ".join(observed.problems) + ")"
    return text


def main() -> None:
    results: dict[tuple[str, str], list[Observed]] = {}
    for index, behaviour in enumerate(BEHAVIOURS, start=1):
        for subject in (TASK, REPLICATION):
            observed = run_lifecycles(behaviour, subject)
            results[(subject.label, str(index))] = observed
            print(f"reading {index} ({behaviour.name}), {subject.label}:")
            for lifecycle, seen in zip(subject.lifecycles(""), observed, strict=True):
                print(f"  {lifecycle.name}: {sequence(seen.invocations)}")
                for problem in seen.problems:
                    print(f"    target missed: {problem}")
    readings = [str(index) for index in range(1, len(BEHAVIOURS) + 1)]
    for subject in (TASK, REPLICATION):
        for position, lifecycle in enumerate(subject.lifecycles("")):
            per_reading = [results[(subject.label, reading)][position] for reading in readings]
            emit(
                Row(
                    f"API calls: {subject.label} {lifecycle.name}",
                    "; ".join(
                        f"reading {reading}: {figure(one)}"
                        for reading, one in zip(readings, per_reading, strict=True)
                    ),
                    TARGET,
                    all(not one.problems for one in per_reading),
                    COMMAND,
                )
            )


if __name__ == "__main__":
    main()
