"""A DMS test double that speaks the DMS JSON protocol over HTTP on 127.0.0.1.

It models what moto does not: a start is accepted only from ready/stopped/failed,
``start-replication`` only for a task that never ran (and only type valid for it),
CdcStartTime with CdcStartPosition is rejected, a stop only from running, a fresh
start date on every start, checkpoints, full-load tasks that finish, tasks that fail
while starting, and throttling. Every call is recorded with its exact parameters.
Statuses move one step per ``advance()``: tests decide when time passes.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

TARGET_PREFIX = "AmazonDMSv20160101."
REGION = "eu-west-1"
ACCOUNT = "123456789012"
START_TYPES = ("start-replication", "resume-processing", "reload-target")
FULL_LOAD_ONLY_FINISHED = "Stop Reason FULL_LOAD_ONLY_FINISHED"
WRITE_OPERATIONS = ("StartReplicationTask", "StopReplicationTask")

# One access log line per request would bury the handler's own log lines.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def task_arn(task_id: str) -> str:
    return f"arn:aws:dms:{REGION}:{ACCOUNT}:task:{task_id}"


class DmsError(Exception):
    """An error answer: HTTP 400 (or ``status``) with the DMS error code in ``__type``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class FakeTask:
    """One replication task as the double keeps it."""

    arn: str
    status: str = "ready"
    migration_type: str = "full-load-and-cdc"
    stop_reason: str = ""
    last_failure_message: str = ""
    start_date: float | None = None
    full_load_finish_date: float | None = None
    full_load_progress_percent: int = 0
    recovery_checkpoint: str = ""
    cdc_start_position: str = ""
    cdc_stop_position: str = ""
    fails_while_starting: str = ""
    """If set, the next start ends ``failed`` with this LastFailureMessage."""
    status_after_transition: str = ""
    """Where a transitional status (modifying, moving, testing) goes on ``advance()``."""

    def describe(self) -> dict[str, Any]:
        stats: dict[str, Any] = {
            "FullLoadProgressPercent": self.full_load_progress_percent,
            "TablesLoaded": 3 if self.full_load_finish_date else 0,
            "TablesErrored": 0,
        }
        description: dict[str, Any] = {
            "ReplicationTaskIdentifier": self.arn.rsplit(":", 1)[1],
            "ReplicationTaskArn": self.arn,
            "MigrationType": self.migration_type,
            "Status": self.status,
            "ReplicationTaskStats": stats,
        }
        if self.start_date is not None:
            description["ReplicationTaskStartDate"] = self.start_date
            stats["StartDate"] = self.start_date
        if self.full_load_finish_date is not None:
            stats["FullLoadFinishDate"] = self.full_load_finish_date
        optional = {
            "StopReason": self.stop_reason,
            "LastFailureMessage": self.last_failure_message,
            "RecoveryCheckpoint": self.recovery_checkpoint,
            "CdcStartPosition": self.cdc_start_position,
            "CdcStopPosition": self.cdc_stop_position,
        }
        description.update({key: value for key, value in optional.items() if value})
        return description


