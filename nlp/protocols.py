"""The contract between the insight stage and whatever analyses a transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from dealtalk.contracts.documents import InsightsDoc, ModelRef, Participant, TranscriptDoc

__all__ = ["InsightContext", "InsightEngine"]


@dataclass(frozen=True, slots=True)
class InsightContext:
    """What the calendar and the CRM tell the insight stage about a call.

    Attributes:
        call_date: the meeting's date in the tenant's timezone; relative dates ("volgende week vrijdag") resolve
            against it. None when unknown (relative dates then stay unresolved).
        participants: attendees with roles; persons are recognised from this list.
        competitors: competitor names from configuration and the CRM.
    """

    call_date: date | None = None
    participants: tuple[Participant, ...] = ()
    competitors: tuple[str, ...] = ()


class InsightEngine(Protocol):
    """KPIs, sentiment, risks, entities, action items, summary and health for one transcript."""

    @property
    def models(self) -> dict[str, ModelRef]:
        """Provenance of the models in use (at least "nlp")."""

    @property
    def version(self) -> str:
        """A stable string that changes whenever models, rules or options that shape the output change."""

    def analyze(self, transcript: TranscriptDoc, context: InsightContext) -> InsightsDoc:
        """Analyse one transcript. An empty transcript gives an empty but valid InsightsDoc.

        Raises:
            InvalidInput: the transcript cannot be analysed (the message says why).
        """
