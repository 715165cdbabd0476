"""docs/API.md is generated from the docstrings of dms_task_starter.__all__ and kept current."""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import dms_task_starter
import pytest

if TYPE_CHECKING:
    import types
    from collections.abc import Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "api_docs.py"
API_MD = REPO_ROOT / "docs" / "API.md"


def _load_script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("api_docs_under_test", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


api_docs = _load_script()


def test_check_passes_on_the_committed_file() -> None:
    """What CI runs: the committed docs/API.md is what the generator writes today."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "docs/API.md is up to date." in result.stdout


def test_generated_text_equals_the_file() -> None:
    assert api_docs.render(dms_task_starter) == API_MD.read_text(encoding="utf-8")


def test_every_exported_name_is_a_heading() -> None:
    headings = re.findall(r"^## `([^`]+)`$", API_MD.read_text(encoding="utf-8"), re.MULTILINE)
    assert sorted(headings) == sorted(dms_task_starter.__all__)


def test_no_addresses_or_absolute_paths() -> None:
    text = API_MD.read_text(encoding="utf-8")
    assert not re.search(r"0x[0-9a-f]{6,}", text)
    assert str(REPO_ROOT) not in text
    assert "site-packages" not in text


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() puts the source folders first on sys.path: undo it after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_check_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "API.md"
    stale.write_text(API_MD.read_text(encoding="utf-8").replace("## `CdcStop`", "## `CdcStopp`"))
    assert api_docs.main(["--check", "--output", str(stale)]) == 1
    err = capsys.readouterr().err
    assert "is stale" in err
    assert "Run `python scripts/api_docs.py`" in err
    assert "-## `CdcStopp`" in err
    assert "+## `CdcStop`" in err


def test_check_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert api_docs.main(["--check", "--output", str(tmp_path / "none.md")]) == 1
    assert "is missing" in capsys.readouterr().err


def test_write_then_check(tmp_path: Path) -> None:
    output = tmp_path / "docs" / "API.md"
    assert api_docs.main(["--output", str(output)]) == 0
    assert api_docs.main(["--check", "--output", str(output)]) == 0


SAMPLE = '''
"""A sample package for the generator."""

from __future__ import annotations

import enum
import functools
from typing import Final

LIMIT: Final = 5
"""How many widgets at most."""

DEFAULT_SHAPE: Final = object()


class Colour(enum.Enum):
    """Colours."""

    RED = "red"
    """Warm."""
    BLUE = "blue"

    def describe(self) -> str:
        """Describe the colour."""
        return self.value


class Widget:
    """A widget."""

    KIND: Final = "w"
    """The kind."""

    def __init__(
        self, name: str, *, size: int = 3, colour: Colour = Colour.RED, **extra: object
    ) -> None:
        """Make a widget.

        :param name: The name.
        :param size: The size,
            in centimetres.
        """
        self.name: Final = name
        """Its name."""
        self._hidden = 1
        if size > 1:
            self.big: bool = True
            """Whether it is big."""

    @classmethod
    def of(cls, value: dict[str, list[int]] | None = None) -> Widget:
        """Build one from ``value``."""
        return cls("x")

    @staticmethod
    def helper() -> int:
        """Help with :class:`Widget`."""
        return 1

    @property
    def area(self) -> float:
        """The area."""
        return 1.0

    @functools.cached_property
    def label(self) -> str:
        """A cached label."""
        return "label"

    def paint(self, colour: Colour, /) -> None:
        """Paint it.

        :param colour: The new colour.
        :raises ValueError: When it is already that colour.
        """

    def _private(self) -> None:
        """Not documented."""


def make(widget: Widget, /, count: int = 1, *rest: Widget) -> list[Widget]:
    """Make widgets.

    :param widget: The template.
    :returns: The widgets.
    """
    return []


__all__ = ["DEFAULT_SHAPE", "LIMIT", "Colour", "Widget", "make"]
'''


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[str]:
    package = tmp_path / "sample_api_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(SAMPLE))
    sys.path.insert(0, str(tmp_path))
    try:
        yield api_docs.render(importlib.import_module("sample_api_pkg"))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("sample_api_pkg", None)


def test_generator_handles_new_kinds_of_members(sample: str, tmp_path: Path) -> None:
    headings = re.findall(r"^## `([^`]+)`$", sample, re.MULTILINE)
    assert headings == ["Widget", "Colour", "make", "DEFAULT_SHAPE", "LIMIT"]
    # Constructor: keyword-only parameters, defaults and types as written, :param: text.
    assert "| `size` | keyword-only | `int` | `3` | The size, in centimetres. |" in sample
    assert "| `colour` | keyword-only | `Colour` | `Colour.RED` | — |" in sample
    assert "| `extra` | **kwargs | `object` | — | — |" in sample
    assert "    **extra: object," in sample or "**extra: object)" in sample
    # Attributes from __init__ (nested too), sorted, with their docstrings; private ones hidden.
    assert "| `Widget.big` | `bool` | Whether it is big. |" in sample
    assert "| `Widget.name` | `str` | Its name. |" in sample
    assert "_hidden" not in sample
    assert "_private" not in sample
    # Class constants, class/static methods, properties (cached ones too), methods.
    assert "| `Widget.KIND` | `'w'` | The kind. |" in sample
    assert "#### `Widget.of` (class method)" in sample
    assert "Widget.of(value: dict[str, list[int]] | None = None) -> Widget" in sample
    assert "Build one from `value`." in sample
    assert "#### `Widget.helper` (static method)" in sample
    assert "Help with `Widget`." in sample
    assert "#### `Widget.area` (property)\n\nType: `float`\n\nThe area." in sample
    assert "#### `Widget.label` (property)\n\nType: `str`\n\nA cached label." in sample
    assert "Widget.paint(colour: Colour, /) -> None" in sample
    assert "**Raises** `ValueError`: When it is already that colour." in sample
    # Enums: members in definition order with values and docstrings, plus their methods.
    assert "| `Colour.RED` | `'red'` | Warm. |\n| `Colour.BLUE` | `'blue'` | — |" in sample
    assert "#### `Colour.describe` (method)" in sample
    # Functions: positional-only marker, *args, returns.
    assert "make(widget: Widget, /, count: int = 1, *rest: Widget) -> list[Widget]" in sample
    assert "**Returns:** The widgets." in sample
    # Constants: typed value with docstring; an object without a literal shows its source.
    assert "LIMIT: int = 5\n```\n\nHow many widgets at most." in sample
    assert "DEFAULT_SHAPE: object = object()" in sample
    # Deterministic: no addresses, no absolute paths.
    assert not re.search(r"0x[0-9a-f]{6,}", sample)
    assert str(tmp_path) not in sample
