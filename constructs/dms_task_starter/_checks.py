"""Type checks of the construct properties at synth time.

A wrong type raises one line that names the property, the type given and the accepted ones,
without the chained traceback of whatever Python would have tripped over later.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, TypeVar

from dms_task_starter_runtime.text import truncate

SHOWN_VALUE_CHARS: Final = 80
"""How much of a wrong value a message repeats."""

EnumT = TypeVar("EnumT", bound=StrEnum)


def _given(value: object) -> str:
    return f"{type(value).__name__} {truncate(repr(value), SHOWN_VALUE_CHARS)}"


def check_type(prop: str, value: object, accepted: type | tuple[type, ...], forms: str) -> None:
    """Raise ``TypeError`` unless ``value`` is one of ``accepted`` (described by ``forms``)."""
    if not isinstance(value, accepted):
        raise TypeError(f"{prop}: got {_given(value)}; expected {forms}") from None


def check_optional(prop: str, value: object, accepted: type | tuple[type, ...], forms: str) -> None:
    """Like :func:`check_type`, with ``None`` accepted too."""
    if value is not None:
        check_type(prop, value, accepted, f"{forms} or None")


def check_bool(prop: str, value: object, *, optional: bool = False) -> None:
    """A flag must be a real ``bool``: a string such as ``"false"`` would count as true."""
    if optional:
        check_optional(prop, value, bool, "True or False")
    else:
        check_type(prop, value, bool, "True or False")


def check_layer(prop: str, value: object) -> None:
    """A Lambda layer (``aws_lambda.ILayerVersion`` is a jsii interface: no isinstance check)."""
    if value is not None and not hasattr(value, "layer_version_arn"):
        raise TypeError(
            f"{prop}: got {_given(value)}; expected an aws_lambda.ILayerVersion (e.g. "
            "LayerVersion.from_layer_version_arn(...)) or None"
        ) from None


def member(prop: str, enum_type: type[EnumT], value: object) -> EnumT:
    """``value`` as a member of ``enum_type``: a member, or a member's value as a string."""
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str) and value in {item.value for item in enum_type}:
        return enum_type(value)
    accepted = ", ".join(f"{enum_type.__name__}.{item.name}" for item in enum_type)
    values = ", ".join(repr(item.value) for item in enum_type)
    error = ValueError if isinstance(value, str) else TypeError
    raise error(
        f"{prop}: got {_given(value)}; expected one of {accepted} (or its value: {values})"
    ) from None
