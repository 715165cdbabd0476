#!/usr/bin/env bash
# Run every benchmark and the fault-injection tests; write bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.report
