"""The pure resolution rules: appointment matching, customer e-mails, choosing among open opportunities."""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.documents import MeetingInfo, Participant
from dealtalk.publisher.crm import Appointment, Opportunity
from dealtalk.publisher.rules import (
    customer_emails,
    is_guid,
    normalize_join_url,
    pick_appointment,
    pick_opportunity,
)

JOIN = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_ABC%40thread.v2/0"


def _opp(oid: str, owner: str, modified: str, *, is_open: bool = True) -> Opportunity:
    return Opportunity(oid, f"opp {oid}", "acc", owner, is_open, datetime.fromisoformat(modified))


def test_join_url_variants_of_one_meeting_compare_equal() -> None:
    variants = [
        JOIN,
        JOIN.replace("%3a", "%3A").replace("%40", "%40"),
        "https://teams.microsoft.com/l/meetup-join/19:meeting_ABC@thread.v2/0",
        JOIN + "?context=%7b%22Tid%22%3a%22x%22%7d",
        JOIN + "/",
    ]
    assert len({normalize_join_url(v) for v in variants}) == 1
    assert normalize_join_url(JOIN) != normalize_join_url(JOIN.replace("ABC", "XYZ"))


@given(st.text(max_size=60))
def test_join_url_encoding_case_and_query_never_change_the_meeting(thread: str) -> None:
    encoded = urllib.parse.quote(thread, safe="")  # upper-case hex escapes
    url = f"https://teams.microsoft.com/l/meetup-join/{encoded}/0"
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), url)
    normalized = normalize_join_url(url)
    assert normalize_join_url(lower_hex) == normalized
    assert normalize_join_url(url + "?context=%7B%7D") == normalized
    assert normalized == normalized.lower()


def test_customer_emails_skip_internal_domains_and_duplicates() -> None:
    meeting = MeetingInfo(
        organizer=Participant(name="Eva", email="Eva@Schoonenberg.nl"),
        attendees=(
            Participant(name="Pieter", email="P.vanDam@zuidhaven.nl "),
            Participant(name="Pieter again", email="p.vandam@zuidhaven.nl"),
            Participant(name="No mail"),
        ),
    )
    assert customer_emails(meeting, ["schoonenberg.nl"]) == ("p.vandam@zuidhaven.nl",)


def test_appointment_must_match_and_regard_an_opportunity() -> None:
    meeting = MeetingInfo(join_url=JOIN.upper().replace("HTTPS", "https"), online_meeting_id="other")
    matching = Appointment("a1", "s", "opp-1", None, JOIN, None)
    not_regarding = Appointment("a2", "s", None, "other", JOIN, None)
    elsewhere = Appointment("a3", "s", "opp-3", "nope", "https://teams.microsoft.com/l/x", None)
    assert pick_appointment([not_regarding, elsewhere, matching], meeting) == matching
    assert pick_appointment([not_regarding, elsewhere], meeting) is None


def test_recurring_meeting_picks_the_occurrence_closest_in_time() -> None:
    start = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    meeting = MeetingInfo(online_meeting_id="m", start_time=start)
    last_week = Appointment("a1", "s", "opp-1", "m", None, datetime(2026, 11, 9, 9, 0, tzinfo=UTC))
    today = Appointment("a2", "s", "opp-2", "m", None, datetime(2026, 11, 16, 9, 5, tzinfo=UTC))
    assert pick_appointment([last_week, today], meeting) == today


def test_single_open_opportunity_wins_whoever_owns_it() -> None:
    choice = pick_opportunity([_opp("1", "someone", "2026-01-01T00:00:00+00:00")], organizer_user_ids=["me"])
    assert choice is not None and choice.opportunity.id == "1"


def test_organizers_opportunity_beats_a_more_recent_one() -> None:
    mine = _opp("1", "me", "2026-01-01T00:00:00+00:00")
    newer = _opp("2", "other", "2026-06-01T00:00:00+00:00")
    choice = pick_opportunity([newer, mine], organizer_user_ids=["ME"])
    assert choice is not None and choice.opportunity == mine
    assert "owned by the organizer" in choice.reason


def test_several_owned_by_organizer_take_the_most_recent() -> None:
    old = _opp("1", "me", "2026-01-01T00:00:00+00:00")
    new = _opp("2", "me", "2026-06-01T00:00:00+00:00")
    choice = pick_opportunity([old, new], organizer_user_ids=["me"])
    assert choice is not None and choice.opportunity == new


def test_no_owner_match_takes_most_recent_and_ties_break_by_id() -> None:
    a = _opp("b", "x", "2026-06-01T00:00:00+00:00")
    b = _opp("a", "y", "2026-06-01T00:00:00+00:00")
    first = pick_opportunity([a, b])
    second = pick_opportunity([b, a])
    assert first is not None and second is not None
    assert first.opportunity.id == second.opportunity.id == "a"


def test_closed_opportunities_are_never_picked() -> None:
    assert pick_opportunity([_opp("1", "me", "2026-01-01T00:00:00+00:00", is_open=False)]) is None
    assert pick_opportunity([]) is None


def test_is_guid() -> None:
    assert is_guid("680f89c8-b972-592e-9050-7e61dacce2d0")
    assert is_guid("680F89C8-B972-592E-9050-7E61DACCE2D0")
    assert not is_guid("680f89c8b972592e90507e61dacce2d0")
    assert not is_guid("opportunity-1")
    assert not is_guid("680f89c8-b972-592e-9050-7e61dacce2d0\n")
