"""Fixtures of the handler tests: the served double under each DMS reading, the stack status."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import pytest
from dms_task_starter_runtime import handler

from tests.support.dms_double import BEHAVIOURS, Behaviour, DmsDouble
from tests.support.served import FixedStack, ServedAws

if TYPE_CHECKING:
    from collections.abc import Iterator


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


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything the handler's logger writes during the test, at every level."""
    stream = io.StringIO()
    log_handler = handler.logger.registered_handler
    assert isinstance(log_handler, logging.StreamHandler)
    previous = log_handler.setStream(stream)
    level = handler.logger.log_level
    handler.logger.setLevel(logging.DEBUG)
    yield stream
    handler.logger.setLevel(level)
    log_handler.setStream(previous)
