"""Parse and validate the resource properties into typed settings.

CloudFormation hands every property to the handler as a string. The construct calls
the same parsers at synth time for values that are not tokens, so a mistake reads
the same in ``cdk synth`` as in the CloudFormation console.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Final, TypeVar

from dms_task_starter_runtime.contract import (
    BOOLEAN_FALSE,
    BOOLEAN_TRUE,
    DEFAULT_TIMEOUT_SECONDS,
    FIRST_RUN_START_TYPE,
    MAX_LONG_WAIT_SECONDS,
    MAX_TIMEOUT_SECONDS,
    MIN_LONG_WAIT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    TASK_CREATE_ONLY_PROPS,
    Kind,
    MigrationType,
    OnAssessmentFailure,
    OnDelete,
    Prop,
    StartType,
    WaitFor,
)
from dms_task_starter_runtime.text import truncate

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

MAX_SHOWN_VALUE_CHARS: Final = 100
MAX_CDC_POSITION_CHARS: Final = 1024
MAX_TIMEOUT_DIGITS: Final = 12

_DMS_ARN_PREFIX: Final = (
    r"arn:(?:aws|aws-cn|aws-us-gov|aws-iso(?:-[a-z])?|aws-eusc):dms:"
    r"[a-z]{2,4}(?:-[a-z]+)+-\d+:\d{12}:"
)
TASK_ARN_PATTERN: Final = re.compile(_DMS_ARN_PREFIX + r"task:[A-Za-z0-9-]+")
CONFIG_ARN_PATTERN: Final = re.compile(_DMS_ARN_PREFIX + r"replication-config:[A-Za-z0-9-]+")
EPOCH_SECONDS_PATTERN: Final = re.compile(r"\d+")
CDC_STOP_POSITION_PATTERN: Final = re.compile(
    r"(server_time|commit_time):(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})"
)

TASK_ARN_FORMS: Final = "arn:<partition>:dms:<region>:<12-digit account>:task:<id>, e.g. " + (
    "arn:aws:dms:eu-west-1:123456789012:task:ABCDEFGHIJKLMNOP"
)
CONFIG_ARN_FORMS: Final = (
    "arn:<partition>:dms:<region>:<12-digit account>:replication-config:<id>, e.g. "
    "arn:aws:dms:eu-west-1:123456789012:replication-config:ABCDEFGHIJKLMNOP"
)
CDC_START_TIME_FORMS: Final = (
    "an ISO 8601 date and time such as 2024-01-31T12:00:00 (optional fraction, Z or +hh:mm; "
    "without an offset it is UTC) or Unix epoch seconds such as 1706702400"
)
CDC_START_POSITION_FORMS: Final = (
    "an ISO date such as 2018-03-08T12:12:12, a checkpoint such as checkpoint:V1#27#..., "
    "or a native LSN/SCN such as mysql-bin-changelog.000024:373 or 0/5120E10 "
    f"(at most {MAX_CDC_POSITION_CHARS} characters, no surrounding whitespace)"
)
CDC_STOP_POSITION_FORMS: Final = (
    "server_time:<YYYY-MM-DDThh:mm:ss> or commit_time:<YYYY-MM-DDThh:mm:ss>, "
    "e.g. server_time:2018-02-09T12:12:12"
)
TIMEOUT_SECONDS_FORMS: Final = f"whole seconds from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS}"
BOOLEAN_FORMS: Final = f"{BOOLEAN_TRUE} or {BOOLEAN_FALSE} (any case)"

EnumT = TypeVar("EnumT", bound=Enum)
ValueT = TypeVar("ValueT")


class InvalidSettingError(ValueError):
    """A resource property has a value the starter cannot use.

    The message names the property, says what is wrong, shows the value (truncated)
    and lists the accepted forms, because CloudFormation shows nothing else.
    """

    def __init__(self, prop: str, problem: str, value: object, accepted: str) -> None:
        self.prop = prop
        shown = truncate(str(value), MAX_SHOWN_VALUE_CHARS)
        super().__init__(f"{prop}: {problem} (got '{shown}'). Accepted: {accepted}.")


def _enum_forms(enum_type: type[Enum]) -> str:
    return " or ".join(str(member.value) for member in enum_type)


START_TYPE_FORMS: Final = (
    f"{_enum_forms(StartType)} (a task that never ran always gets {FIRST_RUN_START_TYPE})"
)


def _parse_enum(prop: str, value: str, enum_type: type[EnumT], forms: str = "") -> EnumT:
    for member in enum_type:
        if member.value == value:
            return member
    raise InvalidSettingError(prop, "unknown value", value, forms or _enum_forms(enum_type))


def parse_arn(kind: Kind, value: str) -> str:
    """Return ``value`` if it is the ARN of a DMS replication task (or replication config)."""
    pattern, forms = (
        (TASK_ARN_PATTERN, TASK_ARN_FORMS)
        if kind is Kind.TASK
        else (CONFIG_ARN_PATTERN, CONFIG_ARN_FORMS)
    )
    if not pattern.fullmatch(value):
        problem = (
            f"not a DMS {'replication task' if kind is Kind.TASK else 'replication config'} ARN"
        )
        raise InvalidSettingError(kind.arn_prop, problem, value, forms)
    return value


def parse_task_arn(value: str) -> str:
    """Return ``value`` if it is the ARN of a DMS replication task."""
    return parse_arn(Kind.TASK, value)


def parse_config_arn(value: str) -> str:
    """Return ``value`` if it is the ARN of a DMS Serverless replication configuration."""
    return parse_arn(Kind.REPLICATION, value)


def parse_start_type(value: str, prop: str = Prop.START_TYPE) -> StartType:
    """Return the start type for a task that ran before (a first run is start-replication)."""
    return _parse_enum(prop, value, StartType, START_TYPE_FORMS)


def parse_migration_type(value: str) -> MigrationType:
    """Return the migration type the template gives the task."""
    return _parse_enum(Prop.MIGRATION_TYPE, value, MigrationType)


def parse_wait_for(value: str) -> WaitFor:
    """Return what the resource waits for before it reports success."""
    return _parse_enum(Prop.WAIT_FOR, value, WaitFor)


def parse_on_delete(value: str) -> OnDelete:
    """Return what happens to the task when the resource is deleted."""
    return _parse_enum(Prop.ON_DELETE, value, OnDelete)


def parse_cdc_start_time(value: str) -> datetime:
    """Return the CDC start time as a timezone-aware UTC datetime."""
    try:
        if EPOCH_SECONDS_PATTERN.fullmatch(value):
            return datetime.fromtimestamp(int(value), UTC)
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidSettingError(
            Prop.CDC_START_TIME, "not a date and time", value, CDC_START_TIME_FORMS
        ) from None


def parse_cdc_start_position(value: str) -> str:
    """Return the CDC start position; its format depends on the source engine."""
    if not value:
        problem = "empty"
    elif value != value.strip():
        problem = "has leading or trailing whitespace"
    elif len(value) > MAX_CDC_POSITION_CHARS:
        problem = f"longer than {MAX_CDC_POSITION_CHARS} characters"
    else:
        return value
    raise InvalidSettingError(Prop.CDC_START_POSITION, problem, value, CDC_START_POSITION_FORMS)


def parse_cdc_stop_position(value: str) -> str:
    """Return the CDC stop position if it is a server_time or commit_time position."""
    cdc_stop_time(value)
    return value


def cdc_stop_time(value: str) -> datetime:
    """The time a ``server_time:`` or ``commit_time:`` position names, in UTC."""
    match = CDC_STOP_POSITION_PATTERN.fullmatch(value)
    problem = "not a server_time or commit_time position"
    if match:
        try:
            return datetime.fromisoformat(match.group(2)).replace(tzinfo=UTC)
        except ValueError:
            problem = "the date and time does not exist"
    raise InvalidSettingError(Prop.CDC_STOP_POSITION, problem, value, CDC_STOP_POSITION_FORMS)


def parse_timeout_seconds(value: str | int) -> int:
    """Return the wait limit in seconds; CloudFormation may deliver it as a string."""
    if isinstance(value, bool) or not (
        isinstance(value, int) or EPOCH_SECONDS_PATTERN.fullmatch(value)
    ):
        raise InvalidSettingError(
            Prop.TIMEOUT_SECONDS, "not a whole number", value, TIMEOUT_SECONDS_FORMS
        )
    # A whole number too long to be in range is not converted: int() refuses 4300+ digits.
    seconds = int(value) if len(str(value)) <= MAX_TIMEOUT_DIGITS else MAX_TIMEOUT_SECONDS + 1
    if not MIN_TIMEOUT_SECONDS <= seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidSettingError(
            Prop.TIMEOUT_SECONDS, "out of range", value, TIMEOUT_SECONDS_FORMS
        )
    return seconds


def parse_boolean(value: str, prop: str = Prop.CDC_HANDOVER) -> bool:
    """Return the boolean that CloudFormation rendered as ``true`` or ``false``."""
    lowered = value.lower()
    if lowered == BOOLEAN_TRUE:
        return True
    if lowered == BOOLEAN_FALSE:
        return False
    raise InvalidSettingError(prop, "not a boolean", value, BOOLEAN_FORMS)


ASSESSMENT_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
ASSESSMENT_NAMES_FORMS: Final = (
    "comma-separated names of individual assessments, e.g. "
    "all-check-source-data-types,mysql-check-binlog-format"
)
ROLE_ARN_PATTERN: Final = re.compile(r"arn:[a-z-]+:iam::\d{12}:role/[\w+=,.@/-]+")
ROLE_ARN_FORMS: Final = "an IAM role ARN, e.g. arn:aws:iam::123456789012:role/dms-assessments"
BUCKET_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
BUCKET_FORMS: Final = "an S3 bucket name (3 to 63 lowercase letters, digits, dots, hyphens)"
FOLDER_PATTERN: Final = re.compile(r"[^/\s](?:[^\s]*[^/\s])?")
FOLDER_FORMS: Final = "a folder such as premigration-assessments (no leading or trailing /)"


@dataclass(frozen=True)
class AssessmentSettings:
    """A premigration assessment before the first start (``Assessment*`` properties)."""

    on_failure: OnAssessmentFailure = OnAssessmentFailure.FAIL
    role_arn: str = ""
    """Task: ``ServiceAccessRoleArn`` ("" for a Serverless replication)."""
    bucket: str = ""
    """Task: ``ResultLocationBucket`` ("" for a Serverless replication: DMS's own)."""
    folder: str = ""
    include_only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class StarterSettings:
    """The validated properties of a starter resource (task or Serverless replication)."""

    arn: str
    kind: Kind = Kind.TASK
    start_type: StartType | None = None
    """None: resume-processing, or reload-target where resume does not apply."""
    cdc_start_time: datetime | None = None
    cdc_start_position: str | None = None
    cdc_stop_position: str | None = None
    wait_for: WaitFor = WaitFor.RUNNING
    on_delete: OnDelete = OnDelete.STOP
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    cdc_handover: bool = True
    task_definition_digest: str | None = None
    migration_type: MigrationType | None = None
    tag_resource: bool = False
    test_connections: bool = False
    """Test the endpoints' connections before a task's first start."""
    assessment: AssessmentSettings | None = None
    """Run a premigration assessment before the first start."""
    update_guard: str | None = None
    """The update guard's physical id: it names the run the guard stopped, if any."""
    base_config_identifier: str | None = None

    @property
    def has_cdc_start(self) -> bool:
        """Whether the user chose where CDC starts."""
        return self.cdc_start_time is not None or self.cdc_start_position is not None

    def restart_type(self, migration_type: str) -> StartType:
        """The start type of a task that ran before: the configured one, or the default."""
        if self.start_type is not None:
            return self.start_type
        if self.kind is Kind.REPLICATION and migration_type == MigrationType.FULL_LOAD:
            return StartType.RELOAD_TARGET
        return StartType.RESUME_PROCESSING


def impossible_setting(
    settings: StarterSettings, migration_type: str
) -> InvalidSettingError | None:
    """A setting that can never succeed with a task of ``migration_type``, or None.

    The construct asks this at synth time for literal values, the handler before any DMS
    call when the template gives the migration type, and before any start otherwise.
    """
    noun = "task" if settings.kind is Kind.TASK else "replication"
    subject = f"a {migration_type} {noun}"
    if migration_type == MigrationType.CDC:
        if settings.wait_for is WaitFor.FULL_LOAD_FINISHED:
            return InvalidSettingError(
                Prop.WAIT_FOR,
                f"{subject} has no full load, so the wait could only time out",
                settings.wait_for.value,
                f"{WaitFor.RUNNING.value} or {WaitFor.NOTHING.value} for {subject}",
            )
        if settings.start_type is StartType.RELOAD_TARGET:
            return InvalidSettingError(
                settings.kind.start_type_prop,
                f"{subject} has no tables to reload",
                settings.start_type.value,
                f"{StartType.RESUME_PROCESSING.value} for {subject}",
            )
    if migration_type == MigrationType.FULL_LOAD:
        named = _cdc_setting(settings)
        if named is not None:
            prop, value = named
            return InvalidSettingError(
                prop,
                f"{subject} captures no changes, so a CDC position has no effect",
                value,
                f"no CDC start or stop for {subject}; use migration type "
                f"{MigrationType.CDC.value} or {MigrationType.FULL_LOAD_AND_CDC.value}",
            )
        if settings.kind is Kind.REPLICATION and settings.start_type is StartType.RESUME_PROCESSING:
            return InvalidSettingError(
                Prop.REPLICATION_START_TYPE,
                f"DMS cannot resume {subject}: partially loaded tables are not resumed",
                settings.start_type.value,
                f"{StartType.RELOAD_TARGET.value} for {subject}",
            )
    return None


def _cdc_setting(settings: StarterSettings) -> tuple[str, object] | None:
    """The first CDC setting there is, as (property, value)."""
    named = (
        (Prop.CDC_START_TIME, settings.cdc_start_time),
        (Prop.CDC_START_POSITION, settings.cdc_start_position),
        (Prop.CDC_STOP_POSITION, settings.cdc_stop_position),
    )
    return next(((prop, value) for prop, value in named if value is not None), None)


@dataclass(frozen=True)
class GuardSettings:
    """The validated properties of a ``Custom::DmsReplicationTaskUpdateGuard`` resource.

    It guards a task, or (``ReplicationConfigArn``) the replication of a configuration
    whose endpoints are in the stack: ``task_arn`` is then the configuration's ARN.
    """

    task_arn: str
    task_definition_digest: str | None = None
    kind: Kind = Kind.TASK
    create_only: Mapping[str, str] = field(default_factory=dict)
    """The task's create-only properties (``TASK_CREATE_ONLY_PROPS``) the guard was given."""


@dataclass(frozen=True)
class RollbackGuardSettings:
    """The validated properties of the per-stack rollback guard: task identifier -> digest,
    and replication config identifier -> digest."""

    guarded_tasks: Mapping[str, str]
    guarded_replications: Mapping[str, str] = field(default_factory=dict)


def _raw_string(props: Mapping[str, object], prop: str) -> str | None:
    """Return the property as a string, or None when it is absent or empty."""
    value = props.get(prop)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidSettingError(prop, "not a string", value, "a string")
    return value


def _optional(
    props: Mapping[str, object], prop: str, parse: Callable[[str], ValueT]
) -> ValueT | None:
    raw = _raw_string(props, prop)
    return None if raw is None else parse(raw)


def _required_arn(props: Mapping[str, object], kind: Kind) -> str:
    arn = _optional(props, kind.arn_prop, partial(parse_arn, kind))
    if arn is None:
        forms = TASK_ARN_FORMS if kind is Kind.TASK else CONFIG_ARN_FORMS
        raise InvalidSettingError(kind.arn_prop, "missing; the property is required", "", forms)
    return arn


def _timeout_seconds(props: Mapping[str, object]) -> int:
    raw = props.get(Prop.TIMEOUT_SECONDS)
    if raw is None or raw == "":
        return DEFAULT_TIMEOUT_SECONDS
    if isinstance(raw, str | int):
        return parse_timeout_seconds(raw)
    raise InvalidSettingError(
        Prop.TIMEOUT_SECONDS, "not a whole number", raw, TIMEOUT_SECONDS_FORMS
    )


def parse_starter_settings(props: Mapping[str, object], kind: Kind = Kind.TASK) -> StarterSettings:
    """Validate the properties of a starter resource; unknown keys (ServiceToken) are ignored.

    A combination that can never succeed with the migration type the template gives
    (``MigrationType``) is refused here, before any DMS call.
    """
    arn = _required_arn(props, kind)
    cdc_start_time = _optional(props, Prop.CDC_START_TIME, parse_cdc_start_time)
    cdc_start_position = _optional(props, Prop.CDC_START_POSITION, parse_cdc_start_position)
    if cdc_start_time is not None and cdc_start_position is not None:
        both = f"{Prop.CDC_START_TIME} and {Prop.CDC_START_POSITION}"
        raise InvalidSettingError(
            both,
            "both are set, DMS accepts only one",
            f"{Prop.CDC_START_TIME}={props[Prop.CDC_START_TIME]}, "
            f"{Prop.CDC_START_POSITION}={props[Prop.CDC_START_POSITION]}",
            f"either {Prop.CDC_START_TIME} or {Prop.CDC_START_POSITION}, not both",
        )
    cdc_handover = _optional(props, Prop.CDC_HANDOVER, parse_boolean)
    settings = StarterSettings(
        arn=arn,
        kind=kind,
        start_type=_optional(
            props, kind.start_type_prop, partial(parse_start_type, prop=kind.start_type_prop)
        ),
        cdc_start_time=cdc_start_time,
        cdc_start_position=cdc_start_position,
        cdc_stop_position=_optional(props, Prop.CDC_STOP_POSITION, parse_cdc_stop_position),
        wait_for=_optional(props, Prop.WAIT_FOR, parse_wait_for) or WaitFor.RUNNING,
        on_delete=_optional(props, Prop.ON_DELETE, parse_on_delete) or OnDelete.STOP,
        timeout_seconds=_timeout_seconds(props),
        cdc_handover=True if cdc_handover is None else cdc_handover,
        task_definition_digest=_raw_string(props, Prop.TASK_DEFINITION_DIGEST),
        migration_type=_optional(props, Prop.MIGRATION_TYPE, parse_migration_type),
        tag_resource=bool(
            _optional(props, Prop.TAG_RESOURCE, partial(parse_boolean, prop=Prop.TAG_RESOURCE))
        ),
        test_connections=bool(
            _optional(
                props, Prop.TEST_CONNECTIONS, partial(parse_boolean, prop=Prop.TEST_CONNECTIONS)
            )
        ),
        assessment=parse_assessment(props, kind),
        update_guard=_raw_string(props, Prop.UPDATE_GUARD),
        base_config_identifier=_raw_string(props, Prop.BASE_CONFIG_IDENTIFIER),
    )
    if settings.migration_type is not None:
        impossible = impossible_setting(settings, settings.migration_type)
        if impossible is not None:
            raise impossible
    return settings


def parse_assessment(props: Mapping[str, object], kind: Kind) -> AssessmentSettings | None:
    """The premigration assessment of a starter; None without ``AssessmentOnFailure``.

    A task's needs the results' role and bucket; a Serverless replication's has neither
    (DMS Serverless keeps the results in a bucket it manages).
    """
    on_failure = _optional(
        props,
        Prop.ASSESSMENT_ON_FAILURE,
        lambda value: _parse_enum(Prop.ASSESSMENT_ON_FAILURE, value, OnAssessmentFailure),
    )
    if on_failure is None:
        return None
    include_only = parse_assessment_names(props, Prop.ASSESSMENT_INCLUDE_ONLY)
    exclude = parse_assessment_names(props, Prop.ASSESSMENT_EXCLUDE)
    if include_only and exclude:
        both = f"{Prop.ASSESSMENT_INCLUDE_ONLY} and {Prop.ASSESSMENT_EXCLUDE}"
        raise InvalidSettingError(
            both, "both are set, DMS accepts only one", ",".join(include_only), "one of them"
        )
    role_arn = _raw_string(props, Prop.ASSESSMENT_ROLE_ARN) or ""
    bucket = _raw_string(props, Prop.ASSESSMENT_BUCKET) or ""
    if kind is Kind.TASK:
        _check_pattern(Prop.ASSESSMENT_ROLE_ARN, role_arn, ROLE_ARN_PATTERN, ROLE_ARN_FORMS)
        _check_pattern(Prop.ASSESSMENT_BUCKET, bucket, BUCKET_PATTERN, BUCKET_FORMS)
    elif role_arn or bucket:
        prop = Prop.ASSESSMENT_ROLE_ARN if role_arn else Prop.ASSESSMENT_BUCKET
        raise InvalidSettingError(
            prop,
            "DMS Serverless keeps assessment results in a bucket it manages",
            role_arn or bucket,
            "no role and no bucket for a Serverless replication",
        )
    folder = _raw_string(props, Prop.ASSESSMENT_FOLDER) or ""
    if folder:
        _check_pattern(Prop.ASSESSMENT_FOLDER, folder, FOLDER_PATTERN, FOLDER_FORMS)
    return AssessmentSettings(on_failure, role_arn, bucket, folder, include_only, exclude)


def parse_assessment_names(props: Mapping[str, object], prop: str) -> tuple[str, ...]:
    """Comma-separated individual assessment names (absent or empty: none)."""
    raw = _raw_string(props, prop) or ""
    names = tuple(name.strip() for name in raw.split(",")) if raw else ()
    for name in names:
        _check_pattern(prop, name, ASSESSMENT_NAME_PATTERN, ASSESSMENT_NAMES_FORMS)
    return names


def _check_pattern(prop: str, value: str, pattern: re.Pattern[str], forms: str) -> None:
    if not pattern.fullmatch(value):
        problem = "missing" if not value else "malformed"
        raise InvalidSettingError(prop, problem, value, forms)


def parse_guard_settings(props: Mapping[str, object]) -> GuardSettings:
    """Validate the properties of an update guard resource (of a task, or a configuration)."""
    kind = Kind.REPLICATION if _raw_string(props, Prop.CONFIG_ARN) else Kind.TASK
    create_only = {prop: _raw_string(props, prop) for prop in TASK_CREATE_ONLY_PROPS}
    return GuardSettings(
        task_arn=_required_arn(props, kind),
        task_definition_digest=_raw_string(props, Prop.TASK_DEFINITION_DIGEST),
        kind=kind,
        create_only={prop: value for prop, value in create_only.items() if value is not None},
    )


def arn_kind(arn: str, default: Kind = Kind.TASK) -> Kind:
    """What an ARN names: a replication configuration, or (by default) a task."""
    return Kind.REPLICATION if CONFIG_ARN_PATTERN.fullmatch(arn) else default


GUARDED_TASKS_FORMS: Final = (
    'a JSON object of task resource identifier to definition digest, e.g. {"orders-cdc": "ab12"}'
)
RESOURCE_IDENTIFIER_PATTERN: Final = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-))*(?<!-)")
MAX_RESOURCE_IDENTIFIER_CHARS: Final = 31


