"""Progress people can see while calls are processed: a bar over the calls (with calls/hour and ETA), the call
and stage in progress, and that stage's own steps (decode, VAD, ASR, diarization) from the progress hook.

Used by ``worker --burst`` (the worker's ``on_job`` callback) and ``reprocess`` (its call observer).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from dealtalk.contracts.events import TOPICS, AudioStored, InsightsReady, RecordingDiscovered, TranscriptReady
from dealtalk.pipeline.bus.embedded import EmbeddedBus

__all__ = ["JobBars", "RateColumn", "expected_jobs"]


class RateColumn(ProgressColumn):
    """Items per hour since the bar started (counting only this session's items) and the time left at that rate."""

    def render(self, task: Task) -> Text:
        if "unit" not in task.fields:
            return Text("")  # the stage and step bars: the rate is the calls' (or jobs') alone
        start = float(task.fields.get("start_completed", 0.0))
        done = task.completed - start
        elapsed = task.elapsed or 0.0
        unit = str(task.fields.get("unit", "calls"))
        if done <= 0 or elapsed <= 0:
            return Text(f"-- {unit}/h  ETA --", style="progress.data.speed")
        per_hour = done * 3600 / elapsed
        remaining = max((task.total or 0) - task.completed, 0)
        eta_s = remaining * elapsed / done
        minutes, seconds = divmod(round(eta_s), 60)
        hours, minutes = divmod(minutes, 60)
        eta = f"{hours}:{minutes:02d}:{seconds:02d}"
        return Text(f"{per_hour:.1f} {unit}/h  ETA {eta}", style="progress.data.speed")


class JobBars:
    """Three bars: the calls, the current call's stage, the stage's steps. A context manager.

    Args:
        console: where to draw.
        total: number of calls (None when unknown: the bar only counts).
        already_done: calls finished before this session (a resumed run); they count as done, not in the rate.
    """

    def __init__(
        self, console: Console, *, total: int | None, already_done: int = 0, label: str = "calls"
    ) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            RateColumn(),
            console=console,
        )
        self._overall = self.progress.add_task(
            label, total=total, completed=already_done, start_completed=float(already_done), unit=label
        )
        self._stage: TaskID = self.progress.add_task("", total=1, visible=False)
        self._step: TaskID = self.progress.add_task("", total=1, visible=False)

    def __enter__(self) -> JobBars:
        self.progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    # --- calls -------------------------------------------------------------------------------------------
    def call_started(self, recording_id: str, stage: str = "") -> None:
        self.progress.update(self._stage, description=f"  {recording_id}  {stage}".rstrip(), visible=True)

    def call_finished(self, *, advance: float = 1.0, outcome: str = "done") -> None:
        self.progress.update(self._step, visible=False)
        self.progress.advance(self._overall, advance)
        if not self.progress.console.is_terminal:
            # Logs and CI see no live bars: one line per finished call or job instead.
            overall = self.progress.tasks[self._overall]
            rate = RateColumn().render(overall).plain
            where = self.progress.tasks[self._stage].description.strip()
            total = f"{overall.total:.0f}" if overall.total is not None else "?"
            self.progress.console.print(f"{overall.completed:.0f}/{total} {where} {outcome}  {rate}")

    # --- the step hook (pipeline.progress.ProgressHook) ---------------------------------------------------
    def step(self, step: str, /, *, completed: float, total: float) -> None:
        self.progress.update(
            self._step, description=f"    {step}", completed=completed, total=max(total, 1e-9), visible=True
        )

    # --- the embedded worker's on_job(stage, recording_id, phase) ----------------------------------------
    def on_job(self, stage: str, recording_id: str, phase: str) -> None:
        """One job per stage: the bar counts jobs; a job that will run again (retry) does not advance it."""
        if phase == "started":
            self.call_started(recording_id, stage)
        elif phase in ("done", "reused", "dead"):
            self.call_finished(outcome=phase)
        elif phase == "retry":
            self.progress.update(self._step, visible=False)


# The topic each stage consumes (the stages are served in this order).
_CONSUMES = {
    "fetch": TOPICS[RecordingDiscovered],
    "transcribe": TOPICS[AudioStored],
    "analyze": TOPICS[TranscriptReady],
    "publish": TOPICS[InsightsReady],
}


def expected_jobs(bus: EmbeddedBus, stages: Sequence[str]) -> int:
    """Jobs a burst run will do: each waiting message runs its own stage and every served stage after it."""
    return sum(
        bus.outstanding([_CONSUMES[stage]]) * (len(stages) - position)
        for position, stage in enumerate(stages)
        if stage in _CONSUMES
    )
