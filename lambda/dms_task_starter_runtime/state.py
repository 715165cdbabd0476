"""What DMS reports about a task or a Serverless replication, read into one shape.

Tasks (``DescribeReplicationTasks``) and Serverless replications (``DescribeReplications``)
have different statuses and field names. The starter decides from what they share: the
phase a status belongs to, whether the task ever ran, whether it finished what it was
configured to do, and the dates that tell one run from the next (``Snapshot``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

from dms_task_starter_runtime.contract import Attr, Kind, MigrationType
from dms_task_starter_runtime.text import MAX_ATTRIBUTE_VALUE_CHARS, truncate

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime


class Phase(Enum):
    """Where a status stands for a starter."""

    AT_REST = "at-rest"
    """Can be started: ready, stopped, failed (a configuration that never started)."""
    STARTING = "starting"
    """Started, not yet running (a Serverless replication provisions capacity meanwhile)."""
    RUNNING = "running"
    STOPPING = "stopping"
    BUSY = "busy"
    """Neither started nor startable yet: creating, modifying, moving, testing."""
    GONE = "gone"
    """Will never start again: deleting, failed-move."""


STARTED_PHASES: Final = frozenset({Phase.STARTING, Phase.RUNNING, Phase.STOPPING})

TASK_PHASES: Final[Mapping[str, Phase]] = {
    "ready": Phase.AT_REST,
    "stopped": Phase.AT_REST,
    "failed": Phase.AT_REST,
    "starting": Phase.STARTING,
    "running": Phase.RUNNING,
    "stopping": Phase.STOPPING,
    "creating": Phase.BUSY,
    "modifying": Phase.BUSY,
    "moving": Phase.BUSY,
    "testing": Phase.BUSY,
    "deleting": Phase.GONE,
    "failed-move": Phase.GONE,
}
"""Every status the DMS API reference lists for a replication task."""

REPLICATION_PHASES: Final[Mapping[str, Phase]] = {
    "created": Phase.AT_REST,
    "ready": Phase.AT_REST,
    "stopped": Phase.AT_REST,
    "failed": Phase.AT_REST,
    "initializing": Phase.STARTING,
    "preparing_metadata_resources": Phase.STARTING,
    "testing_connection": Phase.STARTING,
    "fetching_metadata": Phase.STARTING,
    "calculating_capacity": Phase.STARTING,
    "provisioning_capacity": Phase.STARTING,
    "replication_starting": Phase.STARTING,
    "running": Phase.RUNNING,
    "stopping": Phase.STOPPING,
    "modifying": Phase.BUSY,
    "deleting": Phase.GONE,
}
"""The statuses the DMS user guide lists for a Serverless replication."""

NEVER_RAN_STATUSES: Final = frozenset({"ready", "created"})
"""A task in one of these never ran: only ``start-replication`` may start it."""
UNLISTED_STATUS: Final = "not listed"
"""What the starter reads for a configuration that it started before but whose replication
DescribeReplications no longer lists: that call describes provisioned replications, and DMS
deprovisions a stopped one after a while (``ReplicationDeprovisionTime``). Not running then
(running needs capacity), it was started, and DMS cannot say whether it finished."""
RAN_STATUSES: Final = frozenset({"stopped", UNLISTED_STATUS})
"""At rest in one of these, a task ran: a stop, or a replication DMS deprovisioned."""

STOP_REASON_PREFIX: Final = "Stop Reason "
DONE_STOP_REASONS: Final = frozenset(
    STOP_REASON_PREFIX + reason
    for reason in (
        "FULL_LOAD_ONLY_FINISHED",
        "STOPPED_AFTER_FULL_LOAD",
        "STOPPED_AFTER_CACHED_EVENTS",
        "STOPPED_AFTER_DDL_APPLY",
        "STOPPED_AT_SERVER_TIME",
        "STOPPED_AT_COMMIT_TIME",
    )
)
"""The task stopped because it did what its settings asked for: success, not a failure."""
ERROR_STOP_REASONS: Final = frozenset(
    STOP_REASON_PREFIX + reason
    for reason in (
        "RECOVERABLE_ERROR",
        "FATAL_ERROR",
        "EXPRESS_LICENSE_LIMITS_REACHED",
        "STOPPED_DUE_TO_LOW_MEMORY",
        "STOPPED_DUE_TO_LOW_DISK",
    )
)
FULL_LOAD_STOP_REASONS: Final = frozenset(
    STOP_REASON_PREFIX + reason
    for reason in (
        "FULL_LOAD_ONLY_FINISHED",
        "STOPPED_AFTER_FULL_LOAD",
        "STOPPED_AFTER_CACHED_EVENTS",
    )
)


def phase_of(kind: Kind, status: str) -> Phase:
    """The phase of ``status``; a status DMS adds later is waited out like a busy one."""
    if kind is Kind.REPLICATION and status == UNLISTED_STATUS:
        return Phase.AT_REST
    phases = TASK_PHASES if kind is Kind.TASK else REPLICATION_PHASES
    return phases.get(status, Phase.BUSY)


@dataclass(frozen=True)
class RunMarks:
    """The dates that move when a task starts or stops (ISO 8601; "" where DMS gives none).

    DMS documents ``StartDate`` as moving on a fresh start or a resume and
    ``FreshStartDate`` on a fresh start or a target reload; it does not say whether they
    appear at the start call or only once the task runs.
    """

    scheduled: str = ""
    """``ReplicationTaskStartDate``: "the date the replication task is scheduled to start"."""
    start: str = ""
    fresh: str = ""
    stop: str = ""

    @property
    def starts(self) -> tuple[str, str, str]:
        return (self.scheduled, self.start, self.fresh)


@dataclass(frozen=True)
class AssessmentRun:
    """A premigration assessment run: a task's (``ReplicationTaskAssessmentRun``) or a
    Serverless replication's (``PremigrationAssessmentStatus``)."""

    arn: str
    status: str
    name: str = ""
    bucket: str = ""
    folder: str = ""
    failure: str = ""
    """DMS's ``LastFailureMessage``."""
    completed: int | None = None
    count: int | None = None
    """``AssessmentProgress``: individual assessments completed, of ``count``."""
    created: str = ""
    fail_on_failure: bool = True
    """Serverless: ``FailOnAssessmentFailure`` (DMS's default: true)."""

    def attributes(self) -> dict[str, str]:
        return {Attr.ASSESSMENT_RUN_ARN: self.arn, Attr.ASSESSMENT_RUN_STATUS: self.status}


