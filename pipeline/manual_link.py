"""Linking a call to an opportunity by hand (``dealtalk link``, the API): validate, record, publish again."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select

from dealtalk.contracts.documents import OpportunityLink
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import InsightsReady, parse_event
from dealtalk.pipeline.parts import AppParts
from dealtalk.pipeline.store.rollups import refresh_call
from dealtalk.pipeline.store.schema import AuditRow, LinkRow, RecordingRow, StageResultRow, utcnow

__all__ = ["link_call"]

logger = logging.getLogger(__name__)


def link_call(parts: AppParts, recording_id: str, opportunity_id: str, *, actor: str) -> OpportunityLink:
    """Link a call to an opportunity and queue its publication (an update if it was published before).

    Raises:
        InvalidInput: the call is unknown or not analysed yet, or the opportunity does not exist in the CRM.
    """
    found = parts.models.resolver().get_opportunity(opportunity_id)
    link = OpportunityLink(
        opportunity_id=found.opportunity_id,
        method="manual",
        detail=f"linked by hand by {actor}",
        opportunity_name=found.opportunity_name,
        account_name=found.account_name,
    )
    with parts.database.session() as session:
        if session.get(RecordingRow, recording_id) is None:
            raise InvalidInput(f"no call with id {recording_id}; `dealtalk calls` lists them")
        analyzed = session.scalars(
            select(StageResultRow)
            .where(StageResultRow.recording_id == recording_id, StageResultRow.stage == "analyze")
            .order_by(StageResultRow.created_at.desc())
        ).first()
        if analyzed is None:
            raise InvalidInput(f"call {recording_id} has no insights yet; link it once it is analysed")
        insights = parse_event(analyzed.output_event)
        assert isinstance(insights, InsightsReady)
        with refresh_call(session, recording_id):  # the risk rollups count per opportunity and account
            row = session.get(LinkRow, recording_id) or LinkRow(recording_id=recording_id)
            row.opportunity_id, row.method, row.detail = link.opportunity_id, link.method, link.detail
            row.opportunity_name, row.account_name, row.linked_at = (
                link.opportunity_name,
                link.account_name,
                utcnow(),
            )
            session.add(row)
        # The earlier publish result (unlinked, or another opportunity) no longer holds: publish again.
        session.execute(
            delete(StageResultRow).where(
                StageResultRow.recording_id == recording_id, StageResultRow.stage == "publish"
            )
        )
        parts.outlet.publish(
            session, insights, key=recording_id, headers={"trace_id": insights.trace_id, "stage": "link"}
        )
        session.add(
            AuditRow(
                recording_id=recording_id,
                actor=actor,
                action="link.manual",
                detail={"opportunity_id": link.opportunity_id},
            )
        )
    logger.info("linked recording=%s opportunity=%s by=%s", recording_id, opportunity_id, actor)
    return link
