#!/usr/bin/env bash
# Lint, type-check, run every test, synthesize the example app and cfn-lint its template.
set -euo pipefail
source "$(dirname "$0")/_env.sh"

setup_env requirements-dev.txt

echo "== ruff check"
ruff check .
echo "== ruff format --check"
ruff format --check .
echo "== mypy (strict)"
mypy constructs/dms_task_starter lambda/dms_task_starter_runtime tests bench app.py integ

echo "== pytest"
status=0
pytest || status=$?
# 5 = no tests collected: that is a failure too.
if [[ $status -ne 0 ]]; then
  echo "pytest failed (exit code $status)" >&2
  exit "$status"
fi

echo "== construct tests on the lowest allowed aws-cdk-lib and constructs"
setup_lowest_env
status=0
.venv-lowest/bin/python -m pytest -q tests/construct || status=$?
if [[ $status -ne 0 ]]; then
  echo "pytest on the lowest versions failed (exit code $status)" >&2
  exit "$status"
fi

echo "== cdk synth"
synth

echo "== cfn-lint"
status=0
cfn-lint cdk.out/*.template.json || status=$?
# cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational.
# Warnings (e.g. W3005 on aws-cdk-lib's own DependsOn) are printed but do not fail.
if (( status & 3 )); then
  echo "cfn-lint found errors (exit code $status)" >&2
  exit 1
fi
echo "All checks passed."
