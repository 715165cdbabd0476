#!/usr/bin/env bash
# Synthesize the example app (app.py) into cdk.out/, offline and without AWS credentials.
set -euo pipefail
source "$(dirname "$0")/_env.sh"

setup_env requirements.txt
synth
echo "Synthesized into $REPO_ROOT/cdk.out:"
ls cdk.out/*.template.json
