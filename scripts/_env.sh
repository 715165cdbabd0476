# Shared setup for scripts/*.sh (sourced, not executed).
# Creates .venv when missing, installs the given requirements file and the pinned CDK CLI.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
# jsii names the Node.js major version it should stay silent about.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 20)"
export CDK_DISABLE_CLI_TELEMETRY=true
export PIP_DISABLE_PIP_VERSION_CHECK=1

setup_env() {
  local requirements="$1"
  if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet -r "$requirements"
  npm ci --no-audit --no-fund --loglevel=error
  # `cdk synth` runs "python3 app.py": make that the venv's interpreter.
  export PATH="$REPO_ROOT/.venv/bin:$PATH"
}

synth() {
  # A fresh cdk.out: assets of earlier synths would linger beside the current ones.
  rm -rf cdk.out
  npx --no-install cdk synth --no-notices --quiet
}

setup_lowest_env() {
  # .venv-lowest: the lowest versions pyproject.toml allows for the direct dependencies
  # (aws-cdk-lib, constructs), with the pinned test tools of requirements-dev.txt except the
  # integ-tests alpha module, which is released with each aws-cdk-lib.
  local tools
  tools="$(mktemp)"
  grep -v -E '^(-r |aws-cdk\.integ-tests-alpha==)' requirements-dev.txt > "$tools"
  if [[ ! -x .venv-lowest/bin/python ]]; then
    python3 -m venv .venv-lowest
  fi
  .venv/bin/uv pip install --quiet --python .venv-lowest/bin/python \
    --resolution lowest-direct -e . -r "$tools"
  rm -f "$tools"
  # The run proves the floors only if it runs on them.
  .venv-lowest/bin/python - <<'PYTHON'
import re
import tomllib
from importlib.metadata import version

with open("pyproject.toml", "rb") as pyproject:
    dependencies = tomllib.load(pyproject)["project"]["dependencies"]
for dependency in dependencies:
    name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+),<[0-9.]+", dependency).groups()
    if version(name) != floor:
        raise SystemExit(f".venv-lowest has {name} {version(name)}, but the floor is {floor}")
    print(f"{name} {floor}")
PYTHON
}
