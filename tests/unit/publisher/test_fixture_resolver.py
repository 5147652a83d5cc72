"""The resolver over the bundled CRM fixture links the three sample calls as the demo promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dealtalk.contracts.documents import MeetingInfo, Participant
from dealtalk.contracts.errors import ConfigurationError, InvalidInput
from dealtalk.publisher.fixture import FixtureCrmReader
from dealtalk.publisher.resolver import CrmOpportunityResolver

from .conftest import INTERNAL


@pytest.fixture
def resolver(fixture_reader: FixtureCrmReader) -> CrmOpportunityResolver:
    return CrmOpportunityResolver(fixture_reader, internal_domains=INTERNAL)


def test_zuidhaven_links_through_its_appointment(
    resolver: CrmOpportunityResolver, sample_meetings: dict[str, MeetingInfo]
) -> None:
    link = resolver.resolve(sample_meetings["zuidhaven"])
    assert link.method == "appointment"
    assert link.opportunity_id == "680f89c8-b972-592e-9050-7e61dacce2d0"
    assert link.account_name == "Gemeente Zuidhaven"
    assert "appointment" in link.detail


def test_zuidhaven_links_by_join_url_alone(
    resolver: CrmOpportunityResolver, sample_meetings: dict[str, MeetingInfo]
) -> None:
    meeting = sample_meetings["zuidhaven"].model_copy(update={"online_meeting_id": None})
    assert resolver.resolve(meeting).method == "appointment"


def test_northwind_takes_the_organizers_opportunity(
    resolver: CrmOpportunityResolver, sample_meetings: dict[str, MeetingInfo]
) -> None:
    link = resolver.resolve(sample_meetings["northwind"])
    assert link.method == "contact_account"
    assert link.opportunity_id == "927e481f-6952-58ca-a141-def117c3c896"
    assert "owned by the organizer" in link.detail


def test_brightlab_takes_the_most_recently_modified(
    resolver: CrmOpportunityResolver, sample_meetings: dict[str, MeetingInfo]
) -> None:
    link = resolver.resolve(sample_meetings["brightlab"])
    assert link.method == "contact_account"
    assert link.opportunity_id == "d97696e7-48a7-53cd-95a7-8e15c348dbd2"
    assert "most recently modified" in link.detail


def test_unknown_customers_stay_unlinked(resolver: CrmOpportunityResolver) -> None:
    meeting = MeetingInfo(
        subject="Kennismaking",
        organizer=Participant(name="Eva", email="eva.devries@schoonenberg.nl"),
        attendees=(Participant(name="Nieuw", email="iemand@onbekend.nl"),),
    )
    link = resolver.resolve(meeting)
    assert link.opportunity_id is None and link.method == "none"
    assert "matches a contact" in link.detail


def test_internal_only_meeting_stays_unlinked(resolver: CrmOpportunityResolver) -> None:
    meeting = MeetingInfo(attendees=(Participant(name="Mark", email="mark.jansen@schoonenberg.nl"),))
    assert resolver.resolve(meeting).method == "none"


def test_manual_link_validates_the_id(resolver: CrmOpportunityResolver) -> None:
    link = resolver.get_opportunity("927E481F-6952-58CA-A141-DEF117C3C896")
    assert link.method == "manual" and link.opportunity_id == "927e481f-6952-58ca-a141-def117c3c896"
    closed = resolver.get_opportunity("33f02771-e660-5f58-a3c4-cbdfb13e4387")
    assert "(closed)" in closed.detail
    with pytest.raises(InvalidInput, match="not a GUID"):
        resolver.get_opportunity("Northwind")
    with pytest.raises(InvalidInput, match="no opportunity with id"):
        resolver.get_opportunity("00000000-0000-0000-0000-000000000001")


def test_malformed_fixture_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "crm.json"
    bad.write_text(json.dumps({"opportunities": [{"name": "no id"}]}))
    with pytest.raises(ConfigurationError, match=r"opportunities\.0\.opportunityid"):
        FixtureCrmReader.from_path(bad)
    with pytest.raises(ConfigurationError, match="DEALTALK_CRM__FIXTURE_PATH"):
        FixtureCrmReader.from_path(tmp_path / "missing.json")
