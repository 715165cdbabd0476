"""The plan ``on_event`` leaves for ``is_complete``, and its round trip through ``Data``.

The Provider framework merges the ``Data`` that ``on_event`` returns into the event it
then hands to ``is_complete``, again and again; ``is_complete`` keeps no state of its own.
So the plan is written into ``Data`` under keys prefixed ``Starter``, as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from dms_task_starter_runtime.contract import BOOLEAN_FALSE, BOOLEAN_TRUE, Kind, WaitFor
from dms_task_starter_runtime.state import NO_TASK, Snapshot
from dms_task_starter_runtime.text import MAX_FAILURE_MESSAGE_CHARS, truncate

if TYPE_CHECKING:
    from collections.abc import Mapping


class StarterError(Exception):
    """A failure CloudFormation shows in its console: one readable paragraph, capped."""

    def __init__(self, message: str) -> None:
        super().__init__(truncate(message, MAX_FAILURE_MESSAGE_CHARS))


class PlanKey:
    """Keys of the plan in ``Data``; the prefix keeps them apart from the attributes."""

    KIND: Final = "StarterKind"
    DEADLINE: Final = "StarterDeadline"
    TIMEOUT_SECONDS: Final = "StarterTimeoutSeconds"
    SUBJECT: Final = "StarterSubject"
    WAIT_FOR: Final = "StarterWaitFor"
    REST: Final = "StarterRest"
    START_PENDING: Final = "StarterStartPending"
    SNAPSHOT: Final = "StarterSnapshot"
    SEND_CDC_START: Final = "StarterSendCdcStart"
    HANDOVER_FROM: Final = "StarterHandoverFrom"
    RESUME_ONLY: Final = "StarterResumeOnly"
    BEST_EFFORT: Final = "StarterBestEffort"
    WAITS_OUT_REFUSALS: Final = "StarterWaitsOutRefusals"
    TESTS_CONNECTIONS: Final = "StarterTestsConnections"
    ASSESSES: Final = "StarterAssesses"
    ASSESSMENT_RUN: Final = "StarterAssessmentRun"


ARN_SEPARATOR: Final = ","


@dataclass(frozen=True)
class Plan:
    """What ``is_complete`` still has to bring about, as ``on_event`` decided it.

    In order: bring the tasks in ``rest`` to rest (stop them once they run; when the
    subject is among them, only the run it had when the plan was made); make the
    pending start of ``subject`` unless a run began since ``snapshot``; then wait for
    ``wait_for``, until ``deadline``.
    """

    deadline: int
    timeout_seconds: int
    kind: Kind = Kind.TASK
    subject: str = ""
    """The task to start and wait for ("" when the plan only brings tasks to rest)."""
    wait_for: WaitFor = WaitFor.NOTHING
    rest: tuple[str, ...] = ()
    start_pending: bool = False
    snapshot: Snapshot = NO_TASK
    """How the subject stood when the plan was made."""
    send_cdc_start: bool = False
    """The configured CDC start was not applied before (first application, or changed)."""
    handover_from: str = ""
    """The replaced task whose RecoveryCheckpoint the subject's CDC continues from."""
    resume_only: bool = False
    """A start that restores the task (rollback, guard): resume at its own checkpoint."""
    best_effort: bool = False
    """A rollback or a guard: a failure or timeout would strand the stack, so it finishes
    with a warning in the log instead."""
    waits_out_refusals: bool = False
    """The start follows a stop of this update's guard, before which CloudFormation may have
    modified an endpoint: a start refused for the state of the task at rest (the endpoint's
    connection test) is made again until the deadline, as a restoring start is."""
    tests_connections: bool = False
    """The pending start is a first start gated on the endpoints' connection tests that
    ``on_event`` began: it is made only once both connections succeed."""
    assesses: bool = False
    """The pending start is a first start gated on a premigration assessment (a task's
    run, begun by ``is_complete``; a Serverless replication's, which its start carries)."""
    assessment_run: str = ""
    """The name of this request's assessment run ("" without the option, or Serverless):
    found by name on every poll, so that a retried poll never begins a second run."""

    @property
    def started_at(self) -> int:
        """When the request began (the deadline is counted from it)."""
        return self.deadline - self.timeout_seconds

    @property
    def restarts(self) -> bool:
        """Whether the subject's current run is stopped before the start."""
        return bool(self.subject) and self.subject in self.rest

    def to_data(self) -> dict[str, str]:
        """Serialise into ``Data``; the Provider framework hands it to ``is_complete``."""
        return {
            PlanKey.KIND: self.kind.value,
            PlanKey.DEADLINE: str(self.deadline),
            PlanKey.TIMEOUT_SECONDS: str(self.timeout_seconds),
            PlanKey.SUBJECT: self.subject,
            PlanKey.WAIT_FOR: self.wait_for.value,
            PlanKey.REST: ARN_SEPARATOR.join(self.rest),
            PlanKey.START_PENDING: _boolean(self.start_pending),
            PlanKey.SNAPSHOT: self.snapshot.to_text(),
            PlanKey.SEND_CDC_START: _boolean(self.send_cdc_start),
            PlanKey.HANDOVER_FROM: self.handover_from,
            PlanKey.RESUME_ONLY: _boolean(self.resume_only),
            PlanKey.BEST_EFFORT: _boolean(self.best_effort),
            PlanKey.WAITS_OUT_REFUSALS: _boolean(self.waits_out_refusals),
            PlanKey.TESTS_CONNECTIONS: _boolean(self.tests_connections),
            PlanKey.ASSESSES: _boolean(self.assesses),
            PlanKey.ASSESSMENT_RUN: self.assessment_run,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> Plan:
        """Read back what ``to_data`` wrote; a plan that cannot be read is a ``StarterError``."""

        def text(key: str) -> str:
            value = data.get(key)
            if not isinstance(value, str):
                raise StarterError(
                    f"The event's Data has no plan key {key}, which on_event writes for "
                    "is_complete: this event did not come from on_event. Nothing was done."
                )
            return value

        subject = text(PlanKey.SUBJECT)
        rest = text(PlanKey.REST)
        try:
            return cls(
                kind=Kind(text(PlanKey.KIND)),
                deadline=int(text(PlanKey.DEADLINE)),
                timeout_seconds=int(text(PlanKey.TIMEOUT_SECONDS)),
                subject=subject,
                wait_for=WaitFor(text(PlanKey.WAIT_FOR)),
                rest=tuple(rest.split(ARN_SEPARATOR)) if rest else (),
                start_pending=_read_boolean(text(PlanKey.START_PENDING)),
                snapshot=Snapshot.from_text(text(PlanKey.SNAPSHOT)),
                send_cdc_start=_read_boolean(text(PlanKey.SEND_CDC_START)),
                handover_from=text(PlanKey.HANDOVER_FROM),
                resume_only=_read_boolean(text(PlanKey.RESUME_ONLY)),
                best_effort=_read_boolean(text(PlanKey.BEST_EFFORT)),
                waits_out_refusals=_read_boolean(text(PlanKey.WAITS_OUT_REFUSALS)),
                tests_connections=_read_boolean(text(PlanKey.TESTS_CONNECTIONS)),
                assesses=_read_boolean(text(PlanKey.ASSESSES)),
                assessment_run=text(PlanKey.ASSESSMENT_RUN),
            )
        except ValueError as error:
            raise StarterError(
                f"The plan on_event left in the event's Data for {subject or '(no task)'} "
                f"is unreadable ({error}). Nothing was done."
            ) from error


def _boolean(value: bool) -> str:
    return BOOLEAN_TRUE if value else BOOLEAN_FALSE


def _read_boolean(value: str) -> bool:
    if value not in (BOOLEAN_TRUE, BOOLEAN_FALSE):
        raise ValueError(f"{value!r} is not {BOOLEAN_TRUE} or {BOOLEAN_FALSE}")
    return value == BOOLEAN_TRUE
