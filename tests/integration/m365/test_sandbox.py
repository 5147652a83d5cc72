"""The sandbox tenant the demo uses, without the models: start it, discover, fetch, publish, restart, publish again."""

from __future__ import annotations

from pathlib import Path

from dealtalk.contracts.config import Settings
from dealtalk.contracts.events import RecordingDiscovered
from dealtalk.emulators.launcher import start_sandbox
from dealtalk.ingest.graph.factory import load_graph_fetcher, load_graph_ingest, load_graph_session
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.publisher.dataverse.factory import dataverse_client
from dealtalk.publisher.dataverse.provision import provision
from dealtalk.publisher.factory import load_crm_reader, load_publisher, load_resolver
from dealtalk.publisher.schema import ActivitySchema
from tests.unit.publisher.builders import build_result


def _publish_zuidhaven(settings: Settings, event: RecordingDiscovered) -> str:
    reader = load_crm_reader(settings)
    publisher = load_publisher(settings, reader=reader)
    try:
        link = load_resolver(settings, reader=reader).resolve(event.meeting)
        assert link.method == "appointment"
        receipt = publisher.publish(
            build_result(call_id=event.recording_id),
            recording_id=event.recording_id,
            meeting=event.meeting,
            link=link,
        )
    finally:
        publisher.close()  # type: ignore[attr-defined]
        reader.close()  # type: ignore[attr-defined]
    return receipt.activity_id


def test_sandbox_runs_twice_without_a_second_activity(tmp_path: Path) -> None:
    base = Settings.load(data_dir=tmp_path / "data")
    activity_ids = []
    for _run in range(2):
        with start_sandbox(tmp_path / "emulators") as box:
            settings = box.settings(base)
            with dataverse_client(settings) as client:
                provision(client, ActivitySchema.from_settings(settings.publisher), poll_s=0.1)
            events: list[RecordingDiscovered] = []
            session = load_graph_session(settings)
            try:
                load_graph_ingest(settings, emit=events.append, session=session).discovery.run_delta_sync()
                if not events:  # the second run saw them all before; the event itself is rebuilt for the test
                    state = settings.data_dir / "graph" / "state.json"
                    state.unlink()
                    load_graph_ingest(
                        settings, emit=events.append, session=session
                    ).discovery.run_delta_sync()
                zuidhaven = next(e for e in events if e.recording_id == "rec-2026-11-16-zuidhaven")
                fetched = load_graph_fetcher(settings, session=session).fetch(
                    zuidhaven, LocalBlobStore(tmp_path / "blobs")
                )
                assert fetched.teams_transcript is not None and fetched.audio.size_bytes > 1_000_000
            finally:
                session.close()
            activity_ids.append(_publish_zuidhaven(settings, zuidhaven))
            rows = box.dataverse_rows()
            assert len(rows["dt_callinsights"]) == 1
            assert box.dump(tmp_path / "rows.json") == sum(len(v) for v in rows.values())
    assert activity_ids[0] == activity_ids[1]
