"""The composition root: one ``Resources`` per process holds the database, blob store, bus and models.

Every command and the API get their parts here (``dealtalk process`` and ``analyze``, which need no store,
from its ``ModelsAndClients`` alone). Models and clients load lazily, once, the first time a stage needs
them. Everything is built from the one ``Settings`` object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dealtalk.contracts.config import Settings
from dealtalk.contracts.progress import ProgressHook
from dealtalk.contracts.stage import Stage
from dealtalk.ingest.local_folder import LocalFolderFetcher
from dealtalk.ingest.protocols import RecordingFetcher
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.pipeline.bus.dead_letter_queue import DeadLetterQueue, EmbeddedDeadLetters, KafkaDeadLetters
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.bus.outlet import EmbeddedOutlet, EventOutlet, KafkaOutlet
from dealtalk.pipeline.gdpr.consent import ConsentScreen, GroupMembership, TranscriptGuard
from dealtalk.pipeline.models_and_clients import ModelsAndClients
from dealtalk.pipeline.runtime.stats import WorkerStats
from dealtalk.pipeline.store import Database, open_database
from dealtalk.pipeline.store.queries import manual_link, recording_with_audio

if TYPE_CHECKING:
    from dealtalk.ingest.graph.service import GraphIngest, GraphRuntime

__all__ = ["STAGE_NAMES", "Resources", "StageName"]

logger = logging.getLogger(__name__)


class Closeable(Protocol):
    def close(self) -> None: ...


StageName = Literal["fetch", "transcribe", "analyze", "publish"]
STAGE_NAMES: tuple[StageName, ...] = ("fetch", "transcribe", "analyze", "publish")


@dataclass
class Resources:
    settings: Settings
    database: Database
    blobs: LocalBlobStore
    bus: EmbeddedBus
    # Where events that start outside a stage go (discovery, manual link): the embedded queue or the outbox.
    outlet: EventOutlet
    # The models and clients, built on first use and shared by every stage of this process.
    models: ModelsAndClients

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        """Open the store (migrating it) and the blob store; nothing heavy is loaded yet."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = open_database(
            settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
        )
        bus = EmbeddedBus(database, settings.bus)
        outlet: EventOutlet = (
            KafkaOutlet(TopicNames.from_settings(settings.kafka))
            if settings.runs_distributed
            else EmbeddedOutlet(bus)
        )
        return cls(
            settings=settings,
            database=database,
            blobs=LocalBlobStore(settings.blob_root),
            bus=bus,
            outlet=outlet,
            models=ModelsAndClients(settings),
        )

    def close(self) -> None:
        """Release clients (HTTP pools, Graph's event loop) and the database; safe to call twice."""
        self.models.close()
        self.database.dispose()

    def fetchers(self) -> dict[str, RecordingFetcher]:
        fetchers: dict[str, RecordingFetcher] = {"local": LocalFolderFetcher()}
        if self.settings.graph.tenant_id:
            if "graph_fetcher" not in self.models.built:
                from dealtalk.ingest.graph.factory import load_graph_fetcher

                self.models.built["graph_fetcher"] = load_graph_fetcher(
                    self.settings, session=self._graph_session()
                )
            fetchers["graph"] = self.models.built["graph_fetcher"]
        return fetchers

    def graph_ingest(self) -> GraphIngest:
        """Teams discovery for this process: state in the shared database, discoveries through the outlet.

        Raises:
            ConfigurationError: Graph credentials or organizers are missing.
        """
        if "graph_ingest" not in self.models.built:
            from dealtalk.ingest.graph.factory import load_graph_ingest
            from dealtalk.pipeline.discovery import bus_emitter
            from dealtalk.pipeline.graph_state import DatabaseDiscoveryState

            self.models.built["graph_ingest"] = load_graph_ingest(
                self.settings,
                emit=bus_emitter(self.database, self.outlet),
                session=self._graph_session(),
                state=DatabaseDiscoveryState(self.database),
            )
        ingest: GraphIngest = self.models.built["graph_ingest"]
        return ingest

    def graph_runtime(self) -> GraphRuntime:
        """Discovery running in this process: the webhook's work queue, and the delta sync and renewals while
        this process holds the cluster's discovery lease. The caller closes it."""
        from datetime import timedelta

        from dealtalk.ingest.graph.service import GraphRuntime
        from dealtalk.pipeline.store.leases import Lease, new_holder_id

        graph = self.settings.graph
        lease = Lease(
            self.database, "graph-discovery", new_holder_id(), ttl=timedelta(seconds=graph.leader_lease_s)
        )
        return GraphRuntime(self.graph_ingest(), interval_s=graph.delta_interval_s, leadership=lease)

    def _graph_session(self) -> Any:
        if "graph_session" not in self.models.built:
            from dealtalk.ingest.graph.factory import load_graph_session

            self.models.built["graph_session"] = load_graph_session(self.settings)
        return self.models.built["graph_session"]

    def opt_out_group(self) -> GroupMembership | None:
        """Membership of the opt-out Entra group through Graph; None when no group is configured."""
        gdpr = self.settings.gdpr
        if not gdpr.opted_out_group_id:
            return None
        if "opt_out_group" not in self.models.built:
            from dealtalk.pipeline.gdpr.consent_graph import GraphGroupMembership
            from dealtalk.pipeline.graph_state import DatabaseDiscoveryState

            self.models.built["opt_out_group"] = GraphGroupMembership(
                self._graph_session(),
                gdpr.opted_out_group_id,
                state=DatabaseDiscoveryState(self.database),
                ttl_s=gdpr.opted_out_group_ttl_min * 60.0,
            )
        membership: GroupMembership = self.models.built["opt_out_group"]
        return membership

    def consent_screen(self) -> ConsentScreen:
        return ConsentScreen(self.database, self.settings.gdpr, self.opt_out_group())

    def transcript_guard(self) -> TranscriptGuard:
        return TranscriptGuard(self.database, self.settings.gdpr, self.opt_out_group())

    @property
    def competitors(self) -> tuple[str, ...]:
        """The competitor names for a call whose opportunity is not known yet (configured ∪ the CRM's)."""
        return self.models.competitor_names()()

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
                        transcriber=self.models.transcriber(),
                        blobs=self.blobs,
                        speech=settings.speech,
                        tenant=settings.tenant,
                        # ASR hotwords: the meeting's opportunity's competitors first, then the configured
                        # and the CRM's; the decoder keeps as many whole names as fit Whisper's prompt.
                        competitors=self.models.hotword_competitors,
                        progress=progress,
                        guard=self.transcript_guard(),
                    )
                )
            elif name == "analyze":
                built.append(
                    build_analyze_stage(
                        engine=self.models.insight_engine(),
                        blobs=self.blobs,
                        tenant=settings.tenant,
                        competitors=self.models.competitor_names(),
                    )
                )
            else:
                built.append(
                    build_publish_stage(
                        resolver=self.models.resolver(),
                        publisher=self.models.publisher(),
                        blobs=self.blobs,
                        manual_link=partial(manual_link, self.database),
                        version=self.publish_version,
                    )
                )
        return built

    # --- running the stages over the configured bus ------------------------------------------------------
    def run_worker(
        self,
        names: Sequence[StageName] = STAGE_NAMES,
        *,
        burst: bool = False,
        watch: Path | None = None,
        progress: ProgressHook | None = None,
        on_job: Callable[[str, str, str], None] | None = None,
    ) -> WorkerStats:
        """Serve the named stages on the configured bus until SIGTERM/SIGINT (``burst``: until no work is left).

        Raises:
            TransientError: the Kafka cluster could not be reached at start.
        """
        stages = self.stages(names, progress=progress)
        scan = None
        if watch is not None:
            from dealtalk.pipeline.discovery import folder_scan

            scan = folder_scan(watch, self.outlet, self.database, self.settings)
        if self.settings.runs_distributed:
            from dealtalk.pipeline.runtime.kafka.main import run_kafka_worker

            return run_kafka_worker(
                stages,
                settings=self.settings,
                database=self.database,
                burst=burst,
                scan=scan,
                on_job=on_job,
            )
        from dealtalk.pipeline.runtime.embedded_main import run_embedded_worker

        return run_embedded_worker(
            stages,
            bus=self.bus,
            settings=self.settings,
            burst=burst,
            scan=scan,
            on_job=on_job,
        )

    def deliver_here(self, names: Sequence[StageName]) -> WorkerStats | None:
        """Run the named stages on what is queued now, in this process, when the bus is this process's own
        (embedded); on Kafka the worker fleet does it, and None says so."""
        if self.settings.runs_distributed:
            return None
        return self.run_worker(names, burst=True)

    def dead_letters(self) -> DeadLetterQueue:
        """The configured bus's dead-letter queue (``dealtalk dlq``)."""
        if self.settings.runs_distributed:
            return KafkaDeadLetters(self.settings.kafka, self.database)
        return EmbeddedDeadLetters(self.bus)

    def outbox_relay(self) -> Closeable | None:
        """A running relay from the outbox to Kafka for processes that hand events on outside a worker (the API
        server); None on the embedded bus, whose queue is the outbox."""
        if not self.settings.runs_distributed:
            return None
        from dealtalk.pipeline.bus.kafka.relay import RelayThread

        return RelayThread(self.database, self.settings.kafka)

    @property
    def publish_version(self) -> str:
        """Publishing again to the same target reuses the stored result; a new target publishes anew."""
        publisher = self.settings.publisher
        target = self.settings.dataverse.url if publisher.mode == "dataverse" else "dry-run"
        return f"publish-1:{publisher.mode}:{target}:{publisher.activity_entity_set}"