NO_ASSESSMENT_ATTRIBUTES: Final = {Attr.ASSESSMENT_RUN_ARN: "", Attr.ASSESSMENT_RUN_STATUS: ""}
"""The attributes of a starter with the option whose task has no run (yet)."""


def assessment_run(described: Mapping[str, Any]) -> AssessmentRun:
    """Read a ``ReplicationTaskAssessmentRun`` (DescribeReplicationTaskAssessmentRuns)."""
    return _assessment(
        described,
        described.get("ReplicationTaskAssessmentRunArn", ""),
        _iso(described.get("ReplicationTaskAssessmentRunCreationDate")),
        name=described.get("AssessmentRunName", ""),
    )


def premigration_status(described: Mapping[str, Any]) -> AssessmentRun:
    """Read a Serverless replication's ``PremigrationAssessmentStatus``."""
    return _assessment(
        described,
        described.get("PremigrationAssessmentRunArn", ""),
        _iso(described.get("PremigrationAssessmentRunCreationDate")),
        fail_on_failure=described.get("FailOnAssessmentFailure", True),
    )


def _assessment(
    described: Mapping[str, Any],
    arn: str,
    created: str,
    *,
    name: str = "",
    fail_on_failure: bool = True,
) -> AssessmentRun:
    progress = described.get("AssessmentProgress", {})
    return AssessmentRun(
        arn=arn,
        created=created,
        name=name,
        fail_on_failure=fail_on_failure,
        status=described.get("Status", ""),
        bucket=described.get("ResultLocationBucket", ""),
        folder=described.get("ResultLocationFolder", ""),
        failure=described.get("LastFailureMessage", ""),
        completed=progress.get("IndividualAssessmentCompletedCount"),
        count=progress.get("IndividualAssessmentCount"),
    )


