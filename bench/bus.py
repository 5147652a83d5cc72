"""Bus benchmark: the Kafka bus beside the embedded bus, and a stage scaled from 1 to 2 worker processes.

What it runs (one run each, numbers from that run; timings are noisy on a shared 2-core machine):

1. Events/s through each bus with 1 KB events (RecordingDiscovered padded to 1,024 bytes of JSON):
   * put: N events onto the bus (embedded: one row each, one transaction each; Kafka: one record each with
     ``acks=all`` and the idempotent producer, each awaited);
   * worker: one worker, in this process, runs a no-op stage over them (embedded: claim, stage, store result,
     enqueue the hand-over, complete; Kafka: ``handle_delivery``, store result, produce the hand-over, commit).
     Job time is the driver's own measure (job hook "started" to "done"); the median is reported.
2. Stage throughput with 1 and 2 worker processes on 2 partitions: a stage that takes ``--work-ms`` per event
   (a sleep: an I/O-bound stage, so that two processes on two shared cores can show their scaling), one job
   at a time per process, M events; timed from the first event sent until the last result is stored, after
   the workers have joined. The embedded bus runs the same with 1 and 2 processes for comparison.

The store is SQLite in a temporary folder (as on a developer machine). The Kafka broker is the test broker
(noida-db), started here on a free port. Tables are printed and written to ``bench/results/bus.md``.

Usage: ``python bench/bus.py [--events 1000] [--scale-events 120] [--work-ms 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support: the test broker runner, shared with the test suite

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from dealtalk.contracts.config import BusSettings, KafkaSettings, Settings  # noqa: E402
from dealtalk.contracts.documents import BlobRef, MeetingInfo  # noqa: E402
from dealtalk.contracts.events import AudioStored, RecordingDiscovered, dump_event, new_trace_id  # noqa: E402
from dealtalk.contracts.stage import Stage  # noqa: E402
from dealtalk.pipeline.bus.embedded import EmbeddedBus  # noqa: E402
from dealtalk.pipeline.bus.kafka.admin import KafkaAdmin  # noqa: E402
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer  # noqa: E402
from dealtalk.pipeline.bus.kafka.topics import TopicNames, topic_plan  # noqa: E402
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker  # noqa: E402
from dealtalk.pipeline.runtime.kafka.main import run_kafka_worker  # noqa: E402
from dealtalk.pipeline.runtime.kafka.worker import KafkaWorker  # noqa: E402
from dealtalk.pipeline.store import Database, open_database  # noqa: E402
from dealtalk.pipeline.store.schema import StageResultRow  # noqa: E402
from tests.support.kafka_broker import TestBroker  # noqa: E402

EVENT_BYTES = 1024
TOPIC = "recordings.discovered"


def event_of_1kb(index: int) -> RecordingDiscovered:
    base = RecordingDiscovered(
        recording_id=f"bench-{index:06d}",
        trace_id=new_trace_id(),
        source="local",
        source_ref="/inbox/",
        meeting=MeetingInfo(subject="bench"),
    )
    pad = EVENT_BYTES - len(dump_event(base))
    return base.model_copy(update={"source_ref": "/inbox/" + "x" * max(0, pad)})


def stage(work_s: float = 0.0) -> Stage[RecordingDiscovered, AudioStored]:
    def run(event: RecordingDiscovered) -> AudioStored:
        if work_s:
            time.sleep(work_s)
        return AudioStored(
            **event.follow(), audio=BlobRef(sha256="a" * 64, size_bytes=1), meeting=event.meeting
        )

    def persist(_session: Session, _event: RecordingDiscovered, _output: AudioStored) -> None:
        return None

    return Stage(name="fetch", consumes=RecordingDiscovered, run=run, version="bench-1", persist=persist)


class JobTimer:
    """The drivers' job hook: job times from "started" to "done"."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.seconds: list[float] = []

    def __call__(self, _stage: str, recording_id: str, phase: str) -> None:
        if phase == "started":
            self.started[recording_id] = time.perf_counter()
        elif phase in ("done", "reused") and recording_id in self.started:
            self.seconds.append(time.perf_counter() - self.started.pop(recording_id))

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000 if self.seconds else float("nan")


def results_count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(StageResultRow)) or 0)


# --- 1. one bus beside the other ------------------------------------------------------------------------


