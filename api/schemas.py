"""The API's request and response models (pydantic at the boundary), with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AggregateBucket",
    "AuditEntry",
    "CallSummary",
    "FeedbackIn",
    "FeedbackOut",
    "LinkRequest",
    "Page",
    "RiskSignal",
    "TrendPoint",
    "TrendReport",
]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of results; pass ``next_cursor`` back as ``cursor`` for the next (null: this was the last)."""

    items: list[T]
    next_cursor: str | None = Field(default=None, examples=["WyIyMDI2LTExLTE2VDA5OjAwOjAwKzAwOjAwIiwgNDJd"])


class CallSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "call_id": "teams-2026-11-16-zuidhaven",
                    "status": "published",
                    "subject": "Verlenging schoonmaakcontract",
                    "discovered_at": "2026-11-16T09:45:00Z",
                    "language": "nl",
                    "opportunity_id": "680f89c8-b972-592e-9050-7e61dacce2d0",
                    "account_name": "Gemeente Zuidhaven",
                    "owner_id": "90509188-33d5-55c7-979b-e2fc3b23f163",
                    "link_method": "appointment",
                }
            ]
        }
    )

    call_id: str
    status: str
    subject: str | None
    discovered_at: datetime
    language: str | None
    opportunity_id: str | None
    account_name: str | None
    owner_id: str | None
    link_method: str | None


class RiskSignal(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "call_id": "teams-2026-11-16-zuidhaven",
                    "type": "price_objection",
                    "severity": "high",
                    "confidence": 0.91,
                    "speaker": "S2",
                    "start": 101.2,
                    "end": 106.0,
                    "quote": "Eerlijk gezegd vinden we de prijs per vierkante meter te hoog.",
                    "segment_index": 17,
                    "source": "union",
                    "explanation": "price too high",
                    "evidence_quality": 0.93,
                    "opportunity_id": "680f89c8-b972-592e-9050-7e61dacce2d0",
                    "account_name": "Gemeente Zuidhaven",
                    "owner_id": "90509188-33d5-55c7-979b-e2fc3b23f163",
                    "discovered_at": "2026-11-16T09:45:00Z",
                }
            ]
        }
    )

    id: int
    call_id: str
    type: str
    severity: str
    confidence: float
    speaker: str
    start: float
    end: float
    quote: str
    segment_index: int
    source: str
    explanation: str
    # How well the quoted segment was heard, 0..1: below 0.5 the quote may not be what was said.
    evidence_quality: float
    opportunity_id: str | None
    account_name: str | None
    owner_id: str | None
    discovered_at: datetime


class AggregateBucket(BaseModel):
    key: str | None = Field(examples=["price_objection"])
    count: int
    high: int = Field(description="signals of high severity")
    mean_confidence: float
    calls: int


class TrendPoint(BaseModel):
    call_id: str
    discovered_at: datetime
    health_score: int | None
    risks: dict[str, int] = Field(examples=[{"price_objection": 2, "competitor_mention": 1}])
    high: int


class TrendReport(BaseModel):
    opportunity_id: str
    calls: int
    health_score: int | None = Field(description="of the most recent call")
    mean_health_score: float | None
    points: list[TrendPoint]


class LinkRequest(BaseModel):
    opportunity_id: str = Field(
        min_length=1, max_length=64, examples=["680f89c8-b972-592e-9050-7e61dacce2d0"]
    )


class FeedbackIn(BaseModel):
    verdict: Literal["confirmed", "rejected"]
    comment: str = Field(default="", max_length=2000)


class FeedbackOut(BaseModel):
    id: int
    call_id: str
    type: str
    segment_index: int
    verdict: str
    comment: str
    actor: str
    at: datetime


class AuditEntry(BaseModel):
    id: int
    at: datetime
    call_id: str | None
    actor: str
    action: str
