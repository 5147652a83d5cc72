"""The bus seam: only the composition root decides what the configured bus means; producers use the outlet."""

from __future__ import annotations

import re
from pathlib import Path

from dealtalk.contracts.config import BusSettings, KafkaSettings, Settings
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.bus.outlet import EmbeddedOutlet, KafkaOutlet
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.coordination import OutboxRow
from dealtalk.pipeline.store.schema import BusMessageRow
from tests.support.kafka_stages import discovered

REPO = Path(__file__).resolve().parents[3]
PRODUCT = (
    "contracts",
    "cli",
    "pipeline",
    "ingest",
    "api",
    "publisher",
    "nlp",
    "transcription",
    "models",
    "emulators",
)
# Where the bus kind may be read: its definition and the composition root.
ALLOWED = {Path("contracts/config.py"), Path("pipeline/resources.py")}


def test_no_module_but_the_composition_root_branches_on_the_bus_kind() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in PRODUCT
        for path in sorted((REPO / folder).rglob("*.py"))
        if path.relative_to(REPO) not in ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bbus\.kind\b", line)
    ]
    assert offenders == []


def test_the_composition_root_builds_the_outlet_for_the_configured_bus(tmp_path: Path) -> None:
    embedded = Resources.open(Settings.load(data_dir=tmp_path / "a"))
    kafka = Resources.open(Settings.load(data_dir=tmp_path / "b", bus={"kind": "kafka"}))
    try:
        assert isinstance(embedded.outlet, EmbeddedOutlet) and isinstance(kafka.outlet, KafkaOutlet)
        assert embedded.outbox_relay() is None
    finally:
        embedded.close()
        kafka.close()


def test_each_outlet_commits_the_event_with_the_caller_s_transaction(tmp_path: Path) -> None:
    resources = Resources.open(Settings.load(data_dir=tmp_path))
    try:
        event = discovered("rec-seam")
        names = TopicNames.from_settings(KafkaSettings(topic_prefix="p"))
        for outlet in (EmbeddedOutlet(EmbeddedBus(resources.database, BusSettings())), KafkaOutlet(names)):
            try:
                with resources.database.session() as session:
                    outlet.publish(
                        session, event, key=event.recording_id, headers={"trace_id": event.trace_id}
                    )
                    raise RuntimeError("the caller's transaction fails")
            except RuntimeError:
                pass
        with resources.database.session() as session:
            assert session.query(BusMessageRow).count() == 0 and session.query(OutboxRow).count() == 0
            KafkaOutlet(names).publish(session, event, key=event.recording_id, headers={})
        with resources.database.session() as session:
            (row,) = session.query(OutboxRow).all()
            assert (row.topic, row.key) == ("p.recordings.discovered", "rec-seam")
    finally:
        resources.close()
