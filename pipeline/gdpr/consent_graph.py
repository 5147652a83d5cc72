"""Membership of the opt-out Entra group, read through Graph with the organizer directory's group reader.

The group's transitive user members are read as object ids (``OrganizerDirectory.group_member_ids``) and
reused for ``DEALTALK_GDPR__OPTED_OUT_GROUP_TTL_MIN``; an attendee's address is turned into an object id with
``GET /users/{upn}`` (User.Read.All), remembered for the life of the process. Guests and outside addresses
that are no user of the tenant are not members. No names or addresses are logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dealtalk.ingest.graph.errors import GraphFailure, graph_error
from dealtalk.ingest.graph.organizers import OrganizerDirectory
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.ingest.graph.state import DiscoveryState

__all__ = ["GraphGroupMembership"]


class GraphGroupMembership:
    """``membership(email) -> bool`` for the opt-out group.

    Args:
        session: the Graph session (shared with ingest when there is one).
        group_id: the opt-out group's object id.
        state: where looked-up user ids are remembered (the discovery state's UPN -> object id map).
        ttl_s: how long the member list is reused.
        clock: monotonic seconds (tests move it).
    """

    def __init__(
        self,
        session: GraphSession,
        group_id: str,
        *,
        state: DiscoveryState,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._state = state
        self._directory = OrganizerDirectory(session, self._state, organizers=(), group_id=group_id)
        self._ttl_s = ttl_s
        self._clock = clock
        self._members: frozenset[str] = frozenset()
        self._read_at: float | None = None
        self._unknown: set[str] = set()

    def __call__(self, email: str) -> bool:
        user_id = self._user_id(email.strip().lower())
        return user_id is not None and user_id in self._current_members()

    def _current_members(self) -> frozenset[str]:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self._ttl_s:
            self._members = frozenset(i.lower() for i in self._directory.group_member_ids())
            self._read_at = now
        return self._members

    def _user_id(self, email: str) -> str | None:
        known = self._state.user_id(email)
        if known is not None:
            return known.lower()
        if email in self._unknown:
            return None
        try:
            user: Any = self._session.call(lambda c: c.users.by_user_id(email).get())
        except GraphFailure as failure:
            if failure.status == 404:
                self._unknown.add(email)
                return None
            raise graph_error(
                failure,
                "a participant of the opt-out check (needs User.Read.All)",
                client_id=self._session.client_id,
            ) from None
        self._state.save_user_id(email, str(user.id))
        return str(user.id).lower()
