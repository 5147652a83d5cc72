"""Dutch and English relative dates resolve against the call date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.nlp.dates import find_dates

MONDAY = date(2026, 11, 16)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ik stuur het volgende week vrijdag.", date(2026, 11, 27)),
        ("Dat heeft u voor het weekend.", date(2026, 11, 20)),
        ("Uiterlijk eind van de maand.", date(2026, 11, 30)),
        ("Eind volgende maand is het klaar.", date(2026, 12, 31)),
        ("We bellen morgen.", date(2026, 11, 17)),
        ("Overmorgen komt de planner.", date(2026, 11, 18)),
        ("Over twee weken plannen we een overleg.", date(2026, 11, 30)),
        ("Op één december start het.", date(2026, 12, 1)),
        ("Dat is vrijdag klaar.", date(2026, 11, 20)),
        ("Op 15 januari tekenen we.", date(2027, 1, 15)),
        ("I'll send it by Friday.", date(2026, 11, 20)),
        ("by the end of next month", date(2026, 12, 31)),
        ("end of the month", date(2026, 11, 30)),
        ("Let's talk next week Wednesday.", date(2026, 11, 25)),
        ("We start on the first of December.", date(2026, 12, 1)),
        ("December 3rd works for me.", date(2026, 12, 3)),
        ("in three days", date(2026, 11, 19)),
        ("I'll call you tomorrow.", date(2026, 11, 17)),
        ("next week", date(2026, 11, 27)),
    ],
)
def test_resolves(text: str, expected: date) -> None:
    found = find_dates(text, MONDAY)
    assert found, text
    assert found[0].value == expected
    assert text[found[0].start : found[0].end] == found[0].text


def test_no_call_date_resolves_nothing() -> None:
    assert find_dates("morgen", None) == []


def test_longest_expression_wins() -> None:
    found = find_dates("volgende week vrijdag", MONDAY)
    assert [m.text for m in found] == ["volgende week vrijdag"]


def test_words_that_only_look_like_dates() -> None:
    assert find_dates("We may need more time.", MONDAY) == []


anchors = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(anchors)
def test_tomorrow_is_the_next_day(anchor: date) -> None:
    assert find_dates("morgen", anchor)[0].value == anchor + timedelta(days=1)
    assert find_dates("tomorrow", anchor)[0].value == anchor + timedelta(days=1)


@given(
    anchors, st.sampled_from(["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "friday", "monday"])
)
def test_weekday_is_within_the_coming_week(anchor: date, day: str) -> None:
    value = find_dates(day, anchor)[0].value
    assert 0 <= (value - anchor).days <= 6


@given(anchors, st.sampled_from(["volgende week dinsdag", "next week Thursday", "volgende week"]))
def test_next_week_lands_in_the_next_iso_week(anchor: date, text: str) -> None:
    value = find_dates(text, anchor)[0].value
    this_week = anchor.isocalendar()
    assert (value - timedelta(days=7)).isocalendar()[:2] == this_week[:2]


@given(anchors)
def test_end_of_month_is_the_last_day(anchor: date) -> None:
    value = find_dates("eind van de maand", anchor)[0].value
    assert value.month == anchor.month and (value + timedelta(days=1)).day == 1
