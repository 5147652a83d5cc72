"""The ``$batch`` wire format, client side: change sets of ``DataverseRequest`` out, responses back.

Format per "Execute batch operations using the Web API": multipart/mixed with CRLF line endings, one change
set per call (atomic: a call's requests succeed or fail together), ``Content-ID`` on every request of a
change set, absolute request URLs, ``Content-Type: application/json; type=entry`` on bodies.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dealtalk.contracts.errors import TransientError
from dealtalk.publisher.request import DataverseRequest

__all__ = ["BatchPart", "encode_batch", "parse_batch_response"]

_CRLF = "\r\n"


@dataclass(frozen=True, slots=True)
class BatchPart:
    """One response inside a ``$batch`` answer."""

    status: int
    headers: dict[str, str]
    body: Any
    content_id: str | None


def _request_lines(request: DataverseRequest, root: str, content_id: int) -> list[str]:
    lines = [
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
        f"Content-ID: {content_id}",
        "",
        f"{request.method} {request.url(root)} HTTP/1.1",
    ]
    # The body's Content-Type goes below; "If-None-Match: null" is a no-op that only the outer request needs.
    headers = {
        k: v
        for k, v in request.all_headers().items()
        if k.lower() != "content-type" and not (k.lower() == "if-none-match" and v == "null")
    }
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if request.body is not None:
        lines += [
            "Content-Type: application/json; type=entry",
            "",
            json.dumps(request.body, ensure_ascii=False),
        ]
    else:
        lines.append("")
    return lines


def encode_batch(changesets: Sequence[Sequence[DataverseRequest]], root: str) -> tuple[str, bytes]:
    """Encode change sets; return the request's Content-Type and body."""
    batch = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    content_id = 0
    for changeset in changesets:
        boundary = f"changeset_{uuid.uuid4()}"
        lines += [f"--{batch}", f"Content-Type: multipart/mixed; boundary={boundary}", ""]
        for request in changeset:
            content_id += 1
            lines += [f"--{boundary}", *_request_lines(request, root, content_id)]
        lines.append(f"--{boundary}--")
    lines += [f"--{batch}--", ""]
    return f"multipart/mixed; boundary={batch}", _CRLF.join(lines).encode("utf-8")


def _boundary(content_type: str) -> str:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise TransientError(f"Dataverse answered a $batch without a multipart boundary ({content_type!r})")
    return match.group(1)


def _parts(text: str, boundary: str) -> list[str]:
    inner = text.split(f"--{boundary}--", 1)[0]
    return [p.removeprefix(_CRLF).removesuffix(_CRLF) for p in inner.split(f"--{boundary}")[1:]]


def _headers(block: str) -> tuple[dict[str, str], str]:
    head, _, rest = block.partition(_CRLF * 2)
    headers = {}
    for line in head.split(_CRLF):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _http_part(block: str) -> BatchPart:
    outer, rest = _headers(block)
    status_line, _, remainder = rest.partition(_CRLF)
    match = re.match(r"HTTP/1\.1 (\d{3})", status_line)
    if match is None:
        raise TransientError("Dataverse answered a $batch part without an HTTP status line")
    headers, body = _headers(remainder)
    parsed = json.loads(body) if body.strip() else None
    return BatchPart(int(match.group(1)), headers, parsed, outer.get("content-id"))


def parse_batch_response(content_type: str, body: bytes) -> list[list[BatchPart]]:
    """Responses grouped as the request was: one list per change set (a lone request is a list of one).

    A failed change set answers with only its failing request, as Dataverse does.
    """
    groups: list[list[BatchPart]] = []
    for block in _parts(body.decode("utf-8"), _boundary(content_type)):
        headers, rest = _headers(block)
        kind = headers.get("content-type", "")
        if kind.lower().startswith("multipart/mixed"):
            groups.append([_http_part(p) for p in _parts(rest, _boundary(kind))])
        else:
            groups.append([_http_part(block)])
    return groups
