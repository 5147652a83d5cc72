#!/usr/bin/env bash
# The one lint command, for people and for the test suite (tests/unit/test_lint.py runs it):
# ruff (lint + format check), the import contracts (import-linter, ARCHITECTURE.md) and mypy --strict over the
# packages (by their installed names) and the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/lint-imports" --no-cache
packages=(-p dealtalk.contracts -p dealtalk.samples -p dealtalk.emulators -p dealtalk.pipeline -p dealtalk.ingest -p dealtalk.transcription -p dealtalk.nlp -p dealtalk.publisher
          -p dealtalk.models -p dealtalk.api -p dealtalk.cli)
"$bin/mypy" "${packages[@]}"
"$bin/mypy" bench scripts tests
