"""cdk-nag AwsSolutions and cfn-lint on synthesized templates; the example app's imports."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match
from cdk_support import run_python
from cfnlint.api import ManualArgs, lint
from dms_task_starter_runtime import contract

if TYPE_CHECKING:
    from collections.abc import Callable

    from cdk_support import Synthesized

REPO_ROOT = Path(__file__).resolve().parents[2]


def _errors(template_path: Path) -> list[str]:
    # The regions the CLI lints by default (us-east-1), as scripts/test.sh runs it.
    matches = lint(template_path.read_text(), config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]


def test_nag_has_no_unacknowledged_findings(mixed: Synthesized) -> None:
    # `mixed` was synthesized with AwsSolutionsChecks: synthesis raises on any violation.
    report = json.loads((mixed.outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert plugin["violations"] == [], plugin
    annotations = Annotations.from_stack(mixed.stack)
    pattern = Match.string_like_regexp("AwsSolutions-.*")
    assert annotations.find_error("*", pattern) == []
    assert annotations.find_warning("*", pattern) == []


def test_nag_is_really_checking(make_synth: Callable[..., Synthesized]) -> None:
    # Control: an unencrypted-in-transit bucket must fail the same synthesis.
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: .*AwsSolutions-S10"):
        make_synth(lambda stack: s3.Bucket(stack, "Bucket"), nag=True)


def test_cfn_lint_has_no_errors(mixed: Synthesized) -> None:
    template = mixed.outdir / f"{mixed.stack.artifact_id}.template.json"
    assert _errors(template) == []


@pytest.fixture(scope="module")
def example_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app (app.py) synthesized in a subprocess from the repository root."""
    outdir = tmp_path_factory.mktemp("example")
    probe = (
        "import constructs, dms_task_starter, dms_task_starter_runtime; "
        "print(constructs.__file__); print(dms_task_starter.__file__); import app"
    )
    # Outside the CDK CLI: hand over cdk.json's context the way the CLI does.
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    imports = run_python(["-c", probe], cwd=REPO_ROOT, env=env)
    (outdir / "imports.txt").write_text(imports)
    return outdir


def test_constructs_library_is_not_the_repo_folder(example_outdir: Path) -> None:
    constructs_file = Path((example_outdir / "imports.txt").read_text().splitlines()[0])
    assert "site-packages" in constructs_file.parts
    assert REPO_ROOT / "constructs" not in constructs_file.parents


def test_example_app_synthesizes_cleanly(example_outdir: Path) -> None:
    template_path = example_outdir / "DmsMigrationStack.template.json"
    template = json.loads(template_path.read_text())
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count(contract.STARTER_RESOURCE_TYPE) == 1
    assert types.count(contract.GUARD_RESOURCE_TYPE) == 1
    assert types.count("AWS::DMS::ReplicationTask") == 1
    instance = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::DMS::ReplicationInstance"
    )
    assert instance["Properties"]["PubliclyAccessible"] is False
    assert _errors(template_path) == []


def test_example_app_passes_nag(make_synth: Callable[..., Synthesized]) -> None:
    """The example stack's construct part passes AwsSolutions (the app itself stays clean)."""
    from dms_task_starter import ReplicationTaskStarter

    def build(stack: Stack) -> None:
        ReplicationTaskStarter(stack, "S", task="arn:aws:dms:eu-west-1:123456789012:task:X")

    make_synth(build, nag=True)
