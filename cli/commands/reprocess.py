"""``dealtalk reprocess``: run stored calls again with another model set; ``resume``, ``diff`` and ``runs``.

dealtalk reprocess --asr-model tiny.en --language en        # select, run here, print a summary
dealtalk reprocess resume RUN_ID                            # after Ctrl-C or a crash: the calls left over
dealtalk reprocess diff RUN_ID                              # per call and in total: WER, risks, sentiment
"""

from __future__ import annotations

import json
import signal
from datetime import datetime
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from dealtalk.cli.commands.common import (
    EXIT_PROCESSING,
    EXIT_USAGE,
    console,
    err_console,
    handle_errors,
    load_settings,
)
from dealtalk.cli.commands.job_progress import JobBars
from dealtalk.contracts.events import InsightsReady
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.reprocess import (
    CallObserver,
    CallSelection,
    ModelSet,
    RunDeps,
    RunSummary,
    run_locally,
    select_calls,
    totals,
)
from dealtalk.pipeline.reprocess.compare import run_diffs
from dealtalk.pipeline.reprocess.queue import put_on_bus
from dealtalk.pipeline.reprocess.runner import Publish
from dealtalk.pipeline.reprocess.runs import (
    create_run,
    finish_run,
    list_runs,
    load_run,
    record_result,
    stored_inputs,
)
from dealtalk.pipeline.resources import Resources

__all__ = ["reprocess_app"]

reprocess_app = typer.Typer(
    help="Run stored calls again with another model set (resumable, versioned results, diff).",
    invoke_without_command=True,
    no_args_is_help=False,
)


@reprocess_app.callback()
@handle_errors
def start(
    ctx: typer.Context,
    asr_model: Annotated[
        str | None, typer.Option(help="tiny.en, base (whisper-base), or a local CTranslate2 folder.")
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="auto, cpu or cuda (default: DEALTALK_SPEECH__DEVICE).")
    ] = None,
    compute_type: Annotated[str, typer.Option(help="float16, int8_float16, int8; empty: per device.")] = "",
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="ASR batch (CUDA: capped by free memory).")
    ] = None,
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Calls on or after.")] = None,
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Calls on or before.")] = None,
    opportunity: Annotated[str | None, typer.Option(help="Only calls linked to this opportunity id.")] = None,
    language: Annotated[str | None, typer.Option(help="Only calls in this language (nl, en).")] = None,
    model: Annotated[str | None, typer.Option(help="Only calls whose stored result this model made.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only calls whose last run failed.")] = False,
    call: Annotated[list[str] | None, typer.Option(help="Only this recording id (repeatable).")] = None,
    workers: Annotated[
        bool, typer.Option("--workers", help="Put the calls on the bus for the worker fleet instead.")
    ] = False,
    publish: Annotated[
        bool, typer.Option(help="Update the Dataverse activity where the result changed.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list the selected calls.")] = False,
) -> None:
    """Select stored calls and run them again with the given model set; prints the run id and a summary."""
    if ctx.invoked_subcommand is not None:
        return
    if asr_model is None:
        err_console.print(
            "[red]error:[/red] --asr-model is required to start a run (tiny.en, base, a folder)"
        )
        raise typer.Exit(EXIT_USAGE)
    model_set = ModelSet.from_options(
        asr_model, device=device, compute_type=compute_type, batch_size=batch_size
    )
    selection = CallSelection(
        since=since.date() if since else None,
        until=until.date() if until else None,
        opportunity=opportunity,
        language=language,
        model=model,
        failed=failed,
        recording_ids=tuple(call or ()),
    )
    settings = load_settings()
    configure_logging("WARNING", settings.log_format)
    resources = Resources.open(settings)
    try:
        chosen = select_calls(resources.database, selection)
        console.print(f"[bold]reprocess[/bold]: {len(chosen)} call(s) selected, ASR {model_set.asr_model}")
        if dry_run or not chosen:
            for recording_id in chosen:
                console.print(f"  {recording_id}")
            return
        mode = "workers" if workers else "local"
        run_id = create_run(resources.database, chosen, selection=selection, model_set=model_set, mode=mode)
        console.print(f"run {run_id}")
        if workers:
            _queue(resources, run_id, chosen)
            return
        _run(resources, run_id, publish=publish)
    finally:
        resources.close()


