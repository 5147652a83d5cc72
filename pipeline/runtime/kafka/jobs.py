"""Running jobs off the event loop, and the bound on how many run at once (backpressure).

Jobs run in daemon threads rather than ``asyncio.to_thread``: ``asyncio.run`` joins its executor's threads at
exit, so a worker told to stop could not leave while an abandoned 10-minute transcription is still running.
A daemon thread ends with the process; the job it was doing is redone by the partition's next owner, whose
idempotency record makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from functools import partial
from typing import TypeVar

__all__ = ["JobSlots", "run_in_daemon_thread", "sleep_unless_stopped"]

T = TypeVar("T")


async def run_in_daemon_thread(fn: Callable[[], T], *, name: str) -> T:
    """Run ``fn`` in a new daemon thread and wait for its result (or exception) without blocking the loop.

    Cancelling the wait does not stop the thread; its result is then dropped.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def _deliver(settle: Callable[[], None]) -> None:
        if not future.done():  # the waiter may have been cancelled (shutdown, abandoned job)
            settle()

    def _target() -> None:
        settle: Callable[[], None]
        try:
            settle = partial(future.set_result, fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task, which decides
            settle = partial(future.set_exception, exc)
        # The loop may have closed while we ran (the worker stopped): nobody waits for this result any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_deliver, settle)

    threading.Thread(target=_target, name=name, daemon=True).start()
    return await future


class JobSlots:
    """A fixed number of job slots shared by a worker's stage consumers (``max_concurrent_jobs``).

    Consumers take a slot before starting a partition's jobs and pause their other partitions while none is
    free, so a worker never holds more work than it can run; the rest stays in Kafka for other workers.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._taken = 0

    @property
    def free(self) -> int:
        return self.capacity - self._taken

    @property
    def taken(self) -> int:
        return self._taken

    def try_acquire(self) -> bool:
        if self._taken >= self.capacity:
            return False
        self._taken += 1
        return True

    def release(self) -> None:
        if self._taken <= 0:
            raise RuntimeError("JobSlots.release() without a matching acquire")
        self._taken -= 1


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stop`` is set, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
