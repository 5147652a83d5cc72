"""Stage 3, analyze: transcript -> KPIs, sentiment, risks, action items, summary (TranscriptReady -> InsightsReady)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.config import TenantSettings
from dealtalk.contracts.documents import InsightsDoc, MeetingInfo, TranscriptDoc
from dealtalk.contracts.events import InsightsReady, TranscriptReady
from dealtalk.contracts.stage import Stage
from dealtalk.nlp.protocols import InsightContext, InsightEngine
from dealtalk.pipeline.store.projections import save_insights

__all__ = ["CompetitorNamesFor", "analyze_transcript", "build_analyze_stage", "insight_context"]

# The competitor names to look for in a call: given the call's opportunity id when it is known, else None
# (``publisher.competitors.CompetitorNames``: the configured names and the CRM's, cached).
CompetitorNamesFor = Callable[[str | None], tuple[str, ...]]


def insight_context(
    meeting: MeetingInfo, tenant: TenantSettings, competitors: tuple[str, ...]
) -> InsightContext:
    """Relative dates ("volgende week vrijdag") resolve against the meeting's date in the tenant's timezone."""
    call_date: date | None = None
    if meeting.start_time is not None:
        call_date = meeting.start_time.astimezone(ZoneInfo(tenant.timezone)).date()
    return InsightContext(call_date=call_date, participants=meeting.participants, competitors=competitors)


def analyze_transcript(
    event: TranscriptReady,
    *,
    engine: InsightEngine,
    blobs: BlobStore,
    tenant: TenantSettings,
    competitors: tuple[str, ...],
) -> InsightsReady:
    transcript = TranscriptDoc.model_validate_json(blobs.read_bytes(event.transcript))
    insights = engine.analyze(transcript, insight_context(event.meeting, tenant, competitors))
    ref = blobs.put_bytes(insights.model_dump_json().encode(), content_type="application/json")
    return InsightsReady(
        **event.follow(),
        transcript=event.transcript,
        insights=ref,
        meeting=event.meeting,
        models={**event.models, **insights.models},
    )


def build_analyze_stage(
    *, engine: InsightEngine, blobs: BlobStore, tenant: TenantSettings, competitors: CompetitorNamesFor
) -> Stage[TranscriptReady, InsightsReady]:
    def run(event: TranscriptReady) -> InsightsReady:
        # The opportunity is resolved by the publish stage, after this one: no opportunity's own competitors.
        names = competitors(None)
        return analyze_transcript(event, engine=engine, blobs=blobs, tenant=tenant, competitors=names)

    def persist(session: Session, event: TranscriptReady, output: InsightsReady) -> None:
        doc = InsightsDoc.model_validate_json(blobs.read_bytes(output.insights))
        save_insights(session, output, doc, version=engine.version)

    return Stage(name="analyze", consumes=TranscriptReady, run=run, version=engine.version, persist=persist)
