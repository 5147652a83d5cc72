"""Organizers from UPNs and a group: the merge, the setting, and the errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError, RetryLater, TransientError
from dealtalk.ingest.graph.errors import GraphFailure, group_members_error
from dealtalk.ingest.graph.factory import load_graph_ingest
from dealtalk.ingest.graph.organizers import is_object_id, merge_organizer_ids

EVA = "5f0a3c2e-8b1d-4e7f-9a6b-0c1d2e3f4a5b"
MARK = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
SANNE = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
GROUP = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_merge_keeps_first_seen_order_and_drops_duplicates() -> None:
    assert merge_organizer_ids([EVA, MARK], [MARK, SANNE, EVA]) == [EVA, MARK, SANNE]


def test_merge_compares_object_ids_case_insensitively() -> None:
    assert merge_organizer_ids([EVA.upper()], [f" {EVA} ", MARK.upper()]) == [EVA, MARK]


def test_merge_of_nothing_or_blanks_is_empty() -> None:
    assert merge_organizer_ids() == []
    assert merge_organizer_ids([], ["", "  "]) == []
    assert merge_organizer_ids([], [SANNE]) == [SANNE]  # a group alone


def test_object_ids_are_told_from_upns() -> None:
    assert is_object_id(EVA) and is_object_id(EVA.upper())
    assert not is_object_id("eva.devries@schoonenberg.nl")
    assert not is_object_id(EVA + "0") and not is_object_id("")


def test_group_setting_takes_an_object_id(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, graph={"organizer_group_id": f" {GROUP} "})
    assert settings.graph.organizer_group_id == GROUP
    assert Settings.load(data_dir=tmp_path).graph.organizer_group_id == ""
    with pytest.raises(ValidationError, match="Object ID"):
        Settings.load(data_dir=tmp_path, graph={"organizer_group_id": "Sales NL"})


def test_group_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEALTALK_GRAPH__ORGANIZER_GROUP_ID", GROUP)
    assert Settings.load(data_dir=tmp_path).graph.organizer_group_id == GROUP


def test_neither_upns_nor_group_is_a_configuration_error(tmp_path: Path) -> None:
    graph = {"tenant_id": "t", "client_id": "c", "client_secret": "s"}
    with pytest.raises(ConfigurationError, match="DEALTALK_GRAPH__ORGANIZER_GROUP_ID"):
        load_graph_ingest(Settings.load(data_dir=tmp_path, graph=graph), emit=lambda event: None)


def test_group_errors_name_the_permission_and_the_setting() -> None:
    denied = group_members_error(
        GraphFailure(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        ),
        GROUP,
        client_id="app",
    )
    assert isinstance(denied, ConfigurationError) and not denied.retriable
    assert "GroupMember.Read.All" in str(denied) and GROUP in str(denied)
    missing = group_members_error(
        GraphFailure(404, "Request_ResourceNotFound", "gone"), GROUP, client_id="app"
    )
    assert isinstance(missing, ConfigurationError)
    assert f"No group has the object id {GROUP}" in str(missing)
    assert "DEALTALK_GRAPH__ORGANIZER_GROUP_ID" in str(missing)


def test_other_group_failures_map_like_any_graph_failure() -> None:
    throttled = group_members_error(GraphFailure(429, "TooManyRequests", "slow", "12"), GROUP, client_id="a")
    assert isinstance(throttled, RetryLater) and throttled.defer_s == 12
    failing = group_members_error(GraphFailure(503, "serviceNotAvailable", "later"), GROUP, client_id="a")
    assert isinstance(failing, RetryLater)
    broken = group_members_error(GraphFailure(500, "generalException", "boom"), GROUP, client_id="a")
    assert isinstance(broken, TransientError) and GROUP in str(broken)