@dataclass
class DmsDouble:
    """State and behaviour of the double; ``serve()`` puts it on the network."""

    tasks: dict[str, FakeTask] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every call the model answered, accepted or rejected, in order."""
    accepted_writes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    denied: set[tuple[str, str]] = field(default_factory=set)
    throttle_rate: float = 0.0
    throttle_next: int = 0
    """Throttle this many of the next calls, whatever ``throttle_rate`` says."""
    lose_answer_of: set[str] = field(default_factory=set)
    """Operations whose next call DMS carries out but answers with a 500 (answer lost)."""
    throttled_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Calls answered with ThrottlingException; they never reached the model."""
    clock: float = 1_700_000_000.0
    _random: random.Random = field(default_factory=lambda: random.Random(7))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_task(self, task_id: str, **attributes: Any) -> FakeTask:
        task = FakeTask(arn=task_arn(task_id), **attributes)
        self.tasks[task.arn] = task
        return task

    def writes(self) -> list[tuple[str, dict[str, Any]]]:
        """The start and stop calls DMS carried out, in order, with their parameters.

        Rejected calls (``calls`` has them too) changed nothing, so they are not writes.
        """
        return list(self.accepted_writes)

    def _tick(self) -> float:
        # Every start gets a later start date, as on a real service where time passes.
        self.clock += 60
        return self.clock

    def advance(self) -> None:
        """Let time pass: every task in a transitional status takes its next step."""
        with self._lock:
            for task in self.tasks.values():
                self._advance_task(task)

    def _advance_task(self, task: FakeTask) -> None:
        if task.status == "creating":
            task.status = "ready"
        elif task.status == "starting" and task.fails_while_starting:
            task.status = "failed"
            task.stop_reason = "Stop Reason FATAL_ERROR"
            task.last_failure_message = task.fails_while_starting
            task.fails_while_starting = ""
        elif task.status == "starting":
            task.status = "running"
            task.recovery_checkpoint = f"checkpoint:V1#{int(self.clock)}#{task.arn[-4:]}"
        elif task.status == "running" and task.migration_type == "full-load":
            task.status = "stopped"
            task.stop_reason = FULL_LOAD_ONLY_FINISHED
            task.full_load_progress_percent = 100
            task.full_load_finish_date = self._tick()
        elif task.status == "stopping":
            task.status = "stopped"
            task.stop_reason = "Stop Reason NORMAL"
        elif task.status_after_transition:
            task.status = task.status_after_transition
            task.status_after_transition = ""

    # -- the protocol ----------------------------------------------------------------

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self.throttle_next > 0 or self._random.random() < self.throttle_rate:
                self.throttle_next = max(0, self.throttle_next - 1)
                self.throttled_calls.append((operation, params))
                raise DmsError("ThrottlingException", "Rate exceeded")
            self.calls.append((operation, params))
            handler = {
                "DescribeReplicationTasks": self._describe,
                "StartReplicationTask": self._start,
                "StopReplicationTask": self._stop,
            }.get(operation)
            if handler is None:
                raise DmsError("InvalidAction", f"{operation} is not modelled by the double")
            answer = handler(params)
            if operation in WRITE_OPERATIONS:
                self.accepted_writes.append((operation, params))
            if operation in self.lose_answer_of:
                self.lose_answer_of.discard(operation)
                raise DmsError("InternalFailure", "answer lost", status=500)
            return answer

    def _task(self, operation: str, arn: str) -> FakeTask:
        if (operation, arn) in self.denied:
            raise DmsError(
                "AccessDeniedFault",
                f"User is not authorized to perform: dms:{operation} on resource: {arn}",
            )
        task = self.tasks.get(arn)
        if task is None:
            raise DmsError("ResourceNotFoundFault", "Replication Task not found")
        return task

    def _describe(self, params: dict[str, Any]) -> dict[str, Any]:
        (task_filter,) = params["Filters"]
        assert task_filter["Name"] == "replication-task-arn"
        (arn,) = task_filter["Values"]
        return {"ReplicationTasks": [self._task("DescribeReplicationTasks", arn).describe()]}

    def _start(self, params: dict[str, Any]) -> dict[str, Any]:
        task = self._task("StartReplicationTask", params["ReplicationTaskArn"])
        start_type = params["StartReplicationTaskType"]
        if start_type not in START_TYPES:
            raise DmsError("InvalidParameterValueException", f"Invalid start type {start_type}")
        if "CdcStartTime" in params and "CdcStartPosition" in params:
            raise DmsError(
                "InvalidParameterCombinationException",
                "CdcStartTime and CdcStartPosition cannot be specified together",
            )
        if task.status not in ("ready", "stopped", "failed"):
            raise DmsError(
                "InvalidResourceStateFault",
                f"Replication Task cannot be started, current status is {task.status}",
            )
        never_ran = task.status == "ready"
        if never_ran != (start_type == "start-replication"):
            raise DmsError(
                "InvalidParameterCombinationException",
                f"Start type {start_type} is not valid for a task in status {task.status}",
            )
        task.status = "starting"
        task.start_date = self._tick()
        task.stop_reason = ""
        task.last_failure_message = ""
        task.cdc_start_position = params.get("CdcStartPosition", "")
        task.cdc_stop_position = params.get("CdcStopPosition", "")
        return {"ReplicationTask": task.describe()}

    def _stop(self, params: dict[str, Any]) -> dict[str, Any]:
        task = self._task("StopReplicationTask", params["ReplicationTaskArn"])
        if task.status != "running":
            raise DmsError(
                "InvalidResourceStateFault", f"Replication Task {task.arn} is currently not running"
            )
        task.status = "stopping"
        return {"ReplicationTask": task.describe()}

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        operation = request.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
        params = json.loads(request.get_data() or b"{}")
        try:
            body, status = self.handle(operation, params), 200
        except DmsError as fault:
            body, status = {"__type": fault.code, "message": fault.message}, fault.status
        response = Response(
            json.dumps(body), status=status, content_type="application/x-amz-json-1.1"
        )
        return response(environ, start_response)


ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DATABASE_MIGRATION_SERVICE"


class ServedDouble:
    """The double listening on a random port of 127.0.0.1 in a daemon thread.

    While it is served, boto3's DMS endpoint points at it: clients built meanwhile call it.
    """

    def __init__(self, double: DmsDouble) -> None:
        self.double = double
        self._previous_endpoint: str | None = None
        self._server = make_server("127.0.0.1", 0, double.wsgi_app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ServedDouble:
        self._thread.start()
        self._previous_endpoint = os.environ.get(ENDPOINT_VARIABLE)
        os.environ[ENDPOINT_VARIABLE] = self.url
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous_endpoint is None:
            os.environ.pop(ENDPOINT_VARIABLE, None)
        else:
            os.environ[ENDPOINT_VARIABLE] = self._previous_endpoint
        self._server.shutdown()
        self._thread.join()