@dataclass(frozen=True)
class State:
    """The parts of a task (or Serverless replication) description the starter looks at."""

    arn: str
    status: str
    kind: Kind = Kind.TASK
    migration_type: str = ""
    source_endpoint_arn: str = ""
    target_endpoint_arn: str = ""
    replication_instance_arn: str = ""
    """A task's replication instance ("" for a Serverless replication)."""
    stop_reason: str = ""
    failure: str = ""
    """LastFailureMessage (tasks) or the FailureMessages joined (replications)."""
    marks: RunMarks = RunMarks()
    full_load_start_date: str = ""
    full_load_finish_date: str = ""
    full_load_progress_percent: int | None = None
    tables_loaded: int | None = None
    tables_errored: int | None = None
    recovery_checkpoint: str = ""
    cdc_start_position: str = ""
    cdc_stop_position: str = ""
    provision_state: str = ""
    assessment: AssessmentRun | None = None
    """Serverless: the latest ``PremigrationAssessmentStatuses`` entry, if any."""

    @property
    def phase(self) -> Phase:
        return phase_of(self.kind, self.status)

    @property
    def endpoint_arns(self) -> tuple[str, ...]:
        """The source and target endpoints DMS reports (those it reports)."""
        return tuple(arn for arn in (self.source_endpoint_arn, self.target_endpoint_arn) if arn)

    @property
    def has_run(self) -> bool:
        """Whether the task ran before, so that ``start-replication`` is no longer its type.

        A first start that failed before the task ran leaves it never having run; the
        evidence of a run is what only running produces (a checkpoint, a full load).
        """
        if self.status in NEVER_RAN_STATUSES:
            return False
        if self.phase in (Phase.RUNNING, Phase.STOPPING) or self.status in RAN_STATUSES:
            return True
        return bool(
            self.recovery_checkpoint or self.full_load_start_date or self.full_load_finish_date
        )

    @property
    def listed(self) -> bool:
        """Whether DMS describes it (a replication it no longer lists: ``UNLISTED_STATUS``)."""
        return self.status != UNLISTED_STATUS

    @property
    def finished(self) -> bool:
        """Whether the task stopped because it did what it was configured to do."""
        if self.status != "stopped" or self.stop_reason in ERROR_STOP_REASONS:
            return False
        return self.stop_reason in DONE_STOP_REASONS or (
            self.migration_type == MigrationType.FULL_LOAD and bool(self.full_load_finish_date)
        )

    @property
    def full_load_finished(self) -> bool:
        return bool(self.full_load_finish_date) or self.stop_reason in FULL_LOAD_STOP_REASONS

    @property
    def failed(self) -> bool:
        """Whether the task ended in an error rather than by a stop or by finishing."""
        return self.status == "failed" or self.stop_reason in ERROR_STOP_REASONS

    def describe(self) -> str:
        """``<status>`` followed by the StopReason, failure and provision state DMS gave."""
        failure_name = "LastFailureMessage" if self.kind is Kind.TASK else "FailureMessages"
        details = [
            f"{name} '{value}'"
            for name, value in (
                ("StopReason", self.stop_reason),
                (failure_name, self.failure),
                ("ProvisionState", self.provision_state),
            )
            if value
        ]
        return self.status if not details else f"{self.status} ({', '.join(details)})"

    def attributes(self) -> dict[str, str]:
        """The ``Data`` readable with ``Fn::GetAtt``: strings only, each capped in length."""
        values = {
            self.kind.arn_attr: self.arn,
            Attr.STATUS: self.status,
            Attr.STOP_REASON: self.stop_reason,
            Attr.START_DATE: self.marks.scheduled or self.marks.start,
            Attr.CDC_START_POSITION: self.cdc_start_position,
            Attr.CDC_STOP_POSITION: self.cdc_stop_position,
            Attr.RECOVERY_CHECKPOINT: self.recovery_checkpoint,
            Attr.FULL_LOAD_PROGRESS_PERCENT: _optional_int(self.full_load_progress_percent),
            Attr.TABLES_LOADED: _optional_int(self.tables_loaded),
            Attr.TABLES_ERRORED: _optional_int(self.tables_errored),
        }
        if self.kind is Kind.REPLICATION:
            values[Attr.PROVISION_STATE] = self.provision_state
            run = self.assessment
            values.update(NO_ASSESSMENT_ATTRIBUTES if run is None else run.attributes())
        return {key: truncate(value, MAX_ATTRIBUTE_VALUE_CHARS) for key, value in values.items()}


