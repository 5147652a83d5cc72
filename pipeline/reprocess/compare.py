"""``reprocess diff``: each finished call's new version against the version it replaced."""

from __future__ import annotations

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.documents import BlobRef, CallResult, InsightsDoc, TranscriptDoc
from dealtalk.pipeline.reprocess.diff import CallDiff, diff_call
from dealtalk.pipeline.reprocess.runs import load_run, results_of
from dealtalk.pipeline.store import Database

__all__ = ["run_diffs", "stored_result"]


def stored_result(blobs: BlobStore, refs: dict[str, object], prefix: str = "") -> CallResult | None:
    """The call result whose transcript/insights claim checks are ``refs[prefix + "transcript"|"insights"]``."""
    transcript, insights = refs.get(f"{prefix}transcript"), refs.get(f"{prefix}insights")
    if transcript is None or insights is None:
        return None
    return CallResult.join(
        TranscriptDoc.model_validate_json(blobs.read_bytes(BlobRef.model_validate(transcript))),
        InsightsDoc.model_validate_json(blobs.read_bytes(BlobRef.model_validate(insights))),
    )


def run_diffs(database: Database, blobs: BlobStore, run_id: str) -> list[CallDiff]:
    """One diff per call the run finished (failed and queued calls have no new version to compare).

    Raises:
        InvalidInput: an unknown run id, or a blob that is missing from the store.
    """
    load_run(database, run_id)
    diffs: list[CallDiff] = []
    for row in results_of(database, run_id):
        new = stored_result(blobs, row.blobs) if row.status == "done" else None
        if new is not None:
            diffs.append(diff_call(row.recording_id, stored_result(blobs, row.blobs, "baseline_"), new))
    return diffs
