"""Make a reprocessed version the recording's current result: what the API's report and the CRM then show.

Used with ``--publish``: a changed result that goes to the Dataverse activity must also be the one the
activity's report link opens. The old version stays in the store (its stage results and blobs are kept).
"""

from __future__ import annotations

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.documents import InsightsDoc, TranscriptDoc
from dealtalk.contracts.events import InsightsReady, TranscriptReady, dump_event
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.projections import save_insights, save_transcript
from dealtalk.pipeline.store.schema import AuditRow, StageResultRow, utcnow

__all__ = ["make_current"]


def make_current(
    database: Database,
    blobs: BlobStore,
    transcript: TranscriptReady,
    insights: InsightsReady,
    *,
    versions: tuple[str, str],
    run_id: str,
) -> None:
    """Store the new stage results (newest wins) and rewrite the current projections, in one transaction.

    Args:
        versions: the transcribe and the analyze stage versions that produced the events.
    """
    transcript_doc = TranscriptDoc.model_validate_json(blobs.read_bytes(transcript.transcript))
    insights_doc = InsightsDoc.model_validate_json(blobs.read_bytes(insights.insights))
    transcribe_version, analyze_version = versions
    now = utcnow()
    with database.session() as session:
        for stage, version, event in (
            ("transcribe", transcribe_version, transcript),
            ("analyze", analyze_version, insights),
        ):
            session.merge(
                StageResultRow(
                    recording_id=event.recording_id,
                    stage=stage,
                    version=version,
                    output_event=dump_event(event),
                    created_at=now,
                )
            )
        save_transcript(session, transcript, transcript_doc, version=transcribe_version)
        save_insights(session, insights, insights_doc, version=analyze_version)
        session.add(
            AuditRow(
                recording_id=transcript.recording_id,
                actor="reprocess",
                action="reprocess.current",
                detail={"run_id": run_id, "transcribe": transcribe_version, "analyze": analyze_version},
            )
        )
