"""The Dataverse Web API emulator: ``/api/data/v9.2/`` over real HTTP on 127.0.0.1.

Strict where the real service is: bearer token for this org (audience = the org URL) from an app that is an
application user; case-sensitive entity sets and properties; Dataverse error bodies and codes; OData-Version
4.0 answers; conditional upserts (``If-Match``/``If-None-Match``) with 404/412; ETags and 304; alternate
keys only once Active; paging with ``Prefer: odata.maxpagesize`` and an opaque ``$skiptoken``; ``$skip``
refused; ``$batch``; service-protection 429s with ``Retry-After`` (request budget per window, concurrency).
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
from .batch import execute_batch, parse_multipart
from .metadata import MetadataApi
from .model import Table
from .odata import ODataError, parse_expand, parse_key_segment
from .protection import Protector, ServiceProtection
from .queries import query_collection
from .records import WriteContext, apply_write, check_property, project, write_parties
from .store import Store, not_found, now_iso

__all__ = ["DataverseEmulator", "ServiceProtection"]

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
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.issuer = issuer
        self.application_users = application_users
        self.protector = Protector(protection or ServiceProtection())
        self.store = Store()
        self.metadata = MetadataApi(
            self.store, key_activation_s=key_activation_s, allow_create_tables=allow_create_tables
        )
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
            return self._dispatch(request, match.group(2))
        finally:
            self.protector.release(app)

    def _dispatch(self, request: Request, rest: str) -> Response:
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
                return self._batch(request)
            target = rest + (f"?{request.raw_query}" if request.raw_query else "")
            try:
                status, headers, payload, _ = self.execute(
                    request.method, target, request.headers, body, WriteContext()
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

    def _batch(self, request: Request) -> Response:
        if request.method != "POST":
            return _error(405, "", "$batch accepts POST only.")
        try:
            items = parse_multipart(request.header("content-type"), request.body)
        except ODataError as exc:
            return _error(exc.status, exc.code, str(exc))
        continue_on_error = "odata.continue-on-error" in request.header("prefer")
        ok, boundary, text = execute_batch(
            self.store, items, self.execute, continue_on_error=continue_on_error
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
    ) -> tuple[int, dict[str, str], Any, tuple[Table, str] | None]:
        headers = {k.lower(): v for k, v in headers.items()}
        path, _, raw_query = target.partition("?")
        path = urllib.parse.unquote(re.sub(r"^(https?://[^/]+)?/?(api/data/v9\.[0-2]/)?", "", path))
        query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        segments = [s for s in path.split("/") if s]
        if not segments:
            raise ODataError("The service document is not available in this emulator.", "", 404)
        if segments[0] in ("EntityDefinitions", "PublishXml") or segments[0].startswith("EntityDefinitions("):
            status, payload, extra = self.metadata.handle(method, segments, body, query, self.api_root)
            return status, extra, payload, None
        if segments[0] == "WhoAmI" and method == "GET":
            return (
                200,
                {},
                {
                    "BusinessUnitId": "00000000-0000-0000-0000-000000000001",
                    "UserId": "00000000-0000-0000-0000-000000000002",
                    "OrganizationId": "00000000-0000-0000-0000-000000000003",
                },
                None,
            )
        match = _ENTITY.match(segments[0])
        if not match or len(segments) > 1:
            raise ODataError(f"Resource not found for the segment '{segments[-1]}'.", "0x8006088a", 404)
        self.metadata.refresh_keys()
        if match.group(1) == "activitypointers":
            if method != "GET" or match.group(2) is not None:
                raise ODataError(
                    "activitypointers supports GET of the collection only in this emulator.", "", 405
                )
            payload, extra = query_collection(self, None, query, headers)
            return 200, extra, payload, None
        table = self.store.by_entity_set(match.group(1))
        if match.group(2) is None:
            if method == "GET":
                payload, extra = query_collection(self, table, query, headers)
                return 200, extra, payload, None
            if method == "POST" and not table.read_only:
                return self._create(table, body, query, headers, ctx)
            raise ODataError(
                f"The '{method}' method is not supported on entity '{table.logical_name}'.", "0x80060888", 405
            )
        if table.read_only:
            raise ODataError(
                f"The '{method}' method is not supported on entity '{table.logical_name}'.", "0x80060888", 405
            )
        return self._single(table, method, match.group(2), body, query, headers, ctx)

    def _address(
        self, table: Table, segment: str
    ) -> tuple[dict[str, Any] | None, str | None, dict[str, Any] | None]:
        """(existing row, primary id when addressed by id, key values when addressed by alternate key)."""
        key = parse_key_segment(segment)
        if isinstance(key, str):
            return self.store.get(table, key), key, None
        if table.active_key_for(set(key)) is None:
            raise ODataError(
                f"The specified key attributes are not a defined key for the {table.logical_name} entity.",
                "0x80060891",
            )
        return self.store.find_by_key(table, key), None, key

    def _single(
        self,
        table: Table,
        method: str,
        segment: str,
        body: Any,
        query: dict[str, str],
        headers: dict[str, str],
        ctx: WriteContext,
    ) -> tuple[int, dict[str, str], Any, tuple[Table, str] | None]:
        row, record_id, key = self._address(table, segment)
        where = record_id or ",".join(f"{k}={v}" for k, v in (key or {}).items())
        entity_id = {"OData-EntityId": f"{self.api_root}{table.entity_set}({segment})"}
        if method == "GET":
            if row is None:
                raise not_found(table, where)
            select = self._select(table, query)
            expand = parse_expand(query["$expand"]) if "$expand" in query else None
            etag = f'W/"{row["versionnumber"]}"'
            annotated = "odata.include-annotations" in headers.get("prefer", "")
            if headers.get("if-none-match") == etag and not expand and not annotated:
                return 304, {"ETag": etag}, None, None
            return (
                200,
                {"ETag": etag},
                project(self.store, table, row, select=select, expand=expand, annotations=annotated),
                None,
            )
        if method == "DELETE":
            if row is None:
                raise not_found(table, where)
            self.store.delete(table, row[table.primary_id])
            return 204, {}, None, None
        if method != "PATCH":
            raise ODataError(
                f"The '{method}' method is not supported on a single {table.logical_name}.", "0x80060888", 405
            )
        if_match, if_none_match = headers.get("if-match"), headers.get("if-none-match")
        if if_none_match == "*" and row is not None:
            raise ODataError("A record with matching key values already exists.", "", 412)
        if if_match is not None and row is None:
            raise not_found(table, where)
        if if_match not in (None, "*") and row is not None and if_match != f'W/"{row["versionnumber"]}"':
            raise ODataError(
                "The version of the existing record doesn't match the RowVersion property provided.",
                "0x80060882",
                412,
            )
        creating = row is None
        working = dict(row) if row is not None else {table.primary_id: record_id or self.store.new_id()}
        if isinstance(body, dict) and key and not creating:
            body = {k: v for k, v in body.items() if k not in key}  # the URL's key values win on update
        parties = apply_write(self.store, table, working, body, ctx)
        if creating and key:
            for name, value in key.items():
                working.setdefault(name, value)
        self._save(table, working, creating, parties)
        return self._written(table, working, creating, headers, query, entity_id)

    def _create(
        self, table: Table, body: Any, query: dict[str, str], headers: dict[str, str], ctx: WriteContext
    ) -> tuple[int, dict[str, str], Any, tuple[Table, str] | None]:
        given = body.get(table.primary_id) if isinstance(body, dict) else None
        working: dict[str, Any] = {table.primary_id: str(given).lower() if given else self.store.new_id()}
        if self.store.get(table, working[table.primary_id]) is not None:
            raise ODataError("Cannot insert duplicate key.", "0x80040237", 412)
        parties = apply_write(self.store, table, working, body, ctx)
        self._save(table, working, True, parties)
        entity_id = {"OData-EntityId": f"{self.api_root}{table.entity_set}({working[table.primary_id]})"}
        status, out_headers, payload, _ = self._written(table, working, True, headers, query, entity_id)
        return status, out_headers, payload, (table, working[table.primary_id])

    def _save(
        self, table: Table, row: dict[str, Any], creating: bool, parties: list[dict[str, Any]] | None
    ) -> None:
        for key in table.keys.values():
            if key.status != "Active":
                continue
            values = {a: row.get(a) for a in key.attributes}
            other = (
                self.store.find_by_key(table, values) if all(v is not None for v in values.values()) else None
            )
            if other is not None and other[table.primary_id] != row[table.primary_id]:
                raise ODataError("A record with matching key values already exists.", "", 412)
        stamp = now_iso()
        if creating:
            row["createdon"] = stamp
            if table.is_activity:
                row["activitytypecode"] = table.logical_name
                row.setdefault("statecode", 0)
        row["modifiedon"] = stamp
        row["versionnumber"] = self.store.next_version()
        self.store.put(table, row)
        if parties is not None:
            write_parties(self.store, table, row[table.primary_id], parties)

    def _written(
        self,
        table: Table,
        row: dict[str, Any],
        creating: bool,
        headers: dict[str, str],
        query: dict[str, str],
        entity_id: dict[str, str],
    ) -> tuple[int, dict[str, str], Any, tuple[Table, str] | None]:
        if "return=representation" in headers.get("prefer", ""):
            payload = project(self.store, table, row, select=self._select(table, query))
            extra = {
                **entity_id,
                "Preference-Applied": "return=representation",
                "ETag": payload["@odata.etag"],
            }
            return (201 if creating else 200), extra, payload, (table, row[table.primary_id])
        return 204, entity_id, None, (table, row[table.primary_id])

    @staticmethod
    def _select(table: Table, query: dict[str, str]) -> list[str] | None:
        if "$select" not in query:
            return None
        names = query["$select"].split(",")
        for name in names:
            check_property(table, name)
        return names

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


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(
        status, {"error": {"code": code, "message": message}}, {"OData-Version": "4.0", **(headers or {})}
    )
