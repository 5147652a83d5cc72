"""Graph ingest as a service: both discovery paths, always on.

* ``sync()`` — what the periodic loop runs every ``delta_interval_s``: keep the subscriptions alive (when a
  notification URL is configured), then one delta round for every organizer. It is the safety net that
  finds whatever a webhook missed.
* ``handle(work)`` — what the notification queue runs for each webhook item: fetch a new recording's
  metadata and emit it; reauthorize or recreate subscriptions on lifecycle events; resync on ``missed``.
* ``NotificationQueue`` — the webhook answers at once and puts work here; one thread drains it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from dealtalk.contracts.errors import DealtalkError
from dealtalk.ingest.graph.discovery import GraphDiscovery, SyncReport
from dealtalk.ingest.graph.notifications import NotificationWork
from dealtalk.ingest.graph.subscriptions import SubscriptionManager

__all__ = ["GraphIngest", "GraphRuntime", "Leadership", "NotificationQueue", "SyncOutcome"]

logger = logging.getLogger(__name__)

# After a failed round, the next one starts this soon (or after the interval, when that is shorter).
_RETRY_AFTER_FAILURE_S = 30.0


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    subscriptions: dict[str, str]
    delta: SyncReport


class GraphIngest:
    """Discovery and subscriptions together.

    Args:
        discovery: delta sync and single-recording discovery.
        subscriptions: the subscription manager, or None when no notification URL is configured (then only
            the delta sync runs, and a warning says so on every round).
    """

    def __init__(self, discovery: GraphDiscovery, subscriptions: SubscriptionManager | None) -> None:
        self.discovery = discovery
        self.subscriptions = subscriptions
        # One discovery at a time: the periodic round, a webhook's recording and a "missed" resync may coincide,
        # and the seen-check must not race with the emit. Reentrant: handle() may call sync().
        self._lock = threading.RLock()

    def sync(self) -> SyncOutcome:
        """Renew/create subscriptions, then a delta round for every organizer.

        Raises:
            ConfigurationError / TransientError / RetryLater: see ``GraphDiscovery.run_delta_sync``.
        """
        with self._lock:
            organizer_ids = self.discovery.organizer_ids()
            done: dict[str, str] = {}
            failure: DealtalkError | None = None
            if self.subscriptions is not None:
                try:
                    done = self.subscriptions.ensure(organizer_ids)
                except DealtalkError as exc:
                    failure = exc  # the delta sync still runs: it finds what a missing webhook would say
            else:
                logger.warning(
                    "no DEALTALK_GRAPH__NOTIFICATION_URL: only the periodic delta sync discovers calls"
                )
            outcome = SyncOutcome(done, self.discovery.run_delta_sync(organizer_ids))
            if failure is not None:
                raise failure
            return outcome

    def handle(self, work: NotificationWork) -> None:
        """Act on one webhook item (see the module docstring)."""
        with self._lock:
            self._handle(work)

    def _handle(self, work: NotificationWork) -> None:
        manager = self.subscriptions
        owner = manager.owner(work.subscription_id) if manager is not None else None
        if work.kind == "created":
            if owner is None or work.meeting_id is None or work.recording_id is None:
                logger.warning("notification for unknown subscription %s: resyncing", work.subscription_id)
                self.sync()
                return
            self.discovery.discover_recording(owner, work.meeting_id, work.recording_id)
        elif work.kind == "reauthorizationRequired" and manager is not None:
            manager.reauthorize(work.subscription_id)
        elif work.kind == "subscriptionRemoved" and manager is not None:
            organizer = manager.recreate(work.subscription_id)
            self.discovery.run_delta_sync([organizer] if organizer else None)
        else:  # missed: notifications were dropped, the delta query finds what they would have said
            self.discovery.run_delta_sync([owner] if owner else None)

    def run_forever(
        self, stop: threading.Event, *, interval_s: float, leadership: Leadership | None = None
    ) -> None:
        """The periodic loop: ``sync()`` now and every ``interval_s`` until ``stop`` is set.

        With ``leadership``, only while this process holds the cluster's discovery lease: the lease is
        renewed every few seconds, and a process that takes it over syncs at once (the previous holder may
        have died mid-round; the seen-set keeps a replayed round from emitting twice).
        """
        check_s = min(interval_s, leadership.renew_s) if leadership else interval_s
        last_sync: float | None = None
        try:
            while not stop.is_set():
                leading = leadership.hold() if leadership else True
                if not leading:
                    last_sync = None
                elif last_sync is None or time.monotonic() - last_sync >= interval_s:
                    last_sync = time.monotonic()
                    try:
                        self.sync()
                    except DealtalkError as exc:
                        # Logged, not raised: a throttled or misconfigured round must not end the service.
                        # The next round comes sooner than a full interval: a subscription Graph could not
                        # validate, or a throttled page, should not wait 15 minutes for the next try.
                        logger.warning("Graph sync failed (retriable=%s): %s", exc.retriable, exc)
                        last_sync -= max(0.0, interval_s - _RETRY_AFTER_FAILURE_S)
                stop.wait(check_s)
        finally:
            if leadership is not None and leadership.held:
                leadership.release()


class Leadership(Protocol):
    """A cluster-wide lease (``pipeline/store/leases.Lease``): who runs the delta sync and the renewals."""

    held: bool
    renew_s: float

    def hold(self) -> bool: ...

    def release(self) -> None: ...


class NotificationQueue:
    """An in-process queue between the webhook (answers within Graph's 3 seconds) and ``GraphIngest.handle``.

    Work lost with the process is found again by the next delta round.
    """

    def __init__(self, ingest: GraphIngest) -> None:
        self._ingest = ingest
        self._queue: queue.Queue[NotificationWork | None] = queue.Queue()
        self._thread = threading.Thread(target=self._drain, name="graph-notifications", daemon=True)
        self.failed = 0
        self._thread.start()

    def submit(self, work: NotificationWork) -> None:
        self._queue.put(work)

    def join(self) -> None:
        """Wait until everything submitted so far was handled (tests, shutdown)."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _drain(self) -> None:
        while True:
            work = self._queue.get()
            try:
                if work is None:
                    return
                self._ingest.handle(work)
            except DealtalkError as exc:
                self.failed += 1
                logger.warning(
                    "Graph notification %s failed (retriable=%s): %s",
                    work.kind if work else "-",
                    exc.retriable,
                    exc,
                )
            finally:
                self._queue.task_done()


class GraphRuntime:
    """Graph ingest running in a process (the API server or a worker): the periodic sync thread plus the
    notification queue. ``submit`` is what the webhook router calls; ``close()`` stops both.

    Args:
        ingest: discovery and subscriptions.
        interval_s: seconds between delta rounds (``settings.graph.delta_interval_s``).
        leadership: the discovery lease when several replicas run (None: this process always syncs).
    """

    def __init__(
        self, ingest: GraphIngest, *, interval_s: float, leadership: Leadership | None = None
    ) -> None:
        self.ingest = ingest
        self.queue = NotificationQueue(ingest)
        self._stop = threading.Event()
        self._loop = threading.Thread(
            target=ingest.run_forever,
            args=(self._stop,),
            kwargs={"interval_s": interval_s, "leadership": leadership},
            name="graph-sync",
            daemon=True,
        )
        self._loop.start()

    def submit(self, work: NotificationWork) -> None:
        self.queue.submit(work)

    def close(self) -> None:
        self._stop.set()
        self.queue.close()
        self._loop.join(timeout=30)
