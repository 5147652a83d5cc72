"""``dealtalk demo``: the bundled sample calls end to end on the embedded profile (no Kafka, no tenant)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from dealtalk.pipeline.commands.common import bundled_samples, console, handle_errors, load_settings
from dealtalk.pipeline.discovery import discover_local
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.report import render_call
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker

__all__ = ["demo"]

_STAGE_ORDER = ("fetch", "transcribe", "analyze", "publish")


@handle_errors
def demo(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the store, blobs and outbox go (default: DEALTALK_DATA_DIR).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every job transition.")] = False,
) -> None:
    """Process the bundled sample calls end to end and print a report per call.

    Ingest from the bundled folder (standing in for Teams), transcribe, diarize, analyze, link the opportunity
    in the sample CRM, and publish with the dry-run publisher (the exact Dataverse requests go to the outbox).
    Running it again reuses the stored results: no call is processed or published twice.
    """
    settings = load_settings(data_dir=data_dir)
    configure_logging("INFO" if verbose else "WARNING", settings.log_format)
    resources = Resources.open(settings)
    samples = bundled_samples() / "calls"
    started = time.monotonic()
    try:
        found = discover_local(samples, resources.bus, settings)
        console.print(
            f"[bold]dealtalk demo[/bold]: {len(found.new)} new sample call(s), {len(found.known)} already in the "
            f"store at {settings.data_dir.resolve()}"
        )
        recordings = found.new + found.known
        if found.new:
            _process(resources, len(found.new))
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


def _process(resources: Resources, count: int) -> None:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        loading = progress.add_task("loading models (Whisper, pyannote, e5)", total=None)
        step = progress.add_task("", total=1, visible=False)

        def on_step(name: str, *, completed: float, total: float) -> None:
            progress.update(
                step, description=f"  {name}", completed=completed, total=total or 1, visible=True
            )

        stages = resources.stages(progress=on_step)
        progress.remove_task(loading)
        overall = progress.add_task("processing sample calls", total=count * len(_STAGE_ORDER))

        def on_job(stage: str, recording_id: str, phase: str) -> None:
            if phase == "started":
                progress.update(overall, description=f"{stage:<10} {recording_id}")
                progress.update(step, visible=False)
            elif phase in ("done", "reused", "dead"):
                # A dead-lettered job ends its call: count the stages it will never reach.
                remaining = len(_STAGE_ORDER) - _STAGE_ORDER.index(stage) if phase == "dead" else 1
                progress.advance(overall, remaining)

        EmbeddedWorker(resources.bus, stages, resources.settings.bus, on_job=on_job).run(burst=True)
        progress.update(step, visible=False)
