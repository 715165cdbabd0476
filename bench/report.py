"""Run every benchmark module and the fault-injection tests; write bench/RESULTS.md.

Each row comes from the output of the command in its row, run here from the repository
root; a row whose command differs from the one that printed it stops the report. The
fault-injection case count is the number of tests ``pytest --collect-only`` collects;
a collection that fails is a failing row, not a crash. docs/benchmarks.md copies the table
between the ``bench:start`` and ``bench:end`` markers (tests/test_bench_results.py checks).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Final

from bench import ORIGINAL_ENVIRONMENT
from bench._common import PYTHON, REPO, Row, module_command, parse_rows
from tests.support.dms_double import BEHAVIOURS

MODULES: Final = (
    "bench.cold_start",
    "bench.api_calls",
    "bench.reaction_time",
    "bench.template_scale",
    "bench.throttling",
    "bench.long_wait_cost",
)
FAULT_TESTS: Final = "tests/handler/test_fault_injection.py"
COLLECT: Final = f"{PYTHON} -m pytest --collect-only -q {FAULT_TESTS}"
RUN_TESTS: Final = f"{PYTHON} -m pytest -q {FAULT_TESTS}"
RESULTS: Final = REPO / "bench" / "RESULTS.md"
START_MARKER: Final = "<!-- bench:start -->"
END_MARKER: Final = "<!-- bench:end -->"
COLLECTED: Final = re.compile(r"^(\d+) tests? collected")
PASSED: Final = re.compile(r"\b(\d+) passed\b")


@dataclass(frozen=True)
class Ran:
    command: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run(command: str) -> Ran:
    """Run ``command`` (split on spaces) from the repository root, in the environment this
    report was started with; echo what it printed."""
    print(f"$ {command}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(
        command.split(" "),
        cwd=REPO,
        env=ORIGINAL_ENVIRONMENT,
        capture_output=True,
        text=True,
        check=False,
    )
    ran = Ran(command, done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
    print("\n".join(line for line in done.stdout.splitlines() if not line.startswith("ROW ")))
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
    print(f"({ran.seconds:.1f} s, exit {done.returncode})", flush=True)
    return ran


def benchmark_rows(module: str) -> tuple[list[Row], Ran]:
    ran = run(module_command(module))
    if ran.returncode != 0:
        last = (ran.stderr.strip().splitlines() or ["no output"])[-1]
        return [
            Row(module, f"exited with {ran.returncode}: {last[:200]}", "runs", False, ran.command)
        ], ran
    rows = parse_rows(ran.stdout)
    wrong = [row for row in rows if row.command != ran.command]
    if wrong or not rows:
        raise SystemExit(f"{module} printed {len(rows)} rows, {len(wrong)} naming another command")
    return rows, ran


def last_line(output: str) -> str:
    lines = [line.strip(" =") for line in output.splitlines() if line.strip(" =")]
    return lines[-1] if lines else "no output"


def fault_rows() -> tuple[list[Row], list[Ran]]:
    collect = run(COLLECT)
    node_ids = [line for line in collect.stdout.splitlines() if "::" in line]
    summary = COLLECTED.match(last_line(collect.stdout))
    collected = collect.returncode == 0 and summary is not None
    if collected and summary is not None and int(summary.group(1)) != len(node_ids):
        collected = False
    if collected:
        count_row = Row(
            "fault injection: cases", f"{len(node_ids)} collected", "n/a", None, COLLECT
        )
    else:
        count_row = Row(
            "fault injection: cases",
            f"collection failed (exit {collect.returncode}): {last_line(collect.stdout)[:200]}",
            "collects",
            False,
            COLLECT,
        )
    tests = run(RUN_TESTS)
    outcome = last_line(tests.stdout)
    passed = PASSED.search(outcome)
    all_passed = (
        collected
        and tests.returncode == 0
        and passed is not None
        and int(passed.group(1)) == len(node_ids)
    )
    target = (
        f"all {len(node_ids)} collected cases pass" if collected else "all collected cases pass"
    )
    run_row = Row("fault injection: run", outcome[:200], target, all_passed, RUN_TESTS)
    return [count_row, run_row], [collect, tests]


def machine() -> str:
    model = ""
    cpuinfo = "/proc/cpuinfo"
    if os.path.exists(cpuinfo):
        with open(cpuinfo, encoding="utf-8") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        model = f" ({names[0]})" if names else ""
    return (
        f"{os.cpu_count()} cores{model}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )


def main() -> None:
    started = time.perf_counter()
    rows: list[Row] = []
    runs: list[Ran] = []
    crashed = False
    for module in MODULES:
        module_rows, ran = benchmark_rows(module)
        rows += module_rows
        runs.append(ran)
        crashed = crashed or ran.returncode != 0
    more_rows, fault_runs = fault_rows()
    rows += more_rows
    runs += fault_runs
    total = time.perf_counter() - started
    readings = "; ".join(
        f"reading {index} = `{behaviour.name}`" for index, behaviour in enumerate(BEHAVIOURS, 1)
    )
    lines = [
        "# Benchmark results",
        "",
        "Written by `bash bench/run_all.sh` (`.venv/bin/python -m bench.report`): every figure "
        "was printed, in this run, by the command in its row. Medians are over repeated runs "
        f"as each row says. Machine: {machine()}.",
        "",
        START_MARKER,
        "| benchmark | figure | target | met? | command |",
        "|---|---|---|---|---|",
        *(row.markdown() for row in rows),
        "",
        f"Readings of the DMS double (`BEHAVIOURS` in `tests/support/dms_double.py`): {readings}.",
        END_MARKER,
        "",
        "Run times: "
        + ", ".join(f"`{ran.command}` {ran.seconds:.0f} s" for ran in runs)
        + f"; in all {total:.0f} s.",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if crashed:
        raise SystemExit("a benchmark module failed: see its row")


if __name__ == "__main__":
    main()
