"""One call through all four real stages on each real database, and the schema migrations against the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from dealtalk.contracts.config import Settings
from dealtalk.pipeline.discovery import discover_local
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker
from dealtalk.pipeline.store import open_database
from dealtalk.pipeline.store.schema import Base, LinkRow, RiskRow, SegmentRow, SpeakerRow, WordRow
from dealtalk.samples import CALLS_DIR

FAST_SPEECH = {"asr_model": "whisper-tiny.en", "language": "en", "languages": ("en",), "voiceprints": False}


def test_migrations_match_the_models(database_url: str) -> None:
    database = open_database(database_url)
    try:
        with database.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        database.dispose()
    assert diff == []


@pytest.mark.models
def test_one_call_end_to_end_on_each_database(database_url: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = CALLS_DIR / "call-en-northwind.flac"
    samples, rate = sf.read(source, dtype="float32")
    sf.write(inbox / "northwind.flac", samples[: 40 * rate], rate, subtype="PCM_16")
    meeting = json.loads(source.with_name("call-en-northwind.meeting.json").read_text())
    (inbox / "northwind.meeting.json").write_text(json.dumps(meeting))

    settings = Settings.load(data_dir=tmp_path / "data", database={"url": database_url}, speech=FAST_SPEECH)
    resources = Resources.open(settings)
    try:
        discover_local(inbox, resources.outlet, resources.database, settings)
        stats = EmbeddedWorker(resources.bus, resources.stages(), settings.bus).run(burst=True)
        outcome = load_outcome(resources.database, resources.blobs, meeting["recording_id"])
        with resources.database.session() as session:
            counts = {
                table.__tablename__: session.scalar(select(func.count()).select_from(table))
                for table in (SpeakerRow, SegmentRow, WordRow, RiskRow)
            }
            link = session.get(LinkRow, meeting["recording_id"])
    finally:
        resources.close()
    assert stats.processed == 4 and stats.dead_lettered == 0
    assert outcome.status == "published" and outcome.result is not None and outcome.published is not None
    result = outcome.result
    assert counts["speakers"] == len(result.speakers) >= 2  # diarization found the voices
    assert counts["segments"] == len(result.segments) > 0
    assert counts["words"] == sum(len(s.words) for s in result.segments) > 0
    assert counts["risks"] == len(result.risks)
    assert {s.role for s in result.speakers} >= {"seller", "customer"}
    assert link is not None and link.method == "contact_account"
    assert outcome.published.activity_id
