"""Fixtures of the handler tests: dummy AWS credentials and the DMS double on the wire."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from botocore.retries.standard import ExponentialBackoff

# The handler module reads these when it is imported: set them before any test imports it.
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

from dms_task_starter_runtime import dms

from .dms_double import DmsDouble, ServedDouble

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def fresh_dms_client() -> Iterator[None]:
    """Each test gets a client built from its own environment (endpoint, credentials)."""
    dms.dms_client.cache_clear()
    yield
    dms.dms_client.cache_clear()


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their count, but their back-off shrinks to a millisecond."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.001)


@pytest.fixture
def double() -> Iterator[DmsDouble]:
    """The DMS double, served on a random local port that boto3 is pointed at."""
    state = DmsDouble()
    with ServedDouble(state):
        yield state
