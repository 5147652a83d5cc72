"""The Dataverse publisher: upserts the call-insights activity (or the phone call + note fallback) for real.

It sends the very requests the dry-run publisher writes down (``payload.py``). One call is a sequence of
upserts; many calls go through ``$batch``, one atomic change set per call, so a call that fails does not
take the others with it. Upserts by key make a redelivered message update the same records.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from dealtalk.contracts.documents import CallResult, MeetingInfo, OpportunityLink
from dealtalk.contracts.errors import DealtalkError
from dealtalk.publisher.crm import CrmReader
from dealtalk.publisher.dataverse.client import DataverseClient
from dealtalk.publisher.dataverse.errors import error_for
from dealtalk.publisher.payload import (
    CallActivity,
    fallback_requests,
    insight_activity_request,
    report_url_for,
    resolve_parties,
)
from dealtalk.publisher.protocols import PublishReceipt
from dealtalk.publisher.request import DataverseRequest, entity_path, key_path, record_key, stable_id
from dealtalk.publisher.schema import ActivitySchema

__all__ = ["DataversePublisher", "PublishItem"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublishItem:
    """One call to publish in a batch."""

    result: CallResult
    recording_id: str
    meeting: MeetingInfo
    link: OpportunityLink


class DataversePublisher:
    """An ``ActivityPublisher`` that writes to a Dataverse organisation.

    Args:
        client: the Web API client (throttling, retries, errors).
        schema: names of the call-insights table.
        parties_from: the CRM that matches participants to systemusers/contacts.
        fallback_phonecall: publish a phone call + note instead of the custom activity.
        report_base_url: base of the HTML report links; empty leaves the link out.
        batch_size: calls per ``$batch`` in ``publish_many``.
    """

    def __init__(
        self,
        client: DataverseClient,
        *,
        schema: ActivitySchema,
        parties_from: CrmReader,
        fallback_phonecall: bool = False,
        report_base_url: str = "",
        batch_size: int = 10,
    ) -> None:
        self._client = client
        self._schema = schema
        self._parties_from = parties_from
        self._fallback = fallback_phonecall
        self._report_base_url = report_base_url
        self._batch_size = batch_size

    def close(self) -> None:
        """Close the client's connections (at shutdown)."""
        self._client.close()

    def _requests(self, item: PublishItem) -> tuple[DataverseRequest, ...]:
        call = CallActivity(
            result=item.result,
            recording_id=item.recording_id,
            meeting=item.meeting,
            link=item.link,
            parties=resolve_parties(item.meeting, self._parties_from),
            report_url=report_url_for(self._report_base_url, item.recording_id),
        )
        return fallback_requests(call) if self._fallback else (insight_activity_request(call, self._schema),)

    def _receipt(self, status: int, body: object) -> PublishReceipt:
        activity_id = str(body.get("activityid")) if isinstance(body, dict) else ""
        table = "phonecall" if self._fallback else self._schema.logical_name
        target = f"{self._client.org_url}/main.aspx?etn={table}&id={activity_id}&pagetype=entityrecord"
        return PublishReceipt(activity_id=activity_id, target=target, created=status == 201)

    def publish(
        self, result: CallResult, *, recording_id: str, meeting: MeetingInfo, link: OpportunityLink
    ) -> PublishReceipt:
        """Upsert this call's activity on the opportunity timeline (see ``ActivityPublisher``).

        Raises:
            InvalidInput: Dataverse rejected the activity (a deleted opportunity, a malformed column).
            ConfigurationError: the table is not provisioned or the application user lacks a privilege.
            TransientError / RetryLater: throttled or failing after the client's retries.
        """
        requests = self._requests(PublishItem(result, recording_id, meeting, link))
        first = None
        for request in requests:
            response = self._client.send(request)
            assert response is not None
            first = first or response
        assert first is not None
        receipt = self._receipt(first.status, first.body)
        logger.info(
            "published to Dataverse: recording=%s activity=%s created=%s method=%s",
            recording_id,
            receipt.activity_id,
            receipt.created,
            link.method,
        )
        return receipt

    def withdraw(self, *, recording_id: str) -> bool:
        """Delete the recording's activity (or phone call and note); True when one existed.

        Raises:
            ConfigurationError: the application user may not delete activities.
            TransientError / RetryLater: throttled or failing after the client's retries.
        """
        if self._fallback:
            paths = [
                entity_path("annotations", stable_id(recording_id, "note")),
                entity_path("phonecalls", stable_id(recording_id, "phonecall")),
            ]
        else:
            paths = [key_path(self._schema.entity_set, self._schema.key_column, record_key(recording_id))]
        found = False
        for path in paths:
            request = DataverseRequest(
                "DELETE", path, purpose="delete the call activity of an erased recording"
            )
            found = self._client.send(request, allow_not_found=True) is not None or found
        logger.info("withdrawn from Dataverse: recording=%s found=%s", recording_id, found)
        return found

    def publish_many(self, items: Sequence[PublishItem]) -> list[PublishReceipt | DealtalkError]:
        """Publish several calls through ``$batch``; one result per item, in order (a receipt or the error).

        Raises:
            TransientError / RetryLater: a whole batch was throttled or failed after retries.
        """
        results: list[PublishReceipt | DealtalkError] = []
        for start in range(0, len(items), self._batch_size):
            chunk = items[start : start + self._batch_size]
            changesets = [self._requests(item) for item in chunk]
            groups = self._client.batch(changesets, purpose=f"publish {len(chunk)} call(s) in a $batch")
            if len(groups) != len(chunk):
                raise error_for(500, None, f"publish a $batch ({len(groups)} answers for {len(chunk)} calls)")
            for item, changeset, parts in zip(chunk, changesets, groups, strict=True):
                failed = next((p for p in parts if p.status >= 400), None)
                if failed is not None:
                    purpose = changeset[0].purpose if len(parts) == 1 else "publish a call"
                    results.append(error_for(failed.status, failed.body, purpose))
                    logger.warning(
                        "batch publish failed: recording=%s status=%d", item.recording_id, failed.status
                    )
                    continue
                results.append(self._receipt(parts[0].status, parts[0].body))
        return results
