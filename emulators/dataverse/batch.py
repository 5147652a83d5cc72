"""``$batch`` for the Dataverse emulator: the multipart/mixed wire format, change sets, Content-ID references.

Follows "Execute batch operations using the Web API": CRLF line endings only (else ``400 0x80048d19`` "Stream
was not readable"), at most 1,000 requests, no nested batches, no GET inside a change set, change sets atomic
(rolled back on any failure), ``$n`` references to earlier parts of the same change set, stop at the first
error unless ``Prefer: odata.continue-on-error``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .model import Table
from .odata import ODataError
from .records import WriteContext
from .store import Store

__all__ = ["Part", "execute_batch", "parse_multipart"]

MAX_REQUESTS = 1000
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


@dataclass
class Part:
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    content_id: str | None = None


@dataclass
class ChangeSet:
    parts: list[Part] = field(default_factory=list)


# (method, url, headers, body, write context) -> (status, headers, JSON body or None, created (table, id))
Executor = Callable[
    [str, str, dict[str, str], Any, WriteContext], tuple[int, dict[str, str], Any, tuple[Table, str] | None]
]


def _stream_error() -> ODataError:
    return ODataError(
        "Error identified in Payload provided by the user for Entity :'', ----> InnerException : "
        "Microsoft.OData.ODataException: Stream was not readable.",
        "0x80048d19",
    )


def _boundary(content_type: str) -> str:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.lower().startswith("multipart/mixed") or not match:
        raise ODataError("The Content-Type of a $batch request must be multipart/mixed with a boundary.")
    return match.group(1)


def _headers_and_rest(block: str) -> tuple[dict[str, str], str]:
    head, sep, rest = block.partition("\r\n\r\n")
    if not sep:
        head, rest = block, ""
    headers = {}
    for line in head.split("\r\n"):
        if line.strip():
            name, colon, value = line.partition(":")
            if not colon:
                raise _stream_error()
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _split(body: str, boundary: str) -> list[str]:
    delimiter = f"--{boundary}"
    if f"{delimiter}--" not in body:
        raise _stream_error()
    inner = body.split(f"{delimiter}--", 1)[0]
    chunks = inner.split(delimiter)[1:]
    # The CRLF before a delimiter belongs to the delimiter.
    return [chunk.removeprefix("\r\n").removesuffix("\r\n") for chunk in chunks]


def _parse_request(block: str, in_changeset: bool) -> Part:
    headers, rest = _headers_and_rest(block)
    if headers.get("content-type", "").lower() != "application/http":
        raise ODataError("Each $batch part must have Content-Type: application/http.")
    request_line, _, remainder = rest.partition("\r\n")
    match = re.fullmatch(r"(GET|POST|PATCH|PUT|DELETE) (\S+) HTTP/1\.1", request_line.strip())
    if not match:
        raise ODataError(f"Invalid request line in a $batch part: '{request_line[:80]}'.")
    inner_headers, text = _headers_and_rest(remainder)
    if match.group(1) == "GET" and in_changeset:
        raise ODataError("GET requests are not allowed inside a change set.")
    try:
        body = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        raise ODataError(
            f"Error identified in Payload provided by the user for the $batch part '{match.group(2)[:80]}': "
            "the body is not valid JSON.",
            "0x80048d19",
        ) from None
    return Part(match.group(1), match.group(2), inner_headers, body, headers.get("content-id"))


def parse_multipart(content_type: str, raw: bytes) -> list[Part | ChangeSet]:
    """Parse a ``$batch`` body into requests and change sets (raises ``ODataError`` as Dataverse would)."""
    text = raw.decode("utf-8")
    if re.search(r"(?<!\r)\n", text):
        raise _stream_error()
    items: list[Part | ChangeSet] = []
    for block in _split(text, _boundary(content_type)):
        headers, rest = _headers_and_rest(block)
        kind = headers.get("content-type", "")
        if kind.lower().startswith("multipart/mixed"):
            changeset = ChangeSet()
            for inner in _split(rest, _boundary(kind)):
                inner_headers, _ = _headers_and_rest(inner)
                if inner_headers.get("content-type", "").lower().startswith("multipart/"):
                    raise ODataError("Batches and change sets cannot be nested.")
                changeset.parts.append(_parse_request(inner, in_changeset=True))
            items.append(changeset)
        else:
            items.append(_parse_request(block, in_changeset=False))
    count = sum(len(i.parts) if isinstance(i, ChangeSet) else 1 for i in items)
    if count > MAX_REQUESTS:
        raise ODataError(
            f"The number of requests in the batch ({count}) exceeds the limit of {MAX_REQUESTS}."
        )
    return items


def _render(status: int, headers: dict[str, str], body: Any, content_id: str | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json; odata.metadata=minimal", "", json.dumps(body)]
    else:
        lines.append("")
    return "\r\n".join(lines)


def execute_batch(
    store: Store,
    items: list[Part | ChangeSet],
    execute: Executor,
    *,
    continue_on_error: bool,
    app_id: str = "",
) -> tuple[bool, str, str]:
    """Run the parts; return (all succeeded, response boundary, multipart response body)."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    out: list[str] = []
    ok = True
    for item in items:
        if isinstance(item, Part):
            status, headers, body = _run(execute, item, WriteContext(app_id=app_id))[:3]
            out.append(_render(status, headers, body, None))
            failed = status >= 400
        else:
            snapshot = store.snapshot()
            ctx = WriteContext(app_id=app_id)
            rendered: list[str] = []
            failed = False
            for part in item.parts:
                status, headers, body, created = _run(execute, part, ctx)
                if status >= 400:
                    failed = True
                    store.restore(snapshot)  # atomic: nothing of the change set stays
                    rendered = [_render(status, headers, body, part.content_id)]
                    break
                if part.content_id and created is not None:
                    ctx.content_ids[f"${part.content_id}"] = created
                rendered.append(_render(status, headers, body, part.content_id))
            cs_boundary = f"changesetresponse_{uuid.uuid4()}"
            inner = "".join(f"--{cs_boundary}\r\n{r}\r\n" for r in rendered) + f"--{cs_boundary}--"
            out.append(f"Content-Type: multipart/mixed; boundary={cs_boundary}\r\n\r\n{inner}")
        if failed:
            ok = False
            if not continue_on_error:
                break
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in out) + f"--{boundary}--\r\n"
    return ok, boundary, body


def _run(
    execute: Executor, part: Part, ctx: WriteContext
) -> tuple[int, dict[str, str], Any, tuple[Table, str] | None]:
    try:
        return execute(part.method, part.url, part.headers, part.body, ctx)
    except ODataError as exc:
        return exc.status, {}, {"error": {"code": exc.code, "message": str(exc)}}, None
