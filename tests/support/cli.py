"""Run the ``dealtalk`` CLI as a user does: a fresh process, only the ``DEALTALK_*`` variables a test sets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def dealtalk(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``dealtalk ARGS`` in ``cwd`` with its data under ``cwd/data``, offline, and ``env`` on top."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    environment.update(DEALTALK_DATA_DIR=str(cwd / "data"), HF_HUB_OFFLINE="1", **env)
    return subprocess.run(
        [sys.executable, "-m", "dealtalk.cli", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
