"""Stage 4, publish: find the opportunity, upsert the call activity on its timeline (InsightsReady -> CallPublished)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.documents import CallResult, InsightsDoc, OpportunityLink, TranscriptDoc
from dealtalk.contracts.events import CallPublished, InsightsReady
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.store.projections import save_publication
from dealtalk.publisher.protocols import ActivityPublisher, OpportunityResolver

__all__ = ["build_publish_stage", "load_call_result", "publish_insights"]

# A link a person made with `dealtalk link` wins over the automatic resolution (None when there is none).
ManualLink = Callable[[str], OpportunityLink | None]


def load_call_result(blobs: BlobStore, event: InsightsReady) -> CallResult:
    transcript = TranscriptDoc.model_validate_json(blobs.read_bytes(event.transcript))
    insights = InsightsDoc.model_validate_json(blobs.read_bytes(event.insights))
    return CallResult.join(transcript, insights)


def publish_insights(
    event: InsightsReady,
    *,
    resolver: OpportunityResolver,
    publisher: ActivityPublisher,
    blobs: BlobStore,
    manual_link: ManualLink,
) -> CallPublished:
    """Resolve the opportunity; publish when linked, otherwise report the call as unlinked.

    Raises:
        TransientError / RetryLater: the CRM throttled us or is down (the message is retried).
        InvalidInput: the CRM rejected the activity for good (the message is dead-lettered with the reason).
    """
    link = manual_link(event.recording_id) or resolver.resolve(event.meeting)
    common = {
        **event.follow(),
        "link_method": link.method,
        "link_detail": link.detail,
        "opportunity_id": link.opportunity_id,
        "opportunity_name": link.opportunity_name,
        "account_name": link.account_name,
    }
    if link.opportunity_id is None:
        return CallPublished(**common, status="unlinked")
    result = load_call_result(blobs, event)
    receipt = publisher.publish(result, recording_id=event.recording_id, meeting=event.meeting, link=link)
    return CallPublished(**common, status="published", activity_id=receipt.activity_id, target=receipt.target)


def build_publish_stage(
    *,
    resolver: OpportunityResolver,
    publisher: ActivityPublisher,
    blobs: BlobStore,
    manual_link: ManualLink,
    version: str,
) -> Stage[InsightsReady, CallPublished]:
    def run(event: InsightsReady) -> CallPublished:
        return publish_insights(
            event, resolver=resolver, publisher=publisher, blobs=blobs, manual_link=manual_link
        )

    def persist(session: Session, event: InsightsReady, output: CallPublished) -> None:
        save_publication(session, output)

    return Stage(name="publish", consumes=InsightsReady, run=run, version=version, persist=persist)
