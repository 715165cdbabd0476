"""Cold start: import and client creation of plain boto3 vs. the handler; where the rest goes.

Every measurement is a fresh ``python -c`` process (``RUNS`` of each variant, the variants
taking turns), timed inside the process with ``time.perf_counter`` from before the first
import to after the clients exist, so interpreter start-up, equal for both, is left out.

- (a) ``import boto3; boto3.client("dms")``;
- (b) ``import dms_task_starter_runtime.handler`` and creating its clients (DMS, and
  CloudFormation, which Updates and Deletes use), as the Lambda runtime does on a cold start;
- the breakdown: one process doing (a) and then (b) in stages, each stage timed on its
  own: what (b) adds to (a), and where;
- (b) as Lambda loads it: the handler imported from the staged asset directory with
  bytecode writing off (the asset ships no ``.pyc`` and ``/var/task`` is read-only, so the
  runtime's modules are compiled on every cold start).

Also: whether (b) imports ``aws_xray_sdk`` with tracing off, and the size of the zipped
Lambda asset as the construct stages it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench._common import LAMBDA_ENV, REPO, Row, emit, median, module_command

COMMAND: Final = module_command("bench.cold_start")
RUNS: Final = 11
RATIO_TARGET: Final = 1.15
ASSET_TARGET_BYTES: Final = 50 * 1024
VENDORED: Final = ("boto3", "botocore")

PRELUDE: Final = "import json, sys, time\nt = [time.perf_counter()]\n"
REPORT: Final = (
    "print(json.dumps({'stages': [b - a for a, b in zip(t, t[1:])], "
    "'xray': 'aws_xray_sdk' in sys.modules, "
    "'runtime_file': getattr(sys.modules.get('dms_task_starter_runtime'), '__file__', None)}))\n"
)
PLAIN: Final = ('import boto3\nboto3.client("dms")',)
HANDLER: Final = (
    "import dms_task_starter_runtime.handler\n"
    "from dms_task_starter_runtime import dms, stack\n"
    "dms.dms_client()\n"
    "stack.cloudformation_client()",
)
STAGES: Final = (
    ("(a) import boto3 + boto3.client('dms')", PLAIN[0]),
    (
        "import aws_lambda_powertools (package: Logger, Metrics, Tracer)",
        "import aws_lambda_powertools",
    ),
    (
        "import aws_lambda_powertools.utilities.data_classes (its event classes)",
        "import aws_lambda_powertools.utilities.data_classes",
    ),
    (
        "import dms_task_starter_runtime.handler (the runtime's own modules)",
        "import dms_task_starter_runtime.handler",
    ),
    (
        "the handler's clients after (a)'s: a second DMS client, the CloudFormation client",
        "from dms_task_starter_runtime import dms, stack\n"
        "dms.dms_client()\n"
        "stack.cloudformation_client()",
    ),
)


def program(steps: tuple[str, ...]) -> str:
    """A program timing each of ``steps`` (appending to ``t`` after each)."""
    timed = "".join(f"{step}\nt.append(time.perf_counter())\n" for step in steps)
    return PRELUDE + timed + REPORT


@dataclass(frozen=True)
class Variant:
    name: str
    code: str
    env: dict[str, str]


@dataclass
class Measured:
    stages: list[list[float]] = field(default_factory=list)
    """Per run, the seconds of each stage."""
    xray: bool = False
    """Whether any run had imported ``aws_xray_sdk``."""
    runtime_files: set[str] = field(default_factory=set)
    """Where the runs imported ``dms_task_starter_runtime`` from."""

    def totals(self) -> list[float]:
        return [sum(run) for run in self.stages]

    def stage(self, index: int) -> list[float]:
        return [run[index] for run in self.stages]


def run_once(variant: Variant, into: Measured) -> None:
    done = subprocess.run(
        [sys.executable, "-c", variant.code],
        env=variant.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{variant.name} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    into.stages.append([float(seconds) for seconds in result["stages"]])
    into.xray = into.xray or bool(result["xray"])
    into.runtime_files.add(str(result["runtime_file"]))


def staged_asset() -> Path:
    """The directory the construct turns into the Lambda asset."""
    from dms_task_starter._asset import staged_runtime_dir

    return Path(staged_runtime_dir())


def zipped(directory: Path) -> tuple[int, list[str]]:
    """Zip ``directory`` as a Lambda asset; return the archive's size and its entries."""
    buffer = io.BytesIO()
    names: list[str] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_dir():
                continue
            name = path.relative_to(directory).as_posix()
            names.append(name)
            archive.write(path, name)
    return len(buffer.getvalue()), names


