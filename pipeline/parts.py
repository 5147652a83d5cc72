"""What the operations outside the stages need from the composition root.

GDPR erasure, export and retention and the manual link run for a CLI command or an API route, not for an event.
They take an ``AppParts``: ``Resources`` (``pipeline/resources.py``) provides one, and because these modules
depend on this protocol rather than on ``Resources`` itself, the composition root stays the only module that
imports everything (the import contracts in ``pyproject.toml`` check it).
"""

from __future__ import annotations

from typing import Protocol

from dealtalk.contracts.config import Settings
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.pipeline.bus.outlet import EventOutlet
from dealtalk.pipeline.models_and_clients import ModelsAndClients
from dealtalk.pipeline.store import Database

__all__ = ["AppParts"]


class AppParts(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...

    @property
    def blobs(self) -> LocalBlobStore: ...

    @property
    def outlet(self) -> EventOutlet:
        """Where events that start outside a stage go (the embedded queue or the Kafka outbox)."""

    @property
    def models(self) -> ModelsAndClients:
        """The models and clients (the CRM's resolver and the activity publisher among them), built once."""
