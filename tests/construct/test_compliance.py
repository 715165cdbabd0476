"""cdk-nag AwsSolutions and cfn-lint: on the mixed stack and on the example app itself.

The example app (app.py) is synthesized the way the CDK CLI runs it (``python app.py`` with
``CDK_OUTDIR`` and cdk.json's context in ``CDK_CONTEXT_JSON``), with AwsSolutionsChecks
added to its ``App`` right before its own ``app.synth()``: the very app, every stack of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match
from cfnlint.api import ManualArgs, lint
from dms_task_starter import ReplicationTaskStarter
from dms_task_starter_runtime import settings

from tests.support.cdk import (
    PROVIDER_PREFIX,
    ROLLBACK_GUARD_TYPE,
    STACK_TAG,
    STARTER_TYPE,
    TASK_ARN,
    UPDATE_GUARD_TYPE,
    depends_on,
    run_python_process,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from subprocess import CompletedProcess

    from tests.support.cdk import Synthesized

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
EXAMPLE_APP: Final = REPO_ROOT / "app.py"

NAGGED_APP: Final = """
import json, os, runpy, sys

import aws_cdk
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

synth = aws_cdk.App.synth


def synth_with_nag(self, *args, **kwargs):
    aws_cdk.Validations.of(self).add_plugins(
        AwsSolutionsChecks(self, write_suppressions_to_cloud_formation=True)
    )
    if os.environ.get("NAG_CONTROL_BUCKET"):
        stack = next(c for c in self.node.children if isinstance(c, aws_cdk.Stack))
        s3.Bucket(stack, "NagControlBucket")
    return synth(self, *args, **kwargs)


aws_cdk.App.synth = synth_with_nag
import constructs, dms_task_starter

imports = {"constructs": constructs.__file__, "dms_task_starter": dms_task_starter.__file__}
print(json.dumps(imports))
runpy.run_path(sys.argv[1], run_name="__main__")
"""
"""Runs the app file given as argument with AwsSolutionsChecks on its App."""


def _lint_errors(template_path: Path) -> list[str]:
    # The region the CLI lints by default (us-east-1), as scripts/test.sh runs it.
    matches = lint(template_path.read_text(), config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]


def _violations(report_path: Path) -> list[str]:
    """``rule: construct path`` for every finding of the validation report (none: [])."""
    if not report_path.exists():
        return []
    report = json.loads(report_path.read_text())
    return [
        f"{violation['ruleName']}: {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def _acknowledged(resource: dict[str, Any]) -> list[str]:
    """The cdk-nag rule ids acknowledged on a resource (written into its Metadata)."""
    metadata = resource.get("Metadata", {}).get("cdk_nag", {})
    return [rule["id"] for rule in metadata.get("rules_to_suppress", [])]


# --- the mixed stack, in process --------------------------------------------------------


def test_nag_has_no_unacknowledged_findings(mixed: Synthesized) -> None:
    # `mixed` was synthesized with AwsSolutionsChecks: synthesis raises on any violation.
    assert _violations(mixed.outdir / "validation-report.json") == []
    annotations = Annotations.from_stack(mixed.stack)
    pattern = Match.string_like_regexp("AwsSolutions-.*")
    assert annotations.find_error("*", pattern) == []
    assert annotations.find_warning("*", pattern) == []


def test_nag_acknowledgements_stay_on_the_provider(mixed: Synthesized) -> None:
    acknowledged = {
        name: _acknowledged(resource)
        for name, resource in mixed.all_resources().items()
        if _acknowledged(resource)
    }
    assert acknowledged, "AwsSolutionsChecks wrote no acknowledgement: did it run?"
    assert {name for name in acknowledged if not name.startswith(PROVIDER_PREFIX)} == set()
    role_rules = acknowledged[mixed.handler_role()]
    assert set(role_rules) == {
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dms:<AWS::Region>:<AWS::AccountId>"
        ":task:*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dms:<AWS::Region>:<AWS::AccountId>"
        ":replication-config:*]",
    }


def test_nag_is_really_checking(make_synth: Callable[..., Synthesized]) -> None:
    # Control: an unencrypted-in-transit bucket must fail the same synthesis.
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: .*AwsSolutions-S10"):
        make_synth(lambda stack: s3.Bucket(stack, "Bucket"), nag=True)


def test_the_providers_acknowledgements_do_not_cover_the_users_resources(
    make_synth: Callable[..., Synthesized],
) -> None:
    """A wildcard of the user's own role next to a starter is still a finding."""

    def build(stack: Stack) -> None:
        ReplicationTaskStarter(stack, "S", task=TASK_ARN)
        role = iam.Role(stack, "UserRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))

    with pytest.raises(RuntimeError, match=r"^ValidationFailed: ") as raised:
        make_synth(build, nag=True)
    message = str(raised.value)
    assert "UserRole/DefaultPolicy/Resource" in message
    assert "AwsSolutions-IAM5[Resource::*]" in message
    assert "DmsReplicationTaskStarterProvider" not in message


def test_cfn_lint_has_no_errors(mixed: Synthesized) -> None:
    assert _lint_errors(mixed.outdir / f"{mixed.stack.artifact_id}.template.json") == []


# --- the example app itself, as the CDK CLI runs it -------------------------------------


@dataclass
class ExampleRun:
    outdir: Path
    process: CompletedProcess[str]

    def stack_templates(self) -> dict[str, Path]:
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        return {
            name: self.outdir / artifact["properties"]["templateFile"]
            for name, artifact in manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack"
        }

    def template(self, stack: str) -> dict[str, Any]:
        return dict(json.loads(self.stack_templates()[stack].read_text()))


def _run_example(outdir: Path, **extra_env: str) -> ExampleRun:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        **extra_env,
    }
    process = run_python_process(["-c", NAGGED_APP, str(EXAMPLE_APP)], cwd=REPO_ROOT, env=env)
    return ExampleRun(outdir, process)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleRun:
    return _run_example(tmp_path_factory.mktemp("example"))