def embedded_throughput(events: list[RecordingDiscovered], work: Path) -> dict[str, float]:
    database = open_database(f"sqlite:///{work / 'embedded.db'}")
    settings = BusSettings(poll_interval_s=0.01)
    bus = EmbeddedBus(database, settings)
    started = time.perf_counter()
    for event in events:
        bus.publish_now(TOPIC, event.recording_id, dump_event(event), {"trace_id": event.trace_id})
    put_s = time.perf_counter() - started
    timer = JobTimer()
    started = time.perf_counter()
    stats = EmbeddedWorker(bus, [stage()], settings, on_job=timer).run(burst=True)
    worker_s = time.perf_counter() - started
    assert stats.processed == len(events), stats
    database.dispose()
    return {"put": len(events) / put_s, "worker": len(events) / worker_s, "job_ms": timer.median_ms}


async def kafka_throughput(
    events: list[RecordingDiscovered], kafka: KafkaSettings, work: Path
) -> dict[str, float]:
    database = open_database(f"sqlite:///{work / 'kafka.db'}")
    async with KafkaAdmin(kafka) as admin:
        await admin.create(topic_plan(kafka))
    names = TopicNames.from_settings(kafka)
    async with KafkaProducer(kafka) as producer:
        started = time.perf_counter()
        for event in events:
            await producer.send(
                names.of(event), event.recording_id, dump_event(event), {"trace_id": event.trace_id}
            )
        put_s = time.perf_counter() - started
    timer = JobTimer()
    worker = KafkaWorker([stage()], database=database, kafka=kafka, bus=BusSettings(), on_job=timer)
    started = time.perf_counter()
    stats = await worker.run(burst=True)
    worker_s = time.perf_counter() - started
    assert stats.processed == len(events), stats
    database.dispose()
    # The worker's time includes joining the group (one rebalance) and burst mode's idle checks at the end.
    return {"put": len(events) / put_s, "worker": len(events) / worker_s, "job_ms": timer.median_ms}


# --- 2. one stage, 1 vs 2 worker processes ---------------------------------------------------------------


def worker_process(kind: str, work_ms: float) -> None:
    """Entry of a worker subprocess: settings from DEALTALK_* (set by the parent), runs until SIGTERM."""
    settings = Settings.load()
    database = open_database(settings.database_url)
    stages = [stage(work_ms / 1000)]
    if kind == "kafka":
        run_kafka_worker(stages, settings=settings, database=database)
        return
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    EmbeddedWorker(EmbeddedBus(database, settings.bus), stages, settings.bus).run(stop=stop)


def _spawn(kind: str, processes: int, env: dict[str, str], work_ms: float) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--work-ms", str(work_ms)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        process.terminate()
    for process in workers:
        process.wait(timeout=60)


