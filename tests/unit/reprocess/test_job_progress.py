"""The progress bars' rate column: calls per hour and the time left, counting only this session's calls."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from dealtalk.cli.commands.job_progress import JobBars, RateColumn


def _rendered(completed: int, total: int, elapsed: float, start_completed: int = 0) -> str:
    progress = Progress()
    task_id = progress.add_task(
        "calls", total=total, completed=completed, start_completed=start_completed, unit="calls"
    )
    task = progress.tasks[task_id]
    task.start_time = 0.0
    task.stop_time = elapsed  # a stopped task's elapsed time is stop - start
    return RateColumn().render(task).plain


def test_rate_and_eta_come_from_this_sessions_calls() -> None:
    assert _rendered(completed=2, total=10, elapsed=120) == "60.0 calls/h  ETA 0:08:00"
    # A resumed run: 5 were done before; 2 more in 120 s is still 60 per hour, with 3 left.
    assert _rendered(completed=7, total=10, elapsed=120, start_completed=5) == "60.0 calls/h  ETA 0:03:00"


def test_no_rate_before_the_first_call_finishes() -> None:
    assert _rendered(completed=3, total=10, elapsed=50, start_completed=3) == "-- calls/h  ETA --"


def test_bars_count_jobs_and_show_the_step_in_progress() -> None:
    out = io.StringIO()
    bars = JobBars(Console(file=out, width=120), total=4, label="jobs")
    bars.on_job("transcribe", "rec-a", "started")
    bars.step("asr", completed=3, total=10)
    tasks = bars.progress.tasks
    assert "rec-a" in tasks[1].description and "transcribe" in tasks[1].description
    assert (tasks[2].description.strip(), tasks[2].completed, tasks[2].visible) == ("asr", 3, True)
    bars.on_job("transcribe", "rec-a", "retry")
    assert tasks[0].completed == 0  # a retried job is not done
    bars.on_job("transcribe", "rec-a", "done")
    bars.on_job("analyze", "rec-a", "dead")
    assert tasks[0].completed == 2 and not tasks[2].visible
