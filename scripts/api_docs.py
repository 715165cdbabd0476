#!/usr/bin/env python3
"""Generate docs/API.md from the docstrings of every name in ``dms_task_starter.__all__``.

    python scripts/api_docs.py            # rewrite docs/API.md
    python scripts/api_docs.py --check    # exit 1 when docs/API.md is stale

Signatures, annotations and defaults are rendered as written in the source (the package uses
``from __future__ import annotations``, so annotations are strings anyway); ``:param x:`` lines
of a docstring become the parameter table. Enum member docstrings, attribute docstrings (a
string right after ``self.x = ...`` or a module-level constant) are read from the source.
Output is deterministic: members are sorted by name except where the order means something
(parameters, enum members), and no memory address or absolute path is written.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import enum
import functools
import importlib
import inspect
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import types
    from collections.abc import Callable, Iterator

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT: Final = REPO_ROOT / "docs" / "API.md"
PACKAGE: Final = "dms_task_starter"
SOURCE_DIRS: Final = (REPO_ROOT / "constructs", REPO_ROOT / "lambda")
GENERATOR: Final = "scripts/api_docs.py"
MAX_SIGNATURE_LINE: Final = 88
MAX_DIFF_LINES: Final = 60

_SIMPLE_TYPES: Final = (bool, int, float, str, bytes, type(None))
_FIELD = re.compile(r"^:(?P<kind>param|parameter|arg|returns?|raises?)(?:\s+(?P<name>[^:]+))?:\s*")
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`[~!]?([^`]+)`")
_DOUBLE_BACKTICKS = re.compile(r"``([^`]+)``")


# ---------------------------------------------------------------- docstrings


@dataclass
class Docstring:
    """A docstring split into its text and its ``:param:``/``:returns:``/``:raises:`` fields."""

    text: str = ""
    params: dict[str, str] = field(default_factory=dict)
    returns: str = ""
    raises: list[tuple[str, str]] = field(default_factory=list)


def _inline(text: str) -> str:
    """reST inline markup to Markdown: ``code`` and :role:`target` become `code`."""
    return _ROLE.sub(r"`\1`", _DOUBLE_BACKTICKS.sub(r"`\1`", text))


def parse_docstring(raw: str | None) -> Docstring:
    """Split a docstring into text and fields; continuation lines join their field."""
    doc = Docstring()
    if not raw:
        return doc
    text_lines: list[str] = []
    current: list[str] | None = None
    fields: list[tuple[str, str, list[str]]] = []
    for line in inspect.cleandoc(raw).splitlines():
        match = _FIELD.match(line)
        if match:
            current = [line[match.end() :].strip()]
            fields.append((match["kind"], (match["name"] or "").strip(), current))
        elif current is not None and line.strip():
            current.append(line.strip())
        else:
            current = None
            text_lines.append(line)
    doc.text = _inline("\n".join(text_lines).strip())
    for kind, name, parts in fields:
        body = _inline(" ".join(part for part in parts if part))
        if kind in ("param", "parameter", "arg"):
            doc.params[name.split()[-1]] = body
        elif kind.startswith("return"):
            doc.returns = body
        else:
            doc.raises.append((name, body))
    return doc


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|") or "—"


# ---------------------------------------------------------------- source access


def _source(obj: object) -> str | None:
    try:
        return textwrap.dedent(inspect.getsource(obj))  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None


def _segment(source: str, node: ast.AST | None) -> str:
    """The source text of ``node`` as written (collapsed to one line)."""
    if node is None:
        return ""
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    return " ".join(text.split())


def _following_docstrings(body: list[ast.stmt]) -> Iterator[tuple[ast.stmt, str | None]]:
    """Each statement of ``body`` with the string literal right after it, if any."""
    for index, statement in enumerate(body):
        after = body[index + 1] if index + 1 < len(body) else None
        doc = None
        if (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            doc = after.value.value
        yield statement, doc


def _statement_lists(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every list of statements nested in ``node`` (bodies of if/for/with/try ...)."""
    for child in ast.walk(node):
        for name in ("body", "orelse", "finalbody"):
            statements = getattr(child, name, None)
            if isinstance(statements, list) and all(isinstance(s, ast.stmt) for s in statements):
                yield statements


def _assigned_names(statement: ast.stmt) -> tuple[list[ast.expr], ast.expr | None]:
    if isinstance(statement, ast.AnnAssign):
        return [statement.target], statement.annotation
    if isinstance(statement, ast.Assign):
        return list(statement.targets), None
    return [], None


