"""The README's usage examples synthesize exactly as written, outside the repository, and
deploy, run and delete under the emulated CloudFormation: what a newcomer copying them gets."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from dms_task_starter_runtime import contract

from tests.support.cdk import run_python, run_python_process

if TYPE_CHECKING:
    from tests.support.cloud import Cloud

REPO_ROOT = Path(__file__).resolve().parents[2]
TASK_MARKER = "<!-- readme-example:"
SERVERLESS_MARKER = "<!-- readme-serverless-example:"
NAG_MARKER = "<!-- readme-nag-example:"
GATES_MARKER = "<!-- readme-gates-example:"
FIRST_STARTER = "starter = ReplicationTaskStarter(\n"
NAG_PLUGIN_LINE = "Validations.of(app).add_plugins(AwsSolutionsChecks(app))"


def readme_block(marker: str) -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    after_marker = readme[readme.index(marker) :]
    match = re.search(r"```python\n(.*?)```", after_marker, flags=re.DOTALL)
    assert match, f"no python block after {marker}"
    return match.group(1)


def gated_app() -> str:
    """The first example with its starter replaced by the gates example, as its text says."""
    app = readme_block(TASK_MARKER)
    start = app.index(FIRST_STARTER)
    end = app.index("\n)\n", start) + len("\n)\n")
    return app[:start] + readme_block(GATES_MARKER) + app[end:]


def synthesize(
    tmp_path: Path, marker: str, stack_name: str, app: str | None = None
) -> dict[str, Any]:
    app_file = tmp_path / "app.py"
    app_file.write_text(readme_block(marker) if app is None else app)
    outdir = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(outdir)}
    # Run outside the repository, like a user's project.
    run_python([str(app_file)], cwd=tmp_path, env=env)
    return dict(json.loads((outdir / f"{stack_name}.template.json").read_text()))


@pytest.fixture(scope="module")
def task_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synthesize(tmp_path_factory.mktemp("readme"), TASK_MARKER, "OrdersReplication")


@pytest.fixture(scope="module")
def serverless_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synthesize(tmp_path_factory.mktemp("readme"), SERVERLESS_MARKER, "OrdersServerless")


@pytest.fixture(scope="module")
def gated_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synthesize(
        tmp_path_factory.mktemp("readme"), GATES_MARKER, "OrdersReplication", gated_app()
    )


def types_of(template: dict[str, Any]) -> list[str]:
    return [resource["Type"] for resource in template["Resources"].values()]


def test_the_task_example_synthesizes(task_template: dict[str, Any]) -> None:
    types = types_of(task_template)
    assert types.count(contract.STARTER_RESOURCE_TYPE) == 1
    assert types.count(contract.GUARD_RESOURCE_TYPE) == 1
    assert types.count(contract.ROLLBACK_GUARD_RESOURCE_TYPE) == 1
    starter = next(
        r
        for r in task_template["Resources"].values()
        if r["Type"] == contract.STARTER_RESOURCE_TYPE
    )
    assert starter["Properties"][contract.Prop.CDC_START_TIME] == "2026-01-01T00:00:00Z"
    assert set(task_template["Outputs"]) == {"TaskStatus", "RecoveryCheckpoint"}


def test_the_serverless_example_synthesizes(serverless_template: dict[str, Any]) -> None:
    types = types_of(serverless_template)
    assert types.count(contract.REPLICATION_STARTER_RESOURCE_TYPE) == 1
    (config,) = [
        r
        for r in serverless_template["Resources"].values()
        if r["Type"] == "AWS::DMS::ReplicationConfig"
    ]
    identifier = config["Properties"]["ResourceIdentifier"]
    assert re.fullmatch(r"orders-[0-9a-f]{8}", identifier)
    assert config["Properties"]["ReplicationConfigIdentifier"] == identifier


def test_the_gates_example_synthesizes_a_gated_starter_and_a_long_wait(
    gated_template: dict[str, Any],
) -> None:
    resources = gated_template["Resources"]
    (starter,) = [r for r in resources.values() if r["Type"] == contract.STARTER_RESOURCE_TYPE]
    assert starter["Properties"][contract.Prop.TEST_CONNECTIONS] == contract.BOOLEAN_TRUE
    assert starter["Properties"][contract.Prop.ASSESSMENT_ON_FAILURE] == "fail"
    assert starter["Properties"][contract.Prop.WAIT_FOR] == contract.WaitFor.NOTHING
    (condition_id,) = [
        logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::CloudFormation::WaitCondition"
    ]
    (long_wait,) = [r for r in resources.values() if r["Type"] == contract.LONG_WAIT_RESOURCE_TYPE]
    assert long_wait["Properties"][contract.Prop.UNTIL] == contract.WaitFor.FULL_LOAD_FINISHED
    (cut_over,) = [r for r in resources.values() if r["Type"] == "AWS::SSM::Parameter"]
    assert condition_id in cut_over["DependsOn"]
    assert set(gated_template["Outputs"]) == {"TaskStatus", "RecoveryCheckpoint"}


def test_the_task_example_deploys_starts_and_deletes(
    cloud: Cloud, task_template: dict[str, Any]
) -> None:
    assert cloud.deploy(task_template) == "CREATE_COMPLETE"
    (task,) = cloud.double.tasks.values()
    assert task.status == "running"
    assert [write[1]["StartReplicationTaskType"] for write in cloud.double.writes()] == [
        "start-replication"
    ]
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    assert cloud.double.tasks == {}
    assert cloud.double.denials == []


def test_the_serverless_example_deploys_starts_and_deletes(
    cloud: Cloud, serverless_template: dict[str, Any]
) -> None:
    assert cloud.deploy(serverless_template) == "CREATE_COMPLETE"
    (replication,) = cloud.double.replications.values()
    assert replication.status == "running"
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    assert cloud.double.replications == {}
    assert cloud.double.denials == []


def test_the_nag_example_synthesizes_with_no_finding(tmp_path: Path) -> None:
    """The "with cdk-nag" snippet: AwsSolutionsChecks as a validation plugin passes."""
    template = synthesize(tmp_path, NAG_MARKER, "OrdersNag")
    assert types_of(template).count(contract.STARTER_RESOURCE_TYPE) == 1
    report = tmp_path / "cdk.out" / "validation-report.json"
    assert not report.exists() or "violations" not in report.read_text()


def test_nag_as_an_aspect_fails_as_the_readme_says(tmp_path: Path) -> None:
    """Why the README registers cdk-nag with Validations: as an aspect, cdk-nag 3 crashes."""
    block = readme_block(NAG_MARKER)
    assert NAG_PLUGIN_LINE in block
    app_file = tmp_path / "app.py"
    app_file.write_text(
        block.replace("from aws_cdk import App,", "from aws_cdk import Aspects, App,").replace(
            NAG_PLUGIN_LINE, "Aspects.of(app).add(AwsSolutionsChecks(app))"
        )
    )
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path / "cdk.out")}
    result = run_python_process([str(app_file)], cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "aspect.visit is not a function" in result.stderr


def test_the_gates_example_deploys_gated_and_waits_for_the_full_load(
    cloud: Cloud, gated_template: dict[str, Any]
) -> None:
    from tests.support.dms_double import FakeEndpoint

    for name in ("SOURCE", "TARGET"):  # the example's endpoints, never tested from its instance
        arn = f"arn:aws:dms:eu-west-1:123456789012:endpoint:EXAMPLE{name}"
        cloud.double.endpoints[arn] = FakeEndpoint(arn, connections={})
    assert cloud.deploy(gated_template) == "CREATE_COMPLETE"
    (task,) = cloud.double.tasks.values()
    assert task.status == "running"
    assert task.run.full_load_finish_date is not None
    operations = [operation for operation, _ in cloud.double.calls]
    gated = ["TestConnection", "StartReplicationTaskAssessmentRun", "StartReplicationTask"]
    assert [operation for operation in operations if operation in gated] == [
        "TestConnection",
        "TestConnection",
        "StartReplicationTaskAssessmentRun",
        "StartReplicationTask",
    ]
    steps = [step.logical_id for step in cloud.steps]
    (condition,) = [
        logical_id
        for logical_id, r in gated_template["Resources"].items()
        if r["Type"] == "AWS::CloudFormation::WaitCondition"
    ]
    (cut_over,) = [
        logical_id
        for logical_id, r in gated_template["Resources"].items()
        if r["Type"] == "AWS::SSM::Parameter"
    ]
    assert steps.index(condition) < steps.index(cut_over)
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    assert cloud.double.tasks == {}
    assert cloud.double.denials == []
