"""The Microsoft Graph emulator: Teams meeting recordings, transcripts, meetings, subscriptions and group members
(``groups/{id}/transitiveMembers``, see ``groups.py``) under ``/v1.0``.

Strict where Graph is documented to be: a bearer token for ``https://graph.microsoft.com`` with the needed
application role (else 401/403), the application access policy per user (403 "No application access policy
found for this app"), the documented paths and functions only (``getAllRecordings(meetingOrganizerUserId=…)``
and its ``/delta``), absolute ``@odata.nextLink``/``@odata.deltaLink`` URLs with opaque tokens, metered content
(402 once the evaluation minutes are used and no billing is set up), 429/503 with ``Retry-After`` on demand,
Graph's error body ``{"error": {"code", "message", "innerError"}}``. Content answers ``Range`` requests (206)
so that a broken download can resume; whether Graph itself does is not documented.
"""

from __future__ import annotations

import math
import re
import ssl
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from ..http import EmulatorServer, Request, Response, json_response
from ..identity import TokenError, TokenIssuer
from .groups import GroupMembers
from .listing import RecordingListing, check_query
from .state import Recording, Tenant
from .subscriptions import GraphError, Subscriptions

__all__ = ["GRAPH_AUDIENCE", "GraphEmulator"]

GRAPH_AUDIENCE = "https://graph.microsoft.com"
_FUNCTION = re.compile(r"^getAll(Recordings|Transcripts)(?:\((.*)\))?$")
_ROLES = {
    "recordings": {"OnlineMeetingRecording.Read.All"},
    "transcripts": {"OnlineMeetingTranscript.Read.All"},
    "meetings": {"OnlineMeetings.Read.All", "OnlineMeetings.ReadWrite.All"},
    "users": {"User.Read.All", "User.ReadBasic.All", "Directory.Read.All"},
    # "List group transitive members", application permissions (least privileged first).
    "groups": {
        "GroupMember.Read.All",
        "Group.Read.All",
        "GroupMember.ReadWrite.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
    },
}


# "Get user": the v1.0 default property set (businessPhones, displayName, givenName, id, jobTitle, mail,
# mobilePhone, officeLocation, preferredLanguage, surname, userPrincipalName); $select picks among them.
_USER_PROPERTIES = ("id", "userPrincipalName", "displayName", "mail", "preferredLanguage")


def _user_json(user: Any, select: str | None) -> dict[str, Any]:
    full = {
        "id": user.id,
        "userPrincipalName": user.upn,
        "displayName": user.display_name,
        "mail": user.upn,
        "preferredLanguage": user.preferred_language,
    }
    if not select:
        return full
    wanted = [name.strip() for name in select.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in _USER_PROPERTIES]
    if unknown:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.user'.",
        )
    return {"id": user.id, **{name: full[name] for name in wanted}}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return json_response(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers)