def _type_text(source: str, annotation: ast.expr | None) -> str:
    """An annotation as written; ``Final[X]`` shows ``X`` and a bare ``Final`` nothing."""
    if annotation is None:
        return ""
    if isinstance(annotation, ast.Subscript) and _segment(source, annotation.value) in (
        "Final",
        "typing.Final",
    ):
        return _segment(source, annotation.slice)
    text = _segment(source, annotation)
    return "" if text in ("Final", "typing.Final") else text


@dataclass
class Attribute:
    name: str
    type: str
    doc: str
    value: str = ""


def _module_attributes(module: types.ModuleType) -> dict[str, Attribute]:
    """Top-level assignments of ``module`` with their annotation, value and docstring."""
    source = _source(module)
    if source is None:
        return {}
    return _assignments(source, ast.parse(source).body)


def _class_body_attributes(cls: type) -> dict[str, Attribute]:
    """Class-level assignments (enum members, constants) with their docstrings."""
    source = _source(cls)
    if source is None:
        return {}
    tree = ast.parse(source)
    class_def = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    if class_def is None:
        return {}
    return _assignments(source, class_def.body)


def _assignments(source: str, body: list[ast.stmt]) -> dict[str, Attribute]:
    """The names ``body`` assigns (first assignment wins), with their annotation, value and doc."""
    found: dict[str, Attribute] = {}
    for statement, doc in _following_docstrings(body):
        targets, annotation = _assigned_names(statement)
        value = getattr(statement, "value", None)
        for target in targets:
            if isinstance(target, ast.Name) and target.id not in found:
                found[target.id] = Attribute(
                    target.id,
                    _type_text(source, annotation),
                    _inline(inspect.cleandoc(doc)) if doc else "",
                    _segment(source, value),
                )
    return found


def _instance_attributes(cls: type) -> list[Attribute]:
    """Public ``self.x`` assignments of ``cls.__init__`` (sorted), with their docstrings."""
    init = cls.__dict__.get("__init__")
    source = _source(init) if init is not None else None
    if source is None:
        return []
    tree = ast.parse(source)
    # `self.x: Final = x` takes the type of the parameter `x`.
    parameter_types: dict[str, str] = {}
    function = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    if function is not None:
        every_arg = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
        parameter_types = {a.arg: _segment(source, a.annotation) for a in every_arg}
    found: dict[str, Attribute] = {}
    for body in _statement_lists(tree):
        for statement, doc in _following_docstrings(body):
            targets, annotation = _assigned_names(statement)
            value = getattr(statement, "value", None)
            inferred = parameter_types.get(value.id, "") if isinstance(value, ast.Name) else ""
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                    and not target.attr.startswith("_")
                ):
                    known = found.get(target.attr)
                    attribute = Attribute(
                        target.attr,
                        _type_text(source, annotation) or inferred,
                        _inline(inspect.cleandoc(doc)) if doc else "",
                    )
                    if known is None:
                        found[target.attr] = attribute
                    else:
                        known.type = known.type or attribute.type
                        known.doc = known.doc or attribute.doc
    return [found[name] for name in sorted(found)]


# ---------------------------------------------------------------- signatures


@dataclass
class Parameter:
    name: str
    kind: str
    type: str
    default: str | None  # None: required

    def rendered(self) -> str:
        prefix = {"*args": "*", "**kwargs": "**"}.get(self.kind, "")
        text = f"{prefix}{self.name}"
        if self.type:
            text += f": {self.type}"
        if self.default is not None:
            text += f" = {self.default}" if self.type else f"={self.default}"
        return text


@dataclass
class Signature:
    parameters: list[Parameter]
    returns: str

    def rendered(self, name: str) -> str:
        parts: list[str] = []
        keyword_only_marked = False
        positional_only = [p for p in self.parameters if p.kind == "positional-only"]
        for parameter in self.parameters:
            if parameter.kind == "keyword-only" and not keyword_only_marked:
                if not any(p.kind == "*args" for p in self.parameters):
                    parts.append("*")
                keyword_only_marked = True
            parts.append(parameter.rendered())
            if positional_only and parameter is positional_only[-1]:
                parts.append("/")
        returns = f" -> {self.returns}" if self.returns else ""
        one_line = f"{name}({', '.join(parts)}){returns}"
        if len(one_line) <= MAX_SIGNATURE_LINE:
            return one_line
        inner = "".join(f"    {part},\n" for part in parts)
        return f"{name}(\n{inner}){returns}"


