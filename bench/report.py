"""Run every benchmark and the fault-injection count; write bench/RESULTS.md."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, ROW_PREFIX

SCRIPTS: Final = (
    "cold_start.py",
    "api_calls.py",
    "reaction_time.py",
    "template_scale.py",
    "throttling.py",
)
FAULT_TESTS: Final = "tests/handler/test_fault_injection.py"


def run(command: list[str]) -> str:
    print("$ " + " ".join(command), flush=True)
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    output = done.stdout
    print("\n".join(line for line in output.splitlines() if not line.startswith("{")))
    if done.returncode != 0:
        print(done.stderr[-3000:])
        raise SystemExit(f"{' '.join(command)} exited with {done.returncode}")
    return output


def fault_cases() -> tuple[int, str]:
    command = [sys.executable, "-m", "pytest", FAULT_TESTS, "-q", "-p", "no:cacheprovider"]
    output = run([*command, "-k", "test_fault_case_count", "-s"])
    count = next(
        int(line.split()[0]) for line in output.splitlines() if line.endswith("fault cases")
    )
    summary = run(command).strip().splitlines()[-1]
    return count, summary


def main() -> None:
    rows: list[list[str]] = []
    durations: list[str] = []
    for script in SCRIPTS:
        started = time.perf_counter()
        output = run([sys.executable, f"bench/{script}"])
        durations.append(f"{script}: {time.perf_counter() - started:.0f} s")
        rows += [
            line.removeprefix(ROW_PREFIX).split("\t")
            for line in output.splitlines()
            if line.startswith(ROW_PREFIX)
        ]
    count, summary = fault_cases()
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run_all.sh`; figures are medians over repeated runs unless said "
        "otherwise, ratios measured within one run. Machine: "
        f"{os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}.",
        "",
        "| benchmark | figure | target | met? | command |",
        "|---|---|---|---|---|",
        *(f"| {b} | {f} | {t} | {m} | `{c}` |" for b, f, t, m, c in rows),
        f"| fault injection | {count} fault cases ({summary}) | every case a clear failure or "
        f"a correct success | {'NO' if 'failed' in summary else 'yes'} | "
        f"`.venv/bin/pytest {FAULT_TESTS} -q` |",
        "",
        f"**{count} fault cases** in `{FAULT_TESTS}`.",
        "",
        "Script run times: " + ", ".join(durations) + ".",
        "",
    ]
    (REPO / "bench" / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