class GraphEmulator:
    """Graph for one tenant. Test hooks: ``tenant`` (data, groups included), ``subscriptions``, ``inject``,
    ``break_downloads``, ``expire_delta_tokens``, ``publish_recording``.
    """

    def __init__(
        self,
        issuer: TokenIssuer,
        tenant: Tenant,
        *,
        allow_http_loopback: bool = False,
        evaluation_minutes: int = 600,
        billing_configured: bool = False,
        page_size: int = 10,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.issuer = issuer
        self.tenant = tenant
        issuer.resources.add(GRAPH_AUDIENCE)
        self.subscriptions = Subscriptions(tenant, allow_http_loopback=allow_http_loopback)
        self.evaluation_minutes = evaluation_minutes
        self.billing_configured = billing_configured
        self.usage_minutes: dict[tuple[str, str], int] = {}
        self.injected: deque[tuple[int, float | None]] = deque()
        self.broken: deque[int] = deque()
        self.server = EmulatorServer(self.handle, tls=tls)
        self.listing = RecordingListing(tenant, self.server.url, page_size)
        self.groups = GroupMembers(tenant, self.server.url, page_size)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1.0"

    def start(self) -> GraphEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.subscriptions.join(1.0)
        self.server.stop()

    # --- test hooks ------------------------------------------------------------------------------------
    def inject(self, status: int, count: int = 1, *, retry_after_s: float | None = None) -> None:
        for _ in range(count):
            self.injected.append((status, retry_after_s))

    def break_downloads(self, after_bytes: int, count: int = 1) -> None:
        """Cut the next ``count`` content downloads after ``after_bytes`` bytes."""
        for _ in range(count):
            self.broken.append(after_bytes)

    def expire_delta_tokens(self) -> None:
        self.listing.generation += 1

    def publish_recording(self, recording: Recording) -> int:
        """Send ``created`` notifications for a recording added to the tenant; returns how many were sent."""
        return self.subscriptions.notify_created(recording)

    # --- entry point ---------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.segments[:1] != ["v1.0"] or len(request.segments) < 2:
            return _error(404, "BadRequest", f"Invalid version: {request.path.split('/')[1:2]}")
        try:
            claims = self.issuer.verify(request.header("authorization"), audience=GRAPH_AUDIENCE)
        except TokenError as exc:
            return _error(401, "InvalidAuthenticationToken", f"Access token validation failure. {exc}")
        if self.injected:
            status, retry_after = self.injected.popleft()
            headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else {}
            code = {429: "TooManyRequests", 503: "serviceNotAvailable"}.get(status, "generalException")
            return _error(
                status,
                code,
                "Too many requests." if status == 429 else "The service is unavailable.",
                headers,
            )
        try:
            return self._route(request, claims)
        except GraphError as exc:
            return _error(exc.status, exc.code, str(exc), exc.headers)

    def _require(self, claims: dict[str, Any], area: str, *, code: str = "Forbidden") -> None:
        if not _ROLES[area] & set(claims.get("roles", [])):
            raise GraphError(403, code, "Insufficient privileges to complete the operation.")

    def _route(self, request: Request, claims: dict[str, Any]) -> Response:
        segments = request.segments[1:]
        method = request.method
        if segments[0] == "subscriptions":
            return self._subscriptions(method, segments[1:], request, claims)
        if segments[0] == "groups":
            if method != "GET":
                raise GraphError(
                    405, "Request_BadRequest", f"The {method} method is not supported for this resource."
                )
            # Directory (Entra ID) endpoints answer a missing role with their own code.
            self._require(claims, "groups", code="Authorization_RequestDenied")
            return self.groups.respond(request, segments[1:])
        if segments[0] != "users" or len(segments) < 2:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segments[0]}'.")
        if method != "GET":
            raise GraphError(
                405, "Request_BadRequest", f"The {method} method is not supported for this resource."
            )
        user = self.tenant.user(segments[1])
        if len(segments) == 2:
            self._require(claims, "users")
            check_query(request, {"$select"})
            if user is None:
                raise GraphError(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{segments[1]}' does not exist or one of its queried reference-property objects "
                    "are not present.",
                )
            return json_response(200, _user_json(user, request.query.get("$select")))
        if segments[2] != "onlineMeetings":
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segments[2]}'.")
        if user is None:
            raise GraphError(404, "NotFound", f"User {segments[1]} was not found.")
        if user.id not in self.tenant.policy_users:
            raise GraphError(403, "Forbidden", "No application access policy found for this app.")
        rest = segments[3:]
        if not rest:
            return self._meetings_by_filter(request, claims, user.id)
        function = _FUNCTION.match(rest[0])
        if function:
            area = function.group(1).lower()
            self._require(claims, area)
            if area == "transcripts":
                raise GraphError(
                    501,
                    "NotImplemented",
                    "getAllTranscripts is not emulated; dealtalk reads transcripts per meeting.",
                )
            delta = rest[1:] == ["delta"]
            if rest[1:] and not delta:
                raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[1]}'.")
            return self.listing.respond(request, user.id, function.group(2) or "", delta=delta)
        return self._meeting_item(request, claims, user.id, rest)

    # --- meetings ---------------------------------------------------------------------------------------
    def _meeting_for(self, user_id: str, meeting_id: str) -> Any:
        meeting = self.tenant.meetings.get(meeting_id)
        if meeting is None:
            raise GraphError(404, "NotFound", "The specified meeting could not be found.")
        attendee_ids = {self.tenant.user(upn).id for upn, _ in meeting.attendees if self.tenant.user(upn)}  # type: ignore[union-attr]
        if user_id != meeting.organizer_id and user_id not in attendee_ids:
            raise GraphError(404, "NotFound", "The specified meeting could not be found.")
        return meeting

    def _meetings_by_filter(self, request: Request, claims: dict[str, Any], user_id: str) -> Response:
        self._require(claims, "meetings")
        check_query(request, {"$filter", "$select"})
        text = request.query.get("$filter", "")
        match = re.fullmatch(r"\s*JoinWebUrl eq '(.*)'\s*", text)
        if not match:
            raise GraphError(
                400,
                "BadRequest",
                "Filter by JoinWebUrl eq '…' (or a join meeting id) is required to list online meetings.",
            )
        url = match.group(1).replace("''", "'")
        meetings = [
            m for m in self.tenant.meetings.values() if m.join_url == url and (m.organizer_id == user_id)
        ]
        return json_response(
            200,
            {
                "@odata.context": f"{self.base_url}/$metadata#users('{user_id}')/onlineMeetings",
                "value": [self.tenant.meeting_json(m) for m in meetings],
            },
        )

    def _meeting_item(
        self, request: Request, claims: dict[str, Any], user_id: str, rest: list[str]
    ) -> Response:
        meeting_id = rest[0]
        content = rest[3:] == ["content"] or (
            rest[1:2] == ["transcripts"] and rest[3:] == ["metadataContent"]
        )
        check_query(
            request, {"$format"} if content else {"$select", "$filter"} if len(rest) == 2 else {"$select"}
        )
        if len(rest) == 1:
            self._require(claims, "meetings")
            return json_response(200, self.tenant.meeting_json(self._meeting_for(user_id, meeting_id)))
        kind = rest[1]
        if kind not in ("recordings", "transcripts"):
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{kind}'.")
        self._require(claims, kind)
        meeting = self._meeting_for(user_id, meeting_id)
        if kind == "recordings":
            items: list[Any] = [r for r in self.tenant.recordings if r.meeting_id == meeting.id]
            to_json = self.tenant.recording_json
        else:
            items = [t for t in self.tenant.transcripts if t.meeting_id == meeting.id]
            to_json = self.tenant.transcript_json  # type: ignore[assignment]
            text = request.query.get("$filter")
            if text:
                match = re.fullmatch(r"\s*contentCorrelationId eq '(.*)'\s*", text, flags=re.IGNORECASE)
                if not match:
                    raise GraphError(400, "BadRequest", f"Unsupported $filter '{text}'.")
                items = [t for t in items if t.correlation_id == match.group(1)]
        if len(rest) == 2:
            return json_response(
                200,
                {
                    "@odata.context": f"{self.base_url}/$metadata#{kind}",
                    "@odata.count": len(items),
                    "value": [to_json(i, self.base_url) for i in items],
                },
            )
        item = next((i for i in items if i.id == rest[2]), None)
        if item is None:
            raise GraphError(404, "NotFound", f"The {kind[:-1]} {rest[2]} was not found.")
        if len(rest) == 3:
            return json_response(200, to_json(item, self.base_url))
        if rest[3:] == ["content"] or (kind == "transcripts" and rest[3:] == ["metadataContent"]):
            return self._content(request, claims, kind, item)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[3]}'.")

    def _meter(self, claims: dict[str, Any], kind: str, minutes: int) -> None:
        key = (claims["appid"], kind)
        used = self.usage_minutes.get(key, 0)
        if not self.billing_configured and used + minutes > self.evaluation_minutes:
            raise GraphError(
                402,
                "PaymentRequired",
                "The evaluation capacity for the month has exceeded. To call this API, the app must be associated "
                "with an Azure subscription, see https://aka.ms/teams-api-payment-requirements for details.",
            )
        self.usage_minutes[key] = used + minutes

    def _content(self, request: Request, claims: dict[str, Any], kind: str, item: Any) -> Response:
        if kind == "transcripts":
            fmt = request.query.get("$format")
            if fmt not in (None, "text/vtt"):
                raise GraphError(400, "BadRequest", f"Unsupported $format '{fmt}'; supported: text/vtt.")
            self._meter(claims, kind, 1)
            return Response(200, item.vtt.encode("utf-8"), {"Content-Type": "text/vtt"})
        recording: Recording = item
        data = recording.content
        start = 0
        status = 200
        headers = {"Content-Type": "video/mp4", "ETag": recording.etag, "Accept-Ranges": "bytes"}
        wanted = request.header("range")
        if wanted:
            match = re.fullmatch(r"bytes=(\d+)-", wanted.strip())
            if not match or int(match.group(1)) >= len(data):
                return Response(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            if request.header("if-range") in ("", recording.etag):
                start = int(match.group(1))
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if start == 0:
            self._meter(claims, kind, int(recording.duration_s // 60))
        body = data[start:]
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        cut = self.broken.popleft() if self.broken else None
        return Response(status, chunks, headers, break_after=cut, length=len(body))

    # --- subscriptions ------------------------------------------------------------------------------------
    def _subscription_area(self, resource: str) -> str:
        return "transcripts" if resource.endswith("ranscripts") else "recordings"

    def _subscriptions(
        self, method: str, rest: list[str], request: Request, claims: dict[str, Any]
    ) -> Response:
        """Per the subscription pages: the resource's permission is needed to create, read, renew or delete."""
        subs, app = self.subscriptions, claims["appid"]
        check_query(request, set())
        if not rest:
            if method == "POST":
                body = request.json() if request.body else None
                self._require(claims, self._subscription_area(str((body or {}).get("resource", ""))))
                return json_response(201, subs.create(body, app).json())
            if method == "GET":
                return json_response(
                    200, {"value": [s.json() for s in subs.items.values() if s.app_id == app]}
                )
        elif len(rest) <= 2:
            subscription = subs.get(rest[0], app)
            self._require(claims, self._subscription_area(subscription.resource))
            if len(rest) == 1 and method == "GET":
                return json_response(200, subscription.json())
            if len(rest) == 1 and method == "PATCH":
                return json_response(200, subs.update(rest[0], app, request.json()).json())
            if len(rest) == 1 and method == "DELETE":
                subs.delete(rest[0], app)
                return Response(204)
            if rest[1:] == ["reauthorize"] and method == "POST":
                subs.reauthorize(rest[0], app)
                return Response(204)
        raise GraphError(
            405, "Request_BadRequest", f"The {method} method is not supported for this resource."
        )
