"""What both drivers (embedded and Kafka) share about a worker: its id, its counters and its job hook.

The job hook is told (stage, recording id, phase) as jobs start and end; phases are "started", "done",
"reused", "retry", "dead" and (Kafka only: the job ended without an outcome and runs again) "abandoned". The
CLI draws progress from it, a service exports metrics (``WorkerMetrics.on_job``).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["JobHook", "WorkerStats", "combine_hooks", "new_worker_id"]

JobHook = Callable[[str, str, str], None]


def new_worker_id() -> str:
    """Names a worker in logs, leases and the audit log: host, process and a few random characters."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(slots=True)
class WorkerStats:
    processed: int = 0
    reused: int = 0
    retried: int = 0
    dead_lettered: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)

    def count(self, stage: str, phase: str) -> None:
        """Count a job that ended with ``phase`` ("done", "reused", "retry" or "dead"; others count nothing)."""
        if phase in ("done", "reused"):
            self.processed += 1
            self.reused += int(phase == "reused")
            self.by_stage[stage] = self.by_stage.get(stage, 0) + 1
        elif phase == "retry":
            self.retried += 1
        elif phase == "dead":
            self.dead_lettered += 1


def combine_hooks(*hooks: JobHook | None) -> JobHook:
    """One job hook that tells each of ``hooks`` that is not None, in order (none: a hook that does nothing)."""
    present = [hook for hook in hooks if hook is not None]

    def on_any(stage: str, recording_id: str, phase: str) -> None:
        for hook in present:
            hook(stage, recording_id, phase)

    return on_any
