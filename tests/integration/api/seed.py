"""Analysed calls for the API tests, stored the way the pipeline stores them (blobs, projections, results)."""

from __future__ import annotations

from dealtalk.contracts.documents import (
    CallKpisDoc,
    HealthDoc,
    InsightsDoc,
    KpisDoc,
    MeetingInfo,
    RiskDoc,
    SegmentDoc,
    SentimentDoc,
    SpeakerDoc,
    TranscriptDoc,
)
from dealtalk.contracts.events import (
    CallPublished,
    InsightsReady,
    RecordingDiscovered,
    TranscriptReady,
    dump_event,
)
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.projections import (
    save_discovered,
    save_insights,
    save_publication,
    save_transcript,
)
from dealtalk.pipeline.store.schema import StageResultRow

# The sample tenant (samples/crm.json): Mark manages Eva; Sanne is in another team.
EVA, MARK, SANNE = (
    "90509188-33d5-55c7-979b-e2fc3b23f163",
    "84f25ce2-9e2c-58e7-9b34-fb0f802f9232",
    "09027d1e-4a6a-5d18-8496-3ae0e4e291c1",
)
MARK_OID = "550eda2a-f1f1-5ef1-94c9-3e0259158d59"
SANNE_OID = "135b549c-9f13-5d91-9087-5209487ce5ab"
ZUIDHAVEN_OPP = "680f89c8-b972-592e-9050-7e61dacce2d0"  # owned by Eva (Mark's team)
BRIGHTLAB_OPP = "d97696e7-48a7-53cd-95a7-8e15c348dbd2"  # owned by Sanne (another team)
SECRET_TEXT = "Onze begroting is bevroren tot het derde kwartaal."


def seed_call(
    resources: Resources,
    call_id: str,
    *,
    opportunity_id: str | None,
    account_name: str | None = None,
    language: str = "nl",
) -> None:
    """One analysed call with two segments and two risk signals, linked to ``opportunity_id`` (or not)."""
    meeting = MeetingInfo(subject=f"Gesprek {call_id}")
    segments = (
        SegmentDoc(start=0.0, end=4.0, speaker="S1", role="seller", language=language, text="Goedemorgen."),
        SegmentDoc(start=4.0, end=9.0, speaker="S2", role="customer", language=language, text=SECRET_TEXT),
    )
    transcript = TranscriptDoc(
        call_id=call_id,
        language=language,
        duration_s=9.0,
        speakers=(
            SpeakerDoc(id="S1", name="Eva", role="seller"),
            SpeakerDoc(id="S2", name="Klant", role="customer"),
        ),
        segments=segments,
    )
    insights = InsightsDoc(
        call_id=call_id,
        sentiments=(SentimentDoc(label="neutral", score=0.8), SentimentDoc(label="negative", score=0.7)),
        kpis=KpisDoc(
            call=CallKpisDoc(duration_s=9.0, switch_count=1, customer_longest_monologue_ms=5000.0),
            per_speaker={},
        ),
        risks=(
            RiskDoc(
                type="budget_constraint",
                severity="high",
                confidence=0.9,
                speaker="S2",
                start=4.0,
                end=9.0,
                quote="begroting is bevroren",
                segment_index=1,
            ),
            RiskDoc(
                type="timeline_slip",
                severity="medium",
                confidence=0.55,
                speaker="S2",
                start=4.0,
                end=9.0,
                quote="tot het derde kwartaal",
                segment_index=1,
                evidence_quality=0.42,
            ),
        ),
        action_items=(),
        summary="Budget bevroren.",
        health=HealthDoc(score=55),
    )
    t_ref = resources.blobs.put_bytes(transcript.model_dump_json().encode(), content_type="application/json")
    i_ref = resources.blobs.put_bytes(insights.model_dump_json().encode(), content_type="application/json")
    follow = {"recording_id": call_id, "trace_id": f"trace-{call_id}"}
    discovered = RecordingDiscovered(
        **follow, source="local", source_ref=f"/inbox/{call_id}.flac", meeting=meeting
    )
    ready = TranscriptReady(
        **follow, transcript=t_ref, audio=t_ref, meeting=meeting, language=language, duration_s=9.0
    )
    analysed = InsightsReady(**follow, transcript=t_ref, insights=i_ref, meeting=meeting)
    published = CallPublished(
        **follow,
        status="published" if opportunity_id else "unlinked",
        opportunity_id=opportunity_id,
        link_method="appointment" if opportunity_id else "none",
        account_name=account_name,
    )
    with resources.database.session() as session:
        save_discovered(session, discovered)
        save_transcript(session, ready, transcript, version="test")
        save_insights(session, analysed, insights, version="test")
        save_publication(session, published)
        session.add(
            StageResultRow(
                recording_id=call_id, stage="analyze", version="test", output_event=dump_event(analysed)
            )
        )
