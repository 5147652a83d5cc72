"""Graph discoveries onto the bus: register the recording and hand its event on in one transaction.

The same rule as the local folder's discovery (``pipeline/discovery.py``): a recording the store already
knows is not handed on again, whichever replica or path (webhook, delta sync) found it first.
"""

from __future__ import annotations

from dealtalk.ingest.graph.discovery import Emit
from dealtalk.pipeline.bus.outlet import EventOutlet
from dealtalk.pipeline.discovery import hand_on_discovered
from dealtalk.pipeline.events import RecordingDiscovered
from dealtalk.pipeline.store import Database

__all__ = ["bus_emitter"]


def bus_emitter(database: Database, outlet: EventOutlet) -> Emit:
    """An ``emit`` for ``GraphDiscovery`` that registers and hands on each new recording atomically."""

    def emit(event: RecordingDiscovered) -> None:
        hand_on_discovered(database, outlet, event)

    return emit
