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
