"""Run the selected calls again on this host: the same stage functions as the pipeline, a new model set.

Each call is transcribed and analysed by ``transcribe_audio``/``analyze_transcript`` (the stages' own code),
its result stored as new blobs beside the old ones, and one row committed per call: Ctrl-C or a crash loses at
most the call in progress, and ``resume`` skips what is done. A call that fails (bad audio, out of GPU memory
even at batch size 1) is recorded as failed and the run goes on; a resumed run tries it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import DealtalkError
from dealtalk.contracts.events import InsightsReady
from dealtalk.contracts.progress import ProgressHook, no_progress
from dealtalk.nlp.protocols import InsightEngine
from dealtalk.pipeline.reprocess.diff import diff_call
from dealtalk.pipeline.reprocess.promote import make_current
from dealtalk.pipeline.reprocess.runs import RunInfo, finish_run, record_result, stored_inputs
from dealtalk.pipeline.stages.analyze import CompetitorNamesFor, analyze_transcript
from dealtalk.pipeline.stages.publish import load_call_result
from dealtalk.pipeline.stages.transcribe import stage_version, transcribe_audio
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.queries import linked_opportunity
from dealtalk.transcription.protocols import CallTranscriber

__all__ = ["CallObserver", "RunDeps", "RunSummary", "run_locally"]

logger = logging.getLogger(__name__)

# Publishes a changed result to its activity; returns the activity id (None: the call is not linked).
Publish = Callable[[InsightsReady], str | None]


@dataclass(frozen=True, slots=True)
class RunDeps:
    transcriber: CallTranscriber
    engine: InsightEngine
    blobs: BlobStore
    settings: Settings
    # With a publisher, a changed result becomes the current one and is published to its activity.
    publish: Publish | None = None
    # The competitor names for a call, given its linked opportunity (the composition root's configured ∪ CRM
    # names); None: the configured names only.
    competitors: CompetitorNamesFor | None = None
    # The same names most likely first, for the ASR's hotwords (``CompetitorNames.ranked``); None: configured.
    hotword_competitors: CompetitorNamesFor | None = None

    @property
    def version(self) -> str:
        return f"{self.transcriber.version}|{self.engine.version}"


class CallObserver:
    """Told when calls start and end and how each step goes; the CLI draws bars, tests count. Default: quiet."""

    step: ProgressHook = staticmethod(no_progress)

    def call_started(self, recording_id: str, *, position: int, total: int) -> None:
        """A call begins (position counts from 1 among this session's calls)."""

    def call_finished(self, recording_id: str, *, status: str, audio_s: float, elapsed_s: float) -> None:
        """A call ended "done" or "failed"."""


@dataclass(slots=True)
class RunSummary:
    run_id: str
    selected: int
    already_done: int
    done: int = 0
    failed: int = 0
    changed: int = 0
    published: int = 0
    audio_s: float = 0.0
    elapsed_s: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def calls_per_hour(self) -> float:
        return (self.done + self.failed) * 3600 / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def x_realtime(self) -> float:
        """Audio seconds processed per wall-clock second (above 1: faster than the calls lasted)."""
        return self.audio_s / self.elapsed_s if self.elapsed_s else 0.0


def run_locally(
    database: Database, run: RunInfo, deps: RunDeps, *, observer: CallObserver | None = None
) -> RunSummary:
    """Process the run's calls that are not done yet, in order; mark the run finished when none is left over.

    Raises:
        KeyboardInterrupt: passed on after the calls finished so far are committed (resume continues).
    """
    observer = observer or CallObserver()
    todo = [rid for rid in run.recording_ids if rid not in run.done]
    summary = RunSummary(run.run_id, selected=len(run.recording_ids), already_done=len(run.done))
    started = time.monotonic()
    for position, recording_id in enumerate(todo, start=1):
        observer.call_started(recording_id, position=position, total=len(todo))
        status, audio_s, elapsed_s = _one_call(database, run.run_id, recording_id, deps, observer, summary)
        summary.elapsed_s = time.monotonic() - started
        observer.call_finished(recording_id, status=status, audio_s=audio_s, elapsed_s=elapsed_s)
    if summary.failed == 0:
        finish_run(database, run.run_id)
    return summary


def _one_call(
    database: Database,
    run_id: str,
    recording_id: str,
    deps: RunDeps,
    observer: CallObserver,
    summary: RunSummary,
) -> tuple[str, float, float]:
    started = time.monotonic()
    inputs = stored_inputs(database, recording_id)
    if inputs.audio is None:
        reason = "no stored audio (the fetch stage never finished); ingest the recording again"
        record_result(database, run_id, recording_id, status="failed", error=reason, version=deps.version)
        summary.failed += 1
        summary.failures[recording_id] = reason
        return "failed", 0.0, 0.0
    settings = deps.settings
    configured = settings.nlp.competitors
    # A stored call was linked when it was first published: its opportunity's own competitors count too.
    opportunity_id = linked_opportunity(database, recording_id)
    names = deps.competitors(opportunity_id) if deps.competitors else configured
    # The ASR's hotwords, most likely first: that opportunity's competitors, the configured, the CRM's table.
    asr_names = deps.hotword_competitors(opportunity_id) if deps.hotword_competitors else configured
    try:
        transcript = transcribe_audio(
            inputs.audio,
            transcriber=deps.transcriber,
            blobs=deps.blobs,
            speech=settings.speech,
            tenant=settings.tenant,
            competitors=asr_names,
            progress=observer.step,
        )
        observer.step("analyze", completed=0, total=1)
        insights = analyze_transcript(
            transcript, engine=deps.engine, blobs=deps.blobs, tenant=settings.tenant, competitors=names
        )
        observer.step("analyze", completed=1, total=1)
    except DealtalkError as exc:
        elapsed = time.monotonic() - started
        logger.warning(
            "reprocess run=%s recording=%s failed after %.1f s: %s", run_id, recording_id, elapsed, exc
        )
        record_result(
            database,
            run_id,
            recording_id,
            status="failed",
            error=str(exc),
            elapsed_s=elapsed,
            version=deps.version,
        )
        summary.failed += 1
        summary.failures[recording_id] = str(exc)
        return "failed", 0.0, elapsed
    new = load_call_result(deps.blobs, insights)
    old = load_call_result(deps.blobs, inputs.baseline) if inputs.baseline is not None else None
    changed = diff_call(recording_id, old, new).changed
    activity_id = None
    if deps.publish is not None and changed:
        # What goes to the activity becomes the current result, so that its report link shows the same.
        make_current(
            database,
            deps.blobs,
            transcript,
            insights,
            versions=(stage_version(deps.transcriber, settings.speech), deps.engine.version),
            run_id=run_id,
        )
        observer.step("publish", completed=0, total=1)
        activity_id = deps.publish(insights)
        summary.published += int(activity_id is not None)
    elapsed = time.monotonic() - started
    record_result(
        database,
        run_id,
        recording_id,
        status="done",
        error=None,
        blobs=_claim_checks(insights, inputs.baseline),
        models={name: ref.model_dump() for name, ref in insights.models.items()},
        version=deps.version,
        audio_s=new.duration_s,
        elapsed_s=elapsed,
        published_activity_id=activity_id,
    )
    logger.info(
        "reprocess run=%s recording=%s done in %.1f s changed=%s", run_id, recording_id, elapsed, changed
    )
    summary.done += 1
    summary.changed += int(changed)
    summary.audio_s += new.duration_s
    return "done", new.duration_s, elapsed


def _claim_checks(new: InsightsReady, baseline: InsightsReady | None) -> dict[str, object]:
    refs = {"transcript": new.transcript, "insights": new.insights}
    if baseline is not None:
        refs |= {"baseline_transcript": baseline.transcript, "baseline_insights": baseline.insights}
    return {name: ref.model_dump() for name, ref in refs.items()}
