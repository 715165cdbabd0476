"""Properties reach the resource exactly; literals are validated at synth, tokens pass through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from cdk_support import ACCOUNT_ARN, TASK_ARN, Synthesized, make_task
from dms_task_starter import (
    CdcStart,
    CdcStop,
    OnDelete,
    ReplicationTaskStarter,
    StartType,
    WaitFor,
)
from dms_task_starter_runtime import contract, settings
from dms_task_starter_runtime.contract import Prop

if TYPE_CHECKING:
    from collections.abc import Callable


def _starter_props(synth: Synthesized, logical_prefix: str) -> dict:
    matches = [
        resource["Properties"]
        for name, resource in synth.resources(contract.STARTER_RESOURCE_TYPE).items()
        if name.startswith(logical_prefix)
    ]
    assert len(matches) == 1, matches
    props = dict(matches[0])
    props.pop("ServiceToken")
    return props


@pytest.fixture(scope="module")
def configured(make_synth: Callable[..., Synthesized]) -> Synthesized:
    def build(stack: Stack) -> None:
        ReplicationTaskStarter(
            stack,
            "Everything",
            task=TASK_ARN,
            start_type=StartType.RELOAD_TARGET,
            cdc_start=CdcStart.at_time(
                datetime(2024, 1, 31, 13, 0, 5, 999, tzinfo=timezone(timedelta(hours=1)))
            ),
            cdc_stop=CdcStop.at_commit_time(datetime(2024, 2, 1, 0, 0, tzinfo=UTC)),
            wait_for=WaitFor.FULL_LOAD_FINISHED,
            on_delete=OnDelete.LEAVE_RUNNING,
            timeout=Duration.minutes(45),
            cdc_handover=False,
        )
        ReplicationTaskStarter(stack, "Defaults", task=f"{ACCOUNT_ARN}:task:DEFAULTS")
        ReplicationTaskStarter(
            stack,
            "Checkpoint",
            task=f"{ACCOUNT_ARN}:task:CHECKPOINT",
            cdc_start=CdcStart.at_checkpoint("checkpoint:V1#27#mysql-bin-changelog.157832:1975"),
            cdc_stop=CdcStop.at_server_time(datetime(2030, 1, 1, 12, 0, tzinfo=UTC)),
        )
        arn = CfnParameter(stack, "TaskArn", type="String").value_as_string
        position = CfnParameter(stack, "Position", type="String").value_as_string
        stop = CfnParameter(stack, "Stop", type="String").value_as_string
        ReplicationTaskStarter(
            stack,
            "Tokens",
            task=arn,
            cdc_start=CdcStart.at_position(position),
            cdc_stop=CdcStop.at_position(stop),
        )

    return make_synth(build)


def test_all_properties_reach_the_resource(configured: Synthesized) -> None:
    assert _starter_props(configured, "Everything") == {
        Prop.TASK_ARN: TASK_ARN,
        Prop.START_TYPE: "reload-target",
        Prop.CDC_START_TIME: "2024-01-31T12:00:05Z",
        Prop.CDC_STOP_POSITION: "commit_time:2024-02-01T00:00:00",
        Prop.WAIT_FOR: "full-load-finished",
        Prop.ON_DELETE: "leave-running",
        Prop.TIMEOUT_SECONDS: "2700",
        Prop.CDC_HANDOVER: "false",
    }


def test_defaults_and_no_optional_properties(configured: Synthesized) -> None:
    assert _starter_props(configured, "Defaults") == {
        Prop.TASK_ARN: f"{ACCOUNT_ARN}:task:DEFAULTS",
        Prop.START_TYPE: "resume-processing",
        Prop.WAIT_FOR: "running",
        Prop.ON_DELETE: "stop",
        Prop.TIMEOUT_SECONDS: str(contract.DEFAULT_TIMEOUT_SECONDS),
        Prop.CDC_HANDOVER: "true",
    }


def test_checkpoint_and_server_time(configured: Synthesized) -> None:
    props = _starter_props(configured, "Checkpoint")
    assert props[Prop.CDC_START_POSITION] == "checkpoint:V1#27#mysql-bin-changelog.157832:1975"
    assert props[Prop.CDC_STOP_POSITION] == "server_time:2030-01-01T12:00:00"
    assert Prop.CDC_START_TIME not in props


def test_tokens_pass_through(configured: Synthesized) -> None:
    props = _starter_props(configured, "Tokens")
    assert props[Prop.TASK_ARN] == {"Ref": "TaskArn"}
    assert props[Prop.CDC_START_POSITION] == {"Ref": "Position"}
    assert props[Prop.CDC_STOP_POSITION] == {"Ref": "Stop"}


def test_rendered_values_parse_with_the_handler_settings(configured: Synthesized) -> None:
    for prefix in ("Everything", "Defaults", "Checkpoint"):
        parsed = settings.parse_starter_settings(_starter_props(configured, prefix))
        assert parsed.task_arn.startswith(ACCOUNT_ARN)
    everything = settings.parse_starter_settings(_starter_props(configured, "Everything"))
    assert everything.cdc_start_time == datetime(2024, 1, 31, 12, 0, 5, tzinfo=UTC)
    assert everything.timeout_seconds == 2700
    assert everything.cdc_handover is False


def test_attributes_are_get_atts() -> None:
    stack = Stack()
    starter = ReplicationTaskStarter(stack, "A", task=TASK_ARN)
    expected = {
        "status": contract.Attr.STATUS,
        "cdc_start_position": contract.Attr.CDC_START_POSITION,
        "recovery_checkpoint": contract.Attr.RECOVERY_CHECKPOINT,
        "start_date": contract.Attr.START_DATE,
        "stop_reason": contract.Attr.STOP_REASON,
        "task_arn": contract.Attr.TASK_ARN,
    }
    logical_id = stack.resolve(stack.get_logical_id(starter.resource.node.default_child))
    for name, attr in expected.items():
        assert stack.resolve(getattr(starter, name)) == {"Fn::GetAtt": [logical_id, attr]}


def test_task_ref_is_the_arn() -> None:
    stack = Stack()
    task = make_task(stack, "Task")
    starter = ReplicationTaskStarter(stack, "A", task=task, guard_task_updates=False)
    resolved = stack.resolve(starter.resource.node.default_child._cfn_properties)  # type: ignore[union-attr]
    assert resolved[Prop.TASK_ARN] == {"Ref": "Task"}


# --- validation of literal values at synth time ---------------------------------------


def test_bad_task_arn() -> None:
    with pytest.raises(ValueError, match=r"^task: ReplicationTaskArn: not a DMS replication"):
        ReplicationTaskStarter(Stack(), "A", task="arn:aws:s3:::bucket")


@pytest.mark.parametrize(
    "position", ["", " 0/5120E10", "x" * (settings.MAX_CDC_POSITION_CHARS + 1)]
)
def test_bad_cdc_start_position(position: str) -> None:
    with pytest.raises(ValueError, match=r"^cdc_start: CdcStartPosition: "):
        CdcStart.at_position(position)


def test_checkpoint_must_look_like_one() -> None:
    with pytest.raises(ValueError, match=r"^cdc_start: a checkpoint starts with"):
        CdcStart.at_checkpoint("0/5120E10")


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"^cdc_start: .*no time zone"):
        CdcStart.at_time(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match=r"^cdc_stop: .*no time zone"):
        CdcStop.at_server_time(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    "position",
    [
        "2024-01-01T00:00:00",
        "server_time:2024-02-30T00:00:00",
        "commit_time:2024-01-01 00:00:00",
        "local_time:2024-01-01T00:00:00",
    ],
)
def test_bad_cdc_stop_position(position: str) -> None:
    with pytest.raises(ValueError, match=r"^cdc_stop: CdcStopPosition: "):
        CdcStop.at_position(position)


@pytest.mark.parametrize(
    "timeout",
    [
        Duration.seconds(contract.MIN_TIMEOUT_SECONDS - 1),
        Duration.seconds(contract.MAX_TIMEOUT_SECONDS + 1),
        Duration.hours(2),
        Duration.millis(90_500),
    ],
)
def test_timeout_out_of_range(timeout: Duration) -> None:
    with pytest.raises(ValueError, match=r"^timeout: "):
        ReplicationTaskStarter(Stack(), "A", task=TASK_ARN, timeout=timeout)


@pytest.mark.parametrize(
    "timeout",
    [Duration.seconds(contract.MIN_TIMEOUT_SECONDS), Duration.minutes(50)],
)
def test_timeout_bounds_are_accepted(timeout: Duration) -> None:
    ReplicationTaskStarter(Stack(), "A", task=TASK_ARN, timeout=timeout)


def test_start_time_and_position_together_are_impossible_by_type() -> None:
    # One CdcStart value carries either a time or a position, never both.
    start = CdcStart.at_time(datetime(2024, 1, 1, tzinfo=UTC))
    assert start.prop == Prop.CDC_START_TIME
    assert CdcStart.at_position("0/1").prop == Prop.CDC_START_POSITION
