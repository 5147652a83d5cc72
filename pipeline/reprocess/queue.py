"""Reprocessing on the worker fleet: the stored ``audio.stored`` events go back on the bus.

The workers run the model set they were started with (start them with the run's ``DEALTALK_SPEECH__*``);
their transcribe stage keys its result by model version, so a new model produces a new version beside the
old one. ``put_on_bus`` hands them to the configured bus's outlet (the embedded queue, or the Kafka outbox).
"""

from __future__ import annotations

from collections.abc import Sequence

from dealtalk.contracts.events import AudioStored
from dealtalk.pipeline.bus.outlet import EventOutlet
from dealtalk.pipeline.store import Database

__all__ = ["put_on_bus"]


def put_on_bus(outlet: EventOutlet, database: Database, events: Sequence[AudioStored], *, run_id: str) -> int:
    """Hand each event to the bus through ``outlet``, all in one transaction; returns the count.

    On Kafka the events wait in the outbox until a relay (every worker runs one) sends them.
    """
    with database.session() as session:
        for event in events:
            outlet.publish(session, event, key=event.recording_id, headers=_headers(event, run_id))
    return len(events)


def _headers(event: AudioStored, run_id: str) -> dict[str, str]:
    return {"trace_id": event.trace_id, "stage": "reprocess", "reprocess_run": run_id}
