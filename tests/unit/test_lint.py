"""The code stays ruff- and mypy-clean: the suite runs the project's one lint command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_lint_command_passes() -> None:
    done = subprocess.run(
        ["bash", "scripts/lint.sh"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
