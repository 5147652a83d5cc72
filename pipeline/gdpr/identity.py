"""Who a GDPR request is about: an e-mail address, the names the calls knew them by, and their hashes.

Hashes (sha256 over a fixed prefix and the normalised value) are what the ledger and the audit log keep: the
ledger can recognise an erased person again without holding their address or name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from dealtalk.contracts.documents import MeetingInfo

__all__ = [
    "ERASED",
    "ERASED_NAME",
    "Person",
    "hash_email",
    "hash_name",
    "name_pattern",
    "normalise_email",
    "normalise_name",
    "scrub",
]

# What replaces erased text and names: visibly erased, never empty, so a reader knows something was there.
ERASED = "[erased]"
ERASED_NAME = "[erased person]"

_PREFIX = "dealtalk-gdpr/1:"
# Name parts shorter than this ("Li", "de", "van") are not scrubbed on their own: too many false hits.
_MIN_PART = 3
_PARTICLES = {"van", "der", "den", "de", "het", "ter", "ten", "von", "del", "da", "la", "le"}


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_name(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(folded.split())


def hash_email(email: str) -> str:
    """The ledger key of an address (64 hex digits)."""
    return hashlib.sha256((_PREFIX + "email:" + normalise_email(email)).encode()).hexdigest()


def hash_name(name: str) -> str:
    """The ledger key of a full name (64 hex digits)."""
    return hashlib.sha256((_PREFIX + "name:" + normalise_name(name)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Person:
    """The subject of a request: their address and every full name the stored calls gave them."""

    email: str
    names: tuple[str, ...] = ()

    @property
    def subject_hash(self) -> str:
        return hash_email(self.email)

    @property
    def name_hashes(self) -> tuple[str, ...]:
        return tuple(sorted({hash_name(n) for n in self.names}))

    def with_names(self, names: Iterable[str]) -> Person:
        known = {normalise_name(n) for n in self.names}
        extra = [n for n in names if n.strip() and normalise_name(n) not in known]
        return Person(self.email, (*self.names, *dict.fromkeys(n.strip() for n in extra)))

    def matches(self, *, email: str | None, name: str | None) -> bool:
        """True for their address, or (without an address) for one of their full names."""
        if email:
            return normalise_email(email) == normalise_email(self.email)
        return bool(name) and normalise_name(name or "") in {normalise_name(n) for n in self.names}

    def names_in(self, meeting: MeetingInfo) -> tuple[str, ...]:
        """Names the meeting gives this person (by address)."""
        return tuple(
            p.name for p in meeting.participants if p.email and self.matches(email=p.email, name=None)
        )


def name_pattern(names: Iterable[str], emails: Iterable[str] = ()) -> re.Pattern[str] | None:
    """A case-insensitive whole-word pattern for full names, their parts (3+ letters) and addresses."""
    terms: set[str] = {e.strip() for e in emails if e.strip()}
    for name in names:
        clean = " ".join(name.split())
        if not clean:
            continue
        terms.add(clean)
        parts = clean.split()
        if len(parts) > 2:
            terms.add(" ".join(parts[1:]))  # the surname with its particles: "de Vries"
        terms.update(
            part for part in clean.split() if len(part) >= _MIN_PART and part.lower() not in _PARTICLES
        )
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def scrub(text: str, pattern: re.Pattern[str] | None, replacement: str = ERASED_NAME) -> str:
    """``text`` with every match of ``pattern`` (names, addresses) replaced."""
    if pattern is None or not text:
        return text
    return pattern.sub(replacement, text)
