"""The Kafka driver's pure parts: headers, dead-letter size limits, job slots and the daemon-thread runner."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time

import pytest

from dealtalk.contracts.events import StageFailed
from dealtalk.pipeline.bus.kafka.headers import attempt_of, decode_headers, encode_headers
from dealtalk.pipeline.runtime.kafka.jobs import JobSlots, run_in_daemon_thread, sleep_unless_stopped
from dealtalk.pipeline.runtime.kafka.settle import MAX_DEAD_LETTER_ORIGINAL_BYTES, shrink_original


def test_headers_round_trip_as_utf8_text() -> None:
    headers = {"trace_id": "abc", "reason": "prijs te hoog – €"}
    encoded = encode_headers(headers)
    assert encoded == [("trace_id", b"abc"), ("reason", "prijs te hoog – €".encode())]
    assert decode_headers(encoded) == headers
    assert decode_headers([("x", None), ("y", b"\xff")]) == {"x": "", "y": "\ufffd"}
    assert decode_headers(None) == {}
    assert len(encode_headers({"long": "x" * 10_000})[0][1]) == 4096


@pytest.mark.parametrize(("value", "expected"), [(None, 1), ("3", 3), ("0", 1), ("-2", 1), ("three", 1)])
def test_attempt_defaults_to_the_first(value: str | None, expected: int) -> None:
    assert attempt_of({} if value is None else {"attempt": value}) == expected


def _failed(original: str) -> StageFailed:
    return StageFailed(
        recording_id="r",
        trace_id="t",
        stage="fetch",
        reason="too big",
        error_type="InvalidInput",
        attempt=1,
        retriable=False,
        original=original,
        original_topic="dealtalk.recordings.discovered",
    )


def test_an_oversized_original_is_cut_and_its_size_and_hash_kept() -> None:
    small = _failed("{}")
    assert shrink_original(small) == (small, {})
    text = "é" * MAX_DEAD_LETTER_ORIGINAL_BYTES  # 2 bytes each: the cut falls inside a character
    shrunk, headers = shrink_original(_failed(text))
    assert len(shrunk.original.encode()) <= MAX_DEAD_LETTER_ORIGINAL_BYTES
    assert text.startswith(shrunk.original)
    assert headers == {
        "dlq_original_bytes": str(len(text.encode())),
        "dlq_original_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "dlq_original": "truncated",
    }


def test_job_slots_bound_and_release() -> None:
    slots = JobSlots(2)
    assert slots.try_acquire() and slots.try_acquire()
    assert not slots.try_acquire() and slots.free == 0 and slots.taken == 2
    slots.release()
    assert slots.free == 1
    slots.release()
    with pytest.raises(RuntimeError):
        slots.release()
    with pytest.raises(ValueError, match="at least 1"):
        JobSlots(0)


def test_daemon_thread_returns_results_and_raises_errors_without_blocking_the_loop() -> None:
    # The job only ends once the event loop has ticked five times: a loop blocked by the job never gets there.
    loop_ran = threading.Event()
    ticks: list[int] = []

    def work() -> str:
        assert threading.current_thread().daemon
        return "done" if loop_ran.wait(10) else "the loop was blocked"

    def fail() -> None:
        raise ValueError("bad audio")

    async def ticker() -> None:
        for tick in range(5):
            ticks.append(tick)
            await asyncio.sleep(0.01)
        loop_ran.set()

    async def scenario() -> str:
        result, _ = await asyncio.gather(run_in_daemon_thread(work, name="t"), ticker())
        with pytest.raises(ValueError, match="bad audio"):
            await run_in_daemon_thread(fail, name="t")
        return result

    assert asyncio.run(scenario()) == "done"
    assert ticks == [0, 1, 2, 3, 4]


def test_a_cancelled_wait_leaves_the_thread_alone_and_drops_its_result() -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow() -> int:
        release.wait(5)
        finished.set()
        return 1

    async def scenario() -> None:
        task = asyncio.create_task(run_in_daemon_thread(slow, name="t"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())  # returns at once, the thread still runs
    release.set()
    assert finished.wait(5)  # and it ends into a closed loop without an error


def test_sleep_unless_stopped_returns_early_on_stop() -> None:
    async def scenario() -> float:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, stop.set)
        started = time.monotonic()
        await sleep_unless_stopped(stop, 10)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1
