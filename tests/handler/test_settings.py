"""The property parsers: accepted forms, and error texts that name the property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from dms_task_starter_runtime.contract import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    OnDelete,
    StartType,
    WaitFor,
)
from dms_task_starter_runtime.settings import (
    DeleteSettings,
    GuardSettings,
    InvalidSettingError,
    StarterSettings,
    parse_boolean,
    parse_cdc_start_position,
    parse_cdc_start_time,
    parse_cdc_stop_position,
    parse_delete_settings,
    parse_guard_settings,
    parse_on_delete,
    parse_start_type,
    parse_starter_settings,
    parse_task_arn,
    parse_timeout_seconds,
    parse_wait_for,
)

ARN = "arn:aws:dms:eu-west-1:123456789012:task:ABCDEFGHIJ-123"


@pytest.mark.parametrize(
    "value",
    [
        ARN,
        "arn:aws-cn:dms:cn-north-1:123456789012:task:x",
        "arn:aws-us-gov:dms:us-gov-west-1:123456789012:task:X1",
        "arn:aws-iso:dms:us-iso-east-1:123456789012:task:T",
        "arn:aws-iso-b:dms:us-isob-east-1:123456789012:task:T",
    ],
)
def test_task_arn_accepts_task_arns_of_every_partition(value: str) -> None:
    assert parse_task_arn(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "task-id",
        "arn:aws:dms:eu-west-1:123456789012:endpoint:ABC",
        "arn:aws:dms:eu-west-1:12345678901:task:ABC",
        "arn:aws:rds:eu-west-1:123456789012:task:ABC",
        "arn:aws:dms:eu-west-1:123456789012:task:AB_C",
        "arn:aws:dms:eu-west-1:123456789012:task:",
        "arn:other:dms:eu-west-1:123456789012:task:ABC",
        f" {ARN}",
    ],
)
def test_task_arn_rejects_other_strings(value: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_task_arn(value)
    assert caught.value.prop == "ReplicationTaskArn"
    assert str(caught.value) == (
        f"ReplicationTaskArn: not a DMS replication task ARN (got '{value}'). "
        "Accepted: arn:<partition>:dms:<region>:<12-digit account>:task:<id>, "
        "e.g. arn:aws:dms:eu-west-1:123456789012:task:ABCDEFGHIJKLMNOP."
    )


def test_error_shows_at_most_100_characters_of_the_value() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_task_arn("x" * 500)
    assert f"(got '{'x' * 100}')" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("resume-processing", StartType.RESUME_PROCESSING),
        ("reload-target", StartType.RELOAD_TARGET),
    ],
)
def test_start_type_accepts_types_for_a_task_that_ran(value: str, expected: StartType) -> None:
    assert parse_start_type(value) is expected


@pytest.mark.parametrize("value", ["start-replication", "Resume-Processing", "reload", ""])
def test_start_type_rejects_others(value: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_start_type(value)
    assert str(caught.value) == (
        f"StartReplicationTaskType: unknown value (got '{value}'). "
        "Accepted: resume-processing or reload-target "
        "(a task that never ran always gets start-replication)."
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-31T12:00:00", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31T12:00:00Z", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31T12:00:00.250Z", datetime(2024, 1, 31, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2024-01-31T14:00:00+02:00", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("1706702400", datetime(2024, 1, 31, 12, tzinfo=UTC)),
    ],
)
def test_cdc_start_time_is_utc(value: str, expected: datetime) -> None:
    parsed = parse_cdc_start_time(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_cdc_start_time_converts_offsets_to_utc() -> None:
    parsed = parse_cdc_start_time("2024-01-31T06:00:00-06:00")
    assert parsed.tzinfo is UTC
    assert parsed == datetime(2024, 1, 31, 12, tzinfo=timezone(timedelta(0)))


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2024-13-01T00:00:00",
        "-5",
        "1.5",
        "9" * 40,
        "9" * 5000,
        "0001-01-01T00:00+01:00",
    ],
)
def test_cdc_start_time_rejects_others(value: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_cdc_start_time(value)
    assert caught.value.prop == "CdcStartTime"
    assert str(caught.value).startswith(f"CdcStartTime: not a date and time (got '{value[:100]}')")
    assert "2024-01-31T12:00:00" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "2018-03-08T12:12:12",
        "checkpoint:V1#27#mysql-bin-changelog.157832:1975:-1:2002:677883278264080:"
        "mysql-bin-changelog.157832:1876#0#0#*#0#93",
        "mysql-bin-changelog.000024:373",
        "0/5120E10",
        "1" * 1024,
    ],
)
def test_cdc_start_position_accepts_every_engine_format(value: str) -> None:
    assert parse_cdc_start_position(value) == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "empty"),
        (" 0/5120E10", "has leading or trailing whitespace"),
        ("0/5120E10\n", "has leading or trailing whitespace"),
        ("1" * 1025, "longer than 1024 characters"),
    ],
)
def test_cdc_start_position_rejects(value: str, problem: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_cdc_start_position(value)
    message = str(caught.value)
    assert message.startswith(f"CdcStartPosition: {problem} (got '{value[:100]}'). Accepted: ")
    for form in ("2018-03-08T12:12:12", "checkpoint:V1#", "mysql-bin-changelog.000024:373"):
        assert form in message


@pytest.mark.parametrize(
    "value", ["server_time:2018-02-09T12:12:12", "commit_time:2018-02-09T12:12:12"]
)
def test_cdc_stop_position_accepts_server_and_commit_time(value: str) -> None:
    assert parse_cdc_stop_position(value) == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2018-02-09T12:12:12", "not a server_time or commit_time position"),
        ("server_time:", "not a server_time or commit_time position"),
        ("client_time:2018-02-09T12:12:12", "not a server_time or commit_time position"),
        ("server_time:2018-02-09 12:12:12", "not a server_time or commit_time position"),
        ("commit_time:2018-02-30T12:12:12", "the date and time does not exist"),
        ("server_time:2018-02-09T25:00:00", "the date and time does not exist"),
    ],
)
def test_cdc_stop_position_rejects(value: str, problem: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_cdc_stop_position(value)
    assert str(caught.value) == (
        f"CdcStopPosition: {problem} (got '{value}'). Accepted: "
        "server_time:<YYYY-MM-DDThh:mm:ss> or commit_time:<YYYY-MM-DDThh:mm:ss>, "
        "e.g. server_time:2018-02-09T12:12:12."
    )


@pytest.mark.parametrize("wait_for", list(WaitFor))
def test_wait_for_accepts_each_value(wait_for: WaitFor) -> None:
    assert parse_wait_for(wait_for.value) is wait_for


@pytest.mark.parametrize("on_delete", list(OnDelete))
def test_on_delete_accepts_each_value(on_delete: OnDelete) -> None:
    assert parse_on_delete(on_delete.value) is on_delete


@pytest.mark.parametrize(
    ("parse", "prop", "accepted"),
    [
        (parse_wait_for, "WaitFor", "running or full-load-finished or nothing"),
        (parse_on_delete, "OnDelete", "stop or leave-running"),
    ],
)
def test_enum_settings_reject_unknown_values(parse: object, prop: str, accepted: str) -> None:
    assert callable(parse)
    with pytest.raises(InvalidSettingError) as caught:
        parse("sometimes")
    assert str(caught.value) == f"{prop}: unknown value (got 'sometimes'). Accepted: {accepted}."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", 60),
        (MIN_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS),
        (str(MAX_TIMEOUT_SECONDS), MAX_TIMEOUT_SECONDS),
        (900, 900),
    ],
)
def test_timeout_seconds_accepts_strings_and_ints_in_range(value: str | int, expected: int) -> None:
    assert parse_timeout_seconds(value) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("59", "out of range"),
        (MAX_TIMEOUT_SECONDS + 1, "out of range"),
        ("3601", "out of range"),
        ("9" * 5000, "out of range"),
        ("1e3", "not a whole number"),
        ("-60", "not a whole number"),
        ("sixty", "not a whole number"),
        (True, "not a whole number"),
    ],
)
def test_timeout_seconds_rejects(value: str | int, problem: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_timeout_seconds(value)
    assert str(caught.value) == (
        f"TimeoutSeconds: {problem} (got '{str(value)[:100]}'). "
        "Accepted: whole seconds from 60 to 3000."
    )


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("TRUE", True), ("False", False), ("false", False)]
)
def test_boolean_ignores_case(value: str, expected: bool) -> None:
    assert parse_boolean(value) is expected


def test_boolean_rejects_other_words() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_boolean("yes")
    assert str(caught.value) == (
        "CdcHandover: not a boolean (got 'yes'). Accepted: true or false (any case)."
    )


def test_starter_settings_defaults() -> None:
    assert parse_starter_settings({"ServiceToken": "x", "ReplicationTaskArn": ARN}) == (
        StarterSettings(
            task_arn=ARN,
            start_type=StartType.RESUME_PROCESSING,
            wait_for=WaitFor.RUNNING,
            on_delete=OnDelete.STOP,
            timeout_seconds=DEFAULT_TIMEOUT_SECONDS,
            cdc_handover=True,
        )
    )


def test_starter_settings_every_property() -> None:
    settings = parse_starter_settings(
        {
            "ReplicationTaskArn": ARN,
            "StartReplicationTaskType": "reload-target",
            "CdcStartPosition": "0/5120E10",
            "CdcStopPosition": "server_time:2018-02-09T12:12:12",
            "WaitFor": "full-load-finished",
            "OnDelete": "leave-running",
            "TimeoutSeconds": "120",
            "CdcHandover": "false",
            "TaskDefinitionDigest": "sha256:abc",
        }
    )
    assert settings == StarterSettings(
        task_arn=ARN,
        start_type=StartType.RELOAD_TARGET,
        cdc_start_position="0/5120E10",
        cdc_stop_position="server_time:2018-02-09T12:12:12",
        wait_for=WaitFor.FULL_LOAD_FINISHED,
        on_delete=OnDelete.LEAVE_RUNNING,
        timeout_seconds=120,
        cdc_handover=False,
        task_definition_digest="sha256:abc",
    )
    assert settings.has_cdc_start


def test_starter_settings_treat_empty_strings_as_not_set() -> None:
    settings = parse_starter_settings(
        {"ReplicationTaskArn": ARN, "CdcStartTime": "", "CdcStartPosition": "", "WaitFor": ""}
    )
    assert settings == StarterSettings(task_arn=ARN)
    assert not settings.has_cdc_start


def test_starter_settings_accept_int_timeout() -> None:
    assert parse_starter_settings({"ReplicationTaskArn": ARN, "TimeoutSeconds": 300}) == (
        StarterSettings(task_arn=ARN, timeout_seconds=300)
    )


@pytest.mark.parametrize("props", [{}, {"ReplicationTaskArn": ""}])
def test_starter_settings_require_the_task_arn(props: dict[str, object]) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_starter_settings(props)
    assert caught.value.prop == "ReplicationTaskArn"
    assert str(caught.value).startswith(
        "ReplicationTaskArn: missing; the property is required (got ''). Accepted: arn:"
    )


def test_starter_settings_reject_start_time_with_start_position() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_starter_settings(
            {
                "ReplicationTaskArn": ARN,
                "CdcStartTime": "2024-01-31T12:00:00",
                "CdcStartPosition": "0/5120E10",
            }
        )
    assert caught.value.prop == "CdcStartTime and CdcStartPosition"
    assert str(caught.value) == (
        "CdcStartTime and CdcStartPosition: both are set, DMS accepts only one "
        "(got 'CdcStartTime=2024-01-31T12:00:00, CdcStartPosition=0/5120E10'). "
        "Accepted: either CdcStartTime or CdcStartPosition, not both."
    )


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("StartReplicationTaskType", "start-replication"),
        ("CdcStartTime", "soon"),
        ("CdcStopPosition", "later"),
        ("WaitFor", "ever"),
        ("OnDelete", "explode"),
        ("TimeoutSeconds", "7200"),
        ("CdcHandover", "maybe"),
        ("CdcStartPosition", " x"),
    ],
)
def test_starter_settings_name_the_bad_property(prop: str, value: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_starter_settings({"ReplicationTaskArn": ARN, prop: value})
    assert caught.value.prop == prop
    assert str(caught.value).startswith(f"{prop}: ")


@pytest.mark.parametrize("prop", ["CdcStartPosition", "TimeoutSeconds"])
def test_starter_settings_reject_non_string_values(prop: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        parse_starter_settings({"ReplicationTaskArn": ARN, prop: ["a"]})
    assert caught.value.prop == prop


def test_guard_settings() -> None:
    assert parse_guard_settings({"ReplicationTaskArn": ARN, "TaskDefinitionDigest": "d1"}) == (
        GuardSettings(task_arn=ARN, task_definition_digest="d1")
    )
    with pytest.raises(InvalidSettingError, match=r"^ReplicationTaskArn: missing"):
        parse_guard_settings({"TaskDefinitionDigest": "d1"})


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({}, DeleteSettings(OnDelete.STOP, DEFAULT_TIMEOUT_SECONDS)),
        (
            {"OnDelete": "leave-running", "TimeoutSeconds": "90"},
            DeleteSettings(OnDelete.LEAVE_RUNNING, 90),
        ),
        (
            {"OnDelete": "bogus", "TimeoutSeconds": "x"},
            DeleteSettings(OnDelete.STOP, DEFAULT_TIMEOUT_SECONDS),
        ),
        ({"ReplicationTaskArn": "not an arn", "CdcStartTime": "nope"}, DeleteSettings()),
    ],
)
def test_delete_settings_never_fail(props: dict[str, object], expected: DeleteSettings) -> None:
    assert parse_delete_settings(props) == expected
