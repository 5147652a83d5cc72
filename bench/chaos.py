"""Chaos benchmark: SIGKILL Kafka worker processes at random moments and check that every call is published once.

What it runs (all real except two stages):

* the Kafka-protocol test broker (noida-db from the ``dev`` extra) on a free port with a fresh data dir;
* ``--workers`` worker processes (``KafkaWorker``, the product driver), each serving all four stages as a
  static group member ``chaos-w{slot}`` (the same id after every restart);
* stages: the REAL fetch stage (a unique small WAV per recording from a local folder into the blob store),
  FAKE transcribe and analyze stages (they write a small TranscriptDoc / InsightsDoc to the blob store after
  a random 20-200 ms sleep, standing in for the models), and the REAL publish stage: the CRM fixture resolver
  and the dry-run publisher from ``dealtalk.publisher.factory``, which writes the exact Dataverse upsert to
  one outbox file per recording. A thin wrapper journals every publish call (start and end, with the
  publisher's ``created`` flag) to an append-only file, so re-executions are counted from the sink side;
* one SQLite store shared by the workers (or ``--database-url``).

The feeder sends ``--recordings`` RecordingDiscovered events over about ``--feed-s`` seconds while the chaos loop
SIGKILLs a random worker ``--kills`` times at random moments and restarts it at once.

The test broker never evicts a SIGKILLed consumer from its group (shared/research/kafka.md); a real cluster
evicts it after ``session_timeout_ms``. The workaround here is the production setting, not a broker restart:
static membership (``DEALTALK_KAFKA__GROUP_INSTANCE_ID``, KIP-345). The restarted process rejoins under the
same instance id and takes its partitions back at once; the killed member's uncommitted work is redelivered to
it. Session timeouts are short (6 s) anyway.

At the end it checks every recording: published (publish result in the store, outbox file present and naming
the recording), duplicated (more than one activity *created* at the sink, or more than one distinct
CallPublished event on ``calls.published``), dead-lettered. The last line is exactly
``recordings=R kills=N lost=L duplicated=D dead_lettered=Q``.

Usage: ``python bench/chaos.py --kills 20`` (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import wave
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support: the test broker runner, shared with the test suite

from sqlalchemy import func, select  # noqa: E402

from bench.chaos_worker import JOURNAL_ENV  # noqa: E402
from dealtalk.contracts.config import Settings  # noqa: E402
from dealtalk.contracts.events import (  # noqa: E402
    CallPublished,
    RecordingDiscovered,
    dump_event,
    new_trace_id,
    parse_event,
)
from dealtalk.ingest.sidecar import MeetingSidecar, meeting_from_sidecar  # noqa: E402
from dealtalk.pipeline.bus.kafka.admin import KafkaAdmin  # noqa: E402
from dealtalk.pipeline.bus.kafka.dead_letters import list_kafka_dead_letters  # noqa: E402
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer  # noqa: E402
from dealtalk.pipeline.bus.kafka.reader import read_topic  # noqa: E402
from dealtalk.pipeline.bus.kafka.topics import TopicNames, topic_plan  # noqa: E402
from dealtalk.pipeline.store import Database, open_database  # noqa: E402
from dealtalk.pipeline.store.schema import PublicationRow, StageResultRow  # noqa: E402
from dealtalk.samples import CALLS_DIR  # noqa: E402
from tests.support.kafka_broker import TestBroker  # noqa: E402

SAMPLES = CALLS_DIR
STAGES = ("fetch", "transcribe", "analyze", "publish")


# --- the benchmark --------------------------------------------------------------------------------------


def _write_wav(path: Path, seed: int) -> None:
    """0.2 s of 8 kHz audio, unique per recording (the fetch stage refuses the same audio twice)."""
    rng = random.Random(seed)
    frames = b"".join(struct.pack("<h", rng.randint(-3000, 3000)) for _ in range(1600))
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(frames)


def _recordings(count: int, inbox: Path, settings: Settings) -> list[RecordingDiscovered]:
    sidecars = sorted(SAMPLES.glob("*.meeting.json"))
    meetings = [
        meeting_from_sidecar(MeetingSidecar.model_validate_json(p.read_bytes()), settings.tenant)
        for p in sidecars
    ]
    events = []
    for i in range(count):
        audio = inbox / f"chaos-{i:03d}.wav"
        _write_wav(audio, i)
        events.append(
            RecordingDiscovered(
                recording_id=f"chaos-{i:03d}",
                trace_id=new_trace_id(),
                source="local",
                source_ref=str(audio),
                meeting=meetings[i % len(meetings)],
            )
        )
    return events


def _env(work: Path, broker: TestBroker, prefix: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    env.update(
        DEALTALK_DATA_DIR=str(work / "data"),
        DEALTALK_DATABASE__URL=database_url,
        DEALTALK_BUS__KIND="kafka",
        DEALTALK_BUS__BACKOFF_BASE_S="0.5",
        DEALTALK_BUS__BACKOFF_MAX_S="4",
        DEALTALK_KAFKA__BOOTSTRAP_SERVERS=broker.bootstrap,
        DEALTALK_KAFKA__TOPIC_PREFIX=prefix,
        DEALTALK_KAFKA__GROUP_PREFIX=prefix,
        DEALTALK_KAFKA__PARTITIONS="6",
        DEALTALK_KAFKA__SESSION_TIMEOUT_MS="6000",
        DEALTALK_KAFKA__HEARTBEAT_INTERVAL_MS="500",
        DEALTALK_KAFKA__POLL_TIMEOUT_MS="100",
        DEALTALK_KAFKA__MAX_CONCURRENT_JOBS="2",
        DEALTALK_KAFKA__REBALANCE_GRACE_S="3",
        DEALTALK_KAFKA__SHUTDOWN_GRACE_S="3",
        **{JOURNAL_ENV: str(work / "publish-journal.jsonl")},
    )
    return env


class Workers:
    def __init__(self, count: int, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.restarts: Counter[int] = Counter()
        for slot in range(count):
            self.start(slot)

    def start(self, slot: int) -> None:
        env = {**self.env, "DEALTALK_KAFKA__GROUP_INSTANCE_ID": f"chaos-w{slot}"}
        with (self.logs / f"worker-{slot}.log").open("ab") as log:
            self.processes[slot] = subprocess.Popen(
                [sys.executable, str(REPO / "bench" / "chaos_worker.py"), str(slot)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill_and_restart(self, slot: int) -> None:
        process = self.processes[slot]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.restarts[slot] += 1
        self.start(slot)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


async def _wait_for_groups(settings: Settings, members: int, timeout_s: float = 90.0) -> None:
    """Until every stage's group has all workers as members: feeding during the first joins would race them."""
    names = TopicNames.from_settings(settings.kafka)
    groups = [names.group_of(stage) for stage in STAGES]
    deadline = time.monotonic() + timeout_s
    async with KafkaAdmin(settings.kafka) as admin:
        while time.monotonic() < deadline:
            states = await admin.groups(groups)
            if all(
                g in states and states[g].state == "Stable" and states[g].members == members for g in groups
            ):
                return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"the workers' groups did not become stable within {timeout_s:.0f} s")


