"""Risk feedback as labelled utterances (contracts format 3), the extra data ``dealtalk eval-nlp`` can score.

One utterance per segment that received feedback. Its ``risks`` are the risk types the models found on that
segment, plus every type a person confirmed, minus every type a person rejected (the newest verdict per type
counts). ``sentiment`` and ``action_item`` are the pipeline's own outputs for the segment (people gave no
verdict on them), so score only the risk labels of this file as human-checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.access import RiskFeedbackRow
from dealtalk.pipeline.store.schema import ActionItemRow, RiskRow, SegmentRow

__all__ = ["labelled_utterances"]


def labelled_utterances(database: Database) -> Iterator[dict[str, Any]]:
    """Format-3 objects: ``{"id", "lang", "role", "text", "sentiment", "risks", "action_item"}``."""
    with database.session() as session:
        verdicts: dict[tuple[str, int], dict[str, str]] = {}
        for row in session.scalars(select(RiskFeedbackRow).order_by(RiskFeedbackRow.at, RiskFeedbackRow.id)):
            verdicts.setdefault((row.recording_id, row.segment_index), {})[row.type] = row.verdict
        for (recording_id, index), by_type in sorted(verdicts.items()):
            segment = session.get(SegmentRow, (recording_id, index))
            if segment is None or segment.role not in ("customer", "seller"):
                continue
            found = set(
                session.scalars(
                    select(RiskRow.type).where(
                        RiskRow.recording_id == recording_id, RiskRow.segment_index == index
                    )
                )
            )
            confirmed = {t for t, v in by_type.items() if v == "confirmed"}
            rejected = {t for t, v in by_type.items() if v == "rejected"}
            action = session.scalar(
                select(ActionItemRow.id).where(
                    ActionItemRow.recording_id == recording_id, ActionItemRow.segment_index == index
                )
            )
            yield {
                "id": f"feedback:{recording_id}:{index}",
                "lang": segment.language if segment.language in ("nl", "en") else "en",
                "role": segment.role,
                "text": segment.text,
                "sentiment": segment.sentiment_label or "neutral",
                "risks": sorted((found | confirmed) - rejected),
                "action_item": action is not None,
            }
