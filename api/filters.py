"""Query parameters of the list and export routes, validated at the edge, and opaque keyset cursors."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import AwareDatetime

from dealtalk.api.problems import Problem
from dealtalk.contracts.documents import RiskLabel

__all__ = [
    "CallFilters",
    "Cursor",
    "RiskFilters",
    "call_filters",
    "decode_cursor",
    "encode_cursor",
    "risk_filters",
]

_ID = Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
Cursor = tuple[datetime, str]


@dataclass(frozen=True, slots=True)
class CallFilters:
    opportunity_id: str | None = None
    account_id: str | None = None
    owner_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    language: str | None = None
    linked: bool | None = None


@dataclass(frozen=True, slots=True)
class RiskFilters:
    type: str | None = None
    severity: str | None = None
    opportunity_id: str | None = None
    account_id: str | None = None
    owner_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_confidence: float = 0.0


def _window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise Problem(400, "`since` must be before `until`")


def call_filters(
    opportunity_id: Annotated[str | None, _ID] = None,
    account_id: Annotated[str | None, _ID] = None,
    owner_id: Annotated[str | None, _ID] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="discovered at or after (ISO 8601, with zone)")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="discovered before (ISO 8601, with zone)")
    ] = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2,3}$", examples=["nl"])] = None,
    linked: Annotated[
        bool | None, Query(description="true: linked to an opportunity; false: unlinked")
    ] = None,
) -> CallFilters:
    _window(since, until)
    return CallFilters(opportunity_id, account_id, owner_id, since, until, language, linked)


def risk_filters(
    type: Annotated[RiskLabel | None, Query(examples=["price_objection"])] = None,
    severity: Literal["low", "medium", "high"] | None = None,
    opportunity_id: Annotated[str | None, _ID] = None,
    account_id: Annotated[str | None, _ID] = None,
    owner_id: Annotated[str | None, _ID] = None,
    since: Annotated[AwareDatetime | None, Query(description="call discovered at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="call discovered before")] = None,
    min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
) -> RiskFilters:
    _window(since, until)
    return RiskFilters(type, severity, opportunity_id, account_id, owner_id, since, until, min_confidence)


def encode_cursor(when: datetime, key: str | int) -> str:
    raw = json.dumps([when.isoformat(), str(key)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Cursor | None:
    """The position a cursor encodes.

    Raises:
        Problem: 400 when the cursor was not made by this API.
    """
    if cursor is None:
        return None
    try:
        when, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(when)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise Problem(400, "the cursor is malformed; pass back `next_cursor` unchanged") from exc
    if moment.tzinfo is None or not isinstance(key, str):
        raise Problem(400, "the cursor is malformed; pass back `next_cursor` unchanged")
    return moment, key