async def _feed(settings: Settings, events: list[RecordingDiscovered], feed_s: float) -> None:
    names = TopicNames.from_settings(settings.kafka)
    pause = feed_s / max(1, len(events))
    async with KafkaProducer(settings.kafka, client_id_suffix="-feeder") as producer:
        for event in events:
            await producer.send(
                names.of(event), event.recording_id, dump_event(event), {"trace_id": event.trace_id}
            )
            await asyncio.sleep(pause)


async def _chaos(
    workers: Workers, kills: int, duration_s: float, rng: random.Random
) -> list[tuple[float, int]]:
    done: list[tuple[float, int]] = []
    started = time.monotonic()
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(0.3, 2 * duration_s / max(1, kills) - 0.3))
        slot = rng.randrange(len(workers.processes))
        await asyncio.to_thread(workers.kill_and_restart, slot)
        done.append((time.monotonic() - started, slot))
    return done


async def _until_published(database: Database, count: int, timeout_s: float) -> None:
    """Until ``count`` recordings are published or ``timeout_s`` passed (the checks then say what is missing)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(await asyncio.to_thread(_published, database)) >= count:
            return
        await asyncio.sleep(0.5)


def _published(database: Database) -> set[str]:
    with database.session() as session:
        rows = session.scalars(select(StageResultRow.recording_id).where(StageResultRow.stage == "publish"))
        return set(rows)


async def _read_published_topic(settings: Settings) -> dict[str, set[str]]:
    """The CallPublished event ids per recording on ``calls.published``."""
    ids: dict[str, set[str]] = {}
    for record in await read_topic(
        settings.kafka, TopicNames.from_settings(settings.kafka).of_event(CallPublished)
    ):
        event = parse_event(record.value)
        ids.setdefault(event.recording_id, set()).add(event.event_id)
    return ids


async def bench(args: argparse.Namespace) -> str:
    seed = args.seed if args.seed is not None else random.randrange(10**9)
    rng = random.Random(seed)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dealtalk-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    broker = TestBroker(work / "broker")
    broker.start()
    prefix = f"chaos{rng.randrange(10**6):06d}"
    database_url = args.database_url or f"sqlite:///{work / 'dealtalk.db'}"
    env = _env(work, broker, prefix, database_url)
    for key, value in env.items():
        if key.startswith("DEALTALK_"):
            os.environ[key] = value
    settings = Settings.load()
    database = open_database(database_url)
    inbox = work / "inbox"
    inbox.mkdir(exist_ok=True)
    events = _recordings(args.recordings, inbox, settings)
    workers: Workers | None = None
    started = time.monotonic()
    try:
        async with KafkaAdmin(settings.kafka) as admin:
            await admin.create(topic_plan(settings.kafka))
        workers = Workers(args.workers, env, work / "logs")
        await _wait_for_groups(settings, args.workers)
        ready_s = time.monotonic() - started
        feeding = asyncio.create_task(_feed(settings, events, args.feed_s))
        kills = await _chaos(workers, args.kills, args.feed_s, rng)
        await feeding
        await _until_published(database, len(events), args.settle_s)
        await asyncio.sleep(3.0)  # a late duplicate would show itself now
        elapsed = time.monotonic() - started
        published_store = _published(database)
        announced = await _read_published_topic(settings)
        letters = await list_kafka_dead_letters(settings.kafka, database, limit=10_000, include_replayed=True)
    finally:
        if workers is not None:
            workers.stop()
        broker.stop()
    recordings = [e.recording_id for e in events]
    per_worker = (
        ", ".join(f"w{slot}: {n}" for slot, n in sorted(workers.restarts.items())) if workers else "-"
    )
    with database.session() as session:
        publications = dict(session.execute(select(PublicationRow.recording_id, PublicationRow.status)).all())
        results = session.scalar(select(func.count()).select_from(StageResultRow))
    database.dispose()
    outbox = {json.loads(p.read_text())["recording_id"] for p in (work / "data" / "outbox").glob("*.json")}
    journal = [json.loads(line) for line in (work / "publish-journal.jsonl").read_text().splitlines() if line]
    starts = Counter(e["recording_id"] for e in journal if e["phase"] == "start")
    creates = Counter(e["recording_id"] for e in journal if e["phase"] == "end" and e["created"])
    dead = {letter.failed.recording_id for letter in letters if letter.failed}
    published = {
        r for r in recordings if r in published_store and r in outbox and publications.get(r) == "published"
    }
    lost = [r for r in recordings if r not in published]
    duplicated = [r for r in recordings if creates[r] > 1 or len(announced.get(r, ())) > 1]
    reexecuted = sum(max(0, n - 1) for n in starts.values())
    rows = [
        ("recordings fed", str(len(recordings))),
        ("worker processes", str(args.workers)),
        ("kills (SIGKILL + restart)", f"{len(kills)} ({per_worker})"),
        ("groups stable after (s)", f"{ready_s:.1f}"),
        ("run time (s)", f"{elapsed:.1f}"),
        ("published: store + outbox file", str(len(published))),
        ("stage results stored", str(results)),
        ("publish calls (sink journal)", str(sum(starts.values()))),
        ("publish re-executions (upserts of the same activity)", str(reexecuted)),
        ("activities created more than once", str(sum(1 for r in recordings if creates[r] > 1))),
        (
            "recordings with >1 distinct CallPublished",
            str(sum(1 for r in recordings if len(announced.get(r, ())) > 1)),
        ),
        ("dead-lettered", str(len(dead))),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'chaos run'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
    if lost:
        lines.append(f"\nlost: {', '.join(lost)}")
    if duplicated:
        lines.append(f"\nduplicated: {', '.join(duplicated)}")
    summary = (
        f"recordings={len(recordings)} kills={len(kills)} lost={len(lost)} duplicated={len(duplicated)} "
        f"dead_lettered={len(dead)}"
    )
    table = "\n".join(lines)
    print("\n" + table)
    if args.keep:
        print(f"work dir: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    command = " ".join(["python bench/chaos.py", *sys.argv[1:]])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = REPO / "bench" / "results" / "bus-chaos.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# Chaos benchmark ({when})\n\n`{command}` (seed {seed})\n\n{table}\n\n`{summary}`\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--recordings", type=int, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--feed-s", type=float, default=40.0, help="spread the feed (and the kills) over this long"
    )
    parser.add_argument(
        "--settle-s", type=float, default=120.0, help="wait this long for the last publications"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", default="", help="default: SQLite in the work dir")
    parser.add_argument("--keep", default="", help="keep the work dir (logs, outbox, journal) here")
    args = parser.parse_args()
    print(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
