"""The ASR's vocabulary for a call: people first, the tenant's terms, then the competitors most likely in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dealtalk.contracts.config import Settings, SpeechSettings, TenantSettings
from dealtalk.contracts.documents import MeetingInfo, Participant
from dealtalk.contracts.errors import TransientError
from dealtalk.ingest.local_folder import read_meeting
from dealtalk.pipeline.models_and_clients import ModelsAndClients
from dealtalk.pipeline.stages.transcribe import call_context
from dealtalk.samples import CALLS_DIR

NORTHWIND = CALLS_DIR / "call-en-northwind.flac"  # the fixture links it to an opportunity with rival ISS


def test_the_people_come_first_then_the_tenants_terms_then_the_competitors() -> None:
    meeting = MeetingInfo(attendees=(Participant(name="Marieke Verhoeven", role="customer"),))
    tenant = TenantSettings(vocabulary=("glasbewassing", "offerte"))
    context = call_context("rec", meeting, SpeechSettings(), tenant, ("Glansrijk", "offerte"))
    assert context.vocabulary == ("Marieke Verhoeven", "glasbewassing", "offerte", "Glansrijk")


def test_the_meetings_opportunity_puts_its_own_competitors_first(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path)
    with ModelsAndClients(settings) as models:
        meeting, _ = read_meeting(NORTHWIND, settings.tenant)
        names = models.hotword_competitors(meeting)
        assert names[0] == "ISS"
        assert set(names) == set(models.competitor_names()())  # the same names as the insights
        assert models.hotword_competitors(MeetingInfo())[: len(settings.nlp.competitors)] == (
            settings.nlp.competitors
        )


def test_a_crm_that_cannot_resolve_leaves_the_opportunitys_names_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.load(data_dir=tmp_path)
    with ModelsAndClients(settings) as models:
        meeting, _ = read_meeting(NORTHWIND, settings.tenant)

        def down(_meeting: MeetingInfo) -> object:
            raise TransientError("Dataverse answered 503 (down) after 5 retries")

        monkeypatch.setattr(models.resolver(), "resolve", down)
        assert models.hotword_competitors(meeting) == models.competitor_names().ranked(None)
    assert "opportunity is not known" in caplog.text and "Northwind" not in caplog.text


def test_without_the_crms_competitors_the_configured_names_alone(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, crm={"competitors_from_crm": False})
    with ModelsAndClients(settings) as models:
        meeting, _ = read_meeting(NORTHWIND, settings.tenant)
        assert models.hotword_competitors(meeting) == settings.nlp.competitors
