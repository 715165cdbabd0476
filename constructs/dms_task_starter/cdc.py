"""Where change data capture starts and stops: typed, validated when literal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from aws_cdk import Token
from dms_task_starter_runtime import settings
from dms_task_starter_runtime.contract import Prop
from dms_task_starter_runtime.text import truncate

from dms_task_starter import _checks

if TYPE_CHECKING:
    from collections.abc import Callable

CHECKPOINT_PREFIX: Final = "checkpoint:"


def validated(prop: str, value: str, parse: Callable[[str], object]) -> str:
    """Run the handler's validator on a literal value; tokens are checked at deploy time."""
    _checks.check_type(prop, value, str, "a string (a literal or a token)")
    if not Token.is_unresolved(value):
        try:
            parse(value)
        except settings.InvalidSettingError as error:
            raise ValueError(f"{prop}: {error}") from None
    return value


def _utc(prop: str, value: datetime) -> datetime:
    _checks.check_type(prop, value, datetime, "a timezone-aware datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{prop}: the datetime {value.isoformat()} has no time zone; pass an aware "
            "datetime such as datetime(2024, 1, 31, 12, 0, tzinfo=timezone.utc)"
        )
    return value.astimezone(UTC)


class CdcStart:
    """Where change data capture starts (``CdcStartTime`` or ``CdcStartPosition``).

    DMS accepts a start time or a start position, never both; the two factories make
    that choice explicit.
    """

    def __init__(self, prop: str, value: str) -> None:
        """Use the factories :meth:`at_time`, :meth:`at_position` or :meth:`at_checkpoint`.

        :param prop: The resource property: ``CdcStartTime`` or ``CdcStartPosition``.
        :param value: The value in the form the handler parses.
        """
        self.prop: Final[str] = prop
        """The resource property this value is passed in."""
        self.value: Final[str] = value
        """The value in the form the handler parses."""

    @classmethod
    def at_time(cls, time: datetime) -> CdcStart:
        """Start CDC at ``time`` (timezone-aware; sent as ISO 8601 UTC, whole seconds).

        Not every source engine supports a start time; use :meth:`at_position` then.

        :param time: A timezone-aware ``datetime``.
        """
        rendered = _utc("cdc_start", time).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(
            Prop.CDC_START_TIME, validated("cdc_start", rendered, settings.parse_cdc_start_time)
        )

    @classmethod
    def at_position(cls, position: str) -> CdcStart:
        """Start CDC at a native position (MySQL ``mysql-bin-changelog.000024:373``,
        PostgreSQL LSN ``0/5120E10``, Oracle SCN), a date string ``2018-03-08T12:12:12``
        or a checkpoint. Tokens are passed through and validated at deploy time.

        :param position: The position, as DMS's ``CdcStartPosition`` takes it.
        """
        return cls(
            Prop.CDC_START_POSITION,
            validated("cdc_start", position, settings.parse_cdc_start_position),
        )

    @classmethod
    def at_checkpoint(cls, checkpoint: str) -> CdcStart:
        """Start CDC at a DMS checkpoint, e.g. a task's ``RecoveryCheckpoint``
        (``checkpoint:V1#27#...``). Tokens are passed through.

        :param checkpoint: The checkpoint, starting with ``checkpoint:``.
        """
        value = validated("cdc_start", checkpoint, settings.parse_cdc_start_position)
        if not Token.is_unresolved(value) and not value.startswith(CHECKPOINT_PREFIX):
            raise ValueError(
                f"cdc_start: a checkpoint starts with {CHECKPOINT_PREFIX!r} "
                f"(got {truncate(value, settings.MAX_SHOWN_VALUE_CHARS)!r}); use "
                "CdcStart.at_position for "
                "native positions"
            )
        return cls(Prop.CDC_START_POSITION, value)


class CdcStop:
    """Where change data capture stops (``CdcStopPosition``)."""

    def __init__(self, value: str) -> None:
        """Use the factories :meth:`at_server_time`, :meth:`at_commit_time` or
        :meth:`at_position`.

        :param value: The ``CdcStopPosition`` value.
        """
        self.value: Final[str] = value
        """The ``CdcStopPosition`` value."""

    @classmethod
    def at_server_time(cls, time: datetime) -> CdcStop:
        """Stop CDC when the replication instance's clock reaches ``time`` (aware; UTC).

        :param time: A timezone-aware ``datetime``.
        """
        return cls._at("server_time", time)

    @classmethod
    def at_commit_time(cls, time: datetime) -> CdcStop:
        """Stop CDC at the first transaction committed at or after ``time`` (aware; UTC).

        :param time: A timezone-aware ``datetime``.
        """
        return cls._at("commit_time", time)

    @classmethod
    def at_position(cls, position: str) -> CdcStop:
        """A raw ``server_time:YYYY-MM-DDThh:mm:ss`` or ``commit_time:...`` position.

        Tokens are passed through and validated at deploy time.

        :param position: ``server_time:YYYY-MM-DDThh:mm:ss`` or ``commit_time:YYYY-MM-DDThh:mm:ss``.
        """
        return cls(validated("cdc_stop", position, settings.parse_cdc_stop_position))

    @classmethod
    def _at(cls, kind: str, time: datetime) -> CdcStop:
        rendered = f"{kind}:{_utc('cdc_stop', time).strftime('%Y-%m-%dT%H:%M:%S')}"
        return cls(validated("cdc_stop", rendered, settings.parse_cdc_stop_position))
