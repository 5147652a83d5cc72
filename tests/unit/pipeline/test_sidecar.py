"""Local ingest: sidecars become meetings with roles; a bad sidecar is reported, not guessed around."""

from __future__ import annotations

import json
from pathlib import Path

from dealtalk.contracts.config import TenantSettings
from dealtalk.contracts.events import RecordingDiscovered
from dealtalk.ingest.local_folder import SidecarProblem, discover_folder

TENANT = TenantSettings(internal_domains=("schoonenberg.nl",))
EXTENSIONS = (".flac", ".wav")


def write_call(folder: Path, name: str, sidecar: dict[str, object] | None) -> Path:
    audio = folder / f"{name}.flac"
    audio.write_bytes(b"fLaC" + name.encode())
    if sidecar is not None:
        (folder / f"{name}.meeting.json").write_text(json.dumps(sidecar))
    return audio


def test_roles_from_the_tenant_domains(tmp_path: Path) -> None:
    write_call(
        tmp_path,
        "call",
        {
            "recording_id": "rec-42",
            "subject": "Offerte",
            "start_time": "2026-11-16T10:00:00+01:00",
            "organizer": {"name": "Eva de Vries", "email": "eva.devries@schoonenberg.nl"},
            "attendees": [
                {"name": "Pieter van Dam", "email": "p.vandam@zuidhaven.nl"},
                {"name": "Mark Jansen", "email": "Mark.Jansen@Schoonenberg.NL"},
                {"name": "Dial-in user"},
            ],
            "locale": "nl-NL",
        },
    )
    (event,) = discover_folder(tmp_path, extensions=EXTENSIONS, tenant=TENANT)
    assert isinstance(event, RecordingDiscovered)
    assert event.recording_id == "rec-42"
    roles = {p.name: p.role for p in event.meeting.participants}
    assert roles == {
        "Eva de Vries": "seller",
        "Pieter van Dam": "customer",
        "Mark Jansen": "seller",
        "Dial-in user": "unknown",
    }
    assert event.meeting.locale == "nl-NL"


def test_sidecar_with_missing_fields_is_reported(tmp_path: Path) -> None:
    write_call(tmp_path, "call", {"recording_id": "rec-1", "subject": "no organizer, no start"})
    (problem,) = discover_folder(tmp_path, extensions=EXTENSIONS, tenant=TENANT)
    assert isinstance(problem, SidecarProblem)
    assert "organizer: Field required" in problem.reason
    assert "start_time: Field required" in problem.reason


def test_sidecar_that_is_not_json_is_reported(tmp_path: Path) -> None:
    audio = write_call(tmp_path, "call", None)
    audio.with_name("call.meeting.json").write_text("{not json")
    (problem,) = discover_folder(tmp_path, extensions=EXTENSIONS, tenant=TENANT)
    assert isinstance(problem, SidecarProblem) and "invalid" in problem.reason


def test_no_sidecar_still_processes_with_a_content_id(tmp_path: Path) -> None:
    write_call(tmp_path, "a", None)
    write_call(tmp_path, "b", None)
    events = list(discover_folder(tmp_path, extensions=EXTENSIONS, tenant=TENANT))
    ids = [e.recording_id for e in events if isinstance(e, RecordingDiscovered)]
    assert len(ids) == 2 and all(i.startswith("local-") for i in ids) and ids[0] != ids[1]


def test_other_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert list(discover_folder(tmp_path, extensions=EXTENSIONS, tenant=TENANT)) == []
