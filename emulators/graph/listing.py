"""``getAllRecordings(meetingOrganizerUserId=…)`` and its ``/delta`` in the Graph emulator.

Per the getAllRecordings and callRecording-delta pages: the organizer is a quoted string literal in the
function call (or the ``$filter=MeetingOrganizer/User/Id eq '…'`` form), ``startDateTime``/``endDateTime``
filter on creation time, ``$top`` sets the page size, pages link with absolute ``@odata.nextLink`` URLs and a
delta round ends with an ``@odata.deltaLink``; replaying it returns only what was added since. Tokens are
opaque, signed and bound to the organizer they were issued for; a tampered one or one replayed for another
organizer is a 400, an expired one (``expire_delta_tokens``) a 410 ``resyncRequired``. ``$top`` must be a
positive number, ``startDateTime``/``endDateTime`` valid DateTimeOffsets, and unknown query options are 400s.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ..http import Request, Response, json_response
from .page_tokens import PageTokens
from .state import Tenant
from .subscriptions import GraphError

__all__ = ["RecordingListing", "check_query"]

_ARGUMENT = re.compile(r"(\w+)=('(?:[^']|'')*'|[^,]+)")
_TOKEN_PARAMS = ("skipToken", "$skiptoken", "$skipToken", "deltaToken", "$deltatoken", "$deltaToken")
_LISTING_OPTIONS = {"$top", "$filter", "$select", *_TOKEN_PARAMS}


def check_query(request: Request, allowed: set[str]) -> None:
    """Refuse query options the endpoint does not take (Graph answers 400; they are never ignored)."""
    for name in request.query:
        if name not in allowed:
            raise GraphError(400, "BadRequest", f"Unrecognized query argument specified: '{name}'.")


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
        check_query(request, _LISTING_OPTIONS)
        start, end = args.get("startDateTime"), args.get("endDateTime")
        since, until = _when(start, "startDateTime"), _when(end, "endDateTime")
        top = request.query.get("$top")
        if top is not None and not (top.isdigit() and int(top) > 0):
            raise GraphError(400, "BadRequest", f"Invalid value '{top}' for the $top query option.")
        size = int(top) if top else self.page_size
        token = next((request.query[p] for p in _TOKEN_PARAMS if p in request.query), None)
        high = self.tenant.recordings[-1].seq if self.tenant.recordings else 0
        fresh: dict[str, Any] = {"a": 0, "h": high, "p": 0, "g": self.generation, "o": organizer_id}
        state = self._unsign(token) if token else fresh
        if state.get("o") != organizer_id:
            raise GraphError(
                400, "BadRequest", "The skip token or delta token was issued for another organizer."
            )
        if state.get("h") is None:  # replaying a deltaLink: everything added since it was issued
            state = {**state, "h": high, "p": 0}
        rows = [
            r
            for r in self.tenant.recordings
            if r.organizer_id == organizer_id and state["a"] < r.seq <= state["h"]
        ]
        if since is not None:
            rows = [r for r in rows if r.created >= since]
        if until is not None and not delta:
            rows = [r for r in rows if r.created <= until]
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
            replay = {"a": state["h"], "h": None, "p": 0, "g": self.generation, "o": organizer_id}
            payload["@odata.deltaLink"] = f"{link_base}?skipToken={self._tokens.sign(replay)}"
        return json_response(200, payload)


def _when(value: str | None, name: str) -> datetime | None:
    """A function argument's DateTimeOffset (None when absent); a malformed one is a 400, as in Graph."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip("'").replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(
            400,
            "BadRequest",
            f"The value '{value}' of the function parameter '{name}' is not a valid DateTimeOffset.",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
