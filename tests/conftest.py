"""Settings for every test: the Lambda's environment, fresh AWS clients, instant retries."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from botocore.retries.standard import ExponentialBackoff

from tests.support.dms_double import BEHAVIOURS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.support.cloud import Cloud

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
# The handler module reads these when it is imported: set before any test imports it.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "dms-task-starter",
    }
)


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Each test gets clients built from its own environment (endpoints, credentials)."""
    from dms_task_starter_runtime import dms, executions, stack

    caches = (dms.dms_client, stack.cloudformation_client, executions.stepfunctions_client)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their count, but their back-off shrinks to a millisecond."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.001)


@pytest.fixture(params=range(len(BEHAVIOURS)), ids=lambda n: BEHAVIOURS[n].name)
def cloud(request: pytest.FixtureRequest) -> Iterator[Cloud]:
    """An empty account under each reading of DMS, paired with one reading of how
    CloudFormation applies a tag-only update (the day-two suites run every pair): the
    policed double and the stack's status, served, with boto3 pointed at them."""
    yield from served_cloud(request.param, request.param)


def served_cloud(behaviour: int, tag_updates: int, stop_readings: int = 0) -> Iterator[Cloud]:
    """The emulated account under ``BEHAVIOURS[behaviour]``, ``TAG_UPDATES[tag_updates]`` and
    Step Functions' ``STOP_READINGS[stop_readings]``."""
    # Imported here: the emulator imports the handler, which reads the environment above.
    from tests.support.cloud import TAG_UPDATES, Cloud, PolicedDouble
    from tests.support.served import ServedAws
    from tests.support.stepfunctions import STOP_READINGS

    double = PolicedDouble(behaviour=BEHAVIOURS[behaviour])
    emulated = Cloud(double, TAG_UPDATES[tag_updates], stop_readings=STOP_READINGS[stop_readings])
    with ServedAws(double, emulated, stepfunctions=emulated.stepfunctions, signals=emulated.waits):
        yield emulated
