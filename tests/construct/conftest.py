"""Session-scoped synthesized apps (synthesis is the slow part)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.cdk import Synthesized, build_mixed, synthesize

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_cdk import Stack


@pytest.fixture(scope="session")
def make_synth(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., Synthesized]:
    def factory(build: Callable[[Stack], object], *, nag: bool = False) -> Synthesized:
        return synthesize(build, tmp_path_factory.mktemp("cdk.out"), nag=nag)

    return factory


@pytest.fixture(scope="session")
def mixed(make_synth: Callable[..., Synthesized]) -> Synthesized:
    """The mixed stack (see ``build_mixed``), synthesized once with the AwsSolutions checks."""
    return make_synth(build_mixed, nag=True)
