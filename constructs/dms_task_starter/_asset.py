"""Stage the Lambda runtime package as a code asset, wherever it is installed."""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Final

RUNTIME_PACKAGE: Final = "dms_task_starter_runtime"
"""The import name of the Lambda runtime package (handler strings start with it)."""

_IGNORED: Final = ("__pycache__", "*.pyc", "*.pyo")
_staged: dict[Path, Path] = {}


def runtime_package_dir() -> Path:
    """Return the directory of the installed ``dms_task_starter_runtime`` package.

    Works for an editable install (the repository's ``lambda/`` folder) as well as for a
    wheel installed into site-packages.
    """
    spec = importlib.util.find_spec(RUNTIME_PACKAGE)
    locations = None if spec is None else spec.submodule_search_locations
    if not locations:
        raise RuntimeError(
            f"cannot find the Python package {RUNTIME_PACKAGE!r}; install cdk-dms-task-starter "
            "(it ships the construct and the Lambda code together)"
        )
    return Path(next(iter(locations))).resolve()


def staged_runtime_dir() -> str:
    """Return a directory holding ``dms_task_starter_runtime/`` for ``Code.from_asset``.

    The package is copied once per process (without byte code) into a temporary
    directory, so the asset contains only the runtime package and its hash depends only
    on the package's files.
    """
    source = runtime_package_dir()
    staged = _staged.get(source)
    if staged is None:
        staged = Path(tempfile.mkdtemp(prefix="dms-task-starter-asset-"))
        atexit.register(shutil.rmtree, staged, ignore_errors=True)
        shutil.copytree(source, staged / RUNTIME_PACKAGE, ignore=shutil.ignore_patterns(*_IGNORED))
        _staged[source] = staged
    return str(staged)