@reprocess_app.command()
@handle_errors
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (see `dealtalk reprocess runs`).")],
    publish: Annotated[
        bool, typer.Option(help="Update the Dataverse activity where the result changed.")
    ] = False,
) -> None:
    """Continue a run: the calls not done yet (failed ones again), with the run's own model set."""
    settings = load_settings()
    configure_logging("WARNING", settings.log_format)
    resources = Resources.open(settings)
    try:
        _run(resources, run_id, publish=publish)
    finally:
        resources.close()


@reprocess_app.command()
@handle_errors
def diff(
    run_id: Annotated[str, typer.Argument(help="The run to compare with the versions it replaced.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Per call and in total: WER of the new transcript against the old one, risks added/removed, sentiment."""
    settings = load_settings()
    resources = Resources.open(settings)
    try:
        diffs = run_diffs(resources.database, resources.blobs, run_id)
    finally:
        resources.close()
    total = totals(diffs)
    if json_out:
        calls = [
            {
                "recording_id": d.recording_id,
                "baseline": d.baseline,
                "wer": round(d.wer, 4),
                "reference_words": d.reference_words,
                "risks_added": list(d.risks_added),
                "risks_removed": list(d.risks_removed),
                "sentiment_shift": d.sentiment_shift,
                "summary_changed": d.summary_changed,
                "changed": d.changed,
            }
            for d in diffs
        ]
        summary = {
            "calls": total.calls,
            "changed": total.changed,
            "wer": round(total.wer, 4),
            "risks_added": total.risks_added,
            "risks_removed": total.risks_removed,
            "mean_abs_sentiment_shift": round(total.mean_abs_sentiment_shift, 3),
        }
        print(json.dumps({"run_id": run_id, "calls": calls, "total": summary}))  # noqa: T201
        return
    table = Table(title=f"reprocess diff {run_id} (new version vs the one it replaced)", title_justify="left")
    for column in ("call", "WER", "words", "risks +", "risks -", "sentiment shift", "summary", "changed"):
        table.add_column(column)
    for d in diffs:
        shift = ", ".join(f"{role} {value:+.2f}" for role, value in d.sentiment_shift.items()) or "-"
        table.add_row(
            d.recording_id,
            f"{d.wer:.1%}" if d.baseline else "(no old version)",
            str(d.reference_words),
            ", ".join(d.risks_added) or "-",
            ", ".join(d.risks_removed) or "-",
            shift,
            "changed" if d.summary_changed else "same",
            "yes" if d.changed else "no",
        )
    table.add_section()
    table.add_row(
        f"total ({total.calls} calls)",
        f"{total.wer:.1%}",
        str(total.reference_words),
        str(total.risks_added),
        str(total.risks_removed),
        f"mean |shift| {total.mean_abs_sentiment_shift:.2f}",
        "",
        f"{total.changed} of {total.calls}",
    )
    console.print(table)


@reprocess_app.command()
@handle_errors
def runs() -> None:
    """The reprocessing runs in this store, oldest first."""
    settings = load_settings()
    resources = Resources.open(settings)
    try:
        found = list_runs(resources.database)
    finally:
        resources.close()
    table = Table(title="reprocessing runs", title_justify="left")
    for column in ("run", "started", "status", "mode", "ASR", "done"):
        table.add_column(column)
    for run in found:
        table.add_row(
            run.run_id,
            f"{run.created_at:%Y-%m-%d %H:%M}",
            run.status,
            run.mode,
            run.model_set.asr_model,
            f"{len(run.done)}/{len(run.recording_ids)}",
        )
    console.print(table)


class _BarsObserver(CallObserver):
    def __init__(self, bars: JobBars) -> None:
        self.bars = bars
        self.step = bars.step

    def call_started(self, recording_id: str, *, position: int, total: int) -> None:
        self.bars.call_started(recording_id, "transcribe + analyze")

    def call_finished(self, recording_id: str, *, status: str, audio_s: float, elapsed_s: float) -> None:
        self.bars.call_finished(outcome=f"{status} in {elapsed_s:.0f} s ({audio_s:.0f} s of audio)")
        if status != "done":
            self.bars.progress.console.print(f"[yellow]{recording_id}: failed[/yellow] (see the run summary)")


def _run(resources: Resources, run_id: str, *, publish: bool) -> None:
    from dealtalk.pipeline.models_and_clients import ModelsAndClients

    run = load_run(resources.database, run_id)
    if run.mode != "local":
        err_console.print(f"[red]error:[/red] run {run_id} was handed to the workers; they finish it there")
        raise typer.Exit(EXIT_USAGE)
    run_settings = run.model_set.apply(resources.settings)
    device = run_settings.speech.device
    with console.status(f"loading models ({run.model_set.asr_model} on {device}, insights)..."):
        deps = RunDeps(
            # The run's own speech model set, from the composition root (no client is built for it).
            transcriber=ModelsAndClients(run_settings).transcriber(),
            engine=resources.models.insight_engine(),
            blobs=resources.blobs,
            settings=run_settings,
            publish=_publisher(resources) if publish else None,
            competitors=resources.models.competitor_names(),
            hotword_competitors=resources.models.competitor_names().ranked,
        )
    left = len(run.recording_ids) - len(run.done)
    console.print(f"run {run_id}: {len(run.done)} call(s) done before, {left} to go")
    # A batch host's stop (SIGTERM) ends the run like Ctrl-C: finished calls are kept, the rest resumes later.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with JobBars(console, total=len(run.recording_ids), already_done=len(run.done)) as bars:
            summary = run_locally(resources.database, run, deps, observer=_BarsObserver(bars))
    except KeyboardInterrupt:
        done = len(load_run(resources.database, run_id).done)
        err_console.print(
            f"interrupted: {done} of {len(run.recording_ids)} call(s) done and kept; "
            f"continue with `dealtalk reprocess resume {run_id}`"
        )
        raise typer.Exit(EXIT_PROCESSING) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    _print_summary(summary)
    if summary.failed:
        raise typer.Exit(EXIT_PROCESSING)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _print_summary(summary: RunSummary) -> None:
    table = Table(title=f"run {summary.run_id}", title_justify="left", show_header=False)
    rows = [
        ("calls selected", str(summary.selected)),
        ("done before this session", str(summary.already_done)),
        ("done now", str(summary.done)),
        ("failed", str(summary.failed)),
        ("changed vs the old version", str(summary.changed)),
        ("activities updated", str(summary.published)),
        ("audio processed", f"{summary.audio_s / 60:.1f} min"),
        ("wall time", f"{summary.elapsed_s:.0f} s"),
        ("throughput", f"{summary.calls_per_hour:.1f} calls/hour, {summary.x_realtime:.2f}x real time"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for recording_id, reason in summary.failures.items():
        err_console.print(f"[red]failed[/red] {recording_id}: {reason}")
    if summary.done or summary.failed:
        console.print(f"compare: `dealtalk reprocess diff {summary.run_id}`")


def _queue(resources: Resources, run_id: str, chosen: list[str]) -> None:
    events = []
    for recording_id in chosen:
        inputs = stored_inputs(resources.database, recording_id)
        if inputs.audio is None:
            record_result(resources.database, run_id, recording_id, status="failed", error="no stored audio")
            continue
        events.append(inputs.audio)
    count = put_on_bus(resources.outlet, resources.database, events, run_id=run_id)
    for event in events:
        record_result(resources.database, run_id, event.recording_id, status="queued")
    finish_run(resources.database, run_id, status="queued")
    console.print(
        f"{count} call(s) on the bus for the workers; they transcribe with the "
        "model set they were started with (DEALTALK_SPEECH__ASR_MODEL, __DEVICE, __BATCH_SIZE)"
    )


def _publisher(resources: Resources) -> Publish:
    from functools import partial

    from dealtalk.pipeline.stages.publish import publish_insights
    from dealtalk.pipeline.store.projections import save_publication
    from dealtalk.pipeline.store.queries import manual_link

    def publish(event: InsightsReady) -> str | None:
        published = publish_insights(
            event,
            resolver=resources.models.resolver(),
            publisher=resources.models.publisher(),
            blobs=resources.blobs,
            manual_link=partial(manual_link, resources.database),
        )
        with resources.database.session() as session:
            save_publication(session, published)
        return published.activity_id

    return publish
