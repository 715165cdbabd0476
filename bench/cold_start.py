"""Cold start: import + DMS client creation, plain boto3 vs. the handler module; asset size.

Each measurement runs in a fresh ``python -c`` subprocess (N runs per variant, the variants
alternating), timed in-process with ``time.perf_counter`` around the import and the client
creation, as the Lambda runtime would do them on a cold start.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LAMBDA_ENV, median, row

RUNS: Final = 15
COMMAND: Final = ".venv/bin/python bench/cold_start.py"
RATIO_TARGET: Final = 1.15
ASSET_TARGET_BYTES: Final = 50 * 1024

PLAIN_BOTO3: Final = """
import json, sys, time
t0 = time.perf_counter()
import boto3
boto3.client("dms", region_name="eu-west-1")
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "xray": "aws_xray_sdk" in sys.modules}))
"""
HANDLER: Final = """
import json, sys, time
t0 = time.perf_counter()
import dms_task_starter_runtime.handler
from dms_task_starter_runtime import dms
dms.dms_client()
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "xray": "aws_xray_sdk" in sys.modules}))
"""


def measure(code: str) -> tuple[float, bool]:
    env = {**os.environ, **LAMBDA_ENV, "PYTHONDONTWRITEBYTECODE": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return float(result["seconds"]), bool(result["xray"])


def asset_zip_bytes() -> tuple[int, list[str]]:
    """Zip the staged asset directory the construct ships; return its size and its entries."""
    from dms_task_starter._asset import staged_runtime_dir

    staged = Path(staged_runtime_dir())
    buffer = io.BytesIO()
    names: list[str] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(staged.rglob("*")):
            if "__pycache__" in path.parts or path.is_dir():
                continue
            name = str(path.relative_to(staged))
            names.append(name)
            archive.write(path, name)
    return len(buffer.getvalue()), names


def main() -> None:
    os.environ.update(LAMBDA_ENV)
    # Warm the OS file cache once for both variants, so the first timed run is not penalised.
    measure(PLAIN_BOTO3)
    measure(HANDLER)
    plain: list[float] = []
    ours: list[float] = []
    xray_imported = False
    for run in range(RUNS):
        order = ((PLAIN_BOTO3, plain), (HANDLER, ours))
        for code, into in order if run % 2 == 0 else reversed(order):
            seconds, xray = measure(code)
            into.append(seconds)
            xray_imported = xray_imported or (code is HANDLER and xray)
    plain_ms, ours_ms = median(plain) * 1000, median(ours) * 1000
    ratio = ours_ms / plain_ms
    print(f"runs per variant: {RUNS} (fresh subprocess each, alternating order)")
    print(f"(a) import boto3 + boto3.client('dms'):        median {plain_ms:7.1f} ms")
    print(f"(b) import handler + dms.dms_client():          median {ours_ms:7.1f} ms")
    print(f"ratio b/a: {ratio:.2f} (target <= {RATIO_TARGET})")
    print(f"aws_xray_sdk imported by (b): {xray_imported}")

    size, names = asset_zip_bytes()
    vendored = sorted(
        {name.split("/")[1] for name in names if name.split("/")[1] in ("boto3", "botocore")}
        | {name.split("/")[0] for name in names if name.split("/")[0] in ("boto3", "botocore")}
    )
    assert not vendored, f"the asset vendors {vendored}"
    print(f"asset: {len(names)} files, zipped {size} bytes (target <= {ASSET_TARGET_BYTES})")
    print("asset entries: " + ", ".join(names))

    row(
        "cold start",
        f"(a) {plain_ms:.0f} ms, (b) {ours_ms:.0f} ms, ratio b/a {ratio:.2f}",
        f"ratio <= {RATIO_TARGET}",
        ratio <= RATIO_TARGET,
        COMMAND,
    )
    row(
        "cold start: X-Ray SDK",
        f"aws_xray_sdk imported: {xray_imported}",
        "not imported",
        not xray_imported,
        COMMAND,
    )
    row(
        "Lambda asset size",
        f"{size} bytes zipped, {len(names)} files, no boto3/botocore",
        f"<= {ASSET_TARGET_BYTES} bytes",
        size <= ASSET_TARGET_BYTES,
        COMMAND,
    )


if __name__ == "__main__":
    main()
