"""The integ/ app synthesizes offline, in both phases, into cfn-lint-clean templates."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cfnlint.api import ManualArgs, lint

from tests.support.cdk import run_python_process

if TYPE_CHECKING:
    import subprocess

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = REPO_ROOT / "integ" / "integ_task_starter.py"
STACK = "DmsTaskStarterIntegStack"
TEST_CASE = "DmsTaskStarterInteg/DefaultTest"

ACCOUNT_ARN = "arn:aws:dms:eu-west-1:111122223333"
UPDATE_CONTEXT = {
    "integ:sourceEndpointArn": f"{ACCOUNT_ARN}:endpoint:SRC",
    "integ:targetEndpointArn": f"{ACCOUNT_ARN}:endpoint:TGT",
    "integ:replicationInstanceArn": f"{ACCOUNT_ARN}:rep:INST",
    "integ:replicationInstanceIdentifier": "integ-instance",
    "integ:taskResourceIdentifier": "my-integ-task",
    "integ:migrationType": "full-load-and-cdc",
    "integ:schemaName": "sales",
    "integ:phase": "update",
}


def _synth(outdir: Path, context: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the integ app in a fresh interpreter, as `cdk synth --app` would."""
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    return run_python_process([str(APP)], cwd=REPO_ROOT, env=env)


def _synthesized(outdir: Path, context: dict[str, str]) -> Path:
    result = _synth(outdir, context)
    assert result.returncode == 0, result.stderr[-3000:]
    return outdir


@pytest.fixture(scope="module")
def initial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No context at all: placeholders, phase 'initial'."""
    return _synthesized(tmp_path_factory.mktemp("integ-initial"), {})


@pytest.fixture(scope="module")
def update(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every context key set, phase 'update'."""
    return _synthesized(tmp_path_factory.mktemp("integ-update"), UPDATE_CONTEXT)


def _template(outdir: Path, stack: str) -> dict[str, Any]:
    return dict(json.loads((outdir / f"{stack}.template.json").read_text()))


def _resources(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


def _assertion_stack(outdir: Path) -> str:
    manifest = json.loads((outdir / "integ.json").read_text())
    case = manifest["testCases"][TEST_CASE]
    assert case["stacks"] == [STACK]
    return str(case["assertionStackName"])


def _lint_errors(template_path: Path) -> list[str]:
    matches = lint(template_path.read_text(), config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]


@pytest.mark.parametrize("phase", ["initial", "update"])
def test_templates_have_no_cfn_lint_errors(phase: str, request: pytest.FixtureRequest) -> None:
    outdir: Path = request.getfixturevalue(phase)
    templates = sorted(outdir.glob("*.template.json"))
    assert [t.name for t in templates] == sorted(
        [f"{STACK}.template.json", f"{_assertion_stack(outdir)}.template.json"]
    )
    for template in templates:
        assert _lint_errors(template) == [], template.name


def test_initial_phase_uses_placeholders(initial: Path) -> None:
    template = _template(initial, STACK)
    (task,) = _resources(template, "AWS::DMS::ReplicationTask")
    properties = task["Properties"]
    assert properties["MigrationType"] == "cdc"
    assert properties["ResourceIdentifier"] == "dms-task-starter-integ"
    for key in ("ReplicationInstanceArn", "SourceEndpointArn", "TargetEndpointArn"):
        assert properties[key].startswith("arn:aws:dms:us-east-1:123456789012:")
        assert "PLACEHOLDER" in properties[key]
    rules = json.loads(properties["TableMappings"])["rules"]
    assert rules[0]["object-locator"] == {"schema-name": "public", "table-name": "%"}
    (starter,) = _resources(template, "Custom::DmsReplicationTaskStarter")
    assert "CdcStopPosition" not in starter["Properties"]
    assert starter["Properties"]["WaitFor"] == "running"
    assert starter["Properties"]["OnDelete"] == "stop"
    assert len(_resources(template, "Custom::DmsReplicationTaskUpdateGuard")) == 1
    assert _resources(template, "AWS::CloudWatch::Alarm") == []


def test_update_phase_takes_context_and_restarts_with_a_stop_position(update: Path) -> None:
    template = _template(update, STACK)
    (task,) = _resources(template, "AWS::DMS::ReplicationTask")
    properties = task["Properties"]
    assert properties["MigrationType"] == "full-load-and-cdc"
    assert properties["ResourceIdentifier"] == "my-integ-task"
    assert properties["SourceEndpointArn"] == f"{ACCOUNT_ARN}:endpoint:SRC"
    assert properties["TargetEndpointArn"] == f"{ACCOUNT_ARN}:endpoint:TGT"
    assert properties["ReplicationInstanceArn"] == f"{ACCOUNT_ARN}:rep:INST"
    assert "sales" in properties["TableMappings"]
    (starter,) = _resources(template, "Custom::DmsReplicationTaskStarter")
    assert starter["Properties"]["CdcStopPosition"] == "server_time:2099-01-01T00:00:00"
    (alarm,) = _resources(template, "AWS::CloudWatch::Alarm")
    assert alarm["Properties"]["MetricName"] == "CDCLatencyTarget"
    assert alarm["Properties"]["Namespace"] == "AWS/DMS"
    assert {"Name": "ReplicationInstanceIdentifier", "Value": "integ-instance"} in alarm[
        "Properties"
    ]["Dimensions"]


def _describe_call(outdir: Path) -> dict[str, Any]:
    template = _template(outdir, _assertion_stack(outdir))
    (call,) = _resources(template, "Custom::DeployAssert@SdkCallDMSdescribeReplicationTasks")
    return dict(call["Properties"])


def _rendered(value: Any) -> str:
    """A CloudFormation string (maybe an Fn::Join) with its tokens as <token>."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else "<token>" for part in parts)


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (
            "initial",
            {"ReplicationTasks": [{"ReplicationTaskArn": "<token>", "Status": "running"}]},
        ),
        (
            "update",
            {
                "ReplicationTasks": [
                    {
                        "ReplicationTaskArn": "<token>",
                        "Status": "running",
                        "CdcStopPosition": "server_time:2099-01-01T00:00:00",
                    }
                ]
            },
        ),
    ],
)
def test_assertion_expects_the_task_running(
    phase: str, expected: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    call = _describe_call(request.getfixturevalue(phase))
    assert call["service"] == "DMS"
    assert call["api"] == "describeReplicationTasks"
    assert json.loads(_rendered(call["expected"])) == {"$ObjectLike": expected}
    filters = json.loads(_rendered(call["parameters"]["Filters"]))
    assert filters == [{"Name": "replication-task-arn", "Values": ["<token>"]}]
    # The assertion waits (a Step Functions waiter) instead of failing on the first look.
    assert "stateMachineArn" in call


def test_unknown_phase_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = _synth(tmp_path, {"integ:phase": "later"})
    assert result.returncode != 0
    assert "context integ:phase: 'later' is not one of ('initial', 'update')" in result.stderr