def main() -> None:
    asset = staged_asset()
    base_env = {**os.environ, **LAMBDA_ENV}
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    as_lambda_env = {**base_env, "PYTHONPATH": str(asset), "PYTHONDONTWRITEBYTECODE": "1"}
    variants = (
        Variant("(a)", program(PLAIN), base_env),
        Variant("(b)", program(HANDLER), base_env),
        Variant("stages", program(tuple(code for _, code in STAGES)), base_env),
        Variant("(b) from the asset", program(HANDLER), as_lambda_env),
    )
    results = {variant.name: Measured() for variant in variants}
    for variant in variants:  # once, unrecorded: the OS file cache is warm for every variant
        run_once(variant, Measured())
    for run in range(RUNS):
        order = variants if run % 2 == 0 else tuple(reversed(variants))
        for variant in order:
            run_once(variant, results[variant.name])

    plain, ours = results["(a)"], results["(b)"]
    staged, from_asset = results["stages"], results["(b) from the asset"]
    if not all(path.startswith(str(asset)) for path in from_asset.runtime_files):
        raise SystemExit(f"the asset variant imported the runtime from {from_asset.runtime_files}")
    plain_ms, ours_ms = median(plain.totals()) * 1000, median(ours.totals()) * 1000
    asset_ms = median(from_asset.totals()) * 1000
    ratio, asset_ratio = ours_ms / plain_ms, asset_ms / plain_ms
    stage_ms = [median(staged.stage(index)) * 1000 for index in range(len(STAGES))]
    extra_ms = sum(stage_ms[1:])

    print(f"{RUNS} fresh processes per variant, variants taking turns; medians")
    print(f"(a) import boto3 + boto3.client('dms'):              {plain_ms:7.1f} ms")
    print(f"(b) import handler + its two clients:                {ours_ms:7.1f} ms")
    print(f"(b) from the staged asset, no bytecode (as Lambda):  {asset_ms:7.1f} ms")
    print(f"ratio b/a {ratio:.2f} (target <= {RATIO_TARGET}); from the asset {asset_ratio:.2f}")
    print("breakdown, one process doing (a) then (b) in stages:")
    for (label, _), milliseconds in zip(STAGES, stage_ms, strict=True):
        print(f"  {milliseconds:7.1f} ms  {label}")
    print(
        f"  stages after (a): {extra_ms:.1f} ms; (b) - (a) from separate runs: "
        f"{ours_ms - plain_ms:.1f} ms"
    )
    print(f"aws_xray_sdk imported by (b): {ours.xray or from_asset.xray}")

    size, names = zipped(asset)
    vendored = sorted({part for name in names for part in name.split("/") if part in VENDORED})
    bytecode = [name for name in names if name.endswith((".pyc", ".pyo"))]
    print(f"asset: {len(names)} files, zipped {size} bytes: {', '.join(names)}")

    emit(
        Row(
            "cold start",
            f"(a) boto3 + DMS client {plain_ms:.0f} ms, (b) handler + its 2 clients "
            f"{ours_ms:.0f} ms: ratio b/a {ratio:.2f} (medians of {RUNS} fresh processes)",
            f"ratio <= {RATIO_TARGET}",
            ratio <= RATIO_TARGET,
            COMMAND,
        )
    )
    for index, ((label, _), milliseconds) in enumerate(zip(STAGES, stage_ms, strict=True)):
        if index == 0:
            continue
        emit(
            Row(
                f"cold start, (b) breakdown: {label}",
                f"{milliseconds:.1f} ms",
                "n/a",
                None,
                COMMAND,
            )
        )
    emit(
        Row(
            "cold start, (b) breakdown: sum of the stages after (a)",
            f"{extra_ms:.1f} ms (vs (b) - (a) = {ours_ms - plain_ms:.1f} ms from separate "
            "processes)",
            "n/a",
            None,
            COMMAND,
        )
    )
    emit(
        Row(
            "cold start, (b) as Lambda loads it (staged asset, no bytecode)",
            f"{asset_ms:.0f} ms: ratio to (a) {asset_ratio:.2f}",
            "n/a",
            None,
            COMMAND,
        )
    )
    xray = ours.xray or from_asset.xray
    emit(
        Row(
            "cold start: X-Ray SDK with tracing off",
            f"aws_xray_sdk imported: {'yes' if xray else 'no'} ({2 * RUNS} runs of (b))",
            "not imported",
            not xray,
            COMMAND,
        )
    )
    emit(
        Row(
            "Lambda asset size",
            f"{size} bytes zipped, {len(names)} files, boto3/botocore inside: "
            f"{', '.join(vendored) or 'none'}, bytecode files: {len(bytecode)}",
            f"<= {ASSET_TARGET_BYTES} bytes, no boto3/botocore",
            size <= ASSET_TARGET_BYTES and not vendored,
            COMMAND,
        )
    )


if __name__ == "__main__":
    main()