def resource_identifier_problem(identifier: str) -> str:
    """Why DMS would refuse ``identifier`` as a ResourceIdentifier ("" when it would not)."""
    if len(identifier) > MAX_RESOURCE_IDENTIFIER_CHARS:
        return f"is longer than {MAX_RESOURCE_IDENTIFIER_CHARS} characters"
    if not RESOURCE_IDENTIFIER_PATTERN.fullmatch(identifier):
        return (
            "is not a DMS resource identifier: a letter, then ASCII letters, digits and "
            "hyphens, no two hyphens in a row and none at the end"
        )
    return ""


STACK_ID_PATTERN: Final = re.compile(r"arn:([^:]+):cloudformation:([^:]+):(\d{12}):stack/.+")


def parse_rollback_guard_settings(props: Mapping[str, object]) -> RollbackGuardSettings:
    """Validate the properties of the rollback guard (rendered by the construct as JSON)."""
    return RollbackGuardSettings(
        guarded_tasks=_identifier_digests(props, Prop.GUARDED_TASKS),
        guarded_replications=_identifier_digests(props, Prop.GUARDED_REPLICATIONS),
    )


def _identifier_digests(props: Mapping[str, object], prop: str) -> dict[str, str]:
    raw = _raw_string(props, prop) or "{}"
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict) or not all(
        isinstance(key, str)
        and RESOURCE_IDENTIFIER_PATTERN.fullmatch(key)
        and isinstance(value, str)
        for key, value in decoded.items()
    ):
        raise InvalidSettingError(
            prop,
            "not a JSON object of identifiers to digests",
            raw,
            GUARDED_TASKS_FORMS,
        )
    return dict(decoded)


