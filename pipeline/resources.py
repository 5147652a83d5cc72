"""The composition root: one ``Resources`` per process holds the database, blob store, bus and models.

Models and clients load lazily, once, the first time a stage needs them: a publish-only worker never loads
Whisper, an analyst's API host never imports torch. Everything is built from the one ``Settings`` object.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from dealtalk.ingest.local_folder import LocalFolderFetcher
from dealtalk.ingest.protocols import RecordingFetcher
from dealtalk.nlp.protocols import InsightEngine
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.config import Settings
from dealtalk.pipeline.gdpr.consent import ConsentScreen, GroupMembership, TranscriptGuard
from dealtalk.pipeline.progress import ProgressHook
from dealtalk.pipeline.runtime.stage import Stage
from dealtalk.pipeline.store import Database, open_database
from dealtalk.pipeline.store.queries import manual_link, recording_with_audio
from dealtalk.publisher.protocols import ActivityPublisher, OpportunityResolver
from dealtalk.transcription.protocols import CallTranscriber

__all__ = ["STAGE_NAMES", "Resources", "StageName"]

logger = logging.getLogger(__name__)

StageName = Literal["fetch", "transcribe", "analyze", "publish"]
STAGE_NAMES: tuple[StageName, ...] = ("fetch", "transcribe", "analyze", "publish")


@dataclass
class Resources:
    settings: Settings
    database: Database
    blobs: LocalBlobStore
    bus: EmbeddedBus
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        """Open the store (migrating it) and the blob store; nothing heavy is loaded yet."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = open_database(
            settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
        )
        return cls(
            settings=settings,
            database=database,
            blobs=LocalBlobStore(settings.blob_root),
            bus=EmbeddedBus(database, settings.bus),
        )

    def close(self) -> None:
        """Release clients (HTTP pools, Graph's event loop) and the database; safe to call twice."""
        for dependency in self._cache.values():
            close = getattr(dependency, "close", None)
            if callable(close):
                close()
        self._cache.clear()
        self.database.dispose()

    # --- heavy dependencies, loaded once ---------------------------------------------------------------
    def transcriber(self) -> CallTranscriber:
        if "transcriber" not in self._cache:
            from dealtalk.transcription.loader import load_transcriber

            self._cache["transcriber"] = load_transcriber(self.settings)
        transcriber: CallTranscriber = self._cache["transcriber"]
        return transcriber

    def insight_engine(self) -> InsightEngine:
        if "engine" not in self._cache:
            from dealtalk.nlp.engine import load_engine

            self._cache["engine"] = load_engine(self.settings)
        engine: InsightEngine = self._cache["engine"]
        return engine

    def _crm_reader(self) -> Any:
        # One CRM reader (fixture file or Dataverse client) shared by the resolver and the publisher.
        if "crm_reader" not in self._cache:
            from dealtalk.publisher.factory import load_crm_reader

            self._cache["crm_reader"] = load_crm_reader(self.settings)
        return self._cache["crm_reader"]

    def resolver(self) -> OpportunityResolver:
        if "resolver" not in self._cache:
            from dealtalk.publisher.factory import load_resolver

            self._cache["resolver"] = load_resolver(self.settings, reader=self._crm_reader())
        resolver: OpportunityResolver = self._cache["resolver"]
        return resolver

    def publisher(self) -> ActivityPublisher:
        if "publisher" not in self._cache:
            from dealtalk.publisher.factory import load_publisher

            self._cache["publisher"] = load_publisher(self.settings, reader=self._crm_reader())
        publisher: ActivityPublisher = self._cache["publisher"]
        return publisher

    def fetchers(self) -> dict[str, RecordingFetcher]:
        fetchers: dict[str, RecordingFetcher] = {"local": LocalFolderFetcher()}
        if self.settings.graph.tenant_id:
            if "graph_fetcher" not in self._cache:
                from dealtalk.ingest.graph.factory import load_graph_fetcher

                self._cache["graph_fetcher"] = load_graph_fetcher(self.settings)
            fetchers["graph"] = self._cache["graph_fetcher"]
        return fetchers

    def opt_out_group(self) -> GroupMembership | None:
        """Membership of the opt-out Entra group through Graph; None when no group is configured."""
        gdpr = self.settings.gdpr
        if not gdpr.opted_out_group_id:
            return None
        if "opt_out_group" not in self._cache:
            from dealtalk.ingest.graph.factory import load_graph_session
            from dealtalk.ingest.graph.state import FileDiscoveryState
            from dealtalk.pipeline.gdpr.consent_graph import GraphGroupMembership

            self._cache["graph_session"] = self._cache.get("graph_session") or load_graph_session(
                self.settings
            )
            self._cache["opt_out_group"] = GraphGroupMembership(
                self._cache["graph_session"],
                gdpr.opted_out_group_id,
                state=FileDiscoveryState(self.settings.data_dir / "graph" / "opt-out-users.json"),
                ttl_s=gdpr.opted_out_group_ttl_min * 60.0,
            )
        membership: GroupMembership = self._cache["opt_out_group"]
        return membership

    def consent_screen(self) -> ConsentScreen:
        return ConsentScreen(self.database, self.settings.gdpr, self.opt_out_group())

    def transcript_guard(self) -> TranscriptGuard:
        return TranscriptGuard(self.database, self.settings.gdpr, self.opt_out_group())

    @property
    def competitors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.settings.nlp.competitors))

    # --- stages ----------------------------------------------------------------------------------------
    def stages(
        self, names: Sequence[StageName] = STAGE_NAMES, *, progress: ProgressHook | None = None
    ) -> list[Stage[Any, Any]]:
        """Build the named stages with their dependencies injected (loading models as needed)."""
        from dealtalk.pipeline.stages.analyze import build_analyze_stage
        from dealtalk.pipeline.stages.fetch import build_fetch_stage
        from dealtalk.pipeline.stages.publish import build_publish_stage
        from dealtalk.pipeline.stages.transcribe import build_transcribe_stage

        settings = self.settings
        built: list[Stage[Any, Any]] = []
        for name in names:
            if name == "fetch":
                built.append(
                    build_fetch_stage(
                        fetchers=self.fetchers(),
                        blobs=self.blobs,
                        recording_with_audio=partial(recording_with_audio, self.database),
                        screen=self.consent_screen(),
                    )
                )
            elif name == "transcribe":
                built.append(
                    build_transcribe_stage(
                        transcriber=self.transcriber(),
                        blobs=self.blobs,
                        speech=settings.speech,
                        tenant=settings.tenant,
                        competitors=self.competitors,
                        progress=progress,
                        guard=self.transcript_guard(),
                    )
                )
            elif name == "analyze":
                built.append(
                    build_analyze_stage(
                        engine=self.insight_engine(),
                        blobs=self.blobs,
                        tenant=settings.tenant,
                        competitors=self.competitors,
                    )
                )
            else:
                built.append(
                    build_publish_stage(
                        resolver=self.resolver(),
                        publisher=self.publisher(),
                        blobs=self.blobs,
                        manual_link=partial(manual_link, self.database),
                        version=self.publish_version,
                    )
                )
        return built

    @property
    def publish_version(self) -> str:
        """Publishing again to the same target reuses the stored result; a new target publishes anew."""
        publisher = self.settings.publisher
        target = self.settings.dataverse.url if publisher.mode == "dataverse" else "dry-run"
        return f"publish-1:{publisher.mode}:{target}:{publisher.activity_entity_set}"
