"""Long waits: the signaller that the long-wait state machine invokes once per check interval
(the execution's input comes from ``executions.execution_input``).

Each check reads the task (or Serverless replication) once and decides (``decide_check``,
pure): the target reached, SUCCESS; the target out of reach (failed, stopped by someone,
gone) or the deadline passed, FAILURE with DMS's status, stop reason and last failure
message; otherwise another check after the interval. A signal is a PUT of a small JSON
document to the wait condition handle's presigned URL: a credential, which no log line and
no raised error contains.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools import Logger

from dms_task_starter_runtime import dms
from dms_task_starter_runtime.contract import (
    SERVICE_NAME,
    Kind,
    LongWaitInput,
    MigrationType,
    WaitFor,
    long_wait_deadline_seconds,
)
from dms_task_starter_runtime.polls import Outcome, outcome
from dms_task_starter_runtime.text import MAX_FAILURE_MESSAGE_CHARS, truncate

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dms_task_starter_runtime.state import State


SUCCESS: Final = "SUCCESS"
FAILURE: Final = "FAILURE"
SIGNAL_ATTEMPTS: Final = 3
SIGNAL_TIMEOUT_SECONDS: Final = 10
SIGNAL_BACKOFF_SECONDS: Final = 2
MAX_SIGNAL_DATA_CHARS: Final = 100
URL_PLACEHOLDER: Final = "<wait condition handle URL>"

logger = Logger(service=SERVICE_NAME)


def now_epoch_seconds() -> int:
    """The signaller's clock (tests replace it)."""
    return int(time.time())


# -- deciding -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LongWaitCheck:
    """One check, as the execution's input describes it."""

    kind: Kind
    arn: str
    until: WaitFor
    deadline: int
    maximum_seconds: int
    url: str

    @classmethod
    def from_input(cls, event: object) -> LongWaitCheck:
        """Read the execution's input; a malformed one raises ``ValueError`` naming only keys
        (the input holds the URL)."""
        fields = event if isinstance(event, dict) else {}
        texts = (LongWaitInput.KIND, LongWaitInput.ARN, LongWaitInput.UNTIL, LongWaitInput.URL)
        numbers = (LongWaitInput.DEADLINE, LongWaitInput.MAXIMUM_SECONDS)
        bad = [key for key in texts if not isinstance(fields.get(key), str)]
        bad += [key for key in numbers if type(fields.get(key)) is not int]
        if fields.get(LongWaitInput.KIND) not in {kind.value for kind in Kind}:
            bad.append(LongWaitInput.KIND)
        if fields.get(LongWaitInput.UNTIL) not in (WaitFor.RUNNING, WaitFor.FULL_LOAD_FINISHED):
            bad.append(LongWaitInput.UNTIL)
        if bad:
            raise ValueError(f"the long-wait input has no valid {', '.join(sorted(set(bad)))}")
        return cls(
            kind=Kind(fields[LongWaitInput.KIND]),
            arn=fields[LongWaitInput.ARN],
            until=WaitFor(fields[LongWaitInput.UNTIL]),
            deadline=fields[LongWaitInput.DEADLINE],
            maximum_seconds=fields[LongWaitInput.MAXIMUM_SECONDS],
            url=fields[LongWaitInput.URL],
        )


@dataclass(frozen=True)
class Signal:
    """What to signal the wait condition: SUCCESS or FAILURE, and why."""

    status: str
    reason: str


def duration(seconds: int) -> str:
    """``seconds`` of whole minutes in hours and minutes, e.g. "11 h 56 min"."""
    hours, minutes = divmod(seconds // 60, 60)
    parts = ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else [])
    return " ".join(parts)


def _goal(until: WaitFor) -> str:
    return "finish its full load" if until is WaitFor.FULL_LOAD_FINISHED else "run"


def progress(state: State) -> str:
    """The full load's progress as DMS reports it ("" when it reports none)."""
    parts = []
    if state.full_load_progress_percent is not None:
        parts.append(f"full load {state.full_load_progress_percent} %")
    if state.tables_loaded is not None:
        parts.append(f"{state.tables_loaded} tables loaded")
    if state.tables_errored:
        parts.append(f"{state.tables_errored} tables errored")
    return ", ".join(parts)


def _standing(state: State | None, wait: LongWaitCheck) -> str:
    """How the task stands, for a message: its status, details and progress."""
    if state is None:
        if wait.kind is Kind.TASK:
            return "it no longer exists"
        return "DMS lists no replication of the configuration (deleted, or deprovisioned)"
    loaded = progress(state)
    return f"it is {state.describe()}" + (f"; {loaded}" if loaded else "")


def _has_no_full_load(state: State, until: WaitFor) -> bool:
    """A cdc task waited for until its full load finished: it has none, it never will."""
    return until is WaitFor.FULL_LOAD_FINISHED and state.migration_type == MigrationType.CDC