def task_arn_in_stack(stack_id: str, resource_identifier: str, resource: str = "task") -> str:
    """The ARN DMS gives a task (or, with ``resource="replication-config"``, a configuration)
    with ``resource_identifier`` in the stack's partition, region and account (the update
    guards name theirs the same way)."""
    match = STACK_ID_PATTERN.fullmatch(stack_id)
    if match is None:
        raise InvalidSettingError(
            "StackId",
            "not a CloudFormation stack id",
            stack_id,
            "arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>",
        )
    partition, region, account = match.groups()
    return f"arn:{partition}:dms:{region}:{account}:{resource}:{resource_identifier}"


@dataclass(frozen=True)
class DeleteSettings:
    """What a Delete needs; read leniently, because a Delete must never fail on a property."""

    arn: str | None
    kind: Kind = Kind.TASK
    on_delete: OnDelete = OnDelete.STOP


def parse_delete_settings(
    props: Mapping[str, object], kind: Kind, physical_id: str
) -> DeleteSettings:
    """The ARN and OnDelete; invalid values fall back to the physical id and the default.

    A starter's physical id is the ARN of the task it first started (see ``decisions``),
    so it names the task when the properties do not.
    """
    try:
        arn: str | None = _required_arn(props, kind)
    except InvalidSettingError:
        candidate = physical_id.partition(PHYSICAL_ID_SEPARATOR)[0]
        pattern = TASK_ARN_PATTERN if kind is Kind.TASK else CONFIG_ARN_PATTERN
        arn = candidate if pattern.fullmatch(candidate) else None
    try:
        on_delete = _optional(props, Prop.ON_DELETE, parse_on_delete) or OnDelete.STOP
    except InvalidSettingError:
        on_delete = OnDelete.STOP
    return DeleteSettings(arn, kind, on_delete)


