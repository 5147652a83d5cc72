"""A Dataverse Web API request as data: what the dry-run publisher writes and the Dataverse client sends.

Building the request once and either sending it or writing it down means the dry-run output is exactly what
a live run would send (minus the bearer token). Paths are relative to the Web API root
(``{org}/api/data/v9.2/``); ``url()`` makes them absolute.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DataverseRequest",
    "HttpMethod",
    "api_root",
    "collection_path",
    "entity_path",
    "key_path",
    "odata_string",
    "record_key",
    "stable_id",
    "standard_headers",
]

HttpMethod = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]

# Alternate-key values with any of / < > * % & : \ ? + break addressing by key (Microsoft's documented
# limitation). Ids made only of URL-unreserved characters pass through unchanged; others become a digest.
_SAFE_KEY = re.compile(r"[A-Za-z0-9._~-]{1,100}")
# Namespace for deterministic record ids (phonecall/note fallback): same recording, same ids, every run.
_DEALTALK_NS = uuid.UUID("6f0c1f7e-3d0b-5b2a-9a51-5d0a3c1c6a11")


def standard_headers(*, has_body: bool) -> dict[str, str]:
    """The headers Microsoft recommends on every Web API request (OData 4.0, JSON)."""
    headers = {
        "Accept": "application/json",
        "OData-MaxVersion": "4.0",
        "OData-Version": "4.0",
        # "null" is a plain value here: it turns off any conditional behaviour a proxy might add.
        "If-None-Match": "null",
    }
    if has_body:
        headers["Content-Type"] = "application/json; charset=utf-8"
    return headers


def api_root(org_url: str, api_version: str) -> str:
    """``https://contoso.crm4.dynamics.com`` -> ``https://contoso.crm4.dynamics.com/api/data/v9.2/``."""
    return f"{org_url.rstrip('/')}/api/data/{api_version}/"


def odata_string(value: str) -> str:
    """An OData string literal: single quotes around, inner quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def record_key(recording_id: str) -> str:
    """The alternate-key value for a recording id: the id itself when addressable, else a digest of it.

    Graph recording ids are long base64 strings that may contain ``/`` and ``+``; those cannot address a
    record by key, so they become ``sha256-`` plus 40 hex digits (collisions are not a practical concern).
    """
    if _SAFE_KEY.fullmatch(recording_id):  # fullmatch: "$" would accept a trailing newline
        return recording_id
    return "sha256-" + hashlib.sha256(recording_id.encode("utf-8")).hexdigest()[:40]


def stable_id(recording_id: str, purpose: str) -> str:
    """A deterministic GUID for a record we create by id (upsert by primary key is idempotent)."""
    return str(uuid.uuid5(_DEALTALK_NS, f"{purpose}:{recording_id}"))


def key_path(entity_set: str, key_column: str, key_value: str) -> str:
    """``dt_callinsights(dt_recordingid='rec-1')``, percent-encoded for a URL path."""
    literal = urllib.parse.quote(odata_string(key_value), safe="'")
    return f"{entity_set}({key_column}={literal})"


def collection_path(entity_set: str, params: Mapping[str, str]) -> str:
    """``contacts?$select=…&$filter=…`` with every value percent-encoded (``%`` in a join URL included)."""
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe="$,'()")
    return f"{entity_set}?{query}" if query else entity_set


def entity_path(entity_set: str, record_id: str) -> str:
    """``phonecalls(00000000-0000-0000-0000-000000000000)``."""
    return f"{entity_set}({record_id})"


@dataclass(frozen=True, slots=True)
class DataverseRequest:
    """One Web API request.

    Attributes:
        method: the HTTP method.
        path: relative to the Web API root, with its query (``dt_callinsights(...)?$select=activityid``).
        body: the JSON body, or None.
        headers: request-specific headers (``Prefer``, ``If-Match``...); ``standard_headers`` come on top.
        purpose: what it does, in a few words, for logs and the dry-run file (never content).
    """

    method: HttpMethod
    path: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    purpose: str = ""

    def all_headers(self) -> dict[str, str]:
        """Standard headers plus this request's own (its own win)."""
        return {**standard_headers(has_body=self.body is not None), **self.headers}

    def url(self, root: str) -> str:
        """The absolute URL under a Web API root (``api_root(...)``); a relative root gives a relative URL."""
        return f"{root}{self.path}"

    def to_json(self, root: str) -> dict[str, Any]:
        """The request as the dry-run outbox records it."""
        return {
            "purpose": self.purpose,
            "method": self.method,
            "url": self.url(root),
            "headers": self.all_headers(),
            "body": dict(self.body) if self.body is not None else None,
        }