def _signature_from_source(func: Callable[..., object], skip_first: bool) -> Signature | None:
    source = _source(func)
    if source is None:
        return None
    tree = ast.parse(source)
    node = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None
    )
    if node is None:
        return None
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    parameters: list[Parameter] = []
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        if skip_first and index == 0:
            continue
        kind = "positional-only" if index < len(args.posonlyargs) else "positional"
        parameters.append(
            Parameter(
                arg.arg,
                kind,
                _segment(source, arg.annotation),
                _segment(source, default) if default is not None else None,
            )
        )
    if args.vararg is not None:
        parameters.append(
            Parameter(args.vararg.arg, "*args", _segment(source, args.vararg.annotation), None)
        )
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parameters.append(
            Parameter(
                arg.arg,
                "keyword-only",
                _segment(source, arg.annotation),
                _segment(source, kw_default) if kw_default is not None else None,
            )
        )
    if args.kwarg is not None:
        parameters.append(
            Parameter(args.kwarg.arg, "**kwargs", _segment(source, args.kwarg.annotation), None)
        )
    return Signature(parameters, _segment(source, node.returns))


def _safe_repr(value: object) -> str:
    """A deterministic rendering of a runtime value (no memory addresses)."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, _SIMPLE_TYPES):
        return repr(value)
    if isinstance(value, tuple | list | frozenset | set) and all(
        isinstance(item, _SIMPLE_TYPES) for item in value
    ):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return repr(type(value)(items)) if isinstance(value, tuple | list) else repr(items)
    return f"<{type(value).__name__}>"


def _annotation_text(annotation: object) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def _signature_from_runtime(func: Callable[..., object], skip_first: bool) -> Signature:
    """Fallback without source: annotations as strings, defaults without addresses."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return Signature([], "")
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: "positional-only",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.VAR_POSITIONAL: "*args",
        inspect.Parameter.KEYWORD_ONLY: "keyword-only",
        inspect.Parameter.VAR_KEYWORD: "**kwargs",
    }
    parameters = [
        Parameter(
            p.name,
            kinds[p.kind],
            _annotation_text(p.annotation),
            None if p.default is inspect.Parameter.empty else _safe_repr(p.default),
        )
        for p in signature.parameters.values()
    ]
    if skip_first and parameters:
        parameters = parameters[1:]
    return Signature(parameters, _annotation_text(signature.return_annotation))


def signature_of(func: Callable[..., object], *, skip_first: bool = False) -> Signature:
    """The signature of ``func`` as written in its source (runtime fallback)."""
    return _signature_from_source(func, skip_first) or _signature_from_runtime(func, skip_first)


# ---------------------------------------------------------------- rendering


def _parameter_table(signature: Signature, doc: Docstring) -> list[str]:
    if not signature.parameters:
        return []
    lines = [
        "| Parameter | Kind | Type | Default | Description |",
        "|---|---|---|---|---|",
    ]
    for parameter in signature.parameters:
        default = "required" if parameter.default is None else f"`{parameter.default}`"
        if parameter.kind in ("*args", "**kwargs"):
            default = "—"
        type_text = f"`{parameter.type}`" if parameter.type else ""
        lines.append(
            f"| `{parameter.name}` | {parameter.kind} | {_cell(type_text)} | {_cell(default)} "
            f"| {_cell(doc.params.get(parameter.name, ''))} |"
        )
    return [*lines, ""]


def _callable_block(
    title: str,
    display_name: str,
    func: Callable[..., object],
    *,
    skip_first: bool,
    constructor: bool = False,
) -> list[str]:
    """Heading, signature, docstring text, parameter table, returns and raises of a callable."""
    signature = signature_of(func, skip_first=skip_first)
    if constructor:
        signature.returns = ""
    doc = parse_docstring(func.__doc__)
    lines = [title, "", "```python", signature.rendered(display_name), "```", ""]
    if doc.text:
        lines += [doc.text, ""]
    lines += _parameter_table(signature, doc)
    if doc.returns:
        lines += [f"**Returns:** {doc.returns}", ""]
    for name, text in doc.raises:
        lines += [f"**Raises** `{name}`: {text}", ""]
    return lines


def _member_kind(member: object) -> str | None:
    if isinstance(member, classmethod):
        return "class method"
    if isinstance(member, staticmethod):
        return "static method"
    if isinstance(member, property | functools.cached_property):
        return "property"
    if inspect.isfunction(member):
        return "method"
    return None


