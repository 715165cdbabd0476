"""Fixtures of the handler tests: fresh AWS clients, instant retries, the served double."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.retries.standard import ExponentialBackoff
from dms_task_starter_runtime import dms, stack

from tests.support.dms_double import BEHAVIOURS, Behaviour, DmsDouble
from tests.support.served import FixedStack, ServedAws

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Each test gets clients built from its own environment (endpoints, credentials)."""
    dms.dms_client.cache_clear()
    stack.cloudformation_client.cache_clear()
    yield
    dms.dms_client.cache_clear()
    stack.cloudformation_client.cache_clear()


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their count, but their back-off shrinks to a millisecond."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.001)


@pytest.fixture(params=BEHAVIOURS, ids=lambda behaviour: behaviour.name)
def behaviour(request: pytest.FixtureRequest) -> Behaviour:
    """Each reading of what the DMS reference leaves open, in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def stack_status() -> FixedStack:
    """The stack's status as DescribeStacks answers it (tests set it per request)."""
    return FixedStack()


@pytest.fixture
def double(behaviour: Behaviour, stack_status: FixedStack) -> Iterator[DmsDouble]:
    """The DMS double under ``behaviour``, served with ``stack_status``; boto3 points at it."""
    state = DmsDouble(behaviour=behaviour)
    with ServedAws(state, stack_status):
        yield state
