"""``GET /groups/{id}/transitiveMembers`` (and its ``/microsoft.graph.user`` cast) in the Graph emulator.

Per the "List group transitive members" page: a flat list of all nested members (users and groups here), the
application permissions GroupMember.Read.All, Group.Read.All, GroupMember.ReadWrite.All, Group.ReadWrite.All or
Directory.Read.All (checked by the server before it gets here). Per "Advanced query capabilities on Microsoft
Entra ID objects": an OData cast on a transitive members list is an advanced query, so it needs the
``ConsistencyLevel: eventual`` header *and* ``$count=true``, else 400 ``Request_UnsupportedQuery``; without the
header a ``$count=true`` is silently ignored. An unknown group is 404 ``Request_ResourceNotFound``. Pages link
with absolute ``@odata.nextLink`` URLs that repeat the query and add an opaque, signed ``$skiptoken``.
Query options the product does not use (``$filter``, ``$search``, ``$orderby``, ``$expand``) answer 501 rather
than being ignored, so that a test cannot pass by accident.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from ..http import Request, Response, json_response
from .page_tokens import PageTokens
from .state import Group, Tenant, User
from .subscriptions import GraphError

__all__ = ["GroupMembers"]

_USER_CAST = "microsoft.graph.user"
# Graph's CSDL declares ``Namespace="microsoft.graph" Alias="graph"``, and OData accepts either in a cast:
# the docs write ``microsoft.graph.user``, msgraph-sdk sends ``graph.user``.
_USER_CASTS = {_USER_CAST, "graph.user"}
_SELECTABLE = {"id", "displayName", "mail", "userPrincipalName"}
_NOT_EMULATED = ("$filter", "$search", "$orderby", "$orderBy", "$expand")
_MAX_TOP = 999


class GroupMembers:
    """Answers the group member listings of one tenant.

    Args:
        tenant: the emulated directory (``tenant.groups``, ``tenant.users``).
        url: the server's root URL (links are absolute).
        page_size: members per page when the request has no ``$top``.
    """

    def __init__(self, tenant: Tenant, url: str, page_size: int) -> None:
        self.tenant = tenant
        self.url = url
        self.page_size = page_size
        self._tokens = PageTokens()

    def _offset(self, token: str, group_id: str, cast: str) -> int:
        state = self._tokens.read(token)
        if state.get("g") != group_id or state.get("c") != cast:
            raise GraphError(
                400, "Request_BadRequest", "The specified page token value has expired or is invalid."
            )
        return int(state["o"])

    def respond(self, request: Request, rest: list[str]) -> Response:
        """``rest`` is the path after ``/groups``: ``[id, "transitiveMembers"]`` with an optional cast segment."""
        if len(rest) < 2 or rest[1] != "transitiveMembers" or len(rest) > 3:
            segment = rest[1] if len(rest) > 1 else "groups"
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
        cast = rest[2] if len(rest) == 3 else ""
        if cast and cast not in _USER_CASTS:
            raise GraphError(501, "NotImplemented", f"The OData cast '{cast}' is not emulated.")
        cast = _USER_CAST if cast else ""
        group = self.tenant.groups.get(rest[0])
        if group is None:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{rest[0]}' does not exist or one of its queried reference-property objects are not "
                "present.",
            )
        query = request.query
        for option in _NOT_EMULATED:
            if option in query:
                raise GraphError(501, "NotImplemented", f"{option} on group members is not emulated.")
        advanced = request.header("consistencylevel").lower() == "eventual" and query.get("$count") == "true"
        if cast and not advanced:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "OData cast on a transitive members list is not supported because the required parameters might "
                "be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to "
                "https://aka.ms/graph-docs/advanced-queries for more information",
            )
        size = self._page_size(query.get("$top"))
        select = self._select(query.get("$select"))
        members = self._flatten(group)
        if cast:
            members = [m for m in members if isinstance(m, User)]
        token = query.get("$skiptoken") or query.get("$skipToken")
        offset = self._offset(token, group.id, cast) if token else 0
        page = members[offset : offset + size]
        payload: dict[str, Any] = {
            "@odata.context": f"{self.url}/v1.0/$metadata#{'users' if cast else 'directoryObjects'}",
            "value": [self._json(m, select) for m in page],
        }
        if advanced:
            payload["@odata.count"] = len(members)
        if offset + size < len(members):
            kept = [(k, v) for k, v in query.items() if k.lower() != "$skiptoken"]
            kept.append(("$skiptoken", self._tokens.sign({"g": group.id, "c": cast, "o": offset + size})))
            payload["@odata.nextLink"] = (
                f"{self.url}{request.raw_path}?{urllib.parse.urlencode(kept, safe='$')}"
            )
        return json_response(200, payload)

    def _page_size(self, top: str | None) -> int:
        if top is None:
            return self.page_size
        if not top.isdigit() or not 1 <= int(top) <= _MAX_TOP:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Invalid page size specified: '{top}'. Must be between 1 and {_MAX_TOP} inclusive.",
            )
        return int(top)

    @staticmethod
    def _select(text: str | None) -> set[str] | None:
        if text is None:
            return None
        wanted = {p.strip() for p in text.split(",") if p.strip()}
        unknown = sorted(wanted - _SELECTABLE)
        if unknown:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.directoryObject'.",
            )
        return wanted

    def _flatten(self, group: Group) -> list[User | Group]:
        """Every user and group below ``group``, each once, in a stable order; nesting cycles are cut."""
        found: dict[str, User | Group] = {}
        pending = list(group.member_ids)
        visited = {group.id}
        with self.tenant.lock:
            while pending:
                member_id = pending.pop(0)
                nested = self.tenant.groups.get(member_id)
                if nested is not None:
                    if member_id not in visited:
                        visited.add(member_id)
                        found[member_id] = nested
                        pending.extend(nested.member_ids)
                    continue
                user = self.tenant.users.get(member_id)
                if user is not None:
                    found.setdefault(member_id, user)
        return list(found.values())

    @staticmethod
    def _json(member: User | Group, select: set[str] | None) -> dict[str, Any]:
        if isinstance(member, User):
            full: dict[str, Any] = {
                "@odata.type": f"#{_USER_CAST}",
                "id": member.id,
                "displayName": member.display_name,
                "mail": member.upn,
                "userPrincipalName": member.upn,
            }
        else:
            full = {
                "@odata.type": "#microsoft.graph.group",
                "id": member.id,
                "displayName": member.display_name,
            }
        keep = select | {"@odata.type", "id"} if select is not None else set(full)
        return {k: v for k, v in full.items() if k in keep}