async def _until(count: int, database: Database, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(results_count, database) >= count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {results_count(database)} of {count} results after {timeout_s:.0f} s")


async def kafka_scaling(
    processes: int, events: list[RecordingDiscovered], broker: TestBroker, work: Path, work_ms: float
) -> float:
    prefix = f"scale{processes}-{os.getpid()}"
    db_url = f"sqlite:///{work / f'{prefix}.db'}"
    database = open_database(db_url)
    kafka = KafkaSettings(
        bootstrap_servers=broker.bootstrap,
        topic_prefix=prefix,
        group_prefix=prefix,
        partitions=2,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        poll_timeout_ms=50,
    )
    async with KafkaAdmin(kafka) as admin:
        await admin.create(topic_plan(kafka))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    env.update(
        DEALTALK_DATA_DIR=str(work / prefix),
        DEALTALK_DATABASE__URL=db_url,
        DEALTALK_BUS__KIND="kafka",
        DEALTALK_KAFKA__BOOTSTRAP_SERVERS=broker.bootstrap,
        DEALTALK_KAFKA__TOPIC_PREFIX=prefix,
        DEALTALK_KAFKA__GROUP_PREFIX=prefix,
        DEALTALK_KAFKA__PARTITIONS="2",
        DEALTALK_KAFKA__SESSION_TIMEOUT_MS="6000",
        DEALTALK_KAFKA__HEARTBEAT_INTERVAL_MS="500",
        DEALTALK_KAFKA__POLL_TIMEOUT_MS="50",
        DEALTALK_KAFKA__MAX_CONCURRENT_JOBS="1",
    )
    workers = _spawn("kafka", processes, env, work_ms)
    names = TopicNames.from_settings(kafka)
    try:
        async with KafkaAdmin(kafka) as admin:
            deadline = time.monotonic() + 120
            while True:
                state = (await admin.groups([names.group_of("fetch")])).get(names.group_of("fetch"))
                if state is not None and state.state == "Stable" and state.members == processes:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the worker processes did not join their group")
                await asyncio.sleep(0.2)
        async with KafkaProducer(kafka) as producer:
            started = time.perf_counter()
            for event in events:
                await producer.send(names.of(event), event.recording_id, dump_event(event), {})
            await _until(len(events), database)
            return len(events) / (time.perf_counter() - started)
    finally:
        _stop(workers)
        database.dispose()


async def embedded_scaling(
    processes: int, events: list[RecordingDiscovered], work: Path, work_ms: float
) -> float:
    db_url = f"sqlite:///{work / f'embedded-scale{processes}.db'}"
    database = open_database(db_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    env.update(
        DEALTALK_DATA_DIR=str(work), DEALTALK_DATABASE__URL=db_url, DEALTALK_BUS__POLL_INTERVAL_S="0.02"
    )
    workers = _spawn("embedded", processes, env, work_ms)
    try:
        await asyncio.sleep(3.0)  # imports and the first poll; the embedded bus has no group to wait for
        bus = EmbeddedBus(database, BusSettings())
        started = time.perf_counter()
        with database.session() as session:
            for event in events:
                bus.publish(session, TOPIC, event.recording_id, dump_event(event), {})
        await _until(len(events), database)
        return len(events) / (time.perf_counter() - started)
    finally:
        _stop(workers)
        database.dispose()


# --- report ---------------------------------------------------------------------------------------------


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


async def bench(args: argparse.Namespace) -> str:
    work = Path(tempfile.mkdtemp(prefix="dealtalk-bus-bench-"))
    broker = TestBroker(work / "broker")
    broker.start()
    try:
        events = [event_of_1kb(i) for i in range(args.events)]
        assert all(len(dump_event(e)) == EVENT_BYTES for e in events[:3])
        embedded = await asyncio.to_thread(embedded_throughput, events, work)
        kafka_settings = KafkaSettings(
            bootstrap_servers=broker.bootstrap,
            topic_prefix="bus",
            group_prefix="bus",
            partitions=2,
            session_timeout_ms=6000,
            heartbeat_interval_ms=500,
            poll_timeout_ms=50,
            max_poll_records=200,
        )
        kafka = await kafka_throughput(events, kafka_settings, work)
        scale_events = [event_of_1kb(i) for i in range(args.scale_events)]
        scaling = {
            ("kafka", n): await kafka_scaling(n, scale_events, broker, work, args.work_ms) for n in (1, 2)
        }
        scaling |= {
            ("embedded", n): await embedded_scaling(n, scale_events, work, args.work_ms) for n in (1, 2)
        }
    finally:
        broker.stop()

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x"

    one = table(
        ("1 KB events, one run", "embedded bus", "Kafka bus", "Kafka / embedded"),
        [
            (
                "put on the bus (events/s)",
                f"{embedded['put']:.0f}",
                f"{kafka['put']:.0f}",
                ratio(kafka["put"], embedded["put"]),
            ),
            (
                "one worker, no-op stage (events/s)",
                f"{embedded['worker']:.0f}",
                f"{kafka['worker']:.0f}",
                ratio(kafka["worker"], embedded["worker"]),
            ),
            (
                "median job time (ms)",
                f"{embedded['job_ms']:.2f}",
                f"{kafka['job_ms']:.2f}",
                ratio(kafka["job_ms"], embedded["job_ms"]),
            ),
        ],
    )
    two = table(
        (
            f"stage of {args.work_ms:.0f} ms, {args.scale_events} events",
            "1 process (events/s)",
            "2 processes (events/s)",
            "2 / 1",
        ),
        [
            (
                f"{kind} bus" + (" (2 partitions)" if kind == "kafka" else ""),
                f"{scaling[(kind, 1)]:.1f}",
                f"{scaling[(kind, 2)]:.1f}",
                ratio(scaling[(kind, 2)], scaling[(kind, 1)]),
            )
            for kind in ("kafka", "embedded")
        ],
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    report = (
        f"# Bus benchmark ({when}; {host})\n\n`python bench/bus.py --events {args.events} --scale-events "
        f"{args.scale_events} --work-ms {args.work_ms:.0f}`; SQLite store; the Kafka-protocol test broker (noida-db). "
        "One run: shared cores make the figures noisy.\n\n"
        f"{one}\n\n{two}\n"
    )
    out = REPO / "bench" / "results" / "bus.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--scale-events", type=int, default=120)
    parser.add_argument("--work-ms", type=float, default=50.0)
    parser.add_argument("--worker", choices=("kafka", "embedded"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_process(args.worker, args.work_ms)
        return
    print(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
