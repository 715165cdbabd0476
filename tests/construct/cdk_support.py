"""Helpers for the construct tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import App, Stack, Validations
from aws_cdk import aws_dms as dms
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


ACCOUNT_ARN = "arn:aws:dms:eu-west-1:123456789012"
INSTANCE_ARN = f"{ACCOUNT_ARN}:rep:INSTANCE"
SOURCE_ARN = f"{ACCOUNT_ARN}:endpoint:SOURCE"
TARGET_ARN = f"{ACCOUNT_ARN}:endpoint:TARGET"
TASK_ARN = f"{ACCOUNT_ARN}:task:EXISTINGTASK"


def make_task(
    scope: Stack, id: str, *, resource_identifier: str | None = None, **overrides: Any
) -> dms.CfnReplicationTask:
    """A CfnReplicationTask with literal endpoints; ``overrides`` replace its props."""
    props: dict[str, Any] = {
        "migration_type": "full-load-and-cdc",
        "replication_instance_arn": INSTANCE_ARN,
        "source_endpoint_arn": SOURCE_ARN,
        "target_endpoint_arn": TARGET_ARN,
        "table_mappings": '{"rules": []}',
        "resource_identifier": resource_identifier,
    }
    props.update(overrides)
    return dms.CfnReplicationTask(scope, id, **props)


@dataclass
class Synthesized:
    app: App
    stack: Stack
    template: Template
    outdir: Path

    def resources(self, type_: str) -> dict[str, Any]:
        return dict(self.template.find_resources(type_))

    def template_json(self) -> dict[str, Any]:
        return dict(self.template.to_json())


def synthesize(build: Callable[[Stack], object], outdir: Path, *, nag: bool = False) -> Synthesized:
    """Build a stack with ``build`` and synthesize it into ``outdir`` (optionally with cdk-nag)."""
    app = App(outdir=str(outdir))
    stack = Stack(app, "TestStack")
    build(stack)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises when cdk-nag reports an unacknowledged finding
    return Synthesized(app, stack, Template.from_stack(stack), outdir)


def build_mixed(stack: Stack) -> None:
    """Five starters: two guarded CfnReplicationTasks, an unguarded one, two ARN strings."""
    from dms_task_starter import CdcStart, CdcStop, ReplicationTaskStarter

    guarded = make_task(stack, "GuardedTask", resource_identifier="guarded-task")
    ReplicationTaskStarter(stack, "Guarded", task=guarded)
    other = make_task(stack, "OtherTask", resource_identifier="other-task")
    ReplicationTaskStarter(stack, "Other", task=other, cdc_start=CdcStart.at_position("0/5120E10"))
    unguarded = make_task(stack, "UnguardedTask")
    ReplicationTaskStarter(stack, "Unguarded", task=unguarded, guard_task_updates=False)
    ReplicationTaskStarter(
        stack,
        "ByArn",
        task=TASK_ARN,
        cdc_stop=CdcStop.at_position("server_time:2030-01-01T00:00:00"),
    )
    ReplicationTaskStarter(stack, "ByArn2", task=f"{ACCOUNT_ARN}:task:SECONDTASK")


def deterministic_arn(identifier: str) -> dict[str, Any]:
    """The task ARN a guard knows before the task exists, as CloudFormation renders it."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":dms:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":task:{identifier}",
            ],
        ]
    }


def run_python(args: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    """Run this interpreter with ``args`` in a fresh process; fail the test unless it succeeds."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
