"""People's preferred languages from Microsoft Graph: the language hints of a Teams call.

Graph's ``onlineMeeting`` has no language, but the tenant knows its users': ``preferredLanguage`` on the user
(an ISO 639-1 + region tag like "nl-NL", part of the default property set; ``User.Read.All``, which discovery
already has). A user without one, an unknown user or a refused read gives no hint -- hints are a prior for the
language decision, never a reason to hold a call back. Looked-up values are kept for the process's lifetime.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence

from dealtalk.contracts.documents import LanguageHint
from dealtalk.ingest.graph.errors import GraphFailure
from dealtalk.ingest.graph.session import GraphSession

__all__ = ["PreferredLanguages", "primary_language"]

logger = logging.getLogger(__name__)

_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


def primary_language(tag: str | None) -> str | None:
    """ "nl-NL" -> "nl"; None for an empty or malformed tag."""
    match = _TAG.match((tag or "").strip())
    return match.group(1).lower() if match else None


class PreferredLanguages:
    """Looks up ``preferredLanguage`` per user (object id or UPN), once per process."""

    def __init__(self, session: GraphSession) -> None:
        self._session = session
        self._known: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def of(self, user: str) -> str | None:
        """The primary language of ``user``'s preferred language, or None when Graph has none for them."""
        key = user.lower()
        with self._lock:
            if key in self._known:
                return self._known[key]
        try:
            found = self._session.call(lambda c: c.users.by_user_id(user).get())
            language = primary_language(getattr(found, "preferred_language", None))
        except GraphFailure as failure:
            # 403 (permission), 404 (not a tenant user), throttling: no hint, the audio decides alone.
            logger.info("no preferred language for a user (Graph %s %s)", failure.status, failure.code)
            language = None
        with self._lock:
            self._known[key] = language
        return language

    def hints(self, organizer_id: str, internal_attendees: Sequence[str]) -> tuple[LanguageHint, ...]:
        """Hints from the organizer, then from the internal attendees (one per language and source)."""
        found: list[LanguageHint] = []
        people = [(organizer_id, "organizer.preferredLanguage")]
        people += [(upn, "attendee.preferredLanguage") for upn in internal_attendees]
        for user, source in people:
            language = self.of(user)
            if language and not any(h.language == language and h.source == source for h in found):
                found.append(LanguageHint(language=language, source=source))
        return tuple(found)
