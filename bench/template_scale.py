"""Template scale: N starters in one stack vs. N hand-written AwsCustomResource starters.

Synthesizes with ``app.synth()`` and reads the template JSON: Lambda functions, resources
(total and marginal per starter), IAM policy document sizes (characters without
whitespace: largest and total), template bytes and synth seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LAMBDA_ENV, row

os.environ.update(LAMBDA_ENV)

import aws_cdk as cdk
from aws_cdk import custom_resources as cr
from dms_task_starter import ReplicationTaskStarter
from dms_task_starter_runtime.contract import STARTER_RESOURCE_TYPE

COMMAND: Final = ".venv/bin/python bench/template_scale.py"
SIZES: Final = (1, 10, 100, 200)
POLICY_TYPES: Final = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
MAX_RESOURCES: Final = 500
MAX_TEMPLATE_BYTES: Final = 1_000_000


def arn(index: int) -> str:
    return f"arn:aws:dms:eu-west-1:123456789012:task:TASK{index:04d}"


@dataclass(frozen=True)
class Figures:
    variant: str
    starters: int
    lambdas: int
    starter_resources: int
    resources: int
    largest_policy: int
    total_policy: int
    template_bytes: int
    synth_seconds: float


def add_starters(stack: cdk.Stack, count: int) -> None:
    for index in range(count):
        ReplicationTaskStarter(stack, f"Starter{index}", task=arn(index))


def add_aws_custom_resources(stack: cdk.Stack, count: int) -> None:
    for index in range(count):
        call = cr.AwsSdkCall(
            service="DatabaseMigrationService",
            action="startReplicationTask",
            parameters={
                "ReplicationTaskArn": arn(index),
                "StartReplicationTaskType": "start-replication",
            },
            physical_resource_id=cr.PhysicalResourceId.of(arn(index)),
        )
        cr.AwsCustomResource(
            stack,
            f"Starter{index}",
            on_create=call,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[arn(index)]),
            install_latest_aws_sdk=False,
        )


def synth(variant: str, count: int) -> Figures:
    started = time.perf_counter()
    app = cdk.App()
    stack = cdk.Stack(app, "Scale", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    (add_starters if variant == "ReplicationTaskStarter" else add_aws_custom_resources)(
        stack, count
    )
    assembly = app.synth()
    elapsed = time.perf_counter() - started
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    raw = Path(assembly.directory, artifact.template_file).read_bytes()
    template: dict[str, Any] = json.loads(raw)
    resources = template["Resources"].values()
    policies = [
        len(json.dumps(res["Properties"]["PolicyDocument"], separators=(",", ":")))
        for res in resources
        if res["Type"] in POLICY_TYPES
    ]
    return Figures(
        variant=variant,
        starters=count,
        lambdas=sum(1 for res in resources if res["Type"] == "AWS::Lambda::Function"),
        starter_resources=sum(1 for res in resources if res["Type"] == STARTER_RESOURCE_TYPE),
        resources=len(template["Resources"]),
        largest_policy=max(policies, default=0),
        total_policy=sum(policies),
        template_bytes=len(raw),
        synth_seconds=elapsed,
    )


def main() -> None:
    results: dict[str, list[Figures]] = {}
    for variant in ("ReplicationTaskStarter", "AwsCustomResource"):
        results[variant] = [synth(variant, count) for count in SIZES]
    header = (
        f"{'variant':24} {'N':>4} {'lambdas':>7} {'resources':>9} {'per starter':>11} "
        f"{'max policy':>10} {'policies':>8} {'bytes':>9} {'synth s':>7}"
    )
    print(header)
    print("-" * len(header))
    for variant, figures in results.items():
        first = figures[0]
        for fig in figures:
            marginal = (
                (fig.resources - first.resources) / (fig.starters - first.starters)
                if fig.starters > first.starters
                else float("nan")
            )
            print(
                f"{variant:24} {fig.starters:>4} {fig.lambdas:>7} {fig.resources:>9} "
                f"{marginal:>11.2f} {fig.largest_policy:>10} {fig.total_policy:>8} "
                f"{fig.template_bytes:>9} {fig.synth_seconds:>7.1f}"
            )
    ours, theirs = results["ReplicationTaskStarter"], results["AwsCustomResource"]
    first, last = ours[0], ours[-1]
    marginal = (last.resources - first.resources) / (last.starters - first.starters)
    theirs_marginal = (theirs[-1].resources - theirs[0].resources) / (
        theirs[-1].starters - theirs[0].starters
    )
    lambdas = sorted({fig.lambdas for fig in ours})
    row(
        "template scale: Lambda functions",
        f"{lambdas} for N={SIZES} (AwsCustomResource: {sorted({f.lambdas for f in theirs})})",
        "constant",
        len(lambdas) == 1,
        COMMAND,
    )
    own = {fig.starter_resources / fig.starters for fig in ours}
    row(
        "template scale: resources of its own per starter",
        f"{sorted(own)} for N={SIZES} (its custom resource)",
        "1",
        own == {1.0},
        COMMAND,
    )
    row(
        "template scale: marginal resources per starter, shared ones included",
        f"{marginal:.2f}: 1 custom resource + 2 shared grant policies per 40 starters "
        f"(AwsCustomResource: {theirs_marginal:.2f})",
        "n/a",
        None,
        COMMAND,
    )
    row(
        f"template scale: N={last.starters} resources",
        f"{last.resources} (AwsCustomResource: {theirs[-1].resources})",
        f"< {MAX_RESOURCES}",
        last.resources < MAX_RESOURCES,
        COMMAND,
    )
    row(
        f"template scale: N={last.starters} template bytes",
        f"{last.template_bytes} (AwsCustomResource: {theirs[-1].template_bytes})",
        f"< {MAX_TEMPLATE_BYTES}",
        last.template_bytes < MAX_TEMPLATE_BYTES,
        COMMAND,
    )
    row(
        f"template scale: N={last.starters} IAM policies",
        f"largest {last.largest_policy} chars, total {last.total_policy} "
        f"(AwsCustomResource: largest {theirs[-1].largest_policy}, "
        f"total {theirs[-1].total_policy})",
        "n/a",
        None,
        COMMAND,
    )
    row(
        f"template scale: N={last.starters} synth seconds",
        f"{last.synth_seconds:.1f} s (AwsCustomResource: {theirs[-1].synth_seconds:.1f} s)",
        "n/a",
        None,
        COMMAND,
    )


if __name__ == "__main__":
    main()
