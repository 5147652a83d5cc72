"""The models and clients of one process, each built on first use and then shared.

Part of the composition root (``resources.py``): ``Resources`` holds one for the workers, the API and the
demo; ``dealtalk process`` and ``analyze`` use one alone, as they need no store or bus. A publish-only
worker never loads Whisper, an analyst's API host never imports torch.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import MeetingInfo
from dealtalk.contracts.errors import ConfigurationError, DealtalkError
from dealtalk.nlp.protocols import InsightEngine
from dealtalk.publisher.protocols import ActivityPublisher, OpportunityResolver
from dealtalk.transcription.protocols import CallTranscriber

if TYPE_CHECKING:
    from dealtalk.publisher.competitors import CompetitorNames
    from dealtalk.publisher.crm import CompetitorReader
    from dealtalk.publisher.dataverse.provision import ProvisionStep

__all__ = ["ModelsAndClients"]

logger = logging.getLogger(__name__)


class ModelsAndClients:
    """The transcriber, the insight engine, the CRM reader, resolver and publisher, and the competitor names."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # What this process has built, by name; ``Resources`` keeps its Graph clients here too, so that one
        # ``close`` releases everything.
        self.built: dict[str, Any] = {}

    def close(self) -> None:
        """Release the clients (HTTP pools); safe to call twice."""
        for dependency in self.built.values():
            close = getattr(dependency, "close", None)
            if callable(close):
                close()
        self.built.clear()

    def __enter__(self) -> ModelsAndClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transcriber(self) -> CallTranscriber:
        if "transcriber" not in self.built:
            from dealtalk.transcription.loader import load_transcriber

            self.built["transcriber"] = load_transcriber(self.settings)
        transcriber: CallTranscriber = self.built["transcriber"]
        return transcriber

    def insight_engine(self) -> InsightEngine:
        if "engine" not in self.built:
            from dealtalk.nlp.engine import load_engine

            self.built["engine"] = load_engine(self.settings)
        engine: InsightEngine = self.built["engine"]
        return engine

    def crm_reader(self) -> Any:
        # One CRM reader (fixture file or Dataverse client) shared by the resolver and the publisher.
        if "crm_reader" not in self.built:
            from dealtalk.publisher.factory import load_crm_reader

            self.built["crm_reader"] = load_crm_reader(self.settings)
        return self.built["crm_reader"]

    def resolver(self) -> OpportunityResolver:
        if "resolver" not in self.built:
            from dealtalk.publisher.factory import load_resolver

            self.built["resolver"] = load_resolver(self.settings, reader=self.crm_reader())
        resolver: OpportunityResolver = self.built["resolver"]
        return resolver

    def publisher(self) -> ActivityPublisher:
        if "publisher" not in self.built:
            from dealtalk.publisher.factory import load_publisher

            self.built["publisher"] = load_publisher(self.settings, reader=self.crm_reader())
        publisher: ActivityPublisher = self.built["publisher"]
        return publisher

    def competitor_names(self) -> CompetitorNames:
        """Configured competitor names ∪ the CRM's competitor table, read once per TTL (see ``CrmSettings``)."""
        if "competitor_names" not in self.built:
            from dealtalk.publisher.competitors import CompetitorNames

            settings = self.settings
            crm: CompetitorReader | None = None
            if settings.crm.competitors_from_crm:
                # A CRM that cannot be configured (incomplete Dataverse settings, a missing fixture) is logged
                # and leaves the configured names alone, as a CRM that is down does.
                try:
                    crm = self.crm_reader()
                except ConfigurationError as exc:
                    logger.warning("competitors: the CRM's competitor table is not read: %s", exc)
            ttl_s = settings.crm.competitors_ttl_min * 60.0
            # The reader is shared with the resolver and the publisher: ``close`` closes it once.
            self.built["competitor_names"] = CompetitorNames(
                settings.nlp.competitors, crm, ttl_s=ttl_s, owns_reader=False
            )
        names: CompetitorNames = self.built["competitor_names"]
        return names

    def hotword_competitors(self, meeting: MeetingInfo) -> tuple[str, ...]:
        """The competitor names a call's ASR should expect, most likely first.

        With a CRM, the meeting's opportunity is resolved as the publish stage will (its own competitors come
        first), then the configured names, then the CRM's table. A CRM that cannot be read leaves the names
        without the opportunity's: the transcript never waits for the CRM.
        """
        names = self.competitor_names()
        if not self.settings.crm.competitors_from_crm:
            return names.ranked(None)
        try:
            opportunity_id = self.resolver().resolve(meeting).opportunity_id
        except DealtalkError as exc:
            # The error names the CRM and its code, never a person: no personal data in the log.
            logger.warning(
                "hotwords: the meeting's opportunity is not known, its competitors left out: %s", exc
            )
            opportunity_id = None
        return names.ranked(opportunity_id)

    def provision_activity_table(
        self, *, wait_for_key_s: float = 120.0, poll_s: float = 2.0
    ) -> list[ProvisionStep]:
        """Create what is missing of the call-insights activity table in the configured Dataverse organisation.

        Raises:
            ConfigurationError: incomplete Dataverse settings, or a table of that name that is not ours.
            InvalidInput / TransientError: Dataverse refused a definition or is failing.
        """
        from dealtalk.publisher.dataverse.factory import dataverse_client
        from dealtalk.publisher.dataverse.provision import provision
        from dealtalk.publisher.schema import ActivitySchema

        settings = self.settings
        schema = ActivitySchema.from_settings(settings.publisher)
        with dataverse_client(settings) as client:
            return provision(
                client,
                schema,
                solution=settings.dataverse.solution_unique_name,
                wait_for_key_s=wait_for_key_s,
                poll_s=poll_s,
            )
