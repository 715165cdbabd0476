"""Template scale: N starters of each kind in one stack, and N hand-written AwsCustomResources.

Kinds: a guarded ``CfnReplicationTask`` (literal ``resource_identifier``), an unguarded
``CfnReplicationTask``, a task given by ARN, a Serverless ``CfnReplicationConfig``, and for
comparison an ``AwsCustomResource`` calling StartReplicationTask on a task given by ARN.
The stacks of the first, second and fourth kinds hold the N DMS resources too.

Each stack is built and synthesized (``app.synth()``) after one warm-up synthesis, and its
template file read back: resources by type, Lambda functions, IAM policy documents
(characters of their template JSON without whitespace: the largest, and all together),
template bytes, and the seconds building and synthesis took. A size that cannot be
synthesized (the construct's ValueError, or CDK refusing a stack over 500 resources) is a
row of its own.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import aws_cdk as cdk
from aws_cdk import custom_resources as cr
from dms_task_starter import ReplicationStarter, ReplicationTaskStarter

from bench._common import Row, emit, module_command
from tests.support.cdk import make_config, make_task

if TYPE_CHECKING:
    from collections.abc import Callable

COMMAND: Final = module_command("bench.template_scale")
SIZES: Final = (1, 10, 100, 200)
MAX_RESOURCES: Final = 500
MAX_TEMPLATE_BYTES: Final = 1_000_000
POLICY_TYPES: Final = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
ENV: Final = cdk.Environment(account="123456789012", region="eu-west-1")


def arn(index: int) -> str:
    return f"arn:aws:dms:eu-west-1:123456789012:task:TASK{index:04d}"


def guarded(stack: cdk.Stack, index: int) -> None:
    task = make_task(stack, f"Task{index}", resource_identifier=f"task-{index}")
    ReplicationTaskStarter(stack, f"Starter{index}", task=task)


def unguarded(stack: cdk.Stack, index: int) -> None:
    task = make_task(stack, f"Task{index}")
    ReplicationTaskStarter(stack, f"Starter{index}", task=task, guard_task_updates=False)


def by_arn(stack: cdk.Stack, index: int) -> None:
    ReplicationTaskStarter(stack, f"Starter{index}", task=arn(index))


def serverless(stack: cdk.Stack, index: int) -> None:
    config = make_config(stack, f"Config{index}")
    ReplicationStarter(stack, f"Starter{index}", replication_config=config)


def aws_custom_resource(stack: cdk.Stack, index: int) -> None:
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


KINDS: Final[dict[str, Callable[[cdk.Stack, int], None]]] = {
    "guarded CfnReplicationTask": guarded,
    "unguarded CfnReplicationTask": unguarded,
    "task given by ARN": by_arn,
    "Serverless CfnReplicationConfig": serverless,
    "AwsCustomResource (task by ARN)": aws_custom_resource,
}


@dataclass(frozen=True)
class Synthesized:
    starters: int
    types: Counter[str]
    largest_policy: int
    total_policy: int
    template_bytes: int
    seconds: float

    @property
    def resources(self) -> int:
        return sum(self.types.values())

    @property
    def lambdas(self) -> int:
        return self.types["AWS::Lambda::Function"]


@dataclass(frozen=True)
class Refused:
    starters: int
    error: str


def policy_documents(resource: dict[str, Any]) -> list[Any]:
    properties = resource.get("Properties", {})
    if resource["Type"] in POLICY_TYPES:
        return [properties["PolicyDocument"]]
    if resource["Type"] == "AWS::IAM::Role":
        return [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    return []


def synth(build: Callable[[cdk.Stack, int], None], count: int) -> Synthesized | Refused:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as outdir:
        started = time.perf_counter()
        app = cdk.App(outdir=outdir)
        stack = cdk.Stack(app, "Scale", env=ENV)
        try:
            for index in range(count):
                build(stack, index)
            assembly = app.synth()
        except (ValueError, RuntimeError) as error:
            first_line = str(error).strip().splitlines()[0]
            return Refused(count, f"{type(error).__name__}: {first_line}")
        seconds = time.perf_counter() - started
        artifact = assembly.get_stack_artifact(stack.artifact_id)
        raw = Path(assembly.directory, artifact.template_file).read_bytes()
    resources: dict[str, Any] = json.loads(raw)["Resources"]
    sizes = [
        len(json.dumps(document, separators=(",", ":")))
        for resource in resources.values()
        for document in policy_documents(resource)
    ]
    return Synthesized(
        starters=count,
        types=Counter(resource["Type"] for resource in resources.values()),
        largest_policy=max(sizes, default=0),
        total_policy=sum(sizes),
        template_bytes=len(raw),
        seconds=seconds,
    )


def per_starter(results: list[Synthesized]) -> str:
    """Resources added per starter between the smallest and the largest synthesized N."""
    first, last = results[0], results[-1]
    if last.starters == first.starters:
        return "one size only"
    span = last.starters - first.starters
    added = {
        kind: (last.types[kind] - first.types[kind]) / span
        for kind in sorted(set(first.types) | set(last.types))
        if last.types[kind] != first.types[kind]
    }
    total = (last.resources - first.resources) / span
    parts = ", ".join(f"{kind} {value:.3g}" for kind, value in added.items())
    return f"{total:.3g} ({parts}; N={first.starters} to {last.starters})"


def by_size(results: list[Synthesized | Refused], value: Callable[[Synthesized], str]) -> str:
    return "/".join(value(r) if isinstance(r, Synthesized) else "refused" for r in results)


def most_starters(results: list[Synthesized]) -> int:
    """The largest N whose stack stays under the resource limit, from the measured slope."""
    first, last = results[0], results[-1]
    slope = (last.resources - first.resources) / (last.starters - first.starters)
    return first.starters + int((MAX_RESOURCES - 1 - first.resources) // slope)


def main() -> None:
    synth(by_arn, 1)  # warm-up: the jsii kernel and the asset staging are paid once here
    results = {kind: [synth(build, count) for count in SIZES] for kind, build in KINDS.items()}
    sizes = "/".join(str(count) for count in SIZES)
    for kind, kind_results in results.items():
        for result in kind_results:
            if isinstance(result, Refused):
                print(f"{kind:32} N={result.starters:>3}: {result.error}")
                continue
            print(
                f"{kind:32} N={result.starters:>3}: {result.resources:>4} resources, "
                f"{result.lambdas} Lambda functions, {result.template_bytes:>7} bytes, IAM "
                f"largest {result.largest_policy} total {result.total_policy} chars, "
                f"{result.seconds:.2f} s"
            )
    synthesized = {
        kind: [r for r in kind_results if isinstance(r, Synthesized)]
        for kind, kind_results in results.items()
    }

    def table(value: Callable[[Synthesized], str]) -> str:
        return "; ".join(f"{kind} {by_size(r, value)}" for kind, r in results.items())

    emit(
        Row(
            f"template scale: Lambda functions at N={sizes}",
            table(lambda r: str(r.lambdas)),
            "the same at every N",
            all(len({r.lambdas for r in rs}) == 1 for rs in synthesized.values()),
            COMMAND,
        )
    )
    emit(
        Row(
            f"template scale: resources at N={sizes}",
            table(lambda r: str(r.resources)),
            f"n/a (CloudFormation allows {MAX_RESOURCES} per stack)",
            None,
            COMMAND,
        )
    )
    emit(
        Row(
            f"template scale: most starters one stack holds under {MAX_RESOURCES} resources",
            "; ".join(
                f"{kind} {most_starters(rs)}" for kind, rs in synthesized.items() if len(rs) > 1
            ),
            "n/a",
            None,
            COMMAND,
        )
    )
    emit(
        Row(
            f"template scale: template bytes at N={sizes}",
            table(lambda r: str(r.template_bytes)),
            f"< {MAX_TEMPLATE_BYTES} (CloudFormation)",
            all(r.template_bytes < MAX_TEMPLATE_BYTES for rs in synthesized.values() for r in rs),
            COMMAND,
        )
    )
    emit(
        Row(
            "template scale: resources added per starter, by type",
            "; ".join(f"{kind} {per_starter(rs)}" for kind, rs in synthesized.items() if rs),
            "n/a",
            None,
            COMMAND,
        )
    )
    emit(
        Row(
            f"template scale: IAM policy documents at N={sizes}, largest/total characters",
            table(lambda r: f"{r.largest_policy}:{r.total_policy}"),
            "n/a",
            None,
            COMMAND,
        )
    )
    emit(
        Row(
            f"template scale: seconds to build and synthesize at N={sizes}",
            table(lambda r: f"{r.seconds:.1f}"),
            "n/a",
            None,
            COMMAND,
        )
    )
    for kind, kind_results in results.items():
        for result in kind_results:
            if isinstance(result, Refused):
                emit(
                    Row(
                        f"template scale: {kind}, N={result.starters}",
                        f"not synthesized: {result.error}",
                        "n/a (the limit is CloudFormation's: split the starters across stacks)",
                        None,
                        COMMAND,
                    )
                )


if __name__ == "__main__":
    main()