def _base_names(cls: type) -> str:
    names = []
    for base in cls.__bases__:
        if base is object:
            continue
        module = base.__module__
        prefix = "" if module in ("builtins", "enum") else f"{module}."
        names.append(f"`{prefix}{base.__qualname__}`")
    return ", ".join(names)


def _render_enum(name: str, cls: type[enum.Enum]) -> list[str]:
    lines = [f"*enum* · defined in `{cls.__module__}` · bases: {_base_names(cls)}", ""]
    doc = parse_docstring(cls.__dict__.get("__doc__"))
    if doc.text:
        lines += [doc.text, ""]
    body = _class_body_attributes(cls)
    lines += ["| Member | Value | Description |", "|---|---|---|"]
    for member in cls:  # definition order: meaningful
        described = body.get(member.name)
        lines.append(
            f"| `{name}.{member.name}` | `{member.value!r}` "
            f"| {_cell(described.doc if described else '')} |"
        )
    lines.append("")
    lines += _render_members(name, cls, skip=set(cls.__members__))
    return lines


def _render_members(name: str, cls: type, *, skip: set[str] | None = None) -> list[str]:
    """Class methods, static methods, properties and methods (each group sorted by name)."""
    skip = skip or set()
    groups: dict[str, list[str]] = {}
    class_constants: list[str] = []
    body = _class_body_attributes(cls)
    for member_name in sorted(cls.__dict__):
        if member_name.startswith("_") or member_name in skip:
            continue
        member = cls.__dict__[member_name]
        kind = _member_kind(member)
        if kind is None:
            class_constants.append(_constant_row(name, member_name, member, body.get(member_name)))
        else:
            groups.setdefault(kind, []).extend(_member_block(name, member_name, member, kind))
    lines = []
    if class_constants:
        lines += ["### Class attributes", "", "| Name | Value | Description |", "|---|---|---|"]
        lines += [*class_constants, ""]
    for kind, heading in (
        ("class method", "Class methods"),
        ("static method", "Static methods"),
        ("property", "Properties"),
        ("method", "Methods"),
    ):
        if kind in groups:
            lines += [f"### {heading}", "", *groups[kind]]
    return lines


def _constant_row(name: str, member_name: str, member: object, described: Any) -> str:  # noqa: ANN401 - an attribute description
    type_text = f" (`{described.type}`)" if described and described.type else ""
    return (
        f"| `{name}.{member_name}`{type_text} | `{_safe_repr(member)}` "
        f"| {_cell(described.doc if described else '')} |"
    )


def _member_block(name: str, member_name: str, member: Any, kind: str) -> list[str]:  # noqa: ANN401 - a class member
    title = f"#### `{name}.{member_name}` ({kind})"
    if not isinstance(member, property | functools.cached_property):
        func = member.__func__ if isinstance(member, classmethod | staticmethod) else member
        skip_first = kind in ("method", "class method")
        return _callable_block(title, f"{name}.{member_name}", func, skip_first=skip_first)
    getter = member.fget if isinstance(member, property) else member.func
    returns = signature_of(getter).returns if getter is not None else ""
    lines = [title, ""]
    if returns:
        lines += [f"Type: `{returns}`", ""]
    text = parse_docstring(getter.__doc__ if getter is not None else None).text
    if text:
        lines += [text, ""]
    return lines


def _render_class(name: str, cls: type) -> list[str]:
    bases = _base_names(cls)
    header = f"*class* · defined in `{cls.__module__}`"
    lines = [f"{header} · bases: {bases}" if bases else header, ""]
    doc = parse_docstring(cls.__dict__.get("__doc__"))
    if doc.text:
        lines += [doc.text, ""]
    init = cls.__dict__.get("__init__")
    if inspect.isfunction(init):
        lines += _callable_block("### Constructor", name, init, skip_first=True, constructor=True)
    attributes = _instance_attributes(cls)
    if attributes:
        lines += ["### Attributes", "", "| Attribute | Type | Description |", "|---|---|---|"]
        for attribute in attributes:
            type_text = f"`{attribute.type}`" if attribute.type else ""
            lines.append(
                f"| `{name}.{attribute.name}` | {_cell(type_text)} | {_cell(attribute.doc)} |"
            )
        lines.append("")
    lines += _render_members(name, cls)
    return lines


def _render_function(name: str, func: Callable[..., object]) -> list[str]:
    lines = [f"*function* · defined in `{func.__module__}`", ""]
    return lines + _callable_block("### Signature", name, func, skip_first=False)


