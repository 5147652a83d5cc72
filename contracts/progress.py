"""Progress is a hook (pyannote's habit): stages call it, the CLI draws bars, the worker exports metrics."""

from __future__ import annotations

from typing import Protocol

__all__ = ["ProgressHook", "no_progress"]


class ProgressHook(Protocol):
    def __call__(self, step: str, /, *, completed: float, total: float) -> None:
        """Report that ``completed`` of ``total`` units of ``step`` are done (units are the step's own)."""


def no_progress(step: str, /, *, completed: float, total: float) -> None:
    """The default hook: report nothing."""
