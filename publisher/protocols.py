"""Contracts of the publish stage: find the opportunity a call belongs to, then put the insights on its timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dealtalk.contracts.documents import CallResult, MeetingInfo, OpportunityLink

__all__ = ["ActivityPublisher", "OpportunityResolver", "PublishReceipt"]


class OpportunityResolver(Protocol):
    def resolve(self, meeting: MeetingInfo) -> OpportunityLink:
        """Find the opportunity of a meeting; never raises for "not found" (returns method "none").

        Raises:
            TransientError: the CRM could not be reached or throttled us.
        """

    def get_opportunity(self, opportunity_id: str) -> OpportunityLink:
        """Validate a manually given opportunity id (``dealtalk link``).

        Raises:
            InvalidInput: no opportunity with that id exists.
        """


@dataclass(frozen=True, slots=True)
class PublishReceipt:
    """Where the activity landed: its id and a target a person can open (a URL or a file path)."""

    activity_id: str
    target: str
    created: bool


class ActivityPublisher(Protocol):
    def publish(
        self, result: CallResult, *, recording_id: str, meeting: MeetingInfo, link: OpportunityLink
    ) -> PublishReceipt:
        """Upsert the call-insights activity on the opportunity timeline, keyed by the recording id.

        Publishing the same recording twice updates the activity; it never creates a second one.

        Raises:
            InvalidInput: the target rejected the activity for a reason retrying cannot fix (e.g. 400, 404).
            TransientError / RetryLater: throttled (429 with Retry-After) or a server error (5xx).
        """

    def withdraw(self, *, recording_id: str) -> bool:
        """Delete the recording's activity (GDPR erasure of a whole recording); True when there was one.

        Updating an activity after a person's data was erased from the call is ``publish`` again: an upsert.

        Raises:
            TransientError / RetryLater: throttled or failing; the erasure records it and can be resumed.
        """
