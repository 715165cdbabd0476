"""What ``is_complete`` does on each poll, decided from the plan and the tasks as they are.

The Provider framework calls ``is_complete`` again and again with the event ``on_event``
answered, so every poll starts from the plan in ``Data`` and from what DMS reports now:
the tasks to bring to rest, the run to stop, the pending start, then the judgement. Pure
functions, like ``decisions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final

from dms_task_starter_runtime.assessments import (
    IN_PROGRESS_STATUSES,
    NO_ASSESSMENT,
    PASSED,
    Assessment,
    assessment_failure,
    ended_badly,
    not_started,
    progress,
    serverless_assessment_failure,
    start_run_request,
    this_run,
)
from dms_task_starter_runtime.contract import IAM_PROPAGATION_SECONDS, OnAssessmentFailure, WaitFor
from dms_task_starter_runtime.decisions import (
    UNSETTLED,
    StartParameters,
    cannot_start,
    not_found,
    start_parameters,
)
from dms_task_starter_runtime.gates import (
    connection_failure,
    connection_statuses,
    connections_succeeded,
    untested_endpoints,
)
from dms_task_starter_runtime.plan import Plan, StarterError
from dms_task_starter_runtime.state import (
    NEVER_RAN_STATUSES,
    Phase,
    State,
    started_since,
    stopped_since,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dms_task_starter_runtime.gates import Connection
    from dms_task_starter_runtime.settings import StarterSettings
    from dms_task_starter_runtime.state import AssessmentRun

STOPPED: Final = "stopped"


@dataclass(frozen=True)
class Wait:
    """Nothing to do on this poll."""

    note: str


@dataclass(frozen=True)
class Stop:
    """Stop these running tasks on this poll."""

    arns: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Start:
    """Make the pending start on this poll."""

    parameters: StartParameters
    note: str
    warning: str = ""
    """Logged as a warning before the start: a failed assessment the user chose to pass."""


@dataclass(frozen=True)
class Complete:
    """The plan is carried out; report success with the attributes of ``task``."""

    task: State | None
    note: str
    warning: str = ""
    """Set when a best-effort plan gave up: what is left as it is, and why."""


@dataclass(frozen=True)
class BeginConnectionTests:
    """Begin the connection tests of these endpoints (from the subject's instance)."""

    endpoint_arns: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class BeginAssessmentRun:
    """Begin the premigration assessment run of the subject (StartReplicationTaskAssessmentRun)."""

    request: dict[str, object]
    note: str


PollDecision = Wait | Stop | Start | Complete | BeginConnectionTests | BeginAssessmentRun


class Outcome(Enum):
    """Where a started task stands relative to what the resource waits for."""

    REACHED = "reached"
    PENDING = "pending"
    FAILED = "failed"


def outcome(task: State, wait_for: WaitFor) -> Outcome:
    """Judge a task that was started (by us or before us) against ``wait_for``.

    A task that stopped because it did what it was configured to do (its full load is
    done, it reached its CDC stop position) reached its goal; any other rest is a failure.
    """
    if wait_for is WaitFor.NOTHING:
        return Outcome.REACHED
    if task.phase is Phase.RUNNING:
        reached = wait_for is WaitFor.RUNNING or task.full_load_finished
        return Outcome.REACHED if reached else Outcome.PENDING
    if task.phase is Phase.AT_REST:
        if task.finished and (wait_for is WaitFor.RUNNING or task.full_load_finished):
            return Outcome.REACHED
        # A start was made: a task that still reads as never started is a read that lags.
        return Outcome.PENDING if task.status in NEVER_RAN_STATUSES else Outcome.FAILED
    if task.phase is Phase.GONE:
        return Outcome.FAILED
    return Outcome.PENDING


def _goal(plan: Plan, stopping: bool) -> str:
    if stopping:
        return "come to rest (stopped)"
    if plan.wait_for is WaitFor.FULL_LOAD_FINISHED:
        return "finish its full load"
    if plan.wait_for is WaitFor.RUNNING:
        return "run"
    return "become startable"


def _unless_timed_out(
    plan: Plan, now: int, decision: PollDecision, *, arn: str, task: State | None, stopping: bool
) -> PollDecision:
    if now < plan.deadline:
        return decision
    last = "it no longer exists" if task is None else f"last status {task.describe()}"
    message = (
        f"Timed out after {plan.timeout_seconds} s waiting for {plan.kind.noun.lower()} {arn} "
        f"to {_goal(plan, stopping)}; {last}. It was left as it is."
    )
    return _fail(plan, message, task)


def _fail(plan: Plan, message: str, task: State | None) -> Complete:
    """A failure; a best-effort plan completes with it as a warning instead."""
    if not plan.best_effort:
        raise StarterError(message)
    return Complete(task, "gave up, leaving the task as it is", warning=message)


def decide_poll(
    plan: Plan,
    tasks: Mapping[str, State | None],
    settings: StarterSettings | None,
    now: int,
    replaced: StarterSettings | None = None,
    *,
    connections: Sequence[Connection] = (),
    assessment: Assessment = NO_ASSESSMENT,
) -> PollDecision:
    """Decide one ``is_complete`` poll from the plan and the tasks as they are now.

    ``tasks`` holds the subject and every task of ``plan.rest`` (None: it does not exist).
    ``settings`` are needed for a pending start; ``replaced`` are an Update's previous
    settings; ``connections`` are the subject's endpoints' connections, read while a start
    gated on them is pending; ``assessment`` the task's assessment runs, read once the
    connections (if gated) succeeded, or a Serverless run's individual assessments. The
    steps, in order: the other tasks come to rest; the subject's replaced run stops; the
    pending start (once its connections succeeded, then its assessment passed); the
    judgement.
    """
    resting = _bring_others_to_rest(plan, tasks, now)
    if resting is not None:
        return resting
    if not plan.subject:
        return Complete(None, "every task is at rest")
    subject = tasks.get(plan.subject)
    if subject is None:
        return _fail(plan, str(not_found(plan.kind, plan.subject)), None)
    new_run = started_since(plan.snapshot, subject) or runs_the_new_settings(
        plan, subject, settings, replaced
    )
    if plan.restarts and not new_run:
        stopping = _stop_the_replaced_run(plan, subject, now)
        if stopping is not None:
            return stopping
    if plan.start_pending and not new_run:
        return _decide_pending_start(
            plan, subject, tasks, settings, now, connections=connections, assessment=assessment
        )
    return _judge(plan, subject, now, assessment)


def runs_the_new_settings(
    plan: Plan, task: State, settings: StarterSettings | None, replaced: StarterSettings | None
) -> bool:
    """Whether the task runs with what this plan's start sends and the replaced run lacked:
    the new CDC start position, or a CdcStopPosition the previous settings did not have.
    Then the run is the new one, whatever DMS did with its dates: a second sign, for a DMS
    that dates no stop, or clears StopDate when a run starts (a task restarted while it was
    still starting, undated, has no other)."""
    if settings is None or task.phase not in (Phase.STARTING, Phase.RUNNING):
        return False
    position, stop = settings.cdc_start_position, settings.cdc_stop_position
    new_position = (
        plan.send_cdc_start and position is not None and task.cdc_start_position == position
    )
    new_stop = (
        stop is not None
        and replaced is not None
        and replaced.cdc_stop_position != stop
        and task.cdc_stop_position == stop
    )
    return new_position or new_stop


def _bring_others_to_rest(
    plan: Plan, tasks: Mapping[str, State | None], now: int
) -> PollDecision | None:
    """Stop or wait for the tasks other than the subject; None once they all rest."""
    others = [arn for arn in plan.rest if arn != plan.subject]
    running = tuple(arn for arn in others if _phase(tasks.get(arn)) is Phase.RUNNING)
    moving = [arn for arn in others if _phase(tasks.get(arn)) in UNSETTLED]
    if not moving:
        return None
    action: PollDecision = (
        Stop(running, f"stopping {', '.join(running)}")
        if running
        else Wait(f"waiting for {', '.join(moving)} to come to rest")
    )
    first = running[0] if running else moving[0]
    return _unless_timed_out(plan, now, action, arn=first, task=tasks.get(first), stopping=True)


def _stop_the_replaced_run(plan: Plan, subject: State, now: int) -> PollDecision | None:
    """A restart: stop the run the subject had when the plan was made; None once it rests."""
    if subject.phase is Phase.RUNNING and not stopped_since(plan.snapshot, subject):
        action: PollDecision = Stop((subject.arn,), "stopping the run the new settings replace")
    elif subject.phase not in (Phase.AT_REST, Phase.GONE):
        action = Wait(f"waiting for the task to come to rest: it is {subject.status}")
    elif subject.status != STOPPED:
        # Not the rest of a stop: the run that replaced the stopped one ended (a start that
        # failed before DMS dated it), so it is judged, never started twice.
        return _judge(plan, subject, now)
    else:
        return None
    return _unless_timed_out(plan, now, action, arn=subject.arn, task=subject, stopping=True)


def _phase(task: State | None) -> Phase:
    return Phase.GONE if task is None else task.phase


def _decide_pending_start(
    plan: Plan,
    subject: State,
    tasks: Mapping[str, State | None],
    settings: StarterSettings | None,
    now: int,
    *,
    connections: Sequence[Connection] = (),
    assessment: Assessment = NO_ASSESSMENT,
) -> PollDecision:
    if subject.phase is Phase.GONE:
        return _fail(plan, str(cannot_start(subject)), subject)
    if subject.phase is not Phase.AT_REST:
        action: PollDecision = Wait(f"waiting to start: it is {subject.status}")
        return _unless_timed_out(plan, now, action, arn=subject.arn, task=subject, stopping=False)
    if settings is None:
        raise ValueError("a pending start needs the starter settings")
    warning = _gates(plan, subject, settings, now, connections=connections, assessment=assessment)
    if not isinstance(warning, str):
        return warning
    handover_source = tasks.get(plan.handover_from) if plan.handover_from else None
    start = start_parameters(settings, subject, plan, handover_source)
    note = f"{subject.status}: starting it with {start.start_type}"
    if handover_source is not None:
        note += f", CDC from the RecoveryCheckpoint of {handover_source.arn}"
    return _unless_timed_out(
        plan, now, Start(start, note, warning), arn=subject.arn, task=subject, stopping=False
    )


def _gates(
    plan: Plan,
    subject: State,
    settings: StarterSettings,
    now: int,
    *,
    connections: Sequence[Connection],
    assessment: Assessment,
) -> PollDecision | str:
    """The gates of a first start, in order: the connection tests, then the premigration
    assessment. A decision while one holds the start back; once all passed, the warning
    to log before the start ("" if none)."""
    if plan.tests_connections:
        gate = _connection_gate(plan, subject, connections, now)
        if gate is not None:
            return gate
    return _assessment_gate(plan, subject, settings, assessment, now) if plan.assesses else ""


def _assessment_gate(
    plan: Plan, subject: State, settings: StarterSettings, assessment: Assessment, now: int
) -> PollDecision | str:
    """A first start gated on its premigration assessment: begin the run DMS does not list,
    wait while it runs, fail (with ``warn``: pass with a warning) when it ended badly. Once
    it passed: the warning to log before the start ("" if none)."""
    run = this_run(assessment.runs, plan.assessment_run)
    if run is None or run.status in IN_PROGRESS_STATUSES:
        return _await_assessment(plan, subject, settings, run, now)
    if not ended_badly(run):
        return "" if run.status == PASSED else f"the premigration assessment {progress(run)}"
    failure = assessment_failure(subject, run, assessment.individual)
    chosen = settings.assessment
    if chosen is None or chosen.on_failure is OnAssessmentFailure.FAIL:
        return _fail(plan, not_started(failure), subject)
    return f"{failure}; starting it all the same (on_failure: warn)"


def _await_assessment(
    plan: Plan, subject: State, settings: StarterSettings, run: AssessmentRun | None, now: int
) -> PollDecision:
    """Begin the run DMS does not list, or wait for it, until the deadline."""
    if now >= plan.deadline:
        state = "no run listed" if run is None else progress(run)
        message = (
            f"Timed out after {plan.timeout_seconds} s waiting for the premigration assessment "
            f"of {subject.kind.noun.lower()} {subject.arn} ({state}). Nothing was started."
        )
        return _fail(plan, message, subject)
    if run is None and settings.assessment is not None:
        request = start_run_request(subject.arn, plan.assessment_run, settings.assessment)
        return BeginAssessmentRun(request, f"beginning assessment run {plan.assessment_run}")
    return Wait(f"waiting for the premigration assessment: {progress(run) if run else 'none'}")


def _connection_gate(
    plan: Plan, subject: State, connections: Sequence[Connection], now: int
) -> PollDecision | None:
    """A first start gated on its connection tests: fail on a failed test, wait for those
    still testing (until the deadline); None once both succeeded."""
    failure = connection_failure(subject, connections)
    if failure is not None:
        return _fail(plan, failure, subject)
    if connections_succeeded(subject, connections):
        return None
    statuses = connection_statuses(subject, connections)
    untested = untested_endpoints(subject, connections)
    if now < plan.deadline and untested:
        return BeginConnectionTests(untested, f"testing the connections: {statuses}")
    if now < plan.deadline:
        return Wait(f"waiting for the connection tests: {statuses}")
    message = (
        f"Timed out after {plan.timeout_seconds} s waiting for the connection tests of "
        f"{subject.kind.noun.lower()} {subject.arn} from replication instance "
        f"{subject.replication_instance_arn} ({statuses}). Nothing was started."
    )
    return _fail(plan, message, subject)


def _judge(
    plan: Plan, subject: State, now: int, assessment: Assessment = NO_ASSESSMENT
) -> PollDecision:
    serverless_failure = serverless_assessment_failure(plan, subject, assessment.individual)
    if serverless_failure is not None:
        return _fail(plan, serverless_failure, subject)
    result = outcome(subject, plan.wait_for)
    if result is Outcome.REACHED:
        return Complete(subject, f"{subject.status}: '{plan.wait_for.value}' reached")
    if result is Outcome.FAILED:
        message = (
            f"{subject.kind.noun} {subject.arn} did not reach '{plan.wait_for.value}': "
            f"it is {subject.describe()}."
        )
        return _fail(plan, message, subject)
    action = Wait(f"waiting: it is {subject.status}")
    return _unless_timed_out(plan, now, action, arn=subject.arn, task=subject, stopping=False)


def _waited_for(plan: Plan) -> str:
    others = [arn for arn in plan.rest if arn != plan.subject]
    parts = [f"{', '.join(others)} to come to rest"] if others else []
    if plan.subject:
        parts.append(f"{plan.kind.noun.lower()} {plan.subject} to {_goal(plan, stopping=False)}")
    return " and ".join(parts) or "nothing"


def decide_call_failure(
    plan: Plan, failure: str, *, transient: bool, out_of_time: bool, denied: bool, now: int
) -> Wait | Complete | None:
    """A call of this poll failed (``failure`` says which and why): the next poll tries again
    while that may help, so a slow or throttled DMS, or a short Lambda, never fails a request.

    - too little time left for the call's retries: again on the next poll, until the
      plan's deadline; a best-effort plan (rollback, guard, rollback Delete) does the same
      for every transient failure (throttling, 5xx, no answer) that outlasted the retries;
    - an AccessDenied within ``IAM_PROPAGATION_SECONDS`` of the request's start: a grant the
      deployment just made may not have propagated yet; again on the next poll;
    - otherwise None: the failure stands (a best-effort plan completes with it as a warning).
    """
    elapsed = now - (plan.deadline - plan.timeout_seconds)
    if now < plan.deadline and denied and elapsed < IAM_PROPAGATION_SECONDS:
        return Wait(f"denied, the grant may not have propagated yet; trying again: {failure}")
    again = out_of_time or (transient and plan.best_effort)
    if again and now < plan.deadline:
        return Wait(f"trying again on the next poll: {failure}")
    if not again:
        return None
    message = (
        f"Timed out after {plan.timeout_seconds} s waiting for {_waited_for(plan)}; "
        f"the last DMS call failed: {failure}. It was left as it is."
    )
    return _fail(plan, message, None)
