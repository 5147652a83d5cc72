"""Entities a sales manager looks for: amounts, percentages, dates, quantities, competitors, persons.

Regular expressions over Whisper's text (digits, "€ 4,80", "4,80 euro", "tien procent", "12.000 m²",
"vierkante meter", "2 FTE", "drie locaties"). Persons come from the attendee list and competitors from
configuration and the CRM, which name them far better than a model would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from dealtalk.nlp.dates import find_dates

__all__ = ["Entity", "find_entities"]

_NUMBER = r"\d+(?:[.,]\d+)*"
_WORDNUM = (
    r"(?:een|één|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|twaalf|twintig|dertig|veertig|vijftig|honderd|"
    r"duizend|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|hundred|thousand)"
)
_QTY = rf"(?:{_NUMBER}|{_WORDNUM})"


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_PATTERNS: tuple[tuple[str, str | None, re.Pattern[str]], ...] = (
    ("amount", "EUR", _re(rf"(?:€\s?{_NUMBER}(?:\s?(?:k|mln|miljoen|million))?|{_QTY}\s?(?:euro|eur)\b)")),
    ("percentage", "%", _re(rf"(?:{_NUMBER}\s?%|{_QTY}\s(?:procent|percent|per\scent)\b)")),
    ("quantity", "m2", _re(rf"{_QTY}\s?(?:m²|m2|vierkante\s+meters?|square\s+met(?:re|er)s?|sqm)")),
    ("quantity", "FTE", _re(rf"{_QTY}\s?fte\b")),
    ("quantity", "hours", _re(rf"{_QTY}\s(?:uur|uren|hours?)\b(?:\s(?:per|a|in\s+de)\s\w+)?")),
    ("quantity", "locations", _re(rf"{_QTY}\s(?:locaties|vestigingen|gebouwen|sites|locations|buildings)\b")),
    ("rate", "per m2", _re(r"\bper\s+(?:m²|m2|vierkante\s+meter|square\s+met(?:re|er)|kantemater)")),
    ("rate", "per hour", _re(r"\b(?:per\s+uur|per\s+hour|an\s+hour|uurtarief|hourly\s+rate)\b")),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entity:
    type: str
    text: str
    value: str | None
    unit: str | None
    start: int
    end: int


def _names(pattern_names: Iterable[str]) -> re.Pattern[str] | None:
    names = sorted({n.strip() for n in pattern_names if n and n.strip()}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b", re.I)


def find_entities(
    text: str,
    *,
    call_date: date | None,
    competitors: Iterable[str] = (),
    persons: Iterable[str] = (),
) -> list[Entity]:
    """Entities in one segment's text, each with its character span.

    Args:
        text: the segment's text.
        call_date: relative dates resolve against it (None: dates are not reported).
        competitors: competitor names to look for.
        persons: attendee names; a full name or a first name counts (first names of 3+ letters).
    """
    found: list[Entity] = []
    for kind, unit, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            number = re.search(_NUMBER, match.group())
            found.append(Entity(kind, match.group(), number.group() if number else None, unit, *match.span()))
    for mention in find_dates(text, call_date):
        found.append(
            Entity("date", mention.text, mention.value.isoformat(), None, mention.start, mention.end)
        )
    competitor_pattern = _names(competitors)
    if competitor_pattern:
        for match in competitor_pattern.finditer(text):
            found.append(Entity("competitor", match.group(), match.group(), None, *match.span()))
    person_names = [p for p in persons if p.strip()]
    first_names = [p.split()[0] for p in person_names if len(p.split()[0]) >= 3]
    person_pattern = _names([*person_names, *first_names])
    if person_pattern:
        full = {p.lower(): p for p in person_names}
        by_first = {p.split()[0].lower(): p for p in person_names}
        for match in person_pattern.finditer(text):
            said = match.group().lower()
            found.append(
                Entity("person", match.group(), full.get(said) or by_first.get(said), None, *match.span())
            )
    return sorted(found, key=lambda entity: (entity.start, -entity.end))
