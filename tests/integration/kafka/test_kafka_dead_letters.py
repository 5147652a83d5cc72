"""Poison messages on the real broker: each becomes a dead letter with its reason, its partition keeps flowing,
and ``dealtalk dlq`` lists, shows and replays them (once)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dealtalk.cli.commands.common import console
from dealtalk.cli.main import app
from dealtalk.contracts.config import BusSettings, KafkaSettings
from dealtalk.contracts.documents import BlobRef
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import AudioStored, RecordingDiscovered, dump_event
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.pipeline.bus.kafka.dead_letters import (
    list_kafka_dead_letters,
    replay_kafka_dead_letter,
    show_kafka_dead_letter,
)
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.runtime.kafka.worker import KafkaWorker
from dealtalk.pipeline.store import Database
from tests.support.kafka_stages import (
    Calls,
    discovered,
    fetch_stage,
    read_topic,
    send_events,
    send_raw,
    transcribe_stage,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def test_poison_messages_are_dead_lettered_with_reasons_and_never_block_their_partition(
    kafka: KafkaSettings,
    bus: BusSettings,
    database: Database,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = Calls()
    names = TopicNames.from_settings(kafka)
    blobs = LocalBlobStore(tmp_path / "blobs")
    fetch_topic, audio_topic = names.of_event(RecordingDiscovered), names.of_event(AudioStored)
    valid = discovered("p")
    oversized = json.dumps(
        {"schema_version": 1, "type": "recording.discovered", "pad": "x" * 300_000}
    ).encode()
    # The stage reads the audio behind its claim check, like the real transcribe stage does.
    missing_audio = AudioStored(
        **discovered("m").follow(), audio=BlobRef(sha256="f" * 64, size_bytes=10), meeting=valid.meeting
    )
    headers = {"trace_id": "trace-p", "custom": "kept"}

    def read_audio(event: AudioStored) -> None:
        if event.recording_id == "m":
            blobs.read_bytes(event.audio)

    async def scenario() -> None:
        # All keyed "p": one partition, poison first, the valid message last.
        for value in (
            b"{not json",
            json.dumps({"schema_version": 99, "type": "recording.discovered"}).encode(),
            oversized,
            json.dumps({"schema_version": 1, "type": "recording.discovered"}).encode(),
            dump_event(missing_audio).encode(),  # a valid event on the wrong topic
        ):
            await send_raw(kafka, fetch_topic, "p", value, headers)
        await send_events(kafka, [valid])
        await send_raw(kafka, audio_topic, "m", dump_event(missing_audio).encode(), headers)
        worker = KafkaWorker(
            [fetch_stage(calls), transcribe_stage(calls, read_audio)], database=database, kafka=kafka, bus=bus
        )
        stats = await worker.run(burst=True)
        assert stats.dead_lettered == 6

    asyncio.run(scenario())
    assert (
        calls.count("fetch", "p") == 1 and calls.count("transcribe", "p") == 1
    )  # the partition kept flowing
    letters = asyncio.run(list_kafka_dead_letters(kafka, database))
    reasons = sorted(letter.failed.reason for letter in letters if letter.failed)
    assert len(reasons) == 6
    expected = [
        "blob ffffffffffff is missing from the blob store",
        "event of 300",  # the oversized record
        "event type 'audio.stored' arrived on topic",
        "message is not valid JSON",
        "message violates the event schema",
        "unsupported schema_version 99",
    ]
    for fragment in expected:
        assert any(fragment in reason for reason in reasons), (fragment, reasons)
    for letter in letters:
        assert letter.failed is not None and letter.failed.attempt == 1 and not letter.failed.retriable
        assert letter.headers["custom"] == "kept" and letter.headers["trace_id"] == "trace-p"
        assert letter.headers["dlq_stage"] in ("fetch", "transcribe")
        assert letter.headers["dlq_reason"] == letter.failed.reason[:1000]
    big = next(letter for letter in letters if letter.failed and "event of 300" in letter.failed.reason)
    assert big.truncated and int(big.headers["dlq_original_bytes"]) == len(oversized)
    assert len(big.failed.original.encode()) <= 64 * 1024 if big.failed else False
    dead_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job dead")]
    assert len(dead_lines) == 6 and all("error=InvalidInput" in line for line in dead_lines)
    with pytest.raises(InvalidInput, match="cannot be replayed"):
        asyncio.run(replay_kafka_dead_letter(kafka, database, big.id, actor="test"))


def test_replay_sends_the_original_back_once_after_the_cause_is_fixed(
    kafka: KafkaSettings, bus: BusSettings, database: Database
) -> None:
    calls = Calls()
    names = TopicNames.from_settings(kafka)
    broken = {"yes": True}

    def refuse_while_broken(event: Any) -> None:
        if broken["yes"]:
            raise InvalidInput("the opportunity does not exist")

    def worker() -> KafkaWorker:
        return KafkaWorker([fetch_stage(calls, refuse_while_broken)], database=database, kafka=kafka, bus=bus)

    async def scenario() -> str:
        await send_events(kafka, [discovered("fixable")])
        await worker().run(burst=True)
        (letter,) = await list_kafka_dead_letters(kafka, database)
        broken["yes"] = False
        await replay_kafka_dead_letter(kafka, database, letter.id, actor="test")
        stats = await worker().run(burst=True)
        assert stats.processed == 1
        return letter.id

    letter_id = asyncio.run(scenario())
    assert calls.count("fetch", "fixable") == 2
    assert [r.key.decode() for r in asyncio.run(read_topic(kafka, names.of_event(AudioStored)))] == [
        "fixable"
    ]
    with pytest.raises(InvalidInput, match="already replayed"):
        asyncio.run(replay_kafka_dead_letter(kafka, database, letter_id, actor="test"))
    assert (
        asyncio.run(list_kafka_dead_letters(kafka, database)) == []
    )  # replayed letters are hidden by default
    shown = asyncio.run(show_kafka_dead_letter(kafka, letter_id, database))
    assert shown.replayed_at is not None


def test_dlq_cli_lists_shows_and_replays_kafka_dead_letters(
    kafka: KafkaSettings,
    bus: BusSettings,
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = Calls()
    monkeypatch.setattr(console, "width", 200)  # the table's columns must not fold the words we look for

    def refuse(_event: Any) -> None:
        raise InvalidInput("bad audio: not a FLAC stream")

    async def scenario() -> None:
        await send_events(kafka, [discovered("cli-1")])
        await KafkaWorker([fetch_stage(calls, refuse)], database=database, kafka=kafka, bus=bus).run(
            burst=True
        )

    asyncio.run(scenario())
    env = {
        "DEALTALK_BUS__KIND": "kafka",
        "DEALTALK_DATA_DIR": str(tmp_path / "cli-data"),
        "DEALTALK_DATABASE__URL": str(database.engine.url),
        "DEALTALK_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "DEALTALK_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
        "DEALTALK_KAFKA__GROUP_PREFIX": kafka.group_prefix,
    }
    runner = CliRunner()
    listed = runner.invoke(app, ["dlq", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "cli-1" in listed.output and "bad audio" in listed.output
    (letter,) = asyncio.run(list_kafka_dead_letters(kafka, database))
    shown = runner.invoke(app, ["dlq", "show", letter.id], env=env)
    assert shown.exit_code == 0, shown.output
    # stdout only: a background Kafka client of an earlier test may log to stderr meanwhile.
    assert json.loads(shown.stdout)["reason"] == "recording cli-1: bad audio: not a FLAC stream"
    replayed = runner.invoke(app, ["dlq", "replay", letter.id], env=env)
    assert replayed.exit_code == 0 and "replayed dead letter" in replayed.output
    again = runner.invoke(app, ["dlq", "replay", letter.id], env=env)
    assert again.exit_code == 1 and "already replayed" in again.output
    unknown = runner.invoke(app, ["dlq", "show", "9:999"], env=env)
    assert unknown.exit_code == 1 and "no dead letter" in unknown.output
