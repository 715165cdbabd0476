"""Settings for every test: the Lambda's environment, fresh AWS clients, instant retries."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from botocore.retries.standard import ExponentialBackoff

if TYPE_CHECKING:
    from collections.abc import Iterator

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
    from dms_task_starter_runtime import dms, stack

    dms.dms_client.cache_clear()
    stack.cloudformation_client.cache_clear()
    yield
    dms.dms_client.cache_clear()
    stack.cloudformation_client.cache_clear()


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their count, but their back-off shrinks to a millisecond."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.001)
