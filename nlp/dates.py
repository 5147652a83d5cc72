"""Dutch and English dates in speech, resolved against the call date.

Handles what people say on sales calls: "vandaag", "morgen", "vrijdag", "volgende week vrijdag", "voor het
weekend", "eind van de maand", "eind volgende maand", "over twee weken", "1 december", "de eerste van
december"; "tomorrow", "by Friday", "next Tuesday", "end of next month", "in two weeks", "December 1st",
"the first of December". A bare weekday is its next occurrence (today counts when it is that day). "Next
week" without a day is the Friday of next week: as a due date it means "within next week".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["DateMention", "find_dates"]

_WEEKDAYS = {
    "maandag": 0, "dinsdag": 1, "woensdag": 2, "donderdag": 3, "vrijdag": 4, "zaterdag": 5, "zondag": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
_MONTHS = {
    "januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7, "augustus": 8,
    "september": 9, "oktober": 10, "november": 11, "december": 12,
    "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8,
    "october": 10,
}  # fmt: skip
_NUMBERS = {
    "een": 1, "één": 1, "eerste": 1, "twee": 2, "tweede": 2, "drie": 3, "derde": 3, "vier": 4, "vierde": 4,
    "vijf": 5, "vijfde": 5, "zes": 6, "zesde": 6, "zeven": 7, "zevende": 7, "acht": 8, "achtste": 8,
    "negen": 9, "tien": 10, "tiende": 10, "vijftien": 15, "vijftiende": 15, "twintig": 20, "twintigste": 20,
    "a": 1, "one": 1, "first": 1, "two": 2, "second": 2, "three": 3, "third": 3, "four": 4, "fourth": 4,
    "five": 5, "fifth": 5, "six": 6, "sixth": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "tenth": 10,
    "fifteenth": 15, "twentieth": 20,
}  # fmt: skip
_WD = "|".join(_WEEKDAYS)
_MO = "|".join(_MONTHS)
_NUM = r"\d{1,2}(?:st|nd|rd|th|e|ste|de)?|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))

_END = r"(?:eind|einde|end)(?:\s+van|\s+of)?"
_BEFORE_WEEKEND = r"(?:voor\s+het|before\s+the)\s+weekend"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("in_n", re.compile(rf"\b(?:over|in)\s+(?P<n>{_NUM})\s+(?P<unit>dagen|dag|weken|week|days?|weeks?)\b")),
    ("end_next_month", re.compile(rf"\b{_END}\s+(?:volgende|next)\s+(?:maand|month)\b")),
    ("end_month", re.compile(rf"\b{_END}\s+(?:de|deze|the|this)\s+(?:maand|month)\b")),
    ("end_week", re.compile(rf"\b(?:{_BEFORE_WEEKEND}|{_END}\s+(?:de|deze|the|this)\s+week)\b")),
    ("next_week_day", re.compile(rf"\b(?:volgende\s+week|next\s+week)\s+(?:op\s+|on\s+)?(?P<wd>{_WD})\b")),
    ("next_day", re.compile(rf"\b(?:volgende|next|aanstaande|komende|this|deze)\s+(?P<wd>{_WD})\b")),
    ("day_month", re.compile(rf"\b(?:de\s+|the\s+)?(?P<n>{_NUM})\s+(?:van\s+|of\s+)?(?P<mo>{_MO})\b")),
    ("month_day", re.compile(rf"\b(?P<mo>{_MO})\s+(?:the\s+)?(?P<n>{_NUM})\b")),
    ("next_week", re.compile(r"\b(?:volgende\s+week|next\s+week)\b")),
    ("next_month", re.compile(r"\b(?:volgende\s+maand|next\s+month)\b")),
    ("weekday", re.compile(rf"\b(?P<wd>{_WD})\b")),
    ("day_after", re.compile(r"\b(?:overmorgen|day\s+after\s+tomorrow)\b")),
    ("tomorrow", re.compile(r"\b(?:morgen|tomorrow)\b")),
    ("today", re.compile(r"\b(?:vandaag|vanmiddag|vanavond|today|tonight|this\s+afternoon)\b")),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date said in a text: where (character offsets), what was said, and the day it means."""

    start: int
    end: int
    text: str
    value: date


def _number(token: str) -> int | None:
    token = token.lower()
    if token in _NUMBERS:
        return _NUMBERS[token]
    digits = re.match(r"\d+", token)
    return int(digits.group()) if digits else None


def _next_weekday(anchor: date, weekday: int, *, strictly_after: bool = False) -> date:
    days = (weekday - anchor.weekday()) % 7
    if days == 0 and strictly_after:
        days = 7
    return anchor + timedelta(days=days)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _resolve(kind: str, match: re.Match[str], anchor: date) -> date | None:
    groups = match.groupdict()
    if kind == "today":
        return anchor
    if kind == "tomorrow":
        return anchor + timedelta(days=1)
    if kind == "day_after":
        return anchor + timedelta(days=2)
    if kind == "weekday":
        return _next_weekday(anchor, _WEEKDAYS[groups["wd"]])
    if kind == "next_day":
        return _next_weekday(anchor, _WEEKDAYS[groups["wd"]], strictly_after=True)
    if kind in ("next_week", "next_week_day"):
        monday = anchor - timedelta(days=anchor.weekday()) + timedelta(days=7)
        return monday + timedelta(days=_WEEKDAYS[groups["wd"]] if kind == "next_week_day" else 4)
    if kind == "end_week":
        return _next_weekday(anchor, 4)
    if kind == "end_month":
        return _month_end(anchor.year, anchor.month)
    if kind in ("end_next_month", "next_month"):
        year, month = (anchor.year + 1, 1) if anchor.month == 12 else (anchor.year, anchor.month + 1)
        return _month_end(year, month) if kind == "end_next_month" else date(year, month, 1)
    if kind == "in_n":
        n = _number(groups["n"]) or 0
        return anchor + timedelta(days=n * (7 if groups["unit"].startswith("we") else 1))
    if kind in ("day_month", "month_day"):
        day, month = _number(groups["n"]), _MONTHS[groups["mo"]]
        if day is None or not 1 <= day <= calendar.monthrange(anchor.year, month)[1]:
            return None
        candidate = date(anchor.year, month, day)
        # Said in November, "15 januari" is next January.
        return candidate if candidate >= anchor - timedelta(days=31) else date(anchor.year + 1, month, day)
    return None


def find_dates(text: str, anchor: date | None) -> list[DateMention]:
    """Dates mentioned in ``text``; resolved against ``anchor`` (the call date). None resolves nothing.

    Longer expressions win over the shorter ones inside them ("volgende week vrijdag" is one date).
    """
    if anchor is None:
        return []
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(lowered):
            start, end = match.span()
            if any(start < t_end and end > t_start for t_start, t_end in taken):
                continue
            value = _resolve(kind, match, anchor)
            if value is None:
                continue
            taken.append((start, end))
            found.append(DateMention(start, end, text[start:end], value))
    return sorted(found, key=lambda mention: mention.start)
