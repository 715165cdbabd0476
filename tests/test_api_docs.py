"""docs/API.md is what griffe2md writes today from the docstrings of ``dms_task_starter``.

The reference covers every public name (``__all__``) with the members the classes inherit from
the private base, leaves private names out, and every parameter has a description.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Final

import griffe
import pytest

REPO: Final = Path(__file__).resolve().parents[1]
API_MD: Final = REPO / "docs" / "API.md"
GRIFFE2MD: Final = Path(sys.executable).parent / "griffe2md"
REGENERATE: Final = "run `.venv/bin/griffe2md dms_task_starter -o docs/API.md`"
STARTER_ATTRIBUTES: Final = (
    "status",
    "stop_reason",
    "start_date",
    "cdc_start_position",
    "recovery_checkpoint",
    "resource",
    "provider",
)
"""Inherited by both starters from their private base class."""


def config() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as pyproject:
        return dict(tomllib.load(pyproject)["tool"]["griffe2md"])


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    """The package as griffe2md reads it (same search paths and docstring parser)."""
    settings = config()
    loader = griffe.GriffeLoader(
        search_paths=[str(REPO / path) for path in settings["search_paths"]],
        docstring_parser=griffe.Parser(settings["docstring_style"]),
        docstring_options=settings["docstring_options"],
    )
    module = loader.load("dms_task_starter")
    loader.resolve_aliases(external=True)
    assert isinstance(module, griffe.Module)
    return module


def headings() -> list[str]:
    return re.findall(r"^#+ `([^`]+)`$", API_MD.read_text(encoding="utf-8"), re.MULTILINE)


def test_reference_is_current(tmp_path: Path) -> None:
    """What CI checks: regenerating docs/API.md changes nothing."""
    output = tmp_path / "API.md"
    result = subprocess.run(
        [str(GRIFFE2MD), "dms_task_starter", "-o", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert output.read_text(encoding="utf-8") == API_MD.read_text(encoding="utf-8"), (
        f"docs/API.md is stale: {REGENERATE}"
    )


def test_rendered_members_are_the_public_names(package: griffe.Module) -> None:
    assert config()["members"] == list(package.exports or []), (
        "[tool.griffe2md] members must list dms_task_starter.__all__, in its order"
    )
    documented = {name.removeprefix("dms_task_starter.") for name in headings()}
    assert set(package.exports or []) <= documented


@pytest.mark.parametrize("starter", ["ReplicationTaskStarter", "ReplicationStarter"])
def test_inherited_attributes_are_documented(starter: str) -> None:
    documented = set(headings())
    for attribute in STARTER_ATTRIBUTES:
        assert f"dms_task_starter.{starter}.{attribute}" in documented


def test_private_names_are_left_out() -> None:
    text = API_MD.read_text(encoding="utf-8")
    assert [name for name in headings() if re.search(r"(^|\.)_", name)] == []
    assert "StarterBase" not in text
    assert "_base" not in text


def test_no_addresses_or_absolute_paths() -> None:
    text = API_MD.read_text(encoding="utf-8")
    assert not re.search(r"0x[0-9a-f]{6,}", text)
    assert str(REPO) not in text
    assert "site-packages" not in text


def _undocumented(function: griffe.Function, owner: str) -> list[str]:
    documented: set[str] = set()
    for section in function.docstring.parsed if function.docstring else []:
        if section.kind is griffe.DocstringSectionKind.parameters:
            documented |= {parameter.name for parameter in section.value}
    return [
        f"{owner}.{function.name}({parameter.name})"
        for parameter in function.parameters
        if parameter.name not in ("self", "cls") and parameter.name not in documented
    ]


def _target(thing: griffe.Object | griffe.Alias) -> griffe.Object | griffe.Alias:
    return thing.final_target if isinstance(thing, griffe.Alias) else thing


def undocumented_parameters(module: griffe.Module) -> list[str]:
    """``Owner.function(parameter)`` for every parameter of a public name without a description."""
    missing = []
    for name in map(str, module.exports or []):
        target = _target(module[name])
        if isinstance(target, griffe.Function):
            missing += _undocumented(target, name)
        if isinstance(target, griffe.Class):
            for member_name, member in target.all_members.items():
                function = _target(member)
                public = not member_name.startswith("_") or member_name == "__init__"
                if public and isinstance(function, griffe.Function):
                    missing += _undocumented(function, name)
    return missing


def test_every_parameter_has_a_description(package: griffe.Module) -> None:
    missing = undocumented_parameters(package)
    assert missing == [], "add a :param <name>: line to each of these docstrings"


def test_a_parameter_without_description_is_found() -> None:
    sample = griffe.visit(
        "sample",
        Path("sample.py"),
        code=(
            "class Widget:\n"
            "    def __init__(self, name: str, size: int) -> None:\n"
            '        """Make one.\n\n        :param name: The name.\n        """\n'
            "__all__ = ['Widget']\n"
        ),
        docstring_parser=griffe.Parser.sphinx,
    )
    assert undocumented_parameters(sample) == ["Widget.__init__(size)"]
