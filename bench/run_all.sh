#!/usr/bin/env bash
# Run every benchmark and write bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 CDK_DISABLE_CLI_TELEMETRY=true
exec .venv/bin/python bench/report.py
