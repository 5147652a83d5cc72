"""The Dataverse Web API emulator: ``/api/data/v9.2/`` over HTTPS (a test CA) on 127.0.0.1.

Strict where the real service is: bearer token for this org (audience = the org URL) from an app that is an
application user, whose security role grants each operation (``security.py``: a 403 naming the privilege);
case-sensitive entity sets and properties; Dataverse error bodies and codes; OData-Version 4.0 answers; rows
by id, key-as-segment or active alternate key with conditional upserts (``writes.py``); paging with ``Prefer:
odata.maxpagesize`` and an opaque ``$skiptoken``; ``$skip``, ``fetchXml``, ``sql`` and unknown query options
refused; ``$batch`` with change sets and ``$n`` Content-ID references (as bind values and as request URLs);
the bulk messages (``bulk.py``); table definitions (``metadata.py``); N:N navigation (``associations.py``);
service-protection 429s with ``Retry-After`` (request budget per window, concurrency).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import ssl
import urllib.parse
from pathlib import Path
from typing import Any

from ..http import EmulatorServer, Request, Response, json_response
from ..identity import TokenError, TokenIssuer
from .associations import read_related
from .batch import execute_batch, parse_multipart
from .bulk import BULK_MESSAGES, run_bulk
from .metadata import METADATA_HEADS, MetadataApi
from .model import Table
from .odata import ODataError
from .protection import Protector, ServiceProtection
from .queries import query_collection
from .records import WriteContext
from .security import DEALTALK_ROLE, SecurityRole, privilege_for, require_privilege
from .store import Store
from .writes import Outcome, RowApi

__all__ = ["DataverseEmulator", "SecurityRole", "ServiceProtection"]

_NS = "Microsoft.Dynamics.CRM."
_WHO_AM_I = {
    "BusinessUnitId": "00000000-0000-0000-0000-000000000001",
    "UserId": "00000000-0000-0000-0000-000000000002",
    "OrganizationId": "00000000-0000-0000-0000-000000000003",
}

_API = re.compile(r"^/api/data/(v9\.[0-2])/(.*)$")
_ENTITY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$")


class DataverseEmulator:
    """One organisation. ``url`` is the org URL (the token audience); the Web API lives under it."""

    def __init__(
        self,
        issuer: TokenIssuer,
        *,
        application_users: set[str],
        protection: ServiceProtection | None = None,
        state_file: Path | None = None,
        key_activation_s: float = 0.2,
        allow_create_tables: bool = True,
        security_roles: dict[str, SecurityRole] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.issuer = issuer
        self.application_users = application_users
        default = DEALTALK_ROLE if allow_create_tables else DEALTALK_ROLE.without("prvCreateEntity")
        # The security role of each application user (what "Manage application users" assigns).
        self.security_roles = dict.fromkeys(application_users, default) | (security_roles or {})
        self.protector = Protector(protection or ServiceProtection())
        self.store = Store()
        self.metadata = MetadataApi(self.store, key_activation_s=key_activation_s)
        self.rows = RowApi(self.store, lambda: self.api_root)
        self.state_file = state_file
        if state_file is not None and state_file.exists():
            self.store.load(state_file)
        self.server = EmulatorServer(self.handle, tls=tls)
        issuer.resources.add(self.url)
        self._paging_key = secrets.token_bytes(16)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_root(self) -> str:
        return f"{self.url}/api/data/v9.2/"

    def start(self) -> DataverseEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def inject(self, status: int, count: int = 1, *, retry_after_s: float | None = None) -> None:
        """Answer the next ``count`` API requests with ``status`` (429 carries ``Retry-After``)."""
        self.protector.inject(status, count, retry_after_s=retry_after_s)

    @property
    def max_in_flight_seen(self) -> int:
        return self.protector.max_in_flight_seen

    # --- the HTTP entry point --------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        match = _API.match(request.path)
        if not match:
            return _error(404, "0x8006088a", f"Resource not found for the segment '{request.path}'.")
        try:
            claims = self.issuer.verify(request.header("authorization"), audience=self.url)
        except TokenError as exc:
            return _error(
                401,
                "",
                str(exc),
                {
                    "WWW-Authenticate": (
                        'Bearer authorization_uri="https://login.microsoftonline.com/'
                        f'{self.issuer.tenant_id}/oauth2/authorize", resource_id="{self.url}"'
                    )
                },
            )
        app = claims["appid"]
        if app not in self.application_users:
            return _error(403, "0x80072560", "The user is not a member of the organization.")
        limited = self.protector.admit(app, request)
        if limited is not None:
            return limited
        try:
            return self._dispatch(request, match.group(2), app)
        finally:
            self.protector.release(app)

    def _dispatch(self, request: Request, rest: str, app: str) -> Response:
        body: Any = None
        if request.body and not rest.startswith("$batch"):
            if not request.header("content-type").startswith("application/json"):
                return _error(415, "0x80048d19", "The request's Content-Type must be application/json.")
            try:
                body = json.loads(request.body)
            except json.JSONDecodeError:
                return _error(
                    400,
                    "0x80048d19",
                    "Error identified in Payload provided by the user: the body is not valid JSON.",
                )
        with self.store.lock:
            if rest == "$batch":
                return self._batch(request, app)
            target = rest + (f"?{request.raw_query}" if request.raw_query else "")
            try:
                status, headers, payload, _ = self.execute(
                    request.method, target, request.headers, body, WriteContext(app_id=app)
                )
            except ODataError as exc:
                return _error(exc.status, exc.code, str(exc))
            if request.method != "GET" and status < 400 and self.state_file is not None:
                self.store.save(self.state_file)
        headers = {"OData-Version": "4.0", **headers}
        if payload is None:
            return Response(status, b"", headers)
        return json_response(
            status, payload, {**headers, "Content-Type": "application/json; odata.metadata=minimal"}
        )

    def _batch(self, request: Request, app: str) -> Response:
        if request.method != "POST":
            return _error(405, "", "$batch accepts POST only.")
        try:
            items = parse_multipart(request.header("content-type"), request.body)
        except ODataError as exc:
            return _error(exc.status, exc.code, str(exc))
        continue_on_error = "odata.continue-on-error" in request.header("prefer")
        ok, boundary, text = execute_batch(
            self.store, items, self.execute, continue_on_error=continue_on_error, app_id=app
        )
        if self.state_file is not None:
            self.store.save(self.state_file)
        headers = {"OData-Version": "4.0", "Content-Type": f"multipart/mixed; boundary={boundary}"}
        if continue_on_error:
            headers["Preference-Applied"] = "odata.continue-on-error"
        return Response(200 if ok or continue_on_error else 400, text.encode("utf-8"), headers)

    # --- one request (direct or inside $batch) ----------------------------------------------------------
    def execute(
        self, method: str, target: str, headers: dict[str, str], body: Any, ctx: WriteContext
    ) -> Outcome:
        headers = {k.lower(): v for k, v in headers.items()}
        path, _, raw_query = target.partition("?")
        path = urllib.parse.unquote(re.sub(r"^(https?://[^/]+)?/?(api/data/v9\.[0-2]/)?", "", path))
        path = self._resolve_content_id(path, ctx)
        query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        segments = [s for s in path.split("/") if s]
        if not segments:
            raise ODataError("The service document is not available in this emulator.", "", 404)
        if segments[0].split("(")[0] in METADATA_HEADS:

            def require(privilege: str, entity: str) -> None:
                require_privilege(self._role(ctx.app_id), ctx.app_id, privilege, entity)

            status, payload, extra = self.metadata.handle(
                method, segments, body, query, self.api_root, require
            )
            return status, extra, payload, None
        if segments[0] == "WhoAmI" and method == "GET":
            return 200, {}, dict(_WHO_AM_I), None
        match = _ENTITY.match(segments[0])
        bulk = len(segments) == 2 and segments[1].removeprefix(_NS) in BULK_MESSAGES
        # {set}({key})/{navigation}: a row's related rows (associations.py)
        related = len(segments) == 2 and not bulk and match is not None and match.group(2) is not None
        if not match or (len(segments) > 1 and not bulk and not related):
            raise ODataError(f"Resource not found for the segment '{segments[-1]}'.", "0x8006088a", 404)
        self.metadata.refresh_keys()

        def authorize(verb: str, table: Table) -> None:
            require_privilege(
                self._role(ctx.app_id), ctx.app_id, privilege_for(verb, table), table.logical_name
            )

        if match.group(1) == "activitypointers":
            if method != "GET" or match.group(2) is not None:
                raise ODataError(
                    "activitypointers supports GET of the collection only in this emulator.", "", 405
                )
            authorize("GET", self.store.tables["appointment"])
            payload, extra = query_collection(self, None, query, headers)
            return 200, extra, payload, None
        table = self.store.by_entity_set(match.group(1))
        if related:
            return read_related(self, table, match.group(2), segments[1], method, query, headers, authorize)
        if bulk:
            if method != "POST" or match.group(2) is not None:
                raise ODataError(
                    f"{segments[1]} is an action bound to the {table.entity_set} collection.", "", 405
                )
            _check_options(query, set())
            return run_bulk(self.rows, table, segments[1].removeprefix(_NS), body, ctx, authorize)
        if match.group(2) is None:
            if method == "GET":
                authorize("GET", table)
                payload, extra = query_collection(self, table, query, headers)
                return 200, extra, payload, None
            if method == "POST" and not table.read_only:
                authorize("POST", table)
                _check_options(query, {"$select"})
                return self.rows.create(table, body, query, headers, ctx)
            raise ODataError(
                f"The '{method}' method is not supported on entity '{table.logical_name}'.", "0x80060888", 405
            )
        if table.read_only:
            raise ODataError(
                f"The '{method}' method is not supported on entity '{table.logical_name}'.", "0x80060888", 405
            )
        _check_options(query, {"$select", "$expand"} if method == "GET" else {"$select"})
        return self.rows.single(table, method, match.group(2), body, query, headers, ctx, authorize)

    def _role(self, app_id: str) -> SecurityRole:
        return self.security_roles.get(app_id, DEALTALK_ROLE)

    @staticmethod
    def _resolve_content_id(path: str, ctx: WriteContext) -> str:
        """``$1`` (or ``$1/...``) inside a change set: the row created by the part with Content-ID 1."""
        if not path.startswith("$") or path.startswith("$batch"):
            return path
        reference, _, rest = path.partition("/")
        if reference not in ctx.content_ids:
            raise ODataError(f"Content-ID Reference: '{reference}' does not exist in the batch context.")
        table, record_id = ctx.content_ids[reference]
        return f"{table.entity_set}({record_id})" + (f"/{rest}" if rest else "")

    # --- paging tokens -----------------------------------------------------------------------------------
    def skiptoken(self, offset: int, fingerprint: str) -> str:
        raw = json.dumps({"o": offset, "f": fingerprint}).encode()
        mac = hmac.new(self._paging_key, raw, hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + mac

    def read_skiptoken(self, token: str, fingerprint: str) -> int:
        try:
            encoded, mac = token.rsplit(".", 1)
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            ok = hmac.compare_digest(mac, hmac.new(self._paging_key, raw, hashlib.sha256).hexdigest()[:16])
            state = json.loads(raw)
        except (ValueError, json.JSONDecodeError):
            ok, state = False, {}
        if not ok or state.get("f") != fingerprint:
            raise ODataError("The $skiptoken is invalid or does not belong to this query.", "0x80040203")
        return int(state["o"])

    def dump(self) -> dict[str, Any]:
        with self.store.lock:
            copied: dict[str, Any] = json.loads(json.dumps(self.store.dump()))
            return copied


def _check_options(query: dict[str, str], allowed: set[str]) -> None:
    """Refuse query options a single-row request or an action does not take (never ignore one)."""
    for name in query:
        if name not in allowed:
            raise ODataError(f"The query parameter {name} is not supported for this request.", "0x80060888")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(
        status, {"error": {"code": code, "message": message}}, {"OData-Version": "4.0", **(headers or {})}
    )
