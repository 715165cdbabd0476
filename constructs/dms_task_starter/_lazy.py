"""Strings computed at synthesis, once every construct of the app is in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jsii
from aws_cdk import IStableStringProducer, Lazy

if TYPE_CHECKING:
    from collections.abc import Callable


@jsii.implements(IStableStringProducer)
class _Producer:
    def __init__(self, produce: Callable[[], str | None]) -> None:
        self._produce = produce

    def produce(self) -> str | None:
        return self._produce()


def lazy_string(produce: Callable[[], str | None]) -> str:
    """A token that resolves to ``produce()``, called when the template is rendered
    (a property whose ``produce()`` is None is left out)."""
    return Lazy.string(_Producer(produce))
