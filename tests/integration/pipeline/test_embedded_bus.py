"""The embedded bus and worker on the real databases (SQLite and PostgreSQL): at-least-once delivery, leases,
ordering per key, retries with backoff, dead letters with reasons, replay, and idempotent reuse of results.

Stages here are small fakes at our own Stage interface; the real stages run in the end-to-end tests.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dealtalk.contracts.config import BusSettings
from dealtalk.contracts.documents import BlobRef, MeetingInfo
from dealtalk.contracts.errors import InvalidInput, TransientError
from dealtalk.contracts.events import AudioStored, RecordingDiscovered, dump_event, new_trace_id
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.dead_letters import list_dead_letters, replay_dead_letter
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker
from dealtalk.pipeline.store import Database, open_database
from dealtalk.pipeline.store.schema import BusMessageRow

TOPIC = "recordings.discovered"
FAST = BusSettings(
    lease_s=5, heartbeat_s=1, max_attempts=3, backoff_base_s=0.05, backoff_max_s=0.2, poll_interval_s=0.02
)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def discovered(recording_id: str) -> RecordingDiscovered:
    return RecordingDiscovered(
        recording_id=recording_id,
        trace_id=new_trace_id(),
        source="local",
        source_ref=f"/in/{recording_id}.flac",
        meeting=MeetingInfo(subject="call"),
    )


def enqueue(bus: EmbeddedBus, *events: RecordingDiscovered) -> None:
    for event in events:
        bus.publish_now(TOPIC, event.recording_id, dump_event(event), {"trace_id": event.trace_id})


def fetch_stage(run: Callable[[RecordingDiscovered], AudioStored], version: str = "v1") -> Stage[Any, Any]:
    def persist(_session: Session, _event: RecordingDiscovered, _output: AudioStored) -> None:
        return None

    return Stage(name="fetch", consumes=RecordingDiscovered, run=run, version=version, persist=persist)


def stored(event: RecordingDiscovered) -> AudioStored:
    return AudioStored(**event.follow(), audio=BlobRef(sha256="c" * 64, size_bytes=1), meeting=event.meeting)


def test_ordering_per_key_and_leases(database: Database) -> None:
    bus = EmbeddedBus(database, BusSettings(lease_s=0.3))
    enqueue(bus, discovered("A"), discovered("A"), discovered("B"))
    first = bus.claim([TOPIC], "w1")
    assert first is not None and first.key == "A" and first.attempt == 1
    second = bus.claim([TOPIC], "w2")
    assert second is not None and second.key == "B"  # A's second message waits for A's first
    assert bus.claim([TOPIC], "w3") is None
    time.sleep(0.4)  # w1 "died": its lease expires and the message comes back, counted as a second delivery
    again = bus.claim([TOPIC], "w3")
    assert again is not None and again.message_id == first.message_id and again.attempt == 2
    with database.session() as session:
        bus.complete(session, again, "w3")
    after = bus.claim([TOPIC], "w4")
    assert after is not None and after.key == "A" and after.message_id != first.message_id


def test_concurrent_workers_process_each_message_once_in_key_order(database: Database) -> None:
    bus = EmbeddedBus(database, FAST)
    events = [discovered(f"rec-{i % 5}") for i in range(40)]
    enqueue(bus, *events)
    ran: dict[str, list[str]] = defaultdict(list)
    busy: set[str] = set()
    overlaps: list[str] = []
    lock = threading.Lock()

    def run(event: RecordingDiscovered) -> AudioStored:
        with lock:
            if event.recording_id in busy:
                overlaps.append(event.recording_id)
            busy.add(event.recording_id)
        time.sleep(0.01)
        with lock:
            busy.discard(event.recording_id)
            ran[event.recording_id].append(event.event_id)
        return stored(event)

    workers = [EmbeddedWorker(bus, [fetch_stage(run)], FAST, worker_id=f"w{i}") for i in range(4)]
    threads = [threading.Thread(target=worker.run, kwargs={"burst": True}) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == []  # never two workers on one recording at once
    first_per_key: dict[str, str] = {}
    for event in events:
        first_per_key.setdefault(event.recording_id, event.event_id)
    # Each recording ran once, on its first message; its later messages reused the stored result.
    assert dict(ran.items()) == {key: [first] for key, first in first_per_key.items()}
    assert sum(w.stats.processed for w in workers) == len(events)
    assert sum(w.stats.reused for w in workers) == len(events) - len(first_per_key)
    with database.session() as session:
        left = session.scalar(
            select(func.count())
            .select_from(BusMessageRow)
            .where(BusMessageRow.topic == TOPIC, BusMessageRow.status == "pending")
        )
        handed_on = session.scalar(
            select(func.count()).select_from(BusMessageRow).where(BusMessageRow.topic == "audio.stored")
        )
    assert left == 0
    assert handed_on == len(events)  # every input's output went on to the next stage's topic


def test_transient_failures_retry_with_backoff_then_dead_letter(database: Database) -> None:
    bus = EmbeddedBus(database, FAST)
    enqueue(bus, discovered("flaky"))
    attempts: list[float] = []

    def run(event: RecordingDiscovered) -> AudioStored:
        attempts.append(time.monotonic())
        raise TransientError("Dataverse answered 503")

    stats = EmbeddedWorker(bus, [fetch_stage(run)], FAST).run(burst=True)
    assert len(attempts) == FAST.max_attempts
    assert attempts[1] - attempts[0] >= FAST.backoff_base_s * 0.9  # waited before retrying
    assert stats.retried == FAST.max_attempts - 1 and stats.dead_lettered == 1
    (letter,) = list_dead_letters(bus)
    assert letter.recording_id == "flaky" and letter.stage == "fetch" and letter.attempt == FAST.max_attempts
    assert "gave up after 3 attempts" in letter.reason and "503" in letter.reason


def test_poison_message_is_dead_lettered_at_once_and_does_not_block_its_key(database: Database) -> None:
    bus = EmbeddedBus(database, FAST)
    bus.publish_now(TOPIC, "rec-p", '{"schema_version": 1, "type": "recording.discovered"', {})
    bus.publish_now(TOPIC, "rec-p", dump_event(discovered("rec-p")), {})
    bad = discovered("rec-bad")
    enqueue(bus, bad)
    calls: list[str] = []

    def run(event: RecordingDiscovered) -> AudioStored:
        calls.append(event.recording_id)
        if event.recording_id == "rec-bad":
            raise InvalidInput("the recording file is empty (0 bytes)")
        return stored(event)

    stats = EmbeddedWorker(bus, [fetch_stage(run)], FAST).run(burst=True)
    assert sorted(calls) == ["rec-bad", "rec-p"]  # the poison message never reached the stage
    assert stats.dead_lettered == 2 and stats.processed == 1
    reasons = {letter.recording_id: letter for letter in list_dead_letters(bus)}
    assert "not valid JSON" in reasons["rec-p"].reason and reasons["rec-p"].attempt == 1
    assert "empty (0 bytes)" in reasons["rec-bad"].reason and not reasons["rec-bad"].reason.startswith(
        "gave up"
    )


def test_replay_after_the_cause_is_fixed(database: Database) -> None:
    bus = EmbeddedBus(database, FAST)
    enqueue(bus, discovered("rec-r"))
    broken = {"yes": True}

    def run(event: RecordingDiscovered) -> AudioStored:
        if broken["yes"]:
            raise InvalidInput("opportunity not found")
        return stored(event)

    worker = EmbeddedWorker(bus, [fetch_stage(run)], FAST)
    worker.run(burst=True)
    (letter,) = list_dead_letters(bus)
    broken["yes"] = False
    replay_dead_letter(bus, letter.id, actor="test")
    with pytest.raises(InvalidInput, match="already replayed"):
        replay_dead_letter(bus, letter.id, actor="test")
    stats = worker.run(burst=True)
    assert stats.processed == 1
    assert list_dead_letters(bus) == []


def test_redelivered_message_reuses_the_stored_result(database: Database) -> None:
    bus = EmbeddedBus(database, FAST)
    event = discovered("rec-once")
    calls: list[str] = []

    def run(incoming: RecordingDiscovered) -> AudioStored:
        calls.append(incoming.event_id)
        return stored(incoming)

    worker = EmbeddedWorker(bus, [fetch_stage(run)], FAST)
    enqueue(bus, event)
    worker.run(burst=True)
    enqueue(bus, event)  # the same message again, as after a crash between effect and acknowledgement
    stats = worker.run(burst=True)
    assert calls == [event.event_id]
    assert stats.reused == 1
    # A new model version is new work.
    EmbeddedWorker(bus, [fetch_stage(run, version="v2")], FAST).run(burst=True)
    enqueue(bus, event)
    EmbeddedWorker(bus, [fetch_stage(run, version="v2")], FAST).run(burst=True)
    assert len(calls) == 2


def test_heartbeat_keeps_a_long_job_leased(database: Database) -> None:
    settings = BusSettings(lease_s=0.6, heartbeat_s=0.1, poll_interval_s=0.02, max_attempts=3)
    bus = EmbeddedBus(database, settings)
    enqueue(bus, discovered("rec-long"))
    stolen: list[object] = []

    def run(event: RecordingDiscovered) -> AudioStored:
        deadline = time.monotonic() + 1.5  # longer than the lease: only the heartbeat keeps it ours
        while time.monotonic() < deadline:
            stolen.append(bus.claim([TOPIC], "thief"))
            time.sleep(0.1)
        return stored(event)

    stats = EmbeddedWorker(bus, [fetch_stage(run)], settings).run(burst=True)
    assert stats.processed == 1
    assert all(item is None for item in stolen)


def test_second_record_of_the_same_result_is_a_no_op(database: Database) -> None:
    from dealtalk.pipeline.runtime.handler import Done, record_success
    from dealtalk.pipeline.store.schema import AuditRow, StageResultRow

    event = discovered("rec-dup")
    done = Done(event=event, output=stored(event), reused=False)
    stage = fetch_stage(stored)
    with database.session() as session:
        record_success(session, stage, done, actor="w1")
    with database.session() as session:
        record_success(session, stage, done, actor="w2")  # a late duplicate: swallowed by its savepoint
        session.add(AuditRow(recording_id="rec-dup", actor="w2", action="after", detail={}))
    with database.session() as session:
        results = session.scalar(select(func.count()).select_from(StageResultRow))
        actions = sorted(session.scalars(select(AuditRow.action)))
    assert results == 1
    assert actions == ["after", "stage.fetch"]
