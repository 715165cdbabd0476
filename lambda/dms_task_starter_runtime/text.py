"""Text limits: CloudFormation shows one failure reason and keeps responses below 4096 bytes."""

from __future__ import annotations

from typing import Final

MAX_FAILURE_MESSAGE_CHARS: Final = 1000
"""A failure CloudFormation shows stays one readable paragraph."""
MAX_DMS_MESSAGE_CHARS: Final = 600
"""The part of a failure that quotes DMS."""
MAX_ATTRIBUTE_VALUE_CHARS: Final = 400
"""Caps every returned attribute: the whole response must stay below 4096 bytes."""


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in "..." when it was cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
