"""The Kafka group of the settings model (``Settings.kafka``), in its own module for size; import it from
``dealtalk.contracts.config`` like every other group."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["KafkaSettings"]


class KafkaSettings(BaseModel):
    """``DEALTALK_KAFKA__*``: the cluster, the consumer groups and the topics of the Kafka bus."""

    model_config = ConfigDict(extra="forbid", frozen=True)  # like every group of the settings model

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    topic_prefix: str = "dealtalk"
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    group_prefix: str = "dealtalk"
    client_id: str = "dealtalk"
    session_timeout_ms: int = Field(default=30_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    max_poll_interval_ms: int = Field(default=300_000, ge=1000)
    request_timeout_ms: int = Field(default=40_000, ge=1000)
    # Jobs a worker runs at once (backpressure); the partition of a running job is paused.
    max_concurrent_jobs: int = Field(default=1, ge=1)
    # Check the server's certificate host name (SSL, SASL_SSL); off only for test clusters. The certificate
    # itself is still verified against the CAs: switching that off is ``ssl_verify``, a separate setting.
    ssl_check_hostname: bool = True
    # Verify the cluster's certificate chain. Off encrypts without knowing who answers: refused in production,
    # logged as a warning on every connect elsewhere.
    ssl_verify: bool = True
    # Static group membership (KIP-345): a restarted worker with the same id gets its partitions back at
    # once, without a rebalance. Use a stable per-replica name (the StatefulSet pod name); empty = dynamic.
    group_instance_id: str = ""
    # Records one poll hands to a partition's job loop; jobs of one partition run one after another.
    max_poll_records: int = Field(default=50, ge=1)
    poll_timeout_ms: int = Field(default=500, ge=10)
    # How long a running job may take to finish when its partition is revoked (rebalance) or the worker
    # stops (SIGTERM); a job still running then is abandoned: nothing is committed and the next owner redoes it.
    rebalance_grace_s: float = Field(default=20.0, ge=0)
    shutdown_grace_s: float = Field(default=60.0, ge=0)
    # Producer: the largest request (records stay far below; see events.MAX_EVENT_BYTES), and how long a
    # record may wait for others to share its batch: 0, because a worker awaits each hand-over it sends.
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    linger_ms: int = Field(default=0, ge=0)
    # Topic configuration used by `dealtalk topics create`.
    retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=-1)
    dead_letter_retention_ms: int = Field(default=30 * 24 * 3600 * 1000, ge=-1)
    min_insync_replicas: int = Field(default=1, ge=1)
    # A worker whose topics are missing logs it and checks again after this long (other stages keep going).
    topic_check_interval_s: float = Field(default=15.0, gt=0)
    # How often a worker exports its consumer lag.
    lag_interval_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_"):
            if self.sasl_mechanism is None:
                raise ValueError(
                    f"security_protocol {self.security_protocol} needs DEALTALK_KAFKA__SASL_MECHANISM "
                    "(PLAIN for Azure Event Hubs, SCRAM-SHA-256 or SCRAM-SHA-512)"
                )
            if not self.sasl_username or self.sasl_password is None:
                raise ValueError(
                    "SASL needs DEALTALK_KAFKA__SASL_USERNAME and DEALTALK_KAFKA__SASL_PASSWORD "
                    "(Azure Event Hubs: user name '$ConnectionString', password the connection string)"
                )
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError(
                f"heartbeat_interval_ms ({self.heartbeat_interval_ms}) should be at most a third of "
                f"session_timeout_ms ({self.session_timeout_ms})"
            )
        return self
