#!/usr/bin/env bash
# Sets everything up (idempotent) and runs the whole test suite. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export HF_HUB_OFFLINE=1 PYANNOTE_METRICS_ENABLED=0
exec .venv/bin/python -m pytest "$@"