def test_the_example_app_passes_nag(example: ExampleRun) -> None:
    violations = _violations(example.outdir / "validation-report.json")
    assert violations == []
    assert example.process.returncode == 0, example.process.stderr[-3000:]


def test_nag_checked_every_stack_of_the_example_app(example: ExampleRun) -> None:
    assert example.process.returncode == 0, example.process.stderr[-3000:]
    templates = example.stack_templates()
    assert "DmsMigrationStack" in templates
    for stack in templates:
        resources = example.template(stack)["Resources"]
        acknowledged = {name for name, r in resources.items() if _acknowledged(r)}
        # The provider's acknowledgements were written: nag visited this stack ...
        assert acknowledged, stack
        # ... and the app's own resources pass without any acknowledgement.
        assert {name for name in acknowledged if not name.startswith(PROVIDER_PREFIX)} == set()


def test_nag_control_on_the_example_app(tmp_path: Path) -> None:
    """The same run with a non-compliant bucket added to the app's first stack fails."""
    run = _run_example(tmp_path, NAG_CONTROL_BUCKET="1")
    assert run.process.returncode != 0
    violations = _violations(tmp_path / "validation-report.json")
    assert any(
        v.startswith("AwsSolutions-S10") and "/NagControlBucket/" in v for v in violations
    ), violations


def test_the_example_app_passes_cfn_lint(example: ExampleRun) -> None:
    for stack, template in example.stack_templates().items():
        assert _lint_errors(template) == [], stack


def test_the_example_app_imports_the_constructs_library(example: ExampleRun) -> None:
    imports = json.loads(example.process.stdout.splitlines()[0])
    constructs_file = Path(imports["constructs"])
    assert "site-packages" in constructs_file.parts
    assert REPO_ROOT / "constructs" not in constructs_file.parents


def test_the_example_migration_stack(example: ExampleRun) -> None:
    resources = example.template("DmsMigrationStack")["Resources"]

    def of_type(type_: str) -> dict[str, Any]:
        return {name: r for name, r in resources.items() if r["Type"] == type_}

    ((task_id, task),) = of_type("AWS::DMS::ReplicationTask").items()
    ((guard_id, guard),) = of_type(UPDATE_GUARD_TYPE).items()
    ((rollback_id, rollback),) = of_type(ROLLBACK_GUARD_TYPE).items()
    ((_, starter),) = of_type(STARTER_TYPE).items()
    assert {guard_id, rollback_id} <= depends_on(task)
    assert guard_id in depends_on(rollback)
    assert STACK_TAG in task["Properties"]["Tags"]
    identifier = task["Properties"]["ResourceIdentifier"]
    assert set(json.loads(rollback["Properties"]["GuardedTasks"])) == {identifier}
    props = {k: v for k, v in starter["Properties"].items() if k != "ServiceToken"}
    assert props["ReplicationTaskArn"] == {"Ref": task_id}
    assert props["UpdateGuard"] == {"Ref": guard_id}
    arn = f"arn:aws:dms:eu-west-1:123456789012:task:{identifier}"
    deployed = {**props, "ReplicationTaskArn": arn, "UpdateGuard": f"{arn}#update-guard"}
    parsed = settings.parse_starter_settings(deployed)
    assert parsed.migration_type == task["Properties"]["MigrationType"]
    # The task reads and writes endpoints of its stack: the guards watch them too, and
    # CloudFormation modifies them only after the guards.
    assert parsed.task_definition_digest != guard["Properties"]["TaskDefinitionDigest"]
    endpoints = of_type("AWS::DMS::Endpoint")
    assert {task["Properties"][f"{role}EndpointArn"]["Ref"] for role in ("Source", "Target")} == (
        set(endpoints)
    )
    for endpoint in endpoints.values():
        assert {guard_id, rollback_id} <= depends_on(endpoint)
    (instance,) = of_type("AWS::DMS::ReplicationInstance").values()
    assert instance["Properties"]["PubliclyAccessible"] is False