PHYSICAL_ID_SEPARATOR: Final = "#"
"""Separates the ARN in a physical id from what follows it (``#adopted``, ``#update-guard``)."""


UNTIL_FORMS: Final = f"{WaitFor.RUNNING.value} or {WaitFor.FULL_LOAD_FINISHED.value}"
MAXIMUM_SECONDS_FORMS: Final = (
    f"whole minutes in seconds, from {MIN_LONG_WAIT_SECONDS} to {MAX_LONG_WAIT_SECONDS} "
    "(12 hours), e.g. 21600"
)
LOGICAL_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9]{1,255}")
LOGICAL_ID_FORMS: Final = "the logical id of the wait condition handle (letters and digits)"
ONE_ARN_FORMS: Final = f"exactly one of {Prop.TASK_ARN} or {Prop.CONFIG_ARN}"


@dataclass(frozen=True)
class LongWaitSettings:
    """The validated properties of a ``Custom::DmsLongWait`` resource."""

    arn: str
    kind: Kind
    until: WaitFor
    maximum_seconds: int
    handle: str
    """The logical id of the wait condition handle (its physical id is the URL)."""


def _parse_until(value: str) -> WaitFor:
    until = _parse_enum(Prop.UNTIL, value, WaitFor, UNTIL_FORMS)
    if until is WaitFor.NOTHING:
        raise InvalidSettingError(Prop.UNTIL, "a long wait waits for something", value, UNTIL_FORMS)
    return until


