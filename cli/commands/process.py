"""``dealtalk process`` (audio -> call result) and ``dealtalk analyze`` (transcript -> call result)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from dealtalk.cli.commands.common import (
    EXIT_PROCESSING,
    EXIT_USAGE,
    console,
    err_console,
    handle_errors,
    load_settings,
)
from dealtalk.contracts.documents import CallResult, MeetingInfo
from dealtalk.contracts.errors import DealtalkError, InvalidInput
from dealtalk.contracts.transcript_json import transcript_from_json
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.stages.analyze import insight_context

__all__ = ["analyze", "process"]


class LanguageChoice(StrEnum):
    auto = "auto"
    nl = "nl"
    en = "en"


def _write_json(result: CallResult, target: Path | None) -> None:
    text = json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    if target is None:
        print(text, end="")  # noqa: T201 - the JSON is the command's output on stdout
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)  # atomic: a failed run never leaves half a file


@handle_errors
def process(
    audio: Annotated[list[Path], typer.Argument(help="Audio files (FLAC, WAV, MP3, M4A, MP4, OGG...).")],
    language: Annotated[
        LanguageChoice, typer.Option(help="Force the language, or detect it.")
    ] = LanguageChoice.auto,
    speakers: Annotated[int | None, typer.Option(min=1, help="Exact number of speakers.")] = None,
    min_speakers: Annotated[int | None, typer.Option(min=1)] = None,
    max_speakers: Annotated[int | None, typer.Option(min=1)] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the call result here (one input).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write one <name>.json per input into this folder.")
    ] = None,
) -> None:
    """Transcribe, diarize and analyse local audio files into call-result JSON.

    Without --json or --out, a single input's result is printed on stdout. A file that fails is reported and
    the others still run; the exit code is then 1.
    """
    if json_file is not None and len(audio) != 1:
        err_console.print("[red]error:[/red] --json takes exactly one input; use --out DIR for several")
        raise typer.Exit(EXIT_USAGE)
    if json_file is None and out is None and len(audio) != 1:
        err_console.print("[red]error:[/red] several inputs need --out DIR (one JSON per file)")
        raise typer.Exit(EXIT_USAGE)
    if min_speakers and max_speakers and min_speakers > max_speakers:
        err_console.print("[red]error:[/red] --min-speakers is larger than --max-speakers")
        raise typer.Exit(EXIT_USAGE)
    settings = load_settings()
    configure_logging("WARNING", settings.log_format)
    from dealtalk.pipeline.local_run import call_result_from_audio
    from dealtalk.pipeline.models_and_clients import ModelsAndClients

    failures = 0
    with ModelsAndClients(settings) as models:
        transcriber = models.transcriber()
        engine = models.insight_engine()
        competitor_names = models.competitor_names()
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err_console
        ) as bar:
            for path in audio:
                task = bar.add_task(path.name, total=1)

                def on_step(
                    step: str, *, completed: float, total: float, _task: TaskID = task, _name: str = path.name
                ) -> None:
                    bar.update(_task, description=f"{_name}: {step}", completed=completed, total=total or 1)

                try:
                    result = call_result_from_audio(
                        path,
                        settings=settings,
                        transcriber=transcriber,
                        engine=engine,
                        language=None if language is LanguageChoice.auto else language.value,
                        speakers=(speakers, min_speakers, max_speakers),
                        progress=on_step,
                        competitors=competitor_names(),
                        hotword_competitors=models.hotword_competitors,
                    )
                except DealtalkError as exc:
                    failures += 1
                    err_console.print(f"[red]error:[/red] {path.name}: {exc}")
                    continue
                finally:
                    bar.update(task, completed=1, total=1)
                target = json_file or (out / f"{path.stem}.json" if out else None)
                _write_json(result, target)
                if target is not None:
                    err_console.print(f"{path.name} -> {target}")
    if failures:
        raise typer.Exit(EXIT_PROCESSING)


@handle_errors
def analyze(
    transcript: Annotated[Path, typer.Argument(help="Transcript JSON in the contracts' segments shape.")],
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the call result here.")] = None,
    call_date: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Date of the call, for relative dates.")
    ] = None,
) -> None:
    """Insights only (KPIs, sentiment, risks, action items, summary) for an existing transcript."""
    if not transcript.is_file():
        raise InvalidInput(f"{transcript} does not exist")
    settings = load_settings()
    configure_logging("WARNING", settings.log_format)
    doc = transcript_from_json(transcript.read_bytes(), default_call_id=transcript.stem)
    from dealtalk.pipeline.models_and_clients import ModelsAndClients

    with ModelsAndClients(settings) as models:
        engine = models.insight_engine()
        # A transcript file carries no meeting: the configured and the CRM's competitor table names.
        context = insight_context(MeetingInfo(), settings.tenant, models.competitor_names()())
    if call_date is not None:
        context = replace(context, call_date=call_date.date())
    insights = engine.analyze(doc, context)
    _write_json(CallResult.join(doc, insights), json_file)
    if json_file is not None:
        console.print(f"{transcript.name} -> {json_file}")
