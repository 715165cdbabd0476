"""The example app (app.py), synthesized as ``cdk synth`` does, deployed and deleted under the
emulated CloudFormation: what a user of the quick start gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.support.cloud import Cloud

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The example app's templates, synthesized with cdk.json's context like the CLI does."""
    outdir = tmp_path_factory.mktemp("example-cdk.out")
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }


def test_the_example_app_has_both_stacks(example_templates: dict[str, Any]) -> None:
    assert set(example_templates) == {"DmsMigrationStack", "DmsServerlessMigrationStack"}


def test_the_task_stack_deploys_starts_and_deletes(
    cloud: Cloud, example_templates: dict[str, Any]
) -> None:
    assert cloud.deploy(example_templates["DmsMigrationStack"]) == "CREATE_COMPLETE"
    (task,) = cloud.double.tasks.values()
    assert (task.arn.rsplit(":", 1)[1], task.status) == ("orders-full-load-and-cdc", "running")
    assert cloud.double.writes() == [
        (
            "StartReplicationTask",
            {
                "ReplicationTaskArn": task.arn,
                "StartReplicationTaskType": "start-replication",
                "CdcStartPosition": "0/5120E10",
            },
        )
    ]
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    assert cloud.double.tasks == {}
    assert cloud.double.denials == []


def test_the_serverless_stack_deploys_starts_and_deletes(
    cloud: Cloud, example_templates: dict[str, Any]
) -> None:
    assert cloud.deploy(example_templates["DmsServerlessMigrationStack"]) == "CREATE_COMPLETE"
    (replication,) = cloud.double.replications.values()
    assert replication.arn.rsplit(":", 1)[1].startswith("orders-serverless-")
    assert replication.status == "running"
    assert cloud.delete_stack() == "DELETE_COMPLETE"
    assert cloud.double.replications == {}
    assert cloud.double.denials == []


def test_the_task_stack_alarms_on_the_task_s_cdc_latency(example_templates: dict[str, Any]) -> None:
    template = example_templates["DmsMigrationStack"]
    (alarm,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    properties = alarm["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/DMS", "CDCLatencyTarget")
    assert (properties["Threshold"], properties["EvaluationPeriods"], properties["Period"]) == (
        600,
        3,
        300,
    )
    dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
    assert dimensions["ReplicationInstanceIdentifier"] == "orders-replication"
    (task_id,) = [
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::DMS::ReplicationTask"
    ]
    assert dimensions["ReplicationTaskIdentifier"] == {
        "Fn::Select": [6, {"Fn::Split": [":", {"Ref": task_id}]}]
    }
