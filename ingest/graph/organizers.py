"""Who the organizers are: the configured sellers (UPNs or object ids) plus the user members of a group.

The recordings endpoints take a user's object id (``/users/{id}/onlineMeetings/getAllRecordings(
meetingOrganizerUserId='{id}')``), so everything is reduced to object ids: UPNs are looked up once
(``GET /users/{upn}``, User.Read.All) and remembered in the discovery state; a group's members arrive as ids.

The group is read through ``GET /groups/{id}/transitiveMembers/microsoft.graph.user`` (the SDK writes the cast
with Graph's namespace alias, ``graph.user``): transitive, so sellers in nested teams count; cast to users, so
nested groups, devices and contacts are left out by Graph. An OData cast on
a transitive members list is an advanced query: Graph requires ``ConsistencyLevel: eventual`` and
``$count=true`` with it (else 400), and answers from an index that may lag a membership change by a little;
the next sync then picks it up. Only ``id`` is selected: no names or addresses are read. It is resolved again
on every call to ``resolve()`` (each sync), so joining or leaving the group takes effect at the next sync.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.groups.item.transitive_members.graph_user.graph_user_request_builder import (
    GraphUserRequestBuilder,
)

from dealtalk.ingest.graph.errors import GraphFailure, graph_error, group_members_error
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.ingest.graph.state import DiscoveryState

__all__ = ["OrganizerDirectory", "is_object_id", "merge_organizer_ids"]

logger = logging.getLogger(__name__)

_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_QueryParameters = GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters


def is_object_id(value: str) -> bool:
    """True for an Entra ID object id (a GUID), False for anything else (a UPN)."""
    return _GUID.fullmatch(value) is not None


def merge_organizer_ids(*sources: Iterable[str]) -> list[str]:
    """The object ids of all ``sources``, each once, in the order first seen.

    Object ids are GUIDs, which Graph treats case-insensitively: they are compared and returned in lower case,
    so a seller configured by UPN and also found in the group is one organizer (one subscription, one
    deltaLink), not two.

    Usage: ``merge_organizer_ids(["A1…"], ["a1…", "b2…"]) == ["a1…", "b2…"]``.
    """
    merged: dict[str, None] = {}
    for source in sources:
        for object_id in source:
            merged.setdefault(object_id.strip().lower(), None)
    merged.pop("", None)
    return list(merged)


class OrganizerDirectory:
    """Resolves the configured organizers to object ids, the group's current members included.

    Args:
        session: the Graph session.
        state: remembers the object ids of configured UPNs.
        organizers: sellers' UPNs or object ids (``DEALTALK_GRAPH__ORGANIZERS``).
        group_id: the object id of a group whose transitive user members are organizers too; "" for none.
    """

    def __init__(
        self, session: GraphSession, state: DiscoveryState, *, organizers: Sequence[str], group_id: str = ""
    ) -> None:
        self._session = session
        self._state = state
        self._organizers = tuple(organizers)
        self._group_id = group_id.strip()
        self._last: set[str] | None = None

    def resolve(self) -> list[str]:
        """Object ids of all organizers now: the configured ones, then the group's members, without duplicates.

        Raises:
            ConfigurationError: a UPN cannot be read (User.Read.All), or the group cannot (GroupMember.Read.All,
                a wrong group id); the message names the permission or the setting to fix.
            TransientError / RetryLater: Graph is failing or throttling; the sync is retried later.
        """
        configured = self._configured_ids()
        members = self.group_member_ids() if self._group_id else []
        organizer_ids = merge_organizer_ids(configured, members)
        current = set(organizer_ids)
        if self._last is not None and current != self._last:
            # Counts only: who joined or left the sellers' group is not for the logs.
            logger.info(
                "Graph organizers changed: joined=%d left=%d now=%d",
                len(current - self._last),
                len(self._last - current),
                len(current),
            )
        self._last = current
        if self._group_id and not members:
            logger.warning(
                "the organizer group has no user members; check DEALTALK_GRAPH__ORGANIZER_GROUP_ID"
            )
        return organizer_ids

    def _configured_ids(self) -> list[str]:
        ids = []
        for organizer in self._organizers:
            if is_object_id(organizer):
                ids.append(organizer.lower())
                continue
            known = self._state.user_id(organizer)
            if known is None:
                try:
                    user = self._session.call(lambda c, o=organizer: c.users.by_user_id(o).get())  # type: ignore[misc]
                except GraphFailure as failure:
                    raise graph_error(
                        failure,
                        f"the user {organizer} (needs User.Read.All)",
                        client_id=self._session.client_id,
                    ) from None
                known = str(user.id)
                self._state.save_user_id(organizer, known)
            ids.append(known)
        return ids

    def group_member_ids(self) -> list[str]:
        """Object ids of the group's transitive user members, all pages.

        Raises:
            ConfigurationError: 403 (the permission is named) or 404 (the configured id is named).
            TransientError / RetryLater: as ``resolve``.
        """
        group_id = self._group_id
        # Both advanced query parameters, on every page: the cast is refused without them.
        first = RequestConfiguration(query_parameters=_QueryParameters(count=True, select=["id"]))
        first.headers.add("ConsistencyLevel", "eventual")
        following: RequestConfiguration[Any] = RequestConfiguration()
        following.headers.add("ConsistencyLevel", "eventual")
        ids: list[str] = []
        next_link: str | None = None
        while True:
            try:
                page = self._session.call(
                    lambda c, link=next_link: (  # type: ignore[misc]
                        c.groups.by_group_id(group_id).transitive_members.graph_user.get(
                            request_configuration=first
                        )
                        if link is None
                        # with_url() replays the link verbatim: its query already holds $count and $skiptoken.
                        else c.groups.by_group_id(group_id)
                        .transitive_members.graph_user.with_url(link)
                        .get(request_configuration=following)
                    )
                )
            except GraphFailure as failure:
                raise group_members_error(failure, group_id, client_id=self._session.client_id) from None
            ids.extend(str(user.id) for user in (page.value or []) if user.id)
            next_link = page.odata_next_link
            if not next_link:
                return ids
