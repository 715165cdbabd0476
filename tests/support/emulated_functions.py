"""Lambda handlers that the emulation's own tests deploy (``Handler`` strings name them).

``signal_when_loaded`` is a signaller in the long wait's manner, written from the wait
condition's documentation rather than from the library: it reads a task from DMS and, once
its full load finished (or the task failed), PUTs a signal to the handle's URL with an empty
Content-Type, then answers whether the state machine may stop polling.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Final

import boto3

UNIQUE_ID: Final = "full-load"


def signal_when_loaded(event: dict[str, Any], _context: object) -> dict[str, Any]:
    client = boto3.client("dms")
    (task,) = client.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [str(event["arn"])]}]
    )["ReplicationTasks"]
    if "FullLoadFinishDate" in task.get("ReplicationTaskStats", {}):
        status = "SUCCESS"
    elif task["Status"] == "failed":
        status = "FAILURE"
    else:
        return {"done": False, "status": task["Status"]}
    signal = {
        "Status": status,
        "Reason": f"{task['Status']}: {task.get('LastFailureMessage', '')}",
        "UniqueId": UNIQUE_ID,
        "Data": task["Status"],
    }
    request = urllib.request.Request(
        event["url"],
        data=json.dumps(signal).encode(),
        method="PUT",
        headers={"Content-Type": ""},
    )
    urllib.request.urlopen(request, timeout=10).close()
    return {"done": True, "status": task["Status"]}
