"""``dealtalk demo``: the bundled sample calls end to end on the embedded profile (no Kafka, no tenant)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.cli.commands.sandbox import run_sandbox
from dealtalk.pipeline.discovery import discover_local
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.report import render_call
from dealtalk.pipeline.resources import Resources
from dealtalk.samples import CALLS_DIR

__all__ = ["demo"]

_STAGE_ORDER = ("fetch", "transcribe", "analyze", "publish")


@handle_errors
def demo(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the store, blobs and outbox go (default: DEALTALK_DATA_DIR).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every job transition.")] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Discover the sample calls in an emulated Teams tenant through Graph and publish them to an "
            "emulated Dataverse (the real clients against local emulators; needs the source checkout). With "
            "DEALTALK_BUS__KIND=kafka it runs the deployed topology: API replicas and a worker per stage.",
        ),
    ] = False,
    dump: Annotated[
        Path | None, typer.Option(help="With --sandbox: write the emulated Dataverse rows to this JSON file.")
    ] = None,
) -> None:
    """Process the bundled sample calls end to end and print a report per call.

    Ingest from the bundled folder (standing in for Teams), transcribe, diarize, analyze, link the opportunity
    in the sample CRM, and publish with the dry-run publisher (the exact Dataverse requests go to the outbox).
    Running it again reuses the stored results: no call is processed or published twice.
    """
    settings = load_settings(data_dir=data_dir)
    configure_logging("INFO" if verbose else "WARNING", settings.log_format)
    if sandbox:
        run_sandbox(settings, dump, run_calls=_run_with_progress)
        return
    resources = Resources.open(settings)
    samples = CALLS_DIR
    started = time.monotonic()
    try:
        found = discover_local(samples, resources.outlet, resources.database, settings)
        console.print(
            f"[bold]dealtalk demo[/bold]: {len(found.new)} new sample call(s), {len(found.known)} already in the "
            f"store at {settings.data_dir.resolve()}"
        )
        recordings = found.new + found.known
        if found.new:
            _run_with_progress(resources, len(found.new))
        results_dir = settings.data_dir / "results"
        results_dir.mkdir(parents=True, exist_ok=True)
        for recording_id in recordings:
            outcome = load_outcome(resources.database, resources.blobs, recording_id)
            if outcome.result is None:
                console.print(f"[red]{recording_id}: {outcome.status}[/red] {outcome.failure or ''}")
                continue
            render_call(console, outcome.result, subject=outcome.subject, published=outcome.published)
            (results_dir / f"{recording_id}.json").write_text(
                json.dumps(outcome.result.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
            )
        console.print(
            f"\nDone in {time.monotonic() - started:.0f} s. Results: {results_dir.resolve()} (call-result JSON), "
            f"store: {settings.database_url}, Dataverse requests (dry run): {settings.outbox_dir.resolve()}"
        )
    finally:
        resources.close()


def _run_with_progress(resources: Resources, count: int) -> None:
    hook = _StepHook()
    with console.status("loading models (Whisper base, pyannote + CAM++, multilingual-e5)..."):
        resources.stages(progress=hook)  # loads the models once; run_worker reuses them
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        overall = progress.add_task("processing sample calls", total=count * len(_STAGE_ORDER))
        started = time.monotonic()
        hook.attach(progress, progress.add_task("", total=1, visible=False))

        def on_job(stage: str, recording_id: str, phase: str) -> None:
            if phase == "started":
                progress.update(overall, description=f"{stage:<10} {recording_id}")
            elif phase in ("done", "reused", "dead"):
                hook.hide()
                # A dead-lettered job ends its call: count the stages it will never reach.
                remaining = len(_STAGE_ORDER) - _STAGE_ORDER.index(stage) if phase == "dead" else 1
                progress.advance(overall, remaining)
                if not console.is_terminal:  # logs and CI see no live bars: one line per finished stage
                    console.print(f"{stage:<10} {recording_id} {phase} ({time.monotonic() - started:.0f} s)")

        resources.run_worker(burst=True, progress=hook, on_job=on_job)
        hook.hide()


class _StepHook:
    """Shows the transcriber's own steps (decode, VAD, ASR, diarization) as a second bar."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def attach(self, progress: Progress, task: TaskID) -> None:
        self._progress, self._task = progress, task

    def hide(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, visible=False)

    def __call__(self, step: str, /, *, completed: float, total: float) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, description=f"  {step}", completed=completed, total=max(total, 1e-9), visible=True
            )
