"""Graph discoveries onto the embedded bus: register the recording and enqueue its event in one transaction.

The same rule as the local folder's discovery: a recording the store already knows is not enqueued again.
"""

from __future__ import annotations

from dealtalk.ingest.graph.discovery import Emit
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.events import RecordingDiscovered, dump_event, topic_of
from dealtalk.pipeline.store.projections import save_discovered

__all__ = ["bus_emitter"]


def bus_emitter(bus: EmbeddedBus) -> Emit:
    """An ``emit`` for ``GraphDiscovery`` that registers and enqueues each new recording atomically."""

    def emit(event: RecordingDiscovered) -> None:
        with bus.database.session() as session:
            if save_discovered(session, event):
                headers = {"trace_id": event.trace_id, "stage": "discover"}
                bus.publish(session, topic_of(event), event.recording_id, dump_event(event), headers)

    return emit
