"""The competitor names a call's insights look for: the configured ones and the CRM's competitor table.

``CompetitorNames`` is built once per process by the composition root and handed to the analyze step as a
callable. The CRM's table is read at most once per ``ttl_s`` (a worker does not query Dataverse per call);
an opportunity's own competitors (the N:N ``opportunitycompetitors_association``) are added when the caller
knows the call's opportunity, cached the same way. A CRM that cannot be read never stops a call: the failure
is logged (the CRM and the error, no personal data) and the last names read, or the configured ones alone,
are used until the next attempt ``retry_s`` later.

Usage::

    names = CompetitorNames(settings.nlp.competitors, reader, ttl_s=3600)
    names()                    # configured ∪ the competitor table
    names("5b3faca1-…")        # ... ∪ that opportunity's competitors
    names.ranked("5b3faca1-…") # the same names, that opportunity's first (for the ASR's hotwords)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from dealtalk.contracts.errors import DealtalkError
from dealtalk.publisher.crm import Competitor, CompetitorReader

__all__ = ["CompetitorNames", "merge_names"]

logger = logging.getLogger(__name__)

# Opportunities whose competitors are remembered at once (a reprocess run walks many calls).
_MAX_OPPORTUNITIES = 256


def merge_names(*groups: Iterable[str]) -> tuple[str, ...]:
    """Names in first-seen order, stripped, without blanks or case-insensitive duplicates."""
    seen: dict[str, str] = {}
    for group in groups:
        for name in group:
            clean = name.strip()
            if clean and clean.casefold() not in seen:
                seen[clean.casefold()] = clean
    return tuple(seen.values())


class _Entry:
    """One cached read: the names, when they were read, and when to try again."""

    __slots__ = ("names", "next_read")

    def __init__(self, names: tuple[str, ...], next_read: float) -> None:
        self.names = names
        self.next_read = next_read


class CompetitorNames:
    """Configured competitor names ∪ the CRM's, cached with a time to live. Thread-safe.

    Args:
        configured: ``settings.nlp.competitors``; always part of the answer.
        reader: the CRM's competitor rows; None when no CRM is configured (the configured names only).
        ttl_s: how long a successful read is used before the CRM is read again.
        retry_s: after a failed read, how long the previous names are used before trying again
            (None: ``min(ttl_s, 300)``).
        clock: monotonic seconds (tests pass a fake).
        owns_reader: ``close()`` closes the reader too (it was built for this object alone).
    """

    def __init__(
        self,
        configured: Sequence[str],
        reader: CompetitorReader | None,
        *,
        ttl_s: float,
        retry_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        owns_reader: bool = False,
    ) -> None:
        self._configured = merge_names(configured)
        self._reader = reader
        self._ttl_s = ttl_s
        self._retry_s = min(ttl_s, 300.0) if retry_s is None else retry_s
        self._clock = clock
        self._lock = threading.Lock()
        self._table: _Entry | None = None
        self._opportunities: OrderedDict[str, _Entry] = OrderedDict()
        self._owns_reader = owns_reader

    def __enter__(self) -> CompetitorNames:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the reader's connections when this object owns the reader; safe to call twice."""
        close = getattr(self._reader, "close", None)
        if self._owns_reader and callable(close):
            close()

    def __call__(self, opportunity_id: str | None = None) -> tuple[str, ...]:
        """The names for a call: configured ∪ the CRM's table ∪ the opportunity's own (when given)."""
        table, own = self._from_crm(opportunity_id)
        return merge_names(self._configured, table, own)

    def ranked(self, opportunity_id: str | None = None) -> tuple[str, ...]:
        """The same names, most likely in the call first: the opportunity's own, configured, then the table.

        For the ASR's hotwords, which hold only so many names (``transcription.whisper_decoder``).
        """
        table, own = self._from_crm(opportunity_id)
        return merge_names(own, self._configured, table)

    def _from_crm(self, opportunity_id: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The CRM's table and the opportunity's own names (both empty without a CRM)."""
        if self._reader is None:
            return (), ()
        table = self._cached(None)
        own = self._cached(opportunity_id.lower()) if opportunity_id else ()
        return table, own

    def _cached(self, opportunity_id: str | None) -> tuple[str, ...]:
        with self._lock:
            entry = self._table if opportunity_id is None else self._opportunities.get(opportunity_id)
            now = self._clock()
            if entry is not None and now < entry.next_read:
                return entry.names
            names = self._read(opportunity_id, previous=entry, now=now)
            if opportunity_id is None:
                self._table = names
            else:
                self._opportunities[opportunity_id] = names
                self._opportunities.move_to_end(opportunity_id)
                while len(self._opportunities) > _MAX_OPPORTUNITIES:
                    self._opportunities.popitem(last=False)
            return names.names

    def _read(self, opportunity_id: str | None, *, previous: _Entry | None, now: float) -> _Entry:
        assert self._reader is not None
        what = "the competitor table" if opportunity_id is None else "an opportunity's competitors"
        try:
            rows: Sequence[Competitor] = (
                self._reader.competitors()
                if opportunity_id is None
                else self._reader.opportunity_competitors(opportunity_id)
            )
        except DealtalkError as exc:
            kept = "the last names read" if previous is not None else "the configured names"
            # The error names the operation and Dataverse's code, never a row: no personal data here.
            logger.warning(
                "competitors: could not read %s from %s, using %s for %.0f s: %s",
                what,
                self._reader.description,
                kept,
                self._retry_s,
                exc,
            )
            return _Entry(previous.names if previous is not None else (), now + self._retry_s)
        names = merge_names(row.name for row in rows)
        logger.debug("competitors: %d name(s) from %s (%s)", len(names), what, self._reader.description)
        return _Entry(names, now + self._ttl_s)
