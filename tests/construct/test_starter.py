"""Starter properties: rendered as the handler parses them; literals checked at synth time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final

import pytest
from aws_cdk import App, CfnElement, CfnParameter, Duration, Stack
from aws_cdk.assertions import Template
from dms_task_starter import (
    CdcStart,
    CdcStop,
    OnDelete,
    ReplicationTaskStarter,
    StartType,
    WaitFor,
)
from dms_task_starter_runtime import settings
from dms_task_starter_runtime.contract import Kind, MigrationType

from tests.support.cdk import (
    ACCOUNT_ARN,
    STARTER_TYPE,
    TASK_ARN,
    Synthesized,
    make_task,
)

if TYPE_CHECKING:
    from collections.abc import Callable

UPDATE_GUARD_ID: Final = re.compile(r"UpdateGuard[0-9A-F]{8}$")
"""Logical ids of update guards: a starter of a guarded task refers to its guard."""
DEFAULT_TIMEOUT_SECONDS: Final = 1800


def _starter_props(synth: Synthesized, logical_prefix: str) -> dict[str, Any]:
    _, resource = synth.only(STARTER_TYPE, logical_prefix)
    props = dict(resource["Properties"])
    props.pop("ServiceToken")
    return props


def _deployed(props: dict[str, Any], **refs: str) -> dict[str, Any]:
    """``props`` as CloudFormation hands them to the handler: ``Ref``s resolved by ``refs``."""

    def value(raw: Any) -> Any:
        if isinstance(raw, dict):
            (ref,) = raw.values()
            if ref not in refs and UPDATE_GUARD_ID.search(ref):
                return "update-guard-physical-id"  # the guard's id, opaque to the starter
            return refs[ref]
        return raw

    return {key: value(raw) for key, raw in props.items()}


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
        for migration_type in MigrationType:
            name = "".join(part.title() for part in migration_type.value.split("-"))
            task = make_task(
                stack,
                f"{name}Task",
                migration_type=migration_type.value,
                resource_identifier=f"{migration_type.value}-task",
            )
            ReplicationTaskStarter(stack, f"{name}Starter", task=task)
        unguarded = make_task(stack, "UnguardedTask", migration_type="cdc")
        ReplicationTaskStarter(stack, "UnguardedStarter", task=unguarded, guard_task_updates=False)
        token_type = CfnParameter(stack, "MigrationType", type="String").value_as_string
        token_task = make_task(stack, "TokenTypeTask", migration_type=token_type)
        ReplicationTaskStarter(
            stack,
            "TokenTypeStarter",
            task=token_task,
            wait_for=WaitFor.FULL_LOAD_FINISHED,
            guard_task_updates=False,
        )

    return make_synth(build)


# --- what reaches the resource ---------------------------------------------------------


def test_all_properties_reach_the_resource(configured: Synthesized) -> None:
    assert _starter_props(configured, "Everything") == {
        "ReplicationTaskArn": TASK_ARN,
        "TagResource": "true",
        "StartReplicationTaskType": "reload-target",
        "CdcStartTime": "2024-01-31T12:00:05Z",
        "CdcStopPosition": "commit_time:2024-02-01T00:00:00",
        "WaitFor": "full-load-finished",
        "OnDelete": "leave-running",
        "TimeoutSeconds": "2700",
        "CdcHandover": "false",
    }


def test_defaults_and_no_optional_properties(configured: Synthesized) -> None:
    assert _starter_props(configured, "Defaults") == {
        "ReplicationTaskArn": f"{ACCOUNT_ARN}:task:DEFAULTS",
        "TagResource": "true",
        "StartReplicationTaskType": "resume-processing",
        "WaitFor": "running",
        "OnDelete": "stop",
        "TimeoutSeconds": str(DEFAULT_TIMEOUT_SECONDS),
        "CdcHandover": "true",
    }


def test_checkpoint_and_server_time(configured: Synthesized) -> None:
    props = _starter_props(configured, "Checkpoint")
    assert props["CdcStartPosition"] == "checkpoint:V1#27#mysql-bin-changelog.157832:1975"
    assert props["CdcStopPosition"] == "server_time:2030-01-01T12:00:00"
    assert "CdcStartTime" not in props


def test_tokens_pass_through(configured: Synthesized) -> None:
    props = _starter_props(configured, "Tokens")
    assert props["ReplicationTaskArn"] == {"Ref": "TaskArn"}
    assert props["CdcStartPosition"] == {"Ref": "Position"}
    assert props["CdcStopPosition"] == {"Ref": "Stop"}
    assert props["TagResource"] == "true"
    assert "MigrationType" not in props


@pytest.mark.parametrize("migration_type", [t.value for t in MigrationType])
def test_a_template_task_passes_its_ref_and_migration_type(
    configured: Synthesized, migration_type: str
) -> None:
    name = "".join(part.title() for part in migration_type.split("-"))
    props = _starter_props(configured, f"{name}Starter")
    assert props["ReplicationTaskArn"] == {"Ref": f"{name}Task"}
    assert props["MigrationType"] == migration_type
    assert "TagResource" not in props  # granted by the stack's tag, nothing to tag
    assert len(props["TaskDefinitionDigest"]) == 64


def test_an_unguarded_template_task_has_no_digest(configured: Synthesized) -> None:
    props = _starter_props(configured, "UnguardedStarter")
    assert props["MigrationType"] == "cdc"
    assert "TaskDefinitionDigest" not in props
    assert "TagResource" not in props


def test_a_token_migration_type_passes_through_unchecked(configured: Synthesized) -> None:
    # full-load-finished would be impossible for a cdc task: the handler decides at deploy time.
    props = _starter_props(configured, "TokenTypeStarter")
    assert props["MigrationType"] == {"Ref": "MigrationType"}
    assert props["WaitFor"] == "full-load-finished"


def test_rendered_values_parse_with_the_handler_settings(configured: Synthesized) -> None:
    for prefix in ("Everything", "Defaults", "Checkpoint"):
        parsed = settings.parse_starter_settings(_starter_props(configured, prefix))
        assert parsed.arn.startswith(ACCOUNT_ARN)
        assert parsed.tag_resource is True
        assert parsed.migration_type is None
    everything = settings.parse_starter_settings(_starter_props(configured, "Everything"))
    assert everything.start_type is StartType.RELOAD_TARGET
    assert everything.cdc_start_time == datetime(2024, 1, 31, 12, 0, 5, tzinfo=UTC)
    assert everything.cdc_stop_position == "commit_time:2024-02-01T00:00:00"
    assert everything.wait_for is WaitFor.FULL_LOAD_FINISHED
    assert everything.on_delete is OnDelete.LEAVE_RUNNING
    assert everything.timeout_seconds == 2700
    assert everything.cdc_handover is False
    for migration_type in MigrationType:
        name = "".join(part.title() for part in migration_type.value.split("-"))
        props = _starter_props(configured, f"{name}Starter")
        arn = f"{ACCOUNT_ARN}:task:{migration_type.value}-task"
        parsed = settings.parse_starter_settings(_deployed(props, **{f"{name}Task": arn}))
        assert parsed.arn == arn
        assert parsed.migration_type is migration_type
        assert parsed.tag_resource is False
        assert parsed.task_definition_digest == props["TaskDefinitionDigest"]


def test_attributes_are_get_atts() -> None:
    stack = Stack()
    starter = ReplicationTaskStarter(stack, "A", task=TASK_ARN)
    expected = {
        "status": "Status",
        "cdc_start_position": "CdcStartPosition",
        "recovery_checkpoint": "RecoveryCheckpoint",
        "start_date": "ReplicationTaskStartDate",
        "stop_reason": "StopReason",
        "task_arn": "ReplicationTaskArn",
    }
    resource = starter.resource.node.default_child
    assert isinstance(resource, CfnElement)
    logical_id = stack.resolve(stack.get_logical_id(resource))
    for name, attr in expected.items():
        assert stack.resolve(getattr(starter, name)) == {"Fn::GetAtt": [logical_id, attr]}


# --- combinations that can never succeed ------------------------------------------------

SETTINGS: Final[dict[str, dict[str, Any]]] = {
    "defaults": {},
    "wait_for_full_load": {"wait_for": WaitFor.FULL_LOAD_FINISHED},
    "wait_for_nothing": {"wait_for": WaitFor.NOTHING},
    "reload_target": {"start_type": StartType.RELOAD_TARGET},
    "cdc_start_position": {"cdc_start": CdcStart.at_position("0/5120E10")},
    "cdc_start_time": {"cdc_start": CdcStart.at_time(datetime(2024, 1, 31, tzinfo=UTC))},
    "cdc_start_checkpoint": {"cdc_start": CdcStart.at_checkpoint("checkpoint:V1#1#x:1")},
    "cdc_stop": {"cdc_stop": CdcStop.at_server_time(datetime(2030, 1, 1, tzinfo=UTC))},
    "cdc_start_and_stop": {
        "cdc_start": CdcStart.at_position("0/5120E10"),
        "cdc_stop": CdcStop.at_commit_time(datetime(2030, 1, 1, tzinfo=UTC)),
    },
    "cdc_stop_wait_for_full_load": {
        "cdc_stop": CdcStop.at_server_time(datetime(2030, 1, 1, tzinfo=UTC)),
        "wait_for": WaitFor.FULL_LOAD_FINISHED,
    },
}
IMPOSSIBLE: Final = {
    # (migration type, settings): the message's start (construct parameter, then property)
    ("cdc", "wait_for_full_load"): "wait_for: WaitFor: ",
    ("cdc", "reload_target"): "start_type: StartReplicationTaskType: ",
    ("cdc", "cdc_stop_wait_for_full_load"): "wait_for: WaitFor: ",
    ("full-load", "cdc_start_position"): "cdc_start: CdcStartPosition: ",
    ("full-load", "cdc_start_time"): "cdc_start: CdcStartTime: ",
    ("full-load", "cdc_start_checkpoint"): "cdc_start: CdcStartPosition: ",
    ("full-load", "cdc_stop"): "cdc_stop: CdcStopPosition: ",
    ("full-load", "cdc_start_and_stop"): "cdc_start: CdcStartPosition: ",
    ("full-load", "cdc_stop_wait_for_full_load"): "cdc_stop: CdcStopPosition: ",
}
COMBINATIONS: Final = [(m.value, s) for m in MigrationType for s in SETTINGS]


def _starter_of(migration_type: str, options: dict[str, Any]) -> dict[str, Any]:
    """Synthesize one starter of a task with ``migration_type``; its rendered properties."""
    stack = Stack(App(), "Combination")
    task = make_task(stack, "Task", migration_type=migration_type, resource_identifier="task")
    ReplicationTaskStarter(stack, "Starter", task=task, **options)
    ((_, starter),) = Template.from_stack(stack).find_resources(STARTER_TYPE).items()
    props = dict(starter["Properties"])
    props.pop("ServiceToken")
    return props


@pytest.mark.parametrize(("migration_type", "setting"), COMBINATIONS)
def test_impossible_combinations_are_refused_at_synth_time(
    migration_type: str, setting: str
) -> None:
    options = SETTINGS[setting]
    expected = IMPOSSIBLE.get((migration_type, setting))
    if expected is not None:
        with pytest.raises(ValueError, match=rf"^{re.escape(expected)}a {migration_type} task "):
            _starter_of(migration_type, options)
        return
    props = _starter_of(migration_type, options)
    assert props["MigrationType"] == migration_type
    parsed = settings.parse_starter_settings(_deployed(props, Task=f"{ACCOUNT_ARN}:task:task"))
    assert parsed.migration_type == migration_type


@pytest.fixture(scope="module")
def token_typed_starters() -> dict[str, dict[str, Any]]:
    """One starter per setting, of a task whose migration type is a parameter."""
    stack = Stack(App(), "TokenTyped")
    migration_type = CfnParameter(stack, "MigrationType").value_as_string
    for index, (setting, options) in enumerate(SETTINGS.items()):
        task = make_task(stack, f"Task{index}", migration_type=migration_type)
        ReplicationTaskStarter(
            stack, f"S{setting.replace('_', '')}", task=task, guard_task_updates=False, **options
        )
    template = Template.from_stack(stack)
    rendered: dict[str, dict[str, Any]] = {}
    for index, setting in enumerate(SETTINGS):
        (starter,) = (
            s
            for s in template.find_resources(STARTER_TYPE).values()
            if s["Properties"]["ReplicationTaskArn"] == {"Ref": f"Task{index}"}
        )
        props = dict(starter["Properties"])
        props.pop("ServiceToken")
        rendered[setting] = props
    return rendered


@pytest.mark.parametrize(("migration_type", "setting"), COMBINATIONS)
def test_the_handler_refuses_exactly_what_synthesis_refuses(
    token_typed_starters: dict[str, dict[str, Any]], migration_type: str, setting: str
) -> None:
    """With the migration type a token, synthesis cannot check: the handler refuses the same
    combinations, naming the same property, before any DMS call."""
    props = _deployed(
        token_typed_starters[setting],
        MigrationType=migration_type,
        **{f"Task{i}": f"{ACCOUNT_ARN}:task:T{i}" for i in range(len(SETTINGS))},
    )
    expected = IMPOSSIBLE.get((migration_type, setting))
    if expected is None:
        settings.parse_starter_settings(props, Kind.TASK)
        return
    with pytest.raises(settings.InvalidSettingError) as raised:
        settings.parse_starter_settings(props, Kind.TASK)
    _, prop = expected.rstrip(": ").split(": ")
    assert raised.value.prop == prop


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_a_task_given_by_arn_is_checked_at_deploy_time_only(setting: str) -> None:
    # Its migration type is unknown at synth time: every combination synthesizes.
    ReplicationTaskStarter(Stack(), "A", task=TASK_ARN, **SETTINGS[setting])


# --- validation of literal values at synth time -----------------------------------------


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:s3:::bucket",
        f"{ACCOUNT_ARN}:endpoint:SOURCE",
        f"{ACCOUNT_ARN}:replication-config:CONFIG",
        "arn:aws:dms:eu-west-1:12345:task:SHORTACCOUNT",
        "",
    ],
)
def test_bad_task_arn(arn: str) -> None:
    with pytest.raises(ValueError, match=r"^task: ReplicationTaskArn: not a DMS replication task"):
        ReplicationTaskStarter(Stack(), "A", task=arn)


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
    with pytest.raises(ValueError, match=r"^cdc_stop: .*no time zone"):
        CdcStop.at_commit_time(datetime(2024, 1, 1))


def test_aware_datetimes_are_rendered_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert CdcStart.at_time(datetime(2024, 1, 1, 2, 0, tzinfo=plus_two)).value == (
        "2024-01-01T00:00:00Z"
    )
    assert CdcStop.at_server_time(datetime(2024, 1, 1, 2, 0, tzinfo=plus_two)).value == (
        "server_time:2024-01-01T00:00:00"
    )


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
        Duration.seconds(59),
        Duration.seconds(50 * 60 + 1),
        Duration.hours(2),
        Duration.millis(90_500),
    ],
)
def test_timeout_out_of_range(timeout: Duration) -> None:
    with pytest.raises(ValueError, match=r"^timeout: "):
        ReplicationTaskStarter(Stack(), "A", task=TASK_ARN, timeout=timeout)


@pytest.mark.parametrize("timeout", [Duration.seconds(60), Duration.minutes(50)])
def test_timeout_bounds_are_accepted(timeout: Duration) -> None:
    ReplicationTaskStarter(Stack(), "A", task=TASK_ARN, timeout=timeout)


def test_start_time_and_position_together_are_impossible_by_type() -> None:
    # One CdcStart value carries either a time or a position, never both.
    assert CdcStart.at_time(datetime(2024, 1, 1, tzinfo=UTC)).prop == "CdcStartTime"
    assert CdcStart.at_position("0/1").prop == "CdcStartPosition"
    assert CdcStart.at_checkpoint("checkpoint:V1#1#x:1").prop == "CdcStartPosition"
