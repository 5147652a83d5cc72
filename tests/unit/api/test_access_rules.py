"""Pure parts of the API's access control and queries: team scope, cursors, CSV safety, exposure guard."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dealtalk.api.auth.principal import Principal, Role, roles_from_claim
from dealtalk.api.directory import Directory
from dealtalk.api.export import csv_chunks
from dealtalk.api.filters import decode_cursor, encode_cursor
from dealtalk.api.problems import Problem
from dealtalk.api.scope import scope_for
from dealtalk.contracts.api_settings import ApiSettings

DIRECTORY = Directory.from_rows(
    {
        "systemusers": [
            {"systemuserid": "boss", "azureactivedirectoryobjectid": "OID-BOSS"},
            {"systemuserid": "lead", "_parentsystemuserid_value": "boss"},
            {"systemuserid": "rep", "_parentsystemuserid_value": "lead"},
            {"systemuserid": "other"},
            # A cycle in the CRM data must not hang the team walk.
            {"systemuserid": "a", "_parentsystemuserid_value": "b"},
            {"systemuserid": "b", "_parentsystemuserid_value": "a"},
        ],
        "opportunities": [
            {"opportunityid": "o-rep", "_ownerid_value": "rep", "_parentaccountid_value": "acc1"},
            {"opportunityid": "o-lead", "_ownerid_value": "lead", "_parentaccountid_value": "acc2"},
            {"opportunityid": "o-other", "_ownerid_value": "other", "_parentaccountid_value": "acc1"},
        ],
    }
)


def _principal(*roles: Role, systemuser: str | None = None, pid: str = "p1") -> Principal:
    return Principal(kind="bearer", id=pid, name="n", roles=frozenset(roles), systemuser_id=systemuser)


def test_a_manager_sees_everyone_below_them() -> None:
    assert DIRECTORY.team("boss") == {"boss", "lead", "rep"}
    assert DIRECTORY.team("a") == {"a", "b"}
    scope = scope_for(_principal("manager", systemuser="lead"), DIRECTORY, ApiSettings())
    assert scope.opportunity_ids == frozenset({"o-rep", "o-lead"}) and scope.transcripts
    assert not scope.allows("o-other") and not scope.allows(None)
    assert DIRECTORY.user_for_oid("oid-boss") == "boss"


@pytest.mark.parametrize(
    ("roles", "systemuser", "grants", "everything", "transcripts"),
    [
        (("admin",), None, (), True, True),
        (("analyst",), None, (), True, False),
        (("analyst",), None, ("p1",), True, True),
        (("manager",), None, (), False, False),  # a manager unknown to the CRM sees nothing
        ((), None, (), False, False),
    ],
)
def test_scope_by_role(
    roles: tuple[Role, ...],
    systemuser: str | None,
    grants: tuple[str, ...],
    everything: bool,
    transcripts: bool,
) -> None:
    scope = scope_for(
        _principal(*roles, systemuser=systemuser), DIRECTORY, ApiSettings(transcript_grants=grants)
    )
    assert (scope.opportunity_ids is None) == everything and scope.transcripts == transcripts
    if not everything:
        assert scope.opportunity_ids == frozenset()


def test_roles_claim_keeps_only_dealtalk_roles() -> None:
    assert roles_from_claim(["analyst", "Admin", "reader", "manager"]) == {"analyst", "manager"}
    assert roles_from_claim("admin") == frozenset()


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    when = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    assert decode_cursor(encode_cursor(when, 42)) == (when, "42")
    for forged in ("!!", "bm90IGpzb24", encode_cursor(when, 1)[:-3], "WyIyMDI2LTExLTE2VDA5OjAwOjAwIiwiMSJd"):
        with pytest.raises(Problem):
            decode_cursor(forged)


def test_csv_export_defuses_spreadsheet_formulas() -> None:
    row = dict.fromkeys(
        ("id", "call_id", "discovered_at", "type", "severity", "confidence", "speaker", "start", "end"), "x"
    ) | {
        "segment_index": 1,
        "source": "s",
        "opportunity_id": None,
        "account_name": None,
        "owner_id": None,
        "quote": '=HYPERLINK("http://evil")',
        "explanation": "+1",
        "evidence_quality": 0.42,
    }
    text = b"".join(csv_chunks([row])).decode()
    assert "'=HYPERLINK" in text and "'+1" in text