def _optional_int(value: int | None) -> str:
    return "" if value is None else str(value)


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _stats_fields(stats: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "full_load_start_date": _iso(stats.get("FullLoadStartDate")),
        "full_load_finish_date": _iso(stats.get("FullLoadFinishDate")),
        "full_load_progress_percent": stats.get("FullLoadProgressPercent"),
        "tables_loaded": stats.get("TablesLoaded"),
        "tables_errored": stats.get("TablesErrored"),
    }


def task_state(task: Mapping[str, Any]) -> State:
    """Read a DMS ``ReplicationTask``."""
    stats = task.get("ReplicationTaskStats", {})
    return State(
        kind=Kind.TASK,
        arn=task.get("ReplicationTaskArn", ""),
        status=task.get("Status", ""),
        migration_type=task.get("MigrationType", ""),
        source_endpoint_arn=task.get("SourceEndpointArn", ""),
        target_endpoint_arn=task.get("TargetEndpointArn", ""),
        replication_instance_arn=task.get("ReplicationInstanceArn", ""),
        stop_reason=task.get("StopReason", ""),
        failure=task.get("LastFailureMessage", ""),
        marks=RunMarks(
            scheduled=_iso(task.get("ReplicationTaskStartDate")),
            start=_iso(stats.get("StartDate")),
            fresh=_iso(stats.get("FreshStartDate")),
            stop=_iso(stats.get("StopDate")),
        ),
        recovery_checkpoint=task.get("RecoveryCheckpoint", ""),
        cdc_start_position=task.get("CdcStartPosition", ""),
        cdc_stop_position=task.get("CdcStopPosition", ""),
        **_stats_fields(stats),
    )


def replication_state(replication: Mapping[str, Any]) -> State:
    """Read a DMS Serverless ``Replication``."""
    stats = replication.get("ReplicationStats", {})
    return State(
        kind=Kind.REPLICATION,
        arn=replication.get("ReplicationConfigArn", ""),
        status=replication.get("Status", ""),
        migration_type=replication.get("ReplicationType", ""),
        source_endpoint_arn=replication.get("SourceEndpointArn", ""),
        target_endpoint_arn=replication.get("TargetEndpointArn", ""),
        stop_reason=replication.get("StopReason", ""),
        failure="; ".join(replication.get("FailureMessages", [])),
        marks=RunMarks(
            start=_iso(stats.get("StartDate")),
            fresh=_iso(stats.get("FreshStartDate")),
            stop=_iso(stats.get("StopDate") or replication.get("ReplicationLastStopTime")),
        ),
        recovery_checkpoint=replication.get("RecoveryCheckpoint", ""),
        cdc_start_position=replication.get("CdcStartPosition", ""),
        cdc_stop_position=replication.get("CdcStopPosition", ""),
        provision_state=replication.get("ProvisionData", {}).get("ProvisionState", ""),
        assessment=_latest(replication.get("PremigrationAssessmentStatuses", [])),
        **_stats_fields(stats),
    )


