"""The competitor names a call is analysed with: configured ∪ the CRM's, read once per TTL, kept when the CRM
is down."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from dealtalk.contracts.errors import TransientError
from dealtalk.publisher.competitors import CompetitorNames, merge_names
from dealtalk.publisher.crm import Competitor

DELTAZORG = "5b3faca1-d8d4-54f2-9088-2248e737c4ba"
NORTHWIND_SLA = "927e481f-6952-58ca-a141-def117c3c896"


class FakeCrm:
    """A competitor reader whose rows and health the test sets."""

    description = "the test CRM"

    def __init__(self) -> None:
        self.table: list[str] = ["Cleanfix"]
        self.by_opportunity: dict[str, list[str]] = {DELTAZORG: ["Vlekvrij"]}
        self.down = False
        self.reads = 0

    def competitors(self) -> Sequence[Competitor]:
        return self._answer(self.table)

    def opportunity_competitors(self, opportunity_id: str) -> Sequence[Competitor]:
        return self._answer(self.by_opportunity.get(opportunity_id, []))

    def _answer(self, names: list[str]) -> Sequence[Competitor]:
        self.reads += 1
        if self.down:
            raise TransientError("read the competitor table: Dataverse answered 503 (down) after 5 retries")
        return tuple(Competitor(f"id-{n}", n) for n in names)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_names_are_configured_then_the_crms_read_once_per_ttl() -> None:
    crm, clock = FakeCrm(), Clock()
    names = CompetitorNames(("Hago", "ISS"), crm, ttl_s=3600, clock=clock)
    assert names() == ("Hago", "ISS", "Cleanfix")
    crm.table = ["Cleanfix", "Nieuwkomer", "hago"]
    clock.now += 3599
    assert names() == ("Hago", "ISS", "Cleanfix") and crm.reads == 1  # cached
    clock.now += 2
    assert names() == ("Hago", "ISS", "Cleanfix", "Nieuwkomer") and crm.reads == 2  # no case duplicate


def test_an_opportunitys_own_competitors_are_added_and_cached() -> None:
    crm, clock = FakeCrm(), Clock()
    names = CompetitorNames(("Hago",), crm, ttl_s=60, clock=clock)
    assert names(DELTAZORG.upper()) == ("Hago", "Cleanfix", "Vlekvrij")
    assert names(DELTAZORG) == ("Hago", "Cleanfix", "Vlekvrij") and crm.reads == 2
    assert names(NORTHWIND_SLA) == ("Hago", "Cleanfix") and crm.reads == 3
    assert names() == ("Hago", "Cleanfix")


def test_a_crm_that_is_down_keeps_the_last_names_and_is_tried_again_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crm, clock = FakeCrm(), Clock()
    names = CompetitorNames(("Hago",), crm, ttl_s=3600, retry_s=120, clock=clock)
    assert names() == ("Hago", "Cleanfix")
    crm.down = True
    clock.now += 3601
    with caplog.at_level(logging.WARNING, logger="dealtalk.publisher.competitors"):
        assert names() == ("Hago", "Cleanfix")  # the previous list
    assert "could not read the competitor table from the test CRM" in caplog.text
    assert "using the last names read for 120 s" in caplog.text
    clock.now += 60
    assert names() == ("Hago", "Cleanfix") and crm.reads == 2  # not hammered while down
    crm.down = False
    crm.table = ["Cleanfix", "Nieuwkomer"]
    clock.now += 61
    assert names() == ("Hago", "Cleanfix", "Nieuwkomer") and crm.reads == 3


def test_a_crm_down_from_the_start_leaves_the_configured_names(caplog: pytest.LogCaptureFixture) -> None:
    crm, clock = FakeCrm(), Clock()
    crm.down = True
    names = CompetitorNames(("Hago", "ISS"), crm, ttl_s=3600, clock=clock)
    with caplog.at_level(logging.WARNING, logger="dealtalk.publisher.competitors"):
        assert names(DELTAZORG) == ("Hago", "ISS")
    assert "using the configured names for 300 s" in caplog.text  # retry: min(ttl, 5 min)


def test_without_a_crm_only_the_configured_names() -> None:
    assert CompetitorNames((" Hago", "ISS", "hago", ""), None, ttl_s=60)("x") == ("Hago", "ISS")
    assert merge_names(["a", "B"], ["A", " c "]) == ("a", "B", "c")


def test_ranked_names_put_the_opportunitys_own_first_for_the_asr() -> None:
    crm = FakeCrm()
    crm.table = ["Cleanfix", "Vlekvrij", "Glansrijk"]
    names = CompetitorNames(("Hago",), crm, ttl_s=3600, clock=Clock())
    assert names.ranked(DELTAZORG) == ("Vlekvrij", "Hago", "Cleanfix", "Glansrijk")
    assert names.ranked(None) == ("Hago", "Cleanfix", "Vlekvrij", "Glansrijk")
    # The insights' set is the same names, the configured ones first.
    assert set(names(DELTAZORG)) == set(names.ranked(DELTAZORG))
    assert CompetitorNames(("Hago",), None, ttl_s=3600).ranked(DELTAZORG) == ("Hago",)