def _render_constant(
    name: str, value: object, described: Attribute | None, origin: str
) -> list[str]:
    type_text = (described.type if described else "") or type(value).__name__
    shown = _safe_repr(value)
    if shown.startswith("<") and described and described.value:
        shown = described.value
    lines = [
        f"*constant* · defined in `{origin}`",
        "",
        "```python",
        f"{name}: {type_text} = {shown}",
    ]
    lines += ["```", ""]
    if described and described.doc:
        lines += [described.doc, ""]
    return lines


def _origins(package: types.ModuleType) -> dict[str, str]:
    """Which module each name of ``package`` is imported from (``from x import name``)."""
    source = _source(package)
    if source is None:
        return {}
    origins: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                origins[alias.asname or alias.name] = node.module
    return origins


_KIND_ORDER: Final = ("class", "enum", "function", "constant")
_KIND_TITLES: Final = {
    "class": "Classes",
    "enum": "Enums",
    "function": "Functions",
    "constant": "Constants",
}


def _kind(value: object) -> str:
    if inspect.isclass(value):
        return "enum" if issubclass(value, enum.Enum) else "class"
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return "function"
    return "constant"


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


def render(package: types.ModuleType) -> str:
    """The Markdown API reference of every name in ``package.__all__``."""
    names: list[str] = list(getattr(package, "__all__", []))
    if not names:
        raise ValueError(f"{package.__name__} has no __all__ to document")
    origins = _origins(package)
    by_kind: dict[str, list[str]] = {kind: [] for kind in _KIND_ORDER}
    for name in sorted(set(names)):
        by_kind[_kind(getattr(package, name))].append(name)

    summary = parse_docstring(package.__doc__).text
    lines = [
        "# API reference",
        "",
        f"<!-- Generated by {GENERATOR} from the docstrings of {package.__name__}.__all__; "
        "do not edit by hand. -->",
        "",
        f"Package `{package.__name__}`" + (f": {summary}" if summary else ""),
        "",
        f"Regenerate with `python {GENERATOR}`; `python {GENERATOR} --check` fails when this "
        "file is stale.",
        "",
        "## Contents",
        "",
    ]
    for kind in _KIND_ORDER:
        if by_kind[kind]:
            lines.append(
                f"- {_KIND_TITLES[kind]}: "
                + ", ".join(f"[`{name}`](#{_anchor(name)})" for name in by_kind[kind])
            )
    lines.append("")
    for kind in _KIND_ORDER:
        for name in by_kind[kind]:
            lines += [f"## `{name}`", "", *_render_name(package, origins, kind, name)]
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _render_name(
    package: types.ModuleType, origins: dict[str, str], kind: str, name: str
) -> list[str]:
    value = getattr(package, name)
    if kind == "enum":
        return _render_enum(name, value)
    if kind == "class":
        return _render_class(name, value)
    if kind == "function":
        return _render_function(name, value)
    origin = origins.get(name, package.__name__)
    described = _module_attributes(importlib.import_module(origin)).get(name)
    return _render_constant(name, value, described, origin)


# ---------------------------------------------------------------- command line


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def check(expected: str, output: Path) -> list[str]:
    """Problems of ``output`` compared with ``expected`` (empty when up to date)."""
    if not output.is_file():
        return [f"{_display(output)} is missing: run `python {GENERATOR}`"]
    actual = output.read_text(encoding="utf-8")
    if actual == expected:
        return []
    diff = list(
        difflib.unified_diff(
            actual.splitlines(),
            expected.splitlines(),
            fromfile=f"{_display(output)} (committed)",
            tofile=f"{_display(output)} (generated)",
            lineterm="",
        )
    )
    shown = diff[:MAX_DIFF_LINES]
    if len(diff) > MAX_DIFF_LINES:
        shown.append(f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)")
    return [
        f"{_display(output)} is stale: it differs from what `python {GENERATOR}` generates from "
        f"the docstrings of {PACKAGE}.__all__. Run `python {GENERATOR}` and commit the result.",
        *shown,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the output file is stale")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="default: docs/API.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    # Document the working tree, not whatever copy of the package is installed.
    for directory in reversed(SOURCE_DIRS):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    expected = render(importlib.import_module(PACKAGE))
    output: Path = args.output
    if args.check:
        problems = check(expected, output)
        for line in problems:
            print(line, file=sys.stderr)
        if not problems:
            print(f"{_display(output)} is up to date.")
        return 1 if problems else 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(expected, encoding="utf-8")
    print(f"Wrote {_display(output)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