def _latest(statuses: list[Mapping[str, Any]]) -> AssessmentRun | None:
    runs = [premigration_status(status) for status in statuses]
    return max(runs, key=lambda run: run.created, default=None)


def unlisted_replication_state(config: Mapping[str, Any], *, started_before: bool) -> State:
    """A configuration whose replication DescribeReplications does not list.

    That call describes provisioned replications only: it lists none for a configuration
    that never started, nor (in one reading) for one whose stopped replication DMS
    deprovisioned. Only the starter's own history tells them apart: a configuration it
    started before is read as ``UNLISTED_STATUS`` (it ran), any other as never started.
    """
    return State(
        kind=Kind.REPLICATION,
        arn=config.get("ReplicationConfigArn", ""),
        status=UNLISTED_STATUS if started_before else "created",
        migration_type=config.get("ReplicationType", ""),
        source_endpoint_arn=config.get("SourceEndpointArn", ""),
        target_endpoint_arn=config.get("TargetEndpointArn", ""),
    )


SNAPSHOT_SEPARATOR: Final = "|"
REST_DIGEST_CHARS: Final = 10


def _rest_digest(state: State) -> str:
    """Tells one rest from another: a run that began and ended leaves another reason."""
    text = f"{state.stop_reason}\n{state.failure}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:REST_DIGEST_CHARS]


@dataclass(frozen=True)
class Snapshot:
    """How a task stood when a plan was made; later looks are compared with it.

    The comparison must hold however late DMS fills a run's dates: a date that appears
    on a task that was already starting is that run's own, not a new one.
    """

    phase: Phase
    rest: str = ""
    marks: RunMarks = RunMarks()

    def to_text(self) -> str:
        fields = (self.phase.value, self.rest, *self.marks.starts, self.marks.stop)
        return SNAPSHOT_SEPARATOR.join(fields)

    @classmethod
    def from_text(cls, text: str) -> Snapshot:
        """Read what ``to_text`` wrote; ``ValueError`` on anything else."""
        phase, rest, scheduled, start, fresh, stop = text.split(SNAPSHOT_SEPARATOR)
        return cls(Phase(phase), rest, RunMarks(scheduled, start, fresh, stop))


NO_TASK: Final = Snapshot(Phase.GONE)


def snapshot(state: State | None) -> Snapshot:
    """The snapshot of ``state`` (of a task that does not exist: ``NO_TASK``)."""
    if state is None:
        return NO_TASK
    return Snapshot(state.phase, _rest_digest(state), state.marks)


def stopped_since(before: Snapshot, state: State) -> bool:
    """Whether the task was stopped after ``before`` was taken (its StopDate moved)."""
    return bool(state.marks.stop) and state.marks.stop != before.marks.stop


def started_since(before: Snapshot, state: State | None) -> bool:
    """Whether a run began after ``before`` was taken, whoever started it.

    - a start date that was set and is now another: a new run;
    - the task was not started then and is started now, or a start date appeared, or
      it rests for another reason (a run began and ended between two looks): a new run;
    - the task was started then: only a stop since, followed by a start, is a new run;
      a start date that appears meanwhile is the date of the run that was starting.
    """
    if state is None:
        return False
    before_starts, starts = before.marks.starts, state.marks.starts
    if any(old and new != old for old, new in zip(before_starts, starts, strict=True)):
        return True
    if before.phase not in STARTED_PHASES:
        appeared = any(new and not old for old, new in zip(before_starts, starts, strict=True))
        other_rest = state.phase is Phase.AT_REST and _rest_digest(state) != before.rest
        return state.phase in STARTED_PHASES or appeared or (other_rest and bool(before.rest))
    return stopped_since(before, state) and state.phase in (Phase.STARTING, Phase.RUNNING)
