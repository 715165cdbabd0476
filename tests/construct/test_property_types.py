"""A property of the wrong type fails at synth in one line: the property, the type given and
the accepted forms (enum members and their values listed), with no chained traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_dms as dms
from dms_task_starter import (
    CdcStart,
    CdcStop,
    OnDelete,
    ReplicationStarter,
    ReplicationTaskStarter,
    StartType,
    WaitFor,
)

from tests.support.cdk import TASK_ARN, make_task

CONFIG_ARN = "arn:aws:dms:eu-west-1:123456789012:replication-config:EXAMPLE"

COMMON: list[tuple[str, object, str]] = [
    (
        "cdc_start",
        "2026-01-01T00:00:00Z",
        "cdc_start: got str '2026-01-01T00:00:00Z'; expected CdcStart.at_time(datetime), "
        "CdcStart.at_position(str) or CdcStart.at_checkpoint(str) or None",
    ),
    (
        "cdc_start",
        CdcStop.at_position("server_time:2030-01-01T00:00:00"),
        "cdc_start: got CdcStop <",
    ),
    (
        "cdc_stop",
        datetime(2030, 1, 1, tzinfo=UTC),
        "cdc_stop: got datetime datetime.datetime(2030, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)"
        "; expected CdcStop.at_server_time(datetime), CdcStop.at_commit_time(datetime) or "
        "CdcStop.at_position(str) or None",
    ),
    (
        "wait_for",
        "full_load_finished",
        "wait_for: got str 'full_load_finished'; expected one of WaitFor.RUNNING, "
        "WaitFor.FULL_LOAD_FINISHED, WaitFor.NOTHING (or its value: 'running', "
        "'full-load-finished', 'nothing')",
    ),
    (
        "wait_for",
        OnDelete.STOP,
        "wait_for: got OnDelete <OnDelete.STOP: 'stop'>; expected one of WaitFor.RUNNING, "
        "WaitFor.FULL_LOAD_FINISHED, WaitFor.NOTHING",
    ),
    (
        "on_delete",
        True,
        "on_delete: got bool True; expected one of OnDelete.STOP, OnDelete.LEAVE_RUNNING "
        "(or its value: 'stop', 'leave-running')",
    ),
    (
        "start_type",
        "resume",
        "start_type: got str 'resume'; expected one of StartType.RESUME_PROCESSING, "
        "StartType.RELOAD_TARGET (or its value: 'resume-processing', 'reload-target')",
    ),
    (
        "timeout",
        30,
        "timeout: got int 30; expected an aws_cdk.Duration (e.g. Duration.minutes(30)) or None",
    ),
    (
        "poll_interval",
        10.0,
        "poll_interval: got float 10.0; expected an aws_cdk.Duration (e.g. Duration.minutes(30)) "
        "or None",
    ),
    (
        "powertools_layer",
        "AWSLambdaPowertoolsPythonV3-python313-arm64",
        "powertools_layer: got str 'AWSLambdaPowertoolsPythonV3-python313-arm64'; expected an "
        "aws_lambda.ILayerVersion (e.g. LayerVersion.from_layer_version_arn(...)) or None",
    ),
    ("cdc_handover", "false", "cdc_handover: got str 'false'; expected True or False"),
    (
        "premigration_assessment",
        "fail",
        "premigration_assessment: got str 'fail'; expected a PremigrationAssessment (e.g. "
        "PremigrationAssessment()) or None",
    ),
]

TASK_ONLY: list[tuple[str, object, str]] = [
    ("test_connections", "yes", "test_connections: got str 'yes'; expected True or False"),
    (
        "task",
        42,
        "task: got int 42; expected a CfnReplicationTask or a task ARN (str)",
    ),
    (
        "guard_task_updates",
        "yes",
        "guard_task_updates: got str 'yes'; expected True or False or None",
    ),
    (
        "replication_instance",
        123,
        "replication_instance: got int 123; expected a CfnReplicationInstance or its identifier "
        "(str) or None",
    ),
]

CONFIG_ONLY: list[tuple[str, object, str]] = [
    (
        "replication_config",
        None,
        "replication_config: got NoneType None; expected a CfnReplicationConfig or a replication "
        "config ARN (str)",
    ),
    ("replace_on_change", 0, "replace_on_change: got int 0; expected True or False"),
]


def _raised(build: Any) -> BaseException:
    with pytest.raises((TypeError, ValueError)) as caught:
        build(Stack(App(), "Types"))
    return caught.value


def _assert_one_clear_line(error: BaseException, expected: str) -> None:
    message = str(error)
    assert message.startswith(expected), message
    assert "\n" not in message
    # No chained traceback: nothing caused it, and the context is suppressed.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


@pytest.mark.parametrize(("prop", "value", "expected"), COMMON + TASK_ONLY)
def test_task_starter_names_the_wrong_type(prop: str, value: object, expected: str) -> None:
    kwargs: dict[str, Any] = {"task": TASK_ARN, prop: value}
    error = _raised(lambda stack: ReplicationTaskStarter(stack, "Start", **kwargs))
    _assert_one_clear_line(error, expected)


@pytest.mark.parametrize(("prop", "value", "expected"), COMMON + CONFIG_ONLY)
def test_replication_starter_names_the_wrong_type(prop: str, value: object, expected: str) -> None:
    kwargs: dict[str, Any] = {"replication_config": CONFIG_ARN, prop: value}
    error = _raised(lambda stack: ReplicationStarter(stack, "Start", **kwargs))
    _assert_one_clear_line(error, expected)


def test_a_wrong_type_creates_nothing() -> None:
    stack = Stack(App(), "Types")
    with pytest.raises(TypeError):
        ReplicationTaskStarter(stack, "Start", task=TASK_ARN, poll_interval=10)  # type: ignore[arg-type]
    assert stack.node.children == []


@pytest.mark.parametrize(
    ("factory", "value", "expected"),
    [
        (
            CdcStart.at_time,
            "2026-01-01T00:00:00Z",
            "cdc_start: got str '2026-01-01T00:00:00Z'; expected a timezone-aware datetime",
        ),
        (CdcStart.at_position, 24, "cdc_start: got int 24; expected a string"),
        (CdcStart.at_checkpoint, None, "cdc_start: got NoneType None; expected a string"),
        (
            CdcStop.at_server_time,
            "2030-01-01",
            "cdc_stop: got str '2030-01-01'; expected a timezone-aware datetime",
        ),
        (CdcStop.at_position, b"server_time", "cdc_stop: got bytes b'server_time'"),
    ],
)
def test_cdc_factories_name_the_wrong_type(factory: Any, value: object, expected: str) -> None:
    with pytest.raises(TypeError) as caught:
        factory(value)
    _assert_one_clear_line(caught.value, expected)


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("wait_for", "full-load-finished"),
        ("on_delete", "leave-running"),
        ("start_type", "reload-target"),
    ],
)
def test_enum_values_as_strings_are_accepted(prop: str, value: str) -> None:
    stack = Stack(App(), "Types")
    task = make_task(stack, "Task", resource_identifier="orders")
    kwargs: dict[str, Any] = {prop: value}
    ReplicationTaskStarter(stack, "Start", task=task, **kwargs)


def test_out_of_range_values_have_no_chained_traceback() -> None:
    for build in (
        lambda stack: ReplicationTaskStarter(
            stack, "Start", task=TASK_ARN, timeout=Duration.hours(2)
        ),
        lambda stack: ReplicationTaskStarter(
            stack, "Start", task=TASK_ARN, cdc_start=CdcStart.at_position("")
        ),
    ):
        error = _raised(build)
        assert isinstance(error, ValueError)
        _assert_one_clear_line(error, str(error).split(":")[0] + ":")


def test_members_are_accepted() -> None:
    stack = Stack(App(), "Types")
    ReplicationTaskStarter(
        stack,
        "Start",
        task=make_task(stack, "Task", resource_identifier="orders"),
        start_type=StartType.RELOAD_TARGET,
        wait_for=WaitFor.NOTHING,
        on_delete=OnDelete.LEAVE_RUNNING,
        cdc_handover=False,
        guard_task_updates=True,
        replication_instance=dms.CfnReplicationInstance(
            stack,
            "Instance",
            replication_instance_class="dms.t3.medium",
            replication_instance_identifier="orders-instance",
        ),
    )