def decide_check(
    wait: LongWaitCheck, state: State | None, now: int, read_failure: str = ""
) -> Signal | None:
    """SUCCESS, FAILURE, or None (check again after the interval).

    ``state`` is None when DMS lists no such task (replication); ``read_failure`` says why
    it could not be read at all (then ``state`` is None and only the deadline decides).
    """
    subject = f"{wait.kind.noun} {wait.arn}"
    if not read_failure:
        result = Outcome.FAILED if state is None else outcome(state, wait.until)
        if state is not None and _has_no_full_load(state, wait.until):
            result = Outcome.FAILED
        if result is Outcome.REACHED:
            assert state is not None
            return Signal(
                SUCCESS,
                _reason(f"{subject} reached '{wait.until.value}': {_standing(state, wait)}."),
            )
        if result is Outcome.FAILED:
            return Signal(
                FAILURE,
                _reason(
                    f"{subject} will not reach '{wait.until.value}': "
                    f"{_standing(state, wait)}. It was left as it is."
                ),
            )
    if now < wait.deadline:
        return None
    waited = duration(long_wait_deadline_seconds(wait.maximum_seconds))
    last = f"the last DMS read failed: {read_failure}" if read_failure else _standing(state, wait)
    return Signal(
        FAILURE,
        _reason(
            f"Waited the maximum of {waited} (long_wait.maximum) for "
            f"{wait.kind.noun.lower()} {wait.arn} to {_goal(wait.until)}; {last}. "
            "It was left as it is."
        ),
    )


def _reason(text: str) -> str:
    return truncate(text, MAX_FAILURE_MESSAGE_CHARS)


# -- reading and signalling ---------------------------------------------------------------


class SignalError(Exception):
    """The signal could not be delivered (the message never holds the URL)."""


def _redacted(error: Exception, url: str) -> str:
    """The error's text without the URL or its query (the signature)."""
    text = f"{type(error).__name__}: {error}".replace(url, URL_PLACEHOLDER)
    query = url.partition("?")[2]
    return text.replace(query, URL_PLACEHOLDER) if query else text


def put_signal(url: str, signal: Signal, unique_id: str, data: str) -> None:
    """PUT the signal to the wait condition handle, with the empty Content-Type its
    presigned URL was signed for; network failures and 5xx answers are tried again."""
    body = json.dumps(
        {
            "Status": signal.status,
            "Reason": signal.reason,
            "UniqueId": unique_id,
            "Data": truncate(data, MAX_SIGNAL_DATA_CHARS),
        }
    ).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    for attempt in range(1, SIGNAL_ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=SIGNAL_TIMEOUT_SECONDS):
                return
        except urllib.error.HTTPError as error:
            if error.code < 500 or attempt == SIGNAL_ATTEMPTS:
                raise SignalError(
                    f"the {signal.status} signal was refused: HTTP {error.code}"
                ) from None
            failure = f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            if attempt == SIGNAL_ATTEMPTS:
                raise SignalError(
                    f"the {signal.status} signal could not be sent: {_redacted(error, url)}"
                ) from None
            failure = _redacted(error, url)
        logger.warning(
            "signal not delivered, trying again", extra={"attempt": attempt, "reason": failure}
        )
        time.sleep(SIGNAL_BACKOFF_SECONDS * attempt)


def _log_progress(state: State | None, wait: LongWaitCheck, now: int) -> None:
    details: dict[str, object] = {"deadline_in_seconds": wait.deadline - now}
    if state is not None:
        details.update(
            status=state.status,
            full_load_progress_percent=state.full_load_progress_percent,
            tables_loaded=state.tables_loaded,
            tables_errored=state.tables_errored,
        )
        if state.kind is Kind.REPLICATION:
            details["provision_state"] = state.provision_state
    logger.info(f"waiting for '{wait.until.value}'", extra=details)


@logger.inject_lambda_context(log_event=False, clear_state=True)
def check(event: dict[str, Any], context: LambdaContext) -> dict[str, bool]:
    """One check of a long wait: read, decide, signal or not. ``done`` tells the state
    machine whether the wait condition got its signal."""
    dms.use_remaining_time(context.get_remaining_time_in_millis)
    wait = LongWaitCheck.from_input(event)
    logger.append_keys(task_arn=wait.arn, until=wait.until.value)
    now = now_epoch_seconds()
    state, failure = None, ""
    try:
        state = dms.read_listed(wait.kind, wait.arn)
    except dms.DmsCallError as error:
        failure = str(error)
        logger.warning("could not read DMS; the next check tries again", extra={"reason": failure})
    signal = decide_check(wait, state, now, failure)
    if signal is None:
        _log_progress(state, wait, now)
        return {LongWaitInput.DONE: False}
    logger.info(f"signalling {signal.status}", extra={"reason": signal.reason})
    put_signal(wait.url, signal, wait.arn, "" if state is None else state.status)
    logger.info(f"signalled {signal.status}")
    return {LongWaitInput.DONE: True}
