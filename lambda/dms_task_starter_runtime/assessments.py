"""The premigration assessment gate: a first start waits until the assessment passed.

A task's first start (after its connection tests, when those are on too) waits for a
premigration assessment run. ``is_complete`` finds this request's run by its name among
the task's runs (``DescribeReplicationTaskAssessmentRuns``), begins it when DMS lists none
(``StartReplicationTaskAssessmentRun``), waits while it runs, and starts once it passed
(or ended with warnings only). A run that failed fails the request, naming the failed
individual assessments and where the results are; with ``warn`` it is logged and the task
starts. A run of this starter that already passed for the task is not run again.

A Serverless replication has DMS run the assessment as part of its start
(``PremigrationAssessmentSettings``); its outcome is read from the replication's
``PremigrationAssessmentStatuses``. Pure functions; ``handler`` calls DMS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from dms_task_starter_runtime.contract import Kind, OnAssessmentFailure

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dms_task_starter_runtime.decisions import StartParameters
    from dms_task_starter_runtime.plan import Plan
    from dms_task_starter_runtime.settings import AssessmentSettings
    from dms_task_starter_runtime.state import AssessmentRun, State

RUN_NAME_PREFIX: Final = "dms-task-starter-"
"""The runs this starter begins; another run of the task (by hand, another tool) is not its."""
IN_PROGRESS_STATUSES: Final = frozenset({"starting", "provisioning", "running"})
PASSED: Final = "passed"
PASSING_STATUSES: Final = frozenset({PASSED, "warning"})
"""``warning``: an individual assessment warned, or all were skipped; none failed."""
FAILED_INDIVIDUAL_STATUSES: Final = frozenset({"failed", "error"})


@dataclass(frozen=True)
class IndividualAssessment:
    """One individual assessment of a run (DescribeReplicationTaskIndividualAssessments)."""

    name: str
    status: str


def individual_assessment(described: Mapping[str, Any]) -> IndividualAssessment:
    return IndividualAssessment(
        described.get("IndividualAssessmentName", ""), described.get("Status", "")
    )


@dataclass(frozen=True)
class Assessment:
    """What DMS reports of a task's runs, and of the gating run's individual assessments
    once it ended without passing."""

    runs: tuple[AssessmentRun, ...] = ()
    individual: tuple[IndividualAssessment, ...] = ()


NO_ASSESSMENT: Final = Assessment()


def run_name(task_arn: str, now: int) -> str:
    """The name of the run a request begins: the task's id and the request's start."""
    return f"{RUN_NAME_PREFIX}{task_arn.rsplit(':', 1)[-1]}-{now}"


def this_run(runs: Sequence[AssessmentRun], name: str) -> AssessmentRun | None:
    """The run that gates this request: the one it named; else a run of this starter that
    passed before (not run again) or that is still running (an earlier request's)."""
    ours = sorted(
        (run for run in runs if run.name.startswith(RUN_NAME_PREFIX)),
        key=lambda run: run.created,
        reverse=True,
    )
    named = [run for run in ours if run.name == name]
    passed = [run for run in ours if run.status in PASSING_STATUSES]
    running = [run for run in ours if run.status in IN_PROGRESS_STATUSES]
    return next(iter(named + passed + running), None)


def ended_badly(run: AssessmentRun) -> bool:
    """Whether the run ended without passing: failed, an error, cancelled, deleted."""
    return run.status not in PASSING_STATUSES | IN_PROGRESS_STATUSES


def start_run_request(task_arn: str, name: str, settings: AssessmentSettings) -> dict[str, Any]:
    """The StartReplicationTaskAssessmentRun parameters: only those that are set."""
    request: dict[str, Any] = {
        "ReplicationTaskArn": task_arn,
        "ServiceAccessRoleArn": settings.role_arn,
        "ResultLocationBucket": settings.bucket,
        "AssessmentRunName": name,
    }
    optional = {
        "ResultLocationFolder": settings.folder,
        "IncludeOnly": list(settings.include_only),
        "Exclude": list(settings.exclude),
    }
    request.update({key: value for key, value in optional.items() if value})
    return request


def with_assessment(start: StartParameters, settings: AssessmentSettings) -> StartParameters:
    """A Serverless first start that has DMS run the assessment first
    (``PremigrationAssessmentSettings``, a JSON string; DMS keeps the results). The API
    reference gives ``IncludeOnly`` and ``Exclude`` there as space-separated lists, unlike
    the arrays of ``StartReplicationTaskAssessmentRun``."""
    fields: dict[str, Any] = {
        "FailOnAssessmentFailure": settings.on_failure is OnAssessmentFailure.FAIL,
        "ResultLocationFolder": settings.folder,
        "IncludeOnly": " ".join(settings.include_only),
        "Exclude": " ".join(settings.exclude),
    }
    chosen = {key: value for key, value in fields.items() if value or value is False}
    return replace(start, premigration_assessment=json.dumps(chosen, separators=(",", ":")))


def results_location(run: AssessmentRun) -> str:
    """Where DMS put the results: ``s3://bucket/folder``."""
    folder = f"/{run.folder}" if run.folder else ""
    return f"s3://{run.bucket}{folder}" if run.bucket else "DMS's results bucket"


def progress(run: AssessmentRun) -> str:
    done = "" if run.count is None else f", {run.completed or 0} of {run.count} assessments done"
    return f"run {run.name or run.arn} is {run.status}{done}"


def assessment_failure(
    subject: State, run: AssessmentRun, individual: Sequence[IndividualAssessment]
) -> str:
    """What a run that ended badly says: the failed assessments and where the results are."""
    failed = [
        f"{each.name} ({each.status})"
        for each in individual
        if each.status in FAILED_INDIVIDUAL_STATUSES
    ]
    named = f"; failed: {', '.join(failed)}" if failed else ""
    message = f"; DMS: {run.failure}" if run.failure else ""
    return (
        f"the premigration assessment of {subject.kind.noun.lower()} {subject.arn} ended "
        f"{run.status} (run {run.name or run.arn}, {run.arn}){named}{message}. "
        f"The results are in {results_location(run)}"
    )


def not_started(failure: str) -> str:
    """The Create's failure for a run that ended badly: nothing was started."""
    return (
        f"{failure[0].upper()}{failure[1:]}. Fix what the assessments found (or leave an "
        "assessment out) and deploy again. Nothing was started."
    )


def reads_individual_assessments(plan: Plan, subject: State) -> bool:
    """Whether a Serverless replication's gating assessment ended badly and DMS, as asked
    (``FailOnAssessmentFailure``), did not start it: its individual assessments name what
    failed."""
    run = subject.assessment
    return (
        plan.assesses
        and subject.kind is Kind.REPLICATION
        and run is not None
        and run.fail_on_failure
        and ended_badly(run)
    )


def serverless_assessment_failure(
    plan: Plan, subject: State, individual: Sequence[IndividualAssessment]
) -> str | None:
    """A Serverless replication whose gating assessment ended badly and that DMS, as asked
    (``FailOnAssessmentFailure``), did not start: the failure to report; None otherwise."""
    run = subject.assessment
    if run is None or not reads_individual_assessments(plan, subject):
        return None
    return not_started(assessment_failure(subject, run, individual))
