"""``getAllRecordings(meetingOrganizerUserId=…)`` and its ``/delta`` in the Graph emulator.

Per the getAllRecordings and callRecording-delta pages: the organizer is a quoted string literal in the
function call (or the ``$filter=MeetingOrganizer/User/Id eq '…'`` form), ``startDateTime``/``endDateTime``
filter on creation time, ``$top`` sets the page size, pages link with absolute ``@odata.nextLink`` URLs and a
delta round ends with an ``@odata.deltaLink``; replaying it returns only what was added since. Tokens are
opaque and signed; a tampered one is a 400, an expired one (``expire_delta_tokens``) a 410 ``resyncRequired``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ..http import Request, Response, json_response
from .page_tokens import PageTokens
from .state import Tenant
from .subscriptions import GraphError

__all__ = ["RecordingListing"]

_ARGUMENT = re.compile(r"(\w+)=('(?:[^']|'')*'|[^,]+)")
_TOKEN_PARAMS = ("skipToken", "$skiptoken", "$skipToken", "deltaToken", "$deltatoken", "$deltaToken")


class RecordingListing:
    def __init__(self, tenant: Tenant, url: str, page_size: int) -> None:
        self.tenant = tenant
        self.url = url
        self.page_size = page_size
        self.generation = 0
        self._tokens = PageTokens()

    def _unsign(self, token: str) -> dict[str, Any]:
        state = self._tokens.read(token)
        if not state:
            raise GraphError(400, "BadRequest", "The skip token or delta token is malformed.")
        if state.get("g") != self.generation:
            raise GraphError(
                410,
                "resyncRequired",
                "Resync required. Replace any local items with the server's version (including deletes) and "
                "restart the delta query.",
            )
        return state

    def respond(self, request: Request, path_user: str, arguments: str, *, delta: bool) -> Response:
        args = dict(_ARGUMENT.findall(arguments))
        organizer = args.get("meetingOrganizerUserId", "")
        if not organizer.startswith("'"):
            filter_match = re.fullmatch(
                r"\s*MeetingOrganizer/User/Id eq '(.+)'\s*", request.query.get("$filter", "")
            )
            if not filter_match or organizer:
                raise GraphError(
                    400,
                    "BadRequest",
                    f"Syntax error at position {len(arguments)} in 'getAllRecordings({arguments})': "
                    "meetingOrganizerUserId must be a quoted string literal.",
                )
            organizer_id = filter_match.group(1)
        else:
            organizer_id = organizer[1:-1].replace("''", "'")
        if organizer_id != path_user:
            raise GraphError(
                403, "Forbidden", "The meetingOrganizerUserId must be the user in the request path."
            )
        start, end = args.get("startDateTime"), args.get("endDateTime")
        top = request.query.get("$top")
        size = int(top) if top and top.isdigit() else self.page_size
        token = next((request.query[p] for p in _TOKEN_PARAMS if p in request.query), None)
        high = self.tenant.recordings[-1].seq if self.tenant.recordings else 0
        state = self._unsign(token) if token else {"a": 0, "h": high, "p": 0, "g": self.generation}
        if state.get("h") is None:  # replaying a deltaLink: everything added since it was issued
            state = {**state, "h": high, "p": 0}
        rows = [
            r
            for r in self.tenant.recordings
            if r.organizer_id == organizer_id and state["a"] < r.seq <= state["h"]
        ]
        if start:
            rows = [r for r in rows if r.created >= _when(start)]
        if end and not delta:
            rows = [r for r in rows if r.created <= _when(end)]
        page = rows[state["p"] : state["p"] + size]
        base = request.raw_path.split("?")[0]
        link_base = f"{self.url}{base}"
        payload: dict[str, Any] = {
            "@odata.context": f"{f'{self.url}/v1.0'}/$metadata#Collection(callRecording)",
            "@odata.count": len(page),
            "value": [self.tenant.recording_json(r, f"{self.url}/v1.0") for r in page],
        }
        if state["p"] + size < len(rows):
            payload["@odata.nextLink"] = (
                f"{link_base}?skipToken={self._tokens.sign({**state, 'p': state['p'] + size})}"
            )
        elif delta:
            payload["@odata.deltaLink"] = (
                f"{link_base}?skipToken={self._tokens.sign({'a': state['h'], 'h': None, 'p': 0, 'g': self.generation})}"
            )
        return json_response(200, payload)


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip("'").replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