def _parse_maximum_seconds(value: str) -> int:
    if not EPOCH_SECONDS_PATTERN.fullmatch(value) or len(value) > MAX_TIMEOUT_DIGITS:
        raise InvalidSettingError(
            Prop.MAXIMUM_SECONDS, "not a whole number", value, MAXIMUM_SECONDS_FORMS
        )
    seconds = int(value)
    if not (MIN_LONG_WAIT_SECONDS <= seconds <= MAX_LONG_WAIT_SECONDS and seconds % 60 == 0):
        raise InvalidSettingError(
            Prop.MAXIMUM_SECONDS, "out of range", value, MAXIMUM_SECONDS_FORMS
        )
    return seconds


def _parse_logical_id(value: str) -> str:
    if not LOGICAL_ID_PATTERN.fullmatch(value):
        raise InvalidSettingError(Prop.WAIT_HANDLE, "not a logical id", value, LOGICAL_ID_FORMS)
    return value


def _required(
    props: Mapping[str, object], prop: str, parse: Callable[[str], ValueT], forms: str
) -> ValueT:
    value = _optional(props, prop, parse)
    if value is None:
        raise InvalidSettingError(prop, "missing; the property is required", "", forms)
    return value


def parse_long_wait_settings(props: Mapping[str, object]) -> LongWaitSettings:
    """Validate the properties of a ``Custom::DmsLongWait`` resource: the task's (or
    configuration's) ARN, whose property says which it is, and the wait's settings."""
    given = [kind for kind in Kind if _raw_string(props, kind.arn_prop) is not None]
    if len(given) != 1:
        shown = ", ".join(kind.arn_prop for kind in given) or "neither"
        raise InvalidSettingError(Prop.TASK_ARN, "give one ARN", shown, ONE_ARN_FORMS)
    kind = given[0]
    return LongWaitSettings(
        arn=_required_arn(props, kind),
        kind=kind,
        until=_required(props, Prop.UNTIL, _parse_until, UNTIL_FORMS),
        maximum_seconds=_required(
            props, Prop.MAXIMUM_SECONDS, _parse_maximum_seconds, MAXIMUM_SECONDS_FORMS
        ),
        handle=_required(props, Prop.WAIT_HANDLE, _parse_logical_id, LOGICAL_ID_FORMS),
    )
