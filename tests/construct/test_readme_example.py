"""The README's "Use it in your own app" example synthesizes exactly as written."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from dms_task_starter_runtime import contract

from tests.support.cdk import run_python

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- readme-example:"


def readme_example() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    after_marker = readme[readme.index(MARKER) :]
    match = re.search(r"```python\n(.*?)```", after_marker, flags=re.DOTALL)
    assert match, "no python block after the readme-example marker"
    return match.group(1)


def test_readme_example_synthesizes(tmp_path: Path) -> None:
    app_file = tmp_path / "app.py"
    app_file.write_text(readme_example())
    outdir = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(outdir)}
    # Run outside the repository, like a user's project.
    run_python([str(app_file)], cwd=tmp_path, env=env)
    template = json.loads((outdir / "OrdersReplication.template.json").read_text())
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert types.count(contract.STARTER_RESOURCE_TYPE) == 1
    assert types.count(contract.GUARD_RESOURCE_TYPE) == 1
    starter = next(
        r for r in template["Resources"].values() if r["Type"] == contract.STARTER_RESOURCE_TYPE
    )
    assert starter["Properties"][contract.Prop.CDC_START_TIME] == "2026-01-01T00:00:00Z"
    assert set(template["Outputs"]) == {"TaskStatus", "RecoveryCheckpoint"}
