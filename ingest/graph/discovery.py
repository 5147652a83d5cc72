"""Discovering Teams recordings through Graph: the delta sync (safety net) and single recordings (webhooks).

``run_delta_sync`` walks ``getAllRecordings(meetingOrganizerUserId=…)/delta`` for each organizer from the saved
deltaLink (or from ``lookback_days`` ago the first time), follows ``@odata.nextLink`` pages, emits a
``RecordingDiscovered`` for each recording not emitted before, and saves the new deltaLink only after the
whole round went through: a crash replays the round, the seen-set keeps it from emitting twice.
An expired token (410 ``resyncRequired``/``syncStateNotFound``) restarts the organizer from scratch.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dealtalk.contracts.config import TenantSettings
from dealtalk.contracts.documents import MeetingInfo
from dealtalk.contracts.errors import DealtalkError
from dealtalk.contracts.events import RecordingDiscovered, new_trace_id
from dealtalk.ingest.graph.errors import GraphFailure, graph_error
from dealtalk.ingest.graph.languages import PreferredLanguages
from dealtalk.ingest.graph.meeting import meeting_info
from dealtalk.ingest.graph.organizers import OrganizerDirectory
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.ingest.graph.state import DiscoveryState

__all__ = ["GraphDiscovery", "SyncReport"]

logger = logging.getLogger(__name__)

_RESYNC_CODES = {"resyncRequired", "syncStateNotFound"}
Emit = Callable[[RecordingDiscovered], None]


@dataclass(slots=True)
class SyncReport:
    emitted: list[str] = field(default_factory=list)
    already_seen: int = 0
    resynced: list[str] = field(default_factory=list)  # organizers whose delta token had expired


class GraphDiscovery:
    """Finds recordings of the configured organizers and emits one event per new recording.

    Args:
        session: the Graph session.
        state: deltaLinks, seen recordings, organizer ids.
        organizers: resolves the organizers' object ids (again on every sync: a group's members change).
        tenant: decides attendee roles.
        emit: publishes an event (the runtime puts it on the bus); an exception leaves the recording unseen.
        lookback_days: how far back the first delta round starts.
    """

    def __init__(
        self,
        session: GraphSession,
        state: DiscoveryState,
        *,
        organizers: OrganizerDirectory,
        tenant: TenantSettings,
        emit: Emit,
        lookback_days: int = 14,
        language_hints: bool = True,
    ) -> None:
        self._session = session
        self._state = state
        self._organizers = organizers
        self._tenant = tenant
        self._emit = emit
        self._lookback = timedelta(days=lookback_days)
        self._languages = PreferredLanguages(session) if language_hints else None

    def _fail(self, failure: GraphFailure, what: str) -> DealtalkError:
        return graph_error(failure, what, client_id=self._session.client_id)

    def organizer_ids(self) -> list[str]:
        """Object ids of the organizers now (configured sellers and the group's current members).

        Raises:
            ConfigurationError / TransientError / RetryLater: see ``OrganizerDirectory.resolve``.
        """
        return self._organizers.resolve()

    # --- delta ------------------------------------------------------------------------------------------
    def _initial_url(self, organizer_id: str) -> str:
        start = (datetime.now(UTC) - self._lookback).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"{self._session.base_url}/users/{organizer_id}/onlineMeetings/getAllRecordings("
            f"meetingOrganizerUserId='{organizer_id}',startDateTime={start})/delta"
        )

    def _page(self, organizer_id: str, url: str) -> Any:
        # Any builder whose response type is the delta collection will do; with_url() ignores its path.
        return self._session.call(
            lambda c: (
                c.users.by_user_id(organizer_id)
                .online_meetings.by_online_meeting_id("-")
                .recordings.delta.with_url(url)
                .get()
            )
        )

    def run_delta_sync(self, organizer_ids: Iterable[str] | None = None) -> SyncReport:
        """One delta round per organizer (by default all of them, the group re-read).

        An organizer no longer listed is not synced; its saved deltaLink is kept, so that re-adding the
        seller resumes where their sync stopped instead of replaying the whole lookback window.

        Raises:
            ConfigurationError: permissions, access policy or billing are missing (the message says how to fix).
            TransientError / RetryLater: Graph is throttling or failing; the round resumes next time.
        """
        report = SyncReport()
        for organizer_id in organizer_ids if organizer_ids is not None else self.organizer_ids():
            self._sync_organizer(organizer_id, report)
        logger.info(
            "Graph delta sync: emitted=%d already_seen=%d resynced=%d",
            len(report.emitted),
            report.already_seen,
            len(report.resynced),
        )
        return report

    def _sync_organizer(self, organizer_id: str, report: SyncReport) -> None:
        saved = self._state.delta_link(organizer_id)
        if saved is not None and not saved.startswith(f"{self._session.base_url}/"):
            # Saved under another Graph endpoint (a national cloud move, a new sandbox): not ours to replay.
            logger.warning(
                "saved delta link of organizer %s is for another endpoint: full resync", organizer_id
            )
            report.resynced.append(organizer_id)
            saved = None
        url = saved or self._initial_url(organizer_id)
        while True:
            try:
                page = self._page(organizer_id, url)
            except GraphFailure as failure:
                replaying_saved = saved is not None and url == saved
                stale = failure.status == 410 or failure.code in _RESYNC_CODES
                if stale or (replaying_saved and failure.status == 400):
                    logger.warning("delta token of organizer %s no longer valid: full resync", organizer_id)
                    report.resynced.append(organizer_id)
                    self._state.save_delta_link(organizer_id, None)
                    saved, url = None, self._initial_url(organizer_id)
                    continue
                raise self._fail(failure, f"the recordings of organizer {organizer_id}") from None
            for recording in page.value or []:
                if self._state.seen(str(recording.id)):
                    report.already_seen += 1
                    continue
                if self._discover(organizer_id, recording):
                    report.emitted.append(str(recording.id))
            if page.odata_next_link:
                url = page.odata_next_link
                continue
            if page.odata_delta_link:
                self._state.save_delta_link(organizer_id, page.odata_delta_link)
            return

    # --- one recording ----------------------------------------------------------------------------------
    def discover_recording(self, organizer_id: str, meeting_id: str, recording_id: str) -> bool:
        """Emit the event for one recording (a webhook told us); False when it was emitted before or is gone.

        Raises:
            ConfigurationError / TransientError / RetryLater: as ``run_delta_sync``.
        """
        if self._state.seen(recording_id):
            return False
        try:
            recording = self._session.call(
                lambda c: (
                    c.users.by_user_id(organizer_id)
                    .online_meetings.by_online_meeting_id(meeting_id)
                    .recordings.by_call_recording_id(recording_id)
                    .get()
                )
            )
        except GraphFailure as failure:
            if failure.status == 404:
                logger.warning("notified recording %s is gone (404); skipped", recording_id)
                return False
            raise self._fail(failure, f"recording {recording_id}") from None
        return self._discover(organizer_id, recording)

    def _discover(self, organizer_id: str, recording: Any) -> bool:
        recording_id = str(recording.id)
        meeting_id = str(recording.meeting_id)
        try:
            meeting = self._session.call(
                lambda c: (
                    c.users.by_user_id(organizer_id).online_meetings.by_online_meeting_id(meeting_id).get()
                )
            )
        except GraphFailure as failure:
            if failure.status == 404:
                logger.warning("meeting of recording %s is gone (404); skipped", recording_id)
                self._state.mark_seen(recording_id)
                return False
            raise self._fail(failure, f"the meeting of recording {recording_id}") from None
        source_ids = {"organizer_id": organizer_id, "meeting_id": meeting_id, "recording_id": recording_id}
        if recording.content_correlation_id:
            source_ids["content_correlation_id"] = str(recording.content_correlation_id)
        quoted = [urllib.parse.quote(v, safe="") for v in (organizer_id, meeting_id, recording_id)]
        content_url = (
            f"{self._session.base_url}/users/{quoted[0]}/onlineMeetings/{quoted[1]}/recordings/{quoted[2]}"
            "/content"
        )
        event = RecordingDiscovered(
            recording_id=recording_id,
            trace_id=new_trace_id(),
            source="graph",
            # Built, not taken from recordingContentUrl: Graph's examples show several shapes for it.
            source_ref=content_url,
            meeting=self._meeting_with_hints(organizer_id, meeting_info(meeting, self._tenant)),
            source_ids=source_ids,
        )
        self._emit(event)
        self._state.mark_seen(recording_id)
        logger.info("discovered recording=%s source=graph trace=%s", recording_id, event.trace_id)
        return True

    def _meeting_with_hints(self, organizer_id: str, meeting: MeetingInfo) -> MeetingInfo:
        """Graph's meeting has no language: add what the tenant knows of the organizer's and the internal
        attendees' preferred languages (customers are outside the tenant and cannot be looked up)."""
        if self._languages is None:
            return meeting
        hints = self._languages.hints(
            organizer_id,
            [a.email for a in meeting.attendees if a.email and a.role == "seller"],
        )
        return meeting.model_copy(update={"language_hints": hints}) if hints else meeting
