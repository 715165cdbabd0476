"""A DMS double, modelled on the DMS API reference rather than on the starter's code.

It keeps replication tasks and DMS Serverless replications and answers the DMS JSON
protocol (``AmazonDMSv20160101.<Operation>``). What the reference documents, it enforces:

- StartReplicationTask / StartReplication only from ``ready``, ``stopped`` (or ``failed``);
  ``start-replication`` for a first run, and again later only for a ``cdc`` task (the
  reference: "For a cdc only task, to start from a specific position, you must use
  start-replication"); for a task with a full load a second one is refused with DMS's
  words ("Start Type : START_REPLICATION, valid only for tasks running for the first
  time", from public runbooks: a reading). ``resume-processing`` and ``reload-target``
  on a task that never ran are refused ("only available for previously executed tasks":
  DMS would run them into data errors); ``reload-target`` on a ``cdc`` task, which has
  nothing to load, is refused too.
- CdcStartTime with CdcStartPosition is an error.
- StopReplicationTask / StopReplication only from ``running``.
- ``StartDate`` moves on a fresh start or a resume, ``FreshStartDate`` on a fresh start
  or a target reload, ``StopDate`` on every stop; full loads start and finish with their
  own dates; a ``full-load`` task ends ``stopped`` (FULL_LOAD_ONLY_FINISHED), a
  ``full-load-and-cdc`` task keeps running with FullLoadFinishDate set; a task stops at
  its CdcStopPosition with STOPPED_AT_SERVER_TIME / STOPPED_AT_COMMIT_TIME.
- A task is modified in place (``modifying``) only at rest, deleted only when not running.
- A Serverless replication passes through DMS's provisioning statuses before it runs,
  and its configuration cannot be modified once a replication using it has started.
- An endpoint cannot be modified while a task or replication using it runs, starts or
  stops (terraform-provider-aws#27661); a modify tests the endpoint's connections
  (DescribeConnections: ``testing``), and meanwhile DMS refuses to start a task or
  replication that uses it ("Replication Task cannot be started, invalid state").

What the reference leaves open is a ``Behaviour`` setting, so that tests can run the
starter against each reading (see ``BEHAVIOURS``): when the start dates appear (at the
start call or only once the task runs), whether resume-processing honours a
CdcStartPosition, how many steps a transitional status lasts, whether
DescribeReplications lists a replication that never started, or one that DMS deprovisioned
after a stop, whether a second ``start-replication`` with a full load is refused, whether a
failed first start counts as a run, whether ``failed`` can be started, whether a start
without CdcStopPosition keeps the stored one, and whether StopDate is cleared when a run
starts. docs/dms-readings.md says how the starter holds under each.

Time is virtual: ``advance(seconds)`` moves the clock and every transitional status one
step. Every call is recorded with its exact parameters.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final

TARGET_PREFIX: Final = "AmazonDMSv20160101."
REGION: Final = "eu-west-1"
ACCOUNT: Final = "123456789012"
START_TYPES: Final = ("start-replication", "resume-processing", "reload-target")
AT_REST: Final = ("ready", "stopped", "failed")
FULL_LOAD_TYPES: Final = ("full-load", "full-load-and-cdc")
CLOCK_START: Final = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
SERVERLESS_START_STATUSES: Final = (
    "initializing",
    "preparing_metadata_resources",
    "testing_connection",
    "fetching_metadata",
    "calculating_capacity",
    "provisioning_capacity",
    "replication_starting",
)
"""The statuses a Serverless replication passes on its way to ``running`` (DMS user guide)."""
WRITE_OPERATIONS: Final = (
    "StartReplicationTask",
    "StopReplicationTask",
    "StartReplication",
    "StopReplication",
    "AddTagsToResource",
    "TestConnection",
    "StartReplicationTaskAssessmentRun",
)
STOP_REASON_PREFIX: Final = "Stop Reason "
RAN_STATUSES: Final = ("running", "stopping", "stopped")
"""A task added in one of these statuses has run before."""
USUAL_NEXT: Final = {"creating": "ready", "starting": "running", "stopping": "stopped"}
DEPROVISION_AFTER_SECONDS: Final = 48 * 3600
"""DMS deprovisions a Serverless replication stopped this long (DMS user guide: a replication
not started again within 48 hours cannot be restarted as DMS deprovisions its resources)."""

# One access log line per request would bury the handler's own log lines.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


DEFAULT_ASSESSMENTS: Final = {
    "unsupported-data-types-in-source": "passed",
    "table-with-lob-but-without-primary-key-or-unique-constraint": "passed",
    "full-lob-not-nullable-at-target": "passed",
}
"""The individual assessments DMS applies to a task by default, by name, and their outcomes."""
INSTANCE_ARN: Final = f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:INSTANCE"
"""The replication instance of every task the double holds, unless one is given."""


def task_arn(task_id: str) -> str:
    return f"arn:aws:dms:{REGION}:{ACCOUNT}:task:{task_id}"


def config_arn(config_id: str) -> str:
    return f"arn:aws:dms:{REGION}:{ACCOUNT}:replication-config:{config_id}"


def endpoint_arn(endpoint_id: str) -> str:
    return f"arn:aws:dms:{REGION}:{ACCOUNT}:endpoint:{endpoint_id}"


Call = tuple[str, dict[str, Any]]
"""A DMS call as the double records it: the operation and its exact parameters."""


def start_task(arn: str, start_type: str, **cdc: object) -> Call:
    """The ``StartReplicationTask`` call the handler should make (CDC fields as on the wire)."""
    return (
        "StartReplicationTask",
        {"ReplicationTaskArn": arn, "StartReplicationTaskType": start_type, **cdc},
    )


def stop_task(arn: str) -> Call:
    return ("StopReplicationTask", {"ReplicationTaskArn": arn})


def start_replication(arn: str, start_type: str, **cdc: object) -> Call:
    """The ``StartReplication`` call the handler should make (CDC fields as on the wire)."""
    return (
        "StartReplication",
        {"ReplicationConfigArn": arn, "StartReplicationType": start_type, **cdc},
    )


def stop_replication(arn: str) -> Call:
    return ("StopReplication", {"ReplicationConfigArn": arn})


class StartDates(Enum):
    """When DMS fills the start dates of a run: the reference does not say."""

    AT_START_CALL = "at-start-call"
    AT_RUNNING = "at-running"


@dataclass(frozen=True)
class Behaviour:
    """The readings of what the DMS reference leaves open."""

    start_dates: StartDates = StartDates.AT_START_CALL
    resume_honours_cdc_start_position: bool = True
    transition_steps: int = 1
    """How many ``advance()`` steps each transitional status lasts."""
    lists_unstarted_replications: bool = True
    """Whether DescribeReplications answers for a configuration that never started."""
    lists_deprovisioned_replications: bool = True
    """Whether DescribeReplications still answers for a stopped replication once DMS has
    deprovisioned it (``DEPROVISION_AFTER_SECONDS`` after its stop). The reference describes
    the call as returning "provisioned DMS Serverless replications" and gives a
    ``ReplicationDeprovisionTime``; it does not say what becomes of the deprovisioned ones."""
    refuses_second_start_replication: bool = True
    """Whether a second ``start-replication`` of a task (or replication) with a full load is
    refused. The reference says only that it "is the only valid action ... for the first
    time"; the refusal ("Start Type : START_REPLICATION, valid only for tasks running for
    the first time") is seen in public runbooks. Accepted, it would be a fresh start: a
    reload. The starter never sends it to one that ran, so it holds under both."""
    failed_first_start_is_a_run: bool = False
    """Whether a first start that failed before the task ran counts as a run (DMS then
    refuses a second ``start-replication`` with a full load and accepts a resume). The
    reference speaks of "the first time a task ... is run" without saying. The starter,
    which sees no run's evidence, sends ``start-replication`` and, refused, the start type
    of a task that ran; ``FAILED_FIRST_START_RAN`` is the reading that exercises it."""
    failed_is_startable: bool = True
    """Whether a ``failed`` task or replication can be started. The reference describes
    ``failed`` ("failed to successfully complete the database migration in response to
    running StartReplicationTask") without saying; for ModifyReplicationConfig it names
    FAILED among the statuses that allow the call. Not startable, DMS refuses the start
    (InvalidResourceStateFault) and the starter fails with that refusal (a rollback gives
    up with a warning instead)."""
    start_keeps_cdc_stop: bool = True
    """Whether a start without ``CdcStopPosition`` keeps the stored one (or clears it). The
    reference ("Indicates when you want a change data capture (CDC) operation to stop")
    does not say. The rollback of an update that added a cdc_stop resumes the task without
    one: that takes it back in one reading; in the other no start can."""
    keeps_stop_date: bool = True
    """Whether ``StopDate`` stays set until the next stop (or is cleared when a new run
    starts). The reference: "The date the replication task was stopped", nothing more. A
    restart tells its run by the new CdcStopPosition or CDC start position too."""
    lists_modify_connection_test: bool = True
    """Whether DescribeConnections reports the connection test a ModifyEndpoint runs as
    ``testing`` (terraform-provider-aws#46139: TestConnection then answers "already being
    tested"; CloudTrail shows no TestConnection)."""
    assessment_keeps_task_status: bool = True
    """Whether a task keeps its status while a premigration assessment run of it runs (or
    shows ``testing``, as the older StartReplicationTaskAssessment made it, and cannot be
    started meanwhile). The reference does not say."""
    empty_describe_is_not_found: bool = False
    """Whether DescribeReplicationTaskAssessmentRuns answers ResourceNotFoundFault when no run
    matches its filters (as some DMS Describe calls do) or an empty list."""
    failed_assessment_fails_replication: bool = True
    """Whether a Serverless replication whose assessment failed with FailOnAssessmentFailure
    ends ``failed`` with a FailureMessage (or goes back to the status it had, never started).
    The reference: the setting "stop[s] the replication from starting automatically"."""

    @property
    def name(self) -> str:
        return (
            f"dates-{self.start_dates.value}"
            f"-resume-{'honours' if self.resume_honours_cdc_start_position else 'ignores'}"
            f"-steps-{self.transition_steps}"
            f"-{'lists' if self.lists_unstarted_replications else 'hides'}-unstarted"
            f"-{'lists' if self.lists_deprovisioned_replications else 'hides'}-deprovisioned"
            + "".join(
                f"-{name}"
                for name, differs in (
                    ("accepts-second-start-replication", not self.refuses_second_start_replication),
                    ("failed-first-start-ran", self.failed_first_start_is_a_run),
                    ("failed-not-startable", not self.failed_is_startable),
                    ("start-clears-cdc-stop", not self.start_keeps_cdc_stop),
                    ("start-clears-stop-date", not self.keeps_stop_date),
                    ("hides-endpoint-test", not self.lists_modify_connection_test),
                    ("assessment-shows-testing", not self.assessment_keeps_task_status),
                    ("no-runs-not-found", self.empty_describe_is_not_found),
                    ("failed-assessment-not-started", not self.failed_assessment_fails_replication),
                )
                if differs
            )
        )


BEHAVIOURS: Final = (
    Behaviour(),
    Behaviour(
        start_dates=StartDates.AT_RUNNING,
        resume_honours_cdc_start_position=False,
        transition_steps=3,
        lists_unstarted_replications=False,
        lists_deprovisioned_replications=False,
        refuses_second_start_replication=False,
        failed_is_startable=False,
        start_keeps_cdc_stop=False,
        keeps_stop_date=False,
        lists_modify_connection_test=False,
        assessment_keeps_task_status=False,
        empty_describe_is_not_found=True,
        failed_assessment_fails_replication=False,
    ),
)
"""Two opposite readings of every open point; suites run against both."""
FAILED_FIRST_START_RAN: Final = Behaviour(failed_first_start_is_a_run=True)
"""The third reading: a failed first start counts as a run, a failed task is startable
and a second ``start-replication`` with a full load is refused. It contradicts the second
reading (there a failed task cannot be started at all), so the suites about failed first
starts run under it as well."""


class ServedError(Exception):
    """An error answer of a served service: HTTP 400 (or ``status``) with an error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class DmsError(ServedError):
    """A DMS error answer: the code goes in ``__type``."""


@dataclass
class Run:
    """Dates and statistics of a task's or replication's runs (ReplicationTaskStats)."""

    replication_task_start_date: float | None = None
    start_date: float | None = None
    fresh_start_date: float | None = None
    stop_date: float | None = None
    full_load_start_date: float | None = None
    full_load_finish_date: float | None = None
    full_load_progress_percent: int = 0
    tables_loaded: int = 0


@dataclass
class Replicating:
    """What tasks and Serverless replications share: statuses, runs, CDC positions."""

    arn: str
    migration_type: str = "full-load-and-cdc"
    source_endpoint_arn: str = endpoint_arn("SOURCE")
    target_endpoint_arn: str = endpoint_arn("TARGET")
    status: str = "ready"
    tags: dict[str, str] = field(default_factory=dict)
    stop_reason: str = ""
    failure_message: str = ""
    has_run: bool = False
    """Reached ``running`` at least once: a failed first start does not count."""
    run: Run = field(default_factory=Run)
    recovery_checkpoint: str = ""
    cdc_start_position: str = ""
    cdc_stop_position: str = ""
    fails_while_starting: str = ""
    """If set, the next start ends ``failed`` with this message before it runs."""
    full_load_steps: int = 2
    """Steps a full load takes once running."""
    assessments: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ASSESSMENTS))
    """The individual assessments DMS applies to it by default and how each ends."""
    _queue: list[str] = field(default_factory=list)
    """Statuses still to pass through, one per step (a status may repeat to last longer)."""
    _pending_dates: str = ""
    """The start type whose dates appear once the task runs (StartDates.AT_RUNNING)."""
    _loaded_steps: int = 0

    @property
    def stop_time(self) -> float | None:
        """The server or commit time of the stored CdcStopPosition, if any."""
        if not self.cdc_stop_position:
            return None
        _, _, when = self.cdc_stop_position.partition(":")
        return datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp()


@dataclass
class FakeTask(Replicating):
    """One replication task as the double keeps it."""

    replication_instance_arn: str = INSTANCE_ARN
    table_mappings: str = "{}"
    settings: str = "{}"

    def describe(self) -> dict[str, Any]:
        stats = _stats(self.run)
        description: dict[str, Any] = {
            "ReplicationTaskIdentifier": self.arn.rsplit(":", 1)[1],
            "ReplicationTaskArn": self.arn,
            "MigrationType": self.migration_type,
            "SourceEndpointArn": self.source_endpoint_arn,
            "TargetEndpointArn": self.target_endpoint_arn,
            "ReplicationInstanceArn": self.replication_instance_arn,
            "Status": self.status,
            "ReplicationTaskStats": stats,
        }
        if self.run.replication_task_start_date is not None:
            description["ReplicationTaskStartDate"] = self.run.replication_task_start_date
        optional = {
            "StopReason": self.stop_reason,
            "LastFailureMessage": self.failure_message,
            "RecoveryCheckpoint": self.recovery_checkpoint,
            "CdcStartPosition": self.cdc_start_position,
            "CdcStopPosition": self.cdc_stop_position,
        }
        description.update({key: value for key, value in optional.items() if value})
        return description


@dataclass
class FakeReplication(Replicating):
    """One DMS Serverless replication configuration and its replication."""

    status: str = "created"
    provision_state: str = ""
    started_once: bool = False
    """A replication using this configuration has started: DMS refuses to modify it."""
    definition: str = "{}"
    start_type: str = ""
    premigration: list[FakeAssessmentRun] = field(default_factory=list)
    """The assessment runs its starts carried (PremigrationAssessmentStatuses)."""
    status_before_start: str = ""

    def describe(self) -> dict[str, Any]:
        description: dict[str, Any] = {
            "ReplicationConfigIdentifier": self.arn.rsplit(":", 1)[1],
            "ReplicationConfigArn": self.arn,
            "SourceEndpointArn": self.source_endpoint_arn,
            "TargetEndpointArn": self.target_endpoint_arn,
            "ReplicationType": self.migration_type,
            "Status": self.status,
            "ReplicationStats": _stats(self.run),
        }
        if self.provision_state:
            description["ProvisionData"] = {"ProvisionState": self.provision_state}
        if self.failure_message:
            description["FailureMessages"] = [self.failure_message]
        if self.run.stop_date is not None:
            description["ReplicationLastStopTime"] = self.run.stop_date
            if self.status == "stopped":
                deprovision = self.run.stop_date + DEPROVISION_AFTER_SECONDS
                description["ReplicationDeprovisionTime"] = deprovision
        optional = {
            "StopReason": self.stop_reason,
            "RecoveryCheckpoint": self.recovery_checkpoint,
            "CdcStartPosition": self.cdc_start_position,
            "CdcStopPosition": self.cdc_stop_position,
            "StartReplicationType": self.start_type,
        }
        description.update({key: value for key, value in optional.items() if value})
        if self.premigration:
            description["PremigrationAssessmentStatuses"] = [
                run.describe_status() for run in self.premigration
            ]
        return description


@dataclass
class FakeConnection:
    """An endpoint's connection from one replication instance (DescribeConnections)."""

    status: str = "successful"
    """``testing``, then ``successful`` or ``failed``."""
    testing_steps: int = 0
    failure: str = ""
    """``LastFailureMessage`` of a failed test."""


@dataclass
class FakeEndpoint:
    """One endpoint: its properties, its connections and the connection test a modify runs."""

    arn: str
    properties: dict[str, Any] = field(default_factory=dict)
    testing_steps: int = 0
    """Steps the connection test of the last modify still lasts (0: not testing)."""
    connections: dict[str, FakeConnection] = field(
        default_factory=lambda: {INSTANCE_ARN: FakeConnection()}
    )
    """By replication instance ARN: the connections tested so far (by default one that
    succeeded from ``INSTANCE_ARN``, as CloudFormation's create of an endpoint leaves it)."""
    test_failure: str = ""
    """Set: every TestConnection of this endpoint fails with this message."""

    def advance(self) -> None:
        self.testing_steps = max(0, self.testing_steps - 1)
        for connection in self.connections.values():
            if connection.status != "testing":
                continue
            connection.testing_steps -= 1
            if connection.testing_steps <= 0:
                connection.status = "failed" if self.test_failure else "successful"
                connection.failure = self.test_failure


ASSESSMENT_RUN_STATUSES: Final = ("starting", "provisioning", "running")
"""The statuses of a run before it ends (DMS API reference, ReplicationTaskAssessmentRun)."""
SERVERLESS_RESULTS_BUCKET: Final = "dms-serverless-premigration-results"
"""The bucket DMS Serverless keeps assessment results in (system-managed)."""
ASSESSMENT_SETTINGS_KEYS: Final = frozenset(
    {
        "ResultLocationFolder",
        "ResultEncryptionMode",
        "ResultKmsKeyArn",
        "IncludeOnly",
        "Exclude",
        "FailOnAssessmentFailure",
    }
)
"""The keys of StartReplication's PremigrationAssessmentSettings (DMS API reference)."""


def assessment_run_arn(run_id: str) -> str:
    return f"arn:aws:dms:{REGION}:{ACCOUNT}:assessment-run:{run_id}"


@dataclass
class FakeAssessmentRun:
    """A premigration assessment run of a task, or of a Serverless replication's start."""

    arn: str
    subject: str
    """The task's (or replication configuration's) ARN."""
    outcomes: dict[str, str]
    """Individual assessment name -> the status it ends with."""
    name: str = ""
    bucket: str = ""
    folder: str = ""
    role_arn: str = ""
    created: float = 0.0
    fail_on_failure: bool = True
    status: str = "starting"
    queue: list[str] = field(default_factory=list)
    restore_status: str = ""
    """The task's status before the run showed it ``testing`` ("" when it kept its status)."""

    @property
    def ended(self) -> bool:
        return self.status not in ASSESSMENT_RUN_STATUSES

    @property
    def final_status(self) -> str:
        """The run's status once every individual assessment ended (the API reference)."""
        ends = set(self.outcomes.values())
        if "failed" in ends:
            return "failed"
        if "error" in ends:
            return "error-executing"
        if "warning" in ends or ends == {"skipped"}:
            return "warning"
        return "passed"

    def _common(self) -> dict[str, Any]:
        failed = [name for name, end in self.outcomes.items() if end == "failed"]
        described: dict[str, Any] = {
            "Status": self.status,
            "AssessmentProgress": {
                "IndividualAssessmentCount": len(self.outcomes),
                "IndividualAssessmentCompletedCount": len(self.outcomes) if self.ended else 0,
            },
            "ResultLocationBucket": self.bucket,
        }
        if self.folder:
            described["ResultLocationFolder"] = self.folder
        if self.ended and failed:
            described["LastFailureMessage"] = f"Individual assessment {failed[-1]} failed"
        return described

    def describe(self) -> dict[str, Any]:
        return {
            "ReplicationTaskAssessmentRunArn": self.arn,
            "ReplicationTaskArn": self.subject,
            "AssessmentRunName": self.name,
            "ServiceAccessRoleArn": self.role_arn,
            "ReplicationTaskAssessmentRunCreationDate": self.created,
            **self._common(),
        }

    def describe_status(self) -> dict[str, Any]:
        """As a Serverless replication's PremigrationAssessmentStatus."""
        return {
            "PremigrationAssessmentRunArn": self.arn,
            "FailOnAssessmentFailure": self.fail_on_failure,
            "PremigrationAssessmentRunCreationDate": self.created,
            **self._common(),
        }

    def individual(self) -> list[dict[str, Any]]:
        return [
            {
                "ReplicationTaskIndividualAssessmentArn": f"{self.arn}:{name}",
                "ReplicationTaskAssessmentRunArn": self.arn,
                "IndividualAssessmentName": name,
                "Status": end if self.ended else "pending",
            }
            for name, end in self.outcomes.items()
        ]


ENDPOINT_TEST_STEPS: Final = 2
"""Transition steps a modify's connection test lasts (times ``transition_steps``)."""
CANNOT_START_WHILE_TESTING: Final = "Replication Task cannot be started, invalid state"
"""DMS's refusal of a start while an endpoint the task uses is being tested."""
BUSY_STATUSES: Final = ("running", "starting", "stopping", *SERVERLESS_START_STATUSES)
"""A task or replication in one of these holds its endpoints: DMS refuses to modify them."""


def _stats(run: Run) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "FullLoadProgressPercent": run.full_load_progress_percent,
        "TablesLoaded": run.tables_loaded,
        "TablesErrored": 0,
    }
    dates = {
        "StartDate": run.start_date,
        "FreshStartDate": run.fresh_start_date,
        "StopDate": run.stop_date,
        "FullLoadStartDate": run.full_load_start_date,
        "FullLoadFinishDate": run.full_load_finish_date,
    }
    stats.update({key: value for key, value in dates.items() if value is not None})
    return stats


@dataclass
class DmsDouble:
    """State and behaviour of the double; ``ServedAws`` puts it on the network."""

    behaviour: Behaviour = field(default_factory=Behaviour)
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    replications: dict[str, FakeReplication] = field(default_factory=dict)
    endpoints: dict[str, FakeEndpoint] = field(default_factory=dict)
    assessment_runs: dict[str, FakeAssessmentRun] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    """Every call the model answered, accepted or rejected, in order."""
    accepted_writes: list[Call] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(operation, error code) of every call the model refused."""
    throttle_rate: float = 0.0
    throttle_next: int = 0
    """Throttle this many of the next calls, whatever ``throttle_rate`` says."""
    lose_answer_of: set[str] = field(default_factory=set)
    """Operations whose next call DMS carries out but answers with a 500 (answer lost)."""
    throttled_calls: list[Call] = field(default_factory=list)
    clock: float = CLOCK_START
    call_latency_seconds: float = 0.0
    """Virtual seconds every call takes (a slow DMS): the Lambda's time left shrinks with it."""
    default_start_steps: int = 0
    """How many steps ``starting`` lasts (0: ``transition_steps``), for slow starts."""
    assessment_outcomes: dict[str, dict[str, str]] = field(default_factory=dict)
    """By ARN, for tasks (configurations) CloudFormation creates later: their individual
    assessments and how each ends (instead of ``DEFAULT_ASSESSMENTS``)."""
    _failing_starts: dict[str, str] = field(default_factory=dict)
    """Failures for tasks that do not exist yet (CloudFormation creates them later)."""
    _random: random.Random = field(default_factory=lambda: random.Random(7))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- setting up -----------------------------------------------------------------

    def add_task(self, task_id: str, *, then: str = "", **attributes: Any) -> FakeTask:
        """Add a task; one in a transitional status moves on to ``then`` (or its usual next)."""
        task = FakeTask(arn=task_arn(task_id), **attributes)
        self._set_up(task, then)
        self.tasks[task.arn] = task
        return task

    def add_replication(
        self, config_id: str, *, then: str = "", **attributes: Any
    ) -> FakeReplication:
        replication = FakeReplication(arn=config_arn(config_id), **attributes)
        self._set_up(replication, then)
        replication.started_once = replication.has_run
        if replication.has_run and not replication.provision_state:
            replication.provision_state = "provisioned"
        self.replications[replication.arn] = replication
        return replication

    def _set_up(self, item: Replicating, then: str) -> None:
        item.fails_while_starting = self._failing_starts.pop(item.arn, item.fails_while_starting)
        item.assessments = dict(self.assessment_outcomes.get(item.arn, item.assessments))
        if item.status in RAN_STATUSES:
            item.has_run = True
        if item.has_run:
            self._give_history(item)
        elif item.status == "failed" and self.behaviour.failed_first_start_is_a_run:
            item.has_run = True  # DMS's own view; the description shows no run's evidence
        following = then or USUAL_NEXT.get(item.status, "")
        if following:
            self._transition(item, item.status, following)

    def _give_history(self, item: Replicating) -> None:
        """A task added as having run carries the dates and checkpoint of that run."""
        earlier = self.clock - 3600
        item.run = replace(
            item.run,
            replication_task_start_date=earlier,
            start_date=earlier,
            fresh_start_date=earlier,
            full_load_start_date=earlier if item.migration_type in FULL_LOAD_TYPES else None,
        )
        if item.status in ("stopped", "failed"):
            item.run.stop_date = earlier + 600
        if item.status == "stopped" and not item.stop_reason:
            item.stop_reason = STOP_REASON_PREFIX + "NORMAL"
        if item.migration_type != "full-load" and not item.recovery_checkpoint:
            item.recovery_checkpoint = self._checkpoint(item)

    def stop_by_hand(self, arn: str) -> None:
        """A user stops a running task (or replication) outside CloudFormation, and waits."""
        item = self.item(arn)
        assert item is not None, arn
        self._stop(item)
        while item.status != "stopped":
            self.advance()

    def fail_run(self, arn: str, message: str) -> None:
        """The running task (or replication) fails: DMS stops it with a fatal error."""
        with self._lock:
            item = self.item(arn)
            assert item is not None, arn
            self._stop_run(item, "FATAL_ERROR")
            item.status = "failed"
            item.failure_message = message
            item._queue = []

    def fail_next_start(self, arn: str, message: str) -> None:
        """The next start of ``arn`` fails before the task runs, with ``message``."""
        item = self.item(arn)
        if item is not None:
            item.fails_while_starting = message
        else:
            self._failing_starts[arn] = message

    def writes(self) -> list[Call]:
        """The write calls DMS carried out, in order, with their parameters."""
        return list(self.accepted_writes)

    def _checkpoint(self, item: Replicating) -> str:
        return f"checkpoint:V1#{int(self.clock)}#{item.arn.rsplit(':', 1)[1]}"

    # -- time -----------------------------------------------------------------------

    def advance(self, seconds: float = 10.0) -> None:
        """Let ``seconds`` pass: every transitional status takes its next step."""
        with self._lock:
            self.clock += seconds
            for item in [*self.tasks.values(), *self.replications.values()]:
                self._step(item)
            for endpoint in self.endpoints.values():
                endpoint.advance()
            for run in self.assessment_runs.values():
                self._step_run(run)

    def _step_run(self, run: FakeAssessmentRun) -> None:
        if run.ended:
            return
        run.status = run.queue.pop(0) if run.queue else run.final_status
        task = self.tasks.get(run.subject)
        if run.status not in ASSESSMENT_RUN_STATUSES and run.restore_status and task is not None:
            task.status = run.restore_status

    def _step(self, item: Replicating) -> None:
        if isinstance(item, FakeReplication) and self._assessment_stops(item):
            return
        if item._queue:
            item.status = item._queue.pop(0)
            if item.status == "running":
                self._now_running(item)
            elif item.status in AT_REST and not item._queue:
                self._came_to_rest(item)
            return
        if item.status == "running":
            self._while_running(item)
        elif isinstance(item, FakeReplication):
            self._deprovision_when_due(item)

    def _assessment_stops(self, replication: FakeReplication) -> bool:
        """A start whose assessment failed with FailOnAssessmentFailure: DMS does not start
        the replication (failed, or back where it was: a reading each)."""
        run = replication.premigration[-1] if replication.premigration else None
        starting = replication.status in SERVERLESS_START_STATUSES
        if run is None or not starting or not run.ended or not run.fail_on_failure:
            return False
        if run.status in ("passed", "warning"):
            return False
        replication._queue = []
        replication._pending_dates = ""
        replication.provision_state = ""
        if self.behaviour.failed_assessment_fails_replication:
            replication.status = "failed"
            replication.failure_message = (
                f"Premigration assessment run {run.arn} {run.status}: the replication was not "
                "started (FailOnAssessmentFailure)"
            )
        else:
            replication.status = replication.status_before_start
        return True

    def _deprovision_when_due(self, replication: FakeReplication) -> None:
        stopped_at = replication.run.stop_date
        due = stopped_at is not None and self.clock >= stopped_at + DEPROVISION_AFTER_SECONDS
        if replication.status == "stopped" and due:
            replication.provision_state = "deprovisioned"

    def _transition(self, item: Replicating, *statuses: str, steps: int = 0) -> None:
        """Queue ``statuses``; each but the last lasts ``steps`` (else ``transition_steps``)."""
        steps = steps or self.behaviour.transition_steps
        queue = [status for status in statuses[:-1] for _ in range(steps)]
        item._queue = [*queue[1:], statuses[-1]] if queue else [statuses[-1]]
        item.status = queue[0] if queue else statuses[-1]

    def _now_running(self, item: Replicating) -> None:
        if item.fails_while_starting:
            item.status = "failed"
            item.stop_reason = STOP_REASON_PREFIX + "FATAL_ERROR"
            item.failure_message = item.fails_while_starting
            item.fails_while_starting = ""
            item._pending_dates = ""
            item._queue = []
            item.has_run = item.has_run or self.behaviour.failed_first_start_is_a_run
            return
        item.has_run = True
        if isinstance(item, FakeReplication):
            item.provision_state = "provisioned"
        if item._pending_dates:
            self._set_start_dates(item, item._pending_dates)
            item._pending_dates = ""
        loads = item.migration_type in FULL_LOAD_TYPES and item.run.full_load_finish_date is None
        if loads and item.run.full_load_start_date is None:
            item.run.full_load_start_date = self.clock
        if item.migration_type != "full-load":
            item.recovery_checkpoint = self._checkpoint(item)
        item._loaded_steps = 0

    def _while_running(self, item: Replicating) -> None:
        if item.migration_type != "full-load":
            item.recovery_checkpoint = self._checkpoint(item)
        stop_time = item.stop_time
        if stop_time is not None and self.clock >= stop_time:
            kind = item.cdc_stop_position.split(":", 1)[0].upper()
            self._stop_run(item, f"STOPPED_AT_{kind}")
            return
        if item.migration_type == "full-load" and item.run.full_load_finish_date is not None:
            self._stop_run(item, "FULL_LOAD_ONLY_FINISHED")  # resumed: nothing left to load
            return
        if item.migration_type in FULL_LOAD_TYPES and item.run.full_load_finish_date is None:
            item._loaded_steps += 1
            item.run.full_load_progress_percent = min(
                99, 100 * item._loaded_steps // max(item.full_load_steps, 1)
            )
            if item._loaded_steps >= item.full_load_steps:
                item.run.full_load_finish_date = self.clock
                item.run.full_load_progress_percent = 100
                item.run.tables_loaded = 3
                if item.migration_type == "full-load":
                    self._stop_run(item, "FULL_LOAD_ONLY_FINISHED")

    def _stop_run(self, item: Replicating, reason: str) -> None:
        item.status = "stopped"
        item.stop_reason = STOP_REASON_PREFIX + reason
        item.run.stop_date = self.clock

    def _came_to_rest(self, item: Replicating) -> None:
        """A task that was running and was stopped: a normal stop, dated."""
        if item.status == "stopped" and not item.stop_reason:
            item.stop_reason = STOP_REASON_PREFIX + "NORMAL"
            item.run.stop_date = self.clock

    def _set_start_dates(self, item: Replicating, start_type: str) -> None:
        item.run.replication_task_start_date = self.clock
        if start_type in ("start-replication", "resume-processing"):
            item.run.start_date = self.clock
        if start_type in ("start-replication", "reload-target"):
            item.run.fresh_start_date = self.clock
        if start_type != "resume-processing":
            item.run.full_load_start_date = None
            item.run.full_load_finish_date = None
            item.run.full_load_progress_percent = 0
            item.run.tables_loaded = 0

    # -- what CloudFormation does to tasks and configurations ------------------------

    def create_task(self, identifier: str, **attributes: Any) -> FakeTask:
        if task_arn(identifier) in self.tasks:
            raise DmsError(
                "ResourceAlreadyExistsFault", f"Replication task {identifier} already exists"
            )
        task = self.add_task(identifier, status="creating", **attributes)
        self._transition(task, "creating", "ready")
        return task

    def modify_task(self, arn: str, **attributes: Any) -> None:
        with self._lock:
            task = self.tasks[arn]
            if task.status not in AT_REST:
                raise DmsError(
                    "InvalidResourceStateFault",
                    "Replication Task, excluding logging severity task settings, cannot be "
                    f"modified while it is {task.status} state",
                )
            previous = task.status
            for name, value in attributes.items():
                setattr(task, name, value)
            self._transition(task, "modifying", previous)

    def delete_task(self, arn: str) -> None:
        with self._lock:
            task = self.tasks[arn]
            if task.status in ("running", "starting", "stopping"):
                raise DmsError(
                    "InvalidResourceStateFault",
                    f"Replication task {arn} cannot be deleted while it is {task.status}",
                )
            del self.tasks[arn]

    def create_config(self, identifier: str, **attributes: Any) -> FakeReplication:
        if config_arn(identifier) in self.replications:
            raise DmsError(
                "ResourceAlreadyExistsFault",
                f"Replication config {identifier} already exists",
            )
        return self.add_replication(identifier, **attributes)

    def modify_config(self, arn: str, **attributes: Any) -> None:
        with self._lock:
            replication = self.replications[arn]
            if replication.started_once:
                raise DmsError(
                    "InvalidResourceStateFault",
                    "You can only modify a replication configuration before any replication "
                    "that uses it has started",
                )
            for name, value in attributes.items():
                setattr(replication, name, value)

    def delete_config(self, arn: str) -> None:
        with self._lock:
            replication = self.replications[arn]
            if replication.status not in ("created", *AT_REST):
                raise DmsError(
                    "InvalidResourceStateFault",
                    f"Replication config {arn} cannot be deleted while its replication is "
                    f"{replication.status}",
                )
            del self.replications[arn]

    def create_endpoint(self, identifier: str, properties: dict[str, Any]) -> FakeEndpoint:
        endpoint = FakeEndpoint(endpoint_arn(identifier), dict(properties))
        self.endpoints[endpoint.arn] = endpoint
        return endpoint

    def modify_endpoint(self, arn: str, properties: dict[str, Any]) -> None:
        """ModifyEndpoint: refused while a task using the endpoint is busy; tests it after."""
        with self._lock:
            endpoint = self.endpoints[arn]
            for item in [*self.tasks.values(), *self.replications.values()]:
                uses = arn in (item.source_endpoint_arn, item.target_endpoint_arn)
                if uses and item.status in BUSY_STATUSES:
                    raise DmsError(
                        "InvalidResourceStateFault",
                        f"Endpoint {arn} cannot be modified while replication task "
                        f"{item.arn} that uses it is in {item.status} state. Stop the task "
                        "and try again",
                    )
            endpoint.properties = dict(properties)
            endpoint.testing_steps = ENDPOINT_TEST_STEPS * self.behaviour.transition_steps

    def delete_endpoint(self, arn: str) -> None:
        with self._lock:
            self.endpoints.pop(arn, None)

    def _testing(self, item: Replicating) -> bool:
        """Whether an endpoint ``item`` uses is being tested."""
        return any(
            (endpoint := self.endpoints.get(arn)) is not None and endpoint.testing_steps > 0
            for arn in (item.source_endpoint_arn, item.target_endpoint_arn)
        )

    # -- the protocol ---------------------------------------------------------------

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.clock += self.call_latency_seconds
            if self.throttle_next > 0 or self._random.random() < self.throttle_rate:
                self.throttle_next = max(0, self.throttle_next - 1)
                self.throttled_calls.append((operation, params))
                raise DmsError("ThrottlingException", "Rate exceeded")
            self.calls.append((operation, params))
            handler = {
                "DescribeReplicationTasks": self._describe_tasks,
                "StartReplicationTask": self._start_task,
                "StopReplicationTask": self._stop_task,
                "DescribeReplications": self._describe_replications,
                "DescribeReplicationConfigs": self._describe_configs,
                "StartReplication": self._start_replication,
                "StopReplication": self._stop_replication,
                "AddTagsToResource": self._add_tags,
                "DescribeConnections": self._describe_connections,
                "TestConnection": self._test_connection,
                "ListTagsForResource": self._list_tags,
                "StartReplicationTaskAssessmentRun": self._start_assessment_run,
                "DescribeReplicationTaskAssessmentRuns": self._describe_assessment_runs,
                "DescribeReplicationTaskIndividualAssessments": self._describe_individual,
            }.get(operation)
            if handler is None:
                raise DmsError("InvalidAction", f"{operation} is not modelled by the double")
            try:
                answer = handler(params)
            except DmsError as error:
                self.rejected.append((operation, error.code))
                raise
            if operation in WRITE_OPERATIONS:
                self.accepted_writes.append((operation, params))
            if operation in self.lose_answer_of:
                self.lose_answer_of.discard(operation)
                raise DmsError("InternalFailure", "answer lost", status=500)
            return answer

    def _task(self, arn: str) -> FakeTask:
        task = self.tasks.get(arn)
        if task is None:
            raise DmsError("ResourceNotFoundFault", "Replication Task not found")
        return task

    def _replication(self, arn: str) -> FakeReplication:
        replication = self.replications.get(arn)
        if replication is None:
            raise DmsError("ResourceNotFoundFault", "Replication config not found")
        return replication

    @staticmethod
    def _filtered_arn(params: dict[str, Any], name: str) -> str:
        (only,) = params["Filters"]
        assert only["Name"] == name, only
        (arn,) = only["Values"]
        return str(arn)

    def _describe_tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = self._filtered_arn(params, "replication-task-arn")
        return {"ReplicationTasks": [self._task(arn).describe()]}

    def _describe_replications(self, params: dict[str, Any]) -> dict[str, Any]:
        ((name, value),) = [(f["Name"], f["Values"][0]) for f in params["Filters"]]
        if name == "replication-config-id":  # the API reference's other filter
            value = config_arn(value)
        else:
            assert name == "replication-config-arn", name
        replication = self._replication(value)
        hidden = (
            replication.status == "created" and not self.behaviour.lists_unstarted_replications
        ) or (
            replication.provision_state == "deprovisioned"
            and not self.behaviour.lists_deprovisioned_replications
        )
        if hidden:
            raise DmsError("ResourceNotFoundFault", "No replication found for the configuration")
        return {"Replications": [replication.describe()]}

    def _describe_configs(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = self._filtered_arn(params, "replication-config-arn")
        replication = self._replication(arn)
        config = {
            "ReplicationConfigArn": arn,
            "ReplicationConfigIdentifier": arn.rsplit(":", 1)[1],
            "ReplicationType": replication.migration_type,
            "SourceEndpointArn": replication.source_endpoint_arn,
            "TargetEndpointArn": replication.target_endpoint_arn,
        }
        return {"ReplicationConfigs": [config]}

    def _describe_connections(self, params: dict[str, Any]) -> dict[str, Any]:
        """The connections of the ``endpoint-arn`` filter's endpoints (and of the
        ``replication-instance-arn`` filter's instances, when given: the filters are ANDed)."""
        filters = {f["Name"]: f["Values"] for f in params["Filters"]}
        assert set(filters) <= {"endpoint-arn", "replication-instance-arn"}, filters
        instances = filters.get("replication-instance-arn")
        endpoints = [
            self.endpoints[arn] for arn in filters["endpoint-arn"] if arn in self.endpoints
        ]
        connections = [
            self._connection(endpoint, instance)
            for endpoint in endpoints
            for instance in endpoint.connections
            if instances is None or instance in instances
        ]
        return {"Connections": connections}

    def _connection(self, endpoint: FakeEndpoint, instance: str) -> dict[str, Any]:
        connection = endpoint.connections[instance]
        described = {
            "EndpointArn": endpoint.arn,
            "EndpointIdentifier": endpoint.arn.rsplit(":", 1)[1],
            "ReplicationInstanceArn": instance,
            "ReplicationInstanceIdentifier": instance.rsplit(":", 1)[1],
            "Status": "testing" if self._lists_test(endpoint) else connection.status,
        }
        if connection.failure:
            described["LastFailureMessage"] = connection.failure
        return described

    def _test_connection(self, params: dict[str, Any]) -> dict[str, Any]:
        """TestConnection: the connection is ``testing`` for a while, then succeeds or fails;
        one already being tested (by a modify, too) is refused."""
        endpoint = self.endpoints.get(params["EndpointArn"])
        if endpoint is None:
            raise DmsError("ResourceNotFoundFault", "Endpoint not found")
        instance = params["ReplicationInstanceArn"]
        current = endpoint.connections.get(instance)
        if endpoint.testing_steps > 0 or (current is not None and current.status == "testing"):
            raise DmsError(
                "InvalidResourceStateFault",
                f"Connection for replication instance {instance} and endpoint "
                f"{endpoint.arn} is already being tested",
            )
        endpoint.connections[instance] = FakeConnection(
            "testing", testing_steps=ENDPOINT_TEST_STEPS * self.behaviour.transition_steps
        )
        return {"Connection": self._connection(endpoint, instance)}

    def _lists_test(self, endpoint: FakeEndpoint) -> bool:
        return endpoint.testing_steps > 0 and self.behaviour.lists_modify_connection_test

    def _check_start(self, item: Replicating, start_type: str, params: dict[str, Any]) -> None:
        if start_type not in START_TYPES:
            raise DmsError("InvalidParameterValueException", f"Invalid start type {start_type}")
        if "CdcStartTime" in params and "CdcStartPosition" in params:
            raise DmsError(
                "InvalidParameterCombinationException",
                "CdcStartTime and CdcStartPosition cannot be specified together",
            )
        at_rest: tuple[str, ...] = (
            ("created", *AT_REST) if isinstance(item, FakeReplication) else AT_REST
        )
        if not self.behaviour.failed_is_startable:
            at_rest = tuple(status for status in at_rest if status != "failed")
        if item.status not in at_rest:
            raise DmsError(
                "InvalidResourceStateFault",
                f"Replication cannot be started, current status is {item.status}",
            )
        if self._testing(item):
            raise DmsError("InvalidResourceStateFault", CANNOT_START_WHILE_TESTING)
        refusal = self._start_type_refusal(item, start_type)
        if refusal:
            raise DmsError("InvalidParameterCombinationException", refusal)

    def _start_type_refusal(self, item: Replicating, start_type: str) -> str:
        """Why DMS refuses ``start_type`` for ``item`` ("" when it accepts it)."""
        if start_type == "start-replication":
            refused = self.behaviour.refuses_second_start_replication
            if refused and item.has_run and item.migration_type in FULL_LOAD_TYPES:
                return (
                    "Start Type : START_REPLICATION, valid only for tasks running for the "
                    "first time"
                )
            return ""
        if not item.has_run:
            return (
                f"Start Type : {start_type.upper().replace('-', '_')} is only available for "
                "previously executed tasks; a first run is start-replication"
            )
        if start_type == "reload-target" and item.migration_type == "cdc":
            return (
                "Start Type : RELOAD_TARGET is not valid for a cdc task: there is nothing to load"
            )
        resumes_full_load = start_type == "resume-processing" and item.migration_type == "full-load"
        if resumes_full_load and isinstance(item, FakeReplication):
            return "The resume-processing option isn't applicable for a full-load replication"
        return ""

    def _start(self, item: Replicating, start_type: str, params: dict[str, Any]) -> None:
        self._check_start(item, start_type, params)
        item.stop_reason = ""
        item.failure_message = ""
        position = params.get("CdcStartPosition")
        honoured = (
            start_type != "resume-processing" or self.behaviour.resume_honours_cdc_start_position
        )
        if position is not None and honoured:
            item.cdc_start_position = position
        elif "CdcStartTime" in params:
            item.cdc_start_position = datetime.fromtimestamp(
                float(params["CdcStartTime"]), UTC
            ).strftime("%Y-%m-%dT%H:%M:%S")
        if "CdcStopPosition" in params:
            item.cdc_stop_position = params["CdcStopPosition"]
        elif not self.behaviour.start_keeps_cdc_stop:
            item.cdc_stop_position = ""
        if not self.behaviour.keeps_stop_date:
            item.run.stop_date = None
        if self.behaviour.start_dates is StartDates.AT_START_CALL:
            self._set_start_dates(item, start_type)
        else:
            item._pending_dates = start_type
            if start_type != "resume-processing":
                item.run.full_load_finish_date = None
                item.run.full_load_progress_percent = 0

    def _start_task(self, params: dict[str, Any]) -> dict[str, Any]:
        task = self._task(params["ReplicationTaskArn"])
        self._start(task, params["StartReplicationTaskType"], params)
        self._transition(task, "starting", "running", steps=self.default_start_steps)
        return {"ReplicationTask": task.describe()}

    def _start_replication(self, params: dict[str, Any]) -> dict[str, Any]:
        replication = self._replication(params["ReplicationConfigArn"])
        start_type = params["StartReplicationType"]
        run = self._premigration_run(replication, params.get("PremigrationAssessmentSettings"))
        replication.status_before_start = replication.status
        self._start(replication, start_type, params)
        if run is not None:
            self.assessment_runs[run.arn] = run
            replication.premigration.append(run)
        replication.started_once = True
        replication.start_type = start_type
        replication.provision_state = "provisioning"
        self._transition(replication, *SERVERLESS_START_STATUSES, "running")
        return {"Replication": replication.describe()}

    # -- premigration assessments ------------------------------------------------------

    def _new_run(
        self, subject: Replicating, params: dict[str, Any], **fields: Any
    ) -> FakeAssessmentRun:
        """A run of ``subject``'s assessments (those ``IncludeOnly`` names, or its default set
        less ``Exclude``), starting; each status lasts ``transition_steps`` steps."""
        include, exclude = params.get("IncludeOnly"), params.get("Exclude")
        if include and exclude:
            raise DmsError(
                "InvalidParameterCombinationException",
                "You can't set a value for IncludeOnly if you also set a value for Exclude",
            )
        unknown = [name for name in include or exclude or [] if name not in subject.assessments]
        if unknown:
            raise DmsError(
                "InvalidParameterValueException",
                f"Individual assessments {', '.join(unknown)} do not apply to {subject.arn}",
            )
        outcomes = {
            name: end
            for name, end in subject.assessments.items()
            if (not include or name in include) and name not in (exclude or [])
        }
        run_id = f"RUN{len(self.assessment_runs) + 1}"
        steps = self.behaviour.transition_steps
        queue = [status for status in ASSESSMENT_RUN_STATUSES for _ in range(steps)]
        return FakeAssessmentRun(
            arn=assessment_run_arn(run_id),
            subject=subject.arn,
            outcomes=outcomes,
            created=self.clock,
            status=queue[0],
            queue=queue[1:],
            folder=params.get("ResultLocationFolder", ""),
            **fields,
        )

    def _start_assessment_run(self, params: dict[str, Any]) -> dict[str, Any]:
        task = self._task(params["ReplicationTaskArn"])
        name = params["AssessmentRunName"]
        if any(run.name == name for run in self.assessment_runs.values()):
            raise DmsError("ResourceAlreadyExistsFault", f"Assessment run {name} already exists")
        if not str(params["ServiceAccessRoleArn"]).startswith(f"arn:aws:iam::{ACCOUNT}:role/"):
            raise DmsError("InvalidParameterValueException", "ServiceAccessRoleArn is no role")
        busy = [r for r in self.assessment_runs.values() if r.subject == task.arn and not r.ended]
        if task.status not in AT_REST or busy:
            raise DmsError(
                "InvalidResourceStateFault",
                f"Replication task {task.arn} cannot be assessed in state {task.status}"
                + (" with an assessment run in progress" if busy else ""),
            )
        run = self._new_run(
            task,
            params,
            name=name,
            bucket=params["ResultLocationBucket"],
            role_arn=params["ServiceAccessRoleArn"],
        )
        if not self.behaviour.assessment_keeps_task_status:
            run.restore_status, task.status = task.status, "testing"
        self.assessment_runs[run.arn] = run
        return {"ReplicationTaskAssessmentRun": run.describe()}

    def _premigration_run(
        self, replication: FakeReplication, raw: str | None
    ) -> FakeAssessmentRun | None:
        """The run a StartReplication's PremigrationAssessmentSettings asks for (a JSON
        object of the documented keys)."""
        if raw is None:
            return None
        try:
            settings = json.loads(raw)
        except ValueError:
            settings = None
        if not isinstance(settings, dict) or not set(settings) <= ASSESSMENT_SETTINGS_KEYS:
            raise DmsError(
                "InvalidParameterValueException", f"Invalid PremigrationAssessmentSettings {raw}"
            )
        lists = [settings.get(key, "") for key in ("IncludeOnly", "Exclude")]
        if not all(isinstance(names, str) for names in lists):
            raise DmsError(
                "InvalidParameterValueException",
                f"Invalid PremigrationAssessmentSettings {raw}: IncludeOnly and Exclude are "
                "space-separated lists",
            )
        include, exclude = (names.split() for names in lists)
        return self._new_run(
            replication,
            {**settings, "IncludeOnly": include, "Exclude": exclude},
            bucket=SERVERLESS_RESULTS_BUCKET,
            fail_on_failure=settings.get("FailOnAssessmentFailure", True),
        )

    def _describe_assessment_runs(self, params: dict[str, Any]) -> dict[str, Any]:
        filters = {f["Name"]: f["Values"] for f in params.get("Filters", [])}
        assert set(filters) <= {"replication-task-arn", "replication-task-assessment-run-arn"}
        runs = [
            run.describe()
            for run in self.assessment_runs.values()
            if run.subject in self.tasks
            and run.subject in filters.get("replication-task-arn", [run.subject])
            and run.arn in filters.get("replication-task-assessment-run-arn", [run.arn])
        ]
        return self._page(params, "ReplicationTaskAssessmentRuns", runs)

    def _describe_individual(self, params: dict[str, Any]) -> dict[str, Any]:
        ((name, values),) = [(f["Name"], f["Values"]) for f in params["Filters"]]
        assert name == "replication-task-assessment-run-arn", name
        found = [
            individual
            for arn in values
            if arn in self.assessment_runs
            for individual in self.assessment_runs[arn].individual()
        ]
        return self._page(params, "ReplicationTaskIndividualAssessments", found)

    def _page(self, params: dict[str, Any], key: str, records: list[Any]) -> dict[str, Any]:
        """One page of ``records`` (MaxRecords, Marker); none at all: per the reading."""
        if not records and self.behaviour.empty_describe_is_not_found:
            raise DmsError("ResourceNotFoundFault", "No records found matching the filters")
        start = int(params.get("Marker", "0"))
        end = start + int(params.get("MaxRecords", 100))
        page: dict[str, Any] = {key: records[start:end]}
        if end < len(records):
            page["Marker"] = str(end)
        return page

    def _stop(self, item: Replicating) -> None:
        if item.status != "running":
            raise DmsError(
                "InvalidResourceStateFault",
                f"Replication {item.arn} is currently not running",
            )
        self._transition(item, "stopping", "stopped")

    def _stop_task(self, params: dict[str, Any]) -> dict[str, Any]:
        task = self._task(params["ReplicationTaskArn"])
        self._stop(task)
        return {"ReplicationTask": task.describe()}

    def _stop_replication(self, params: dict[str, Any]) -> dict[str, Any]:
        replication = self._replication(params["ReplicationConfigArn"])
        self._stop(replication)
        return {"Replication": replication.describe()}

    def _list_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["ResourceArn"]
        item: Replicating = self.tasks.get(arn) or self._replication(arn)
        return {"TagList": [{"Key": key, "Value": value} for key, value in item.tags.items()]}

    def _add_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["ResourceArn"]
        item: Replicating = self.tasks.get(arn) or self._replication(arn)
        item.tags.update({tag["Key"]: tag.get("Value", "") for tag in params["Tags"]})
        return {}

    def item(self, arn: str) -> Replicating | None:
        """The task or replication with this ARN, if it exists."""
        return self.tasks.get(arn) or self.replications.get(arn)

    def answer(self, operation: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body of one request (for the served double)."""
        params = json.loads(body or b"{}")
        try:
            return 200, self.handle(operation, params)
        except DmsError as fault:
            return fault.status, {"__type": fault.code, "message": fault.message}
