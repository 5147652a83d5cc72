"""How to reach the cluster: the client options every Kafka client here shares, built from ``KafkaSettings``.

Three cluster shapes by configuration alone:

* plain: ``PLAINTEXT`` (the test broker, a private network);
* Azure Event Hubs' Kafka endpoint: ``SASL_SSL`` + ``PLAIN`` on port 9093, user name ``$ConnectionString``,
  password the namespace's connection string;
* SASL/SCRAM clusters (Confluent, MSK, Strimzi): ``SASL_SSL`` + ``SCRAM-SHA-256``/``SCRAM-SHA-512``.

The password is unwrapped only here, into the client's arguments; nothing logs it.

``KafkaClient`` is the one lifecycle of the clients built from them (producer, admin, stage consumers): start
with these options, turn a failed start into our error after closing what was half open, close once.
"""

from __future__ import annotations

import logging
import ssl
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Self

from dealtalk.contracts.config import KafkaSettings
from dealtalk.pipeline.bus.kafka.errors import CLIENT_ERRORS, translate

__all__ = ["KafkaClient", "client_options", "describe_cluster"]

logger = logging.getLogger(__name__)


def client_options(settings: KafkaSettings, *, client_id_suffix: str = "") -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``/``AIOKafkaConsumer``/``AIOKafkaAdminClient``.

    Raises:
        OSError: ``ssl_cafile`` cannot be read.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": f"{settings.client_id}{client_id_suffix}",
        "request_timeout_ms": settings.request_timeout_ms,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(settings)
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None  # the settings' validator guarantees it
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password.get_secret_value(),
        )
    return options


def describe_cluster(settings: KafkaSettings) -> str:
    """The cluster for log lines: servers, protocol and mechanism; never the credentials."""
    mechanism = f"/{settings.sasl_mechanism}" if settings.security_protocol.startswith("SASL_") else ""
    return f"{settings.bootstrap_servers} ({settings.security_protocol}{mechanism})"


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    # The system CAs verify Event Hubs and public clusters; a private CA comes from ssl_cafile.
    context = ssl.create_default_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile is not None else None
    )
    context.check_hostname = settings.ssl_check_hostname and settings.ssl_verify
    if not settings.ssl_verify:
        # A test cluster with a self-signed certificate: encrypted, but nobody checks who answers.
        logger.warning(
            "DEALTALK_KAFKA__SSL_VERIFY=false: the Kafka cluster's certificate is NOT verified (%s)",
            describe_cluster(settings),
        )
        context.verify_mode = ssl.CERT_NONE
    return context


class KafkaClient(ABC):
    """One aiokafka client's lifecycle; an async context manager, and ``stop()`` may be called twice.

    A subclass builds its client in ``_open`` (aiokafka's clients are not started by their constructor) and may
    say what a failed start means (``_failed_start``), how its client closes (``_close``: producers and
    consumers ``stop()``, the admin client ``close()``) and what to log once it is started or closed.

    Args:
        settings: the cluster to reach, and how.
        client_id_suffix: appended to ``settings.client_id``, so the broker's logs tell the clients apart.
    """

    def __init__(self, settings: KafkaSettings, *, client_id_suffix: str = "") -> None:
        self.settings = settings
        self._client_id_suffix = client_id_suffix
        self._client: Any = None

    @abstractmethod
    def _open(self, options: dict[str, Any]) -> Any:
        """A new aiokafka client with the connection ``options`` (``client_options``), not started yet."""

    def _failed_start(self) -> str:
        """What could not be done, for the error when the client does not start."""
        return f"cannot reach the cluster at {describe_cluster(self.settings)}"

    async def _close(self, client: Any) -> None:
        await client.stop()

    def _opened(self) -> None:  # noqa: B027 - an optional hook: most clients log nothing more
        """Called once the client has started."""

    def _closed(self) -> None:  # noqa: B027 - an optional hook
        """Called once the client has closed."""

    async def start(self) -> None:
        """Connect.

        Raises:
            TransientError: the cluster cannot be reached now.
            ConfigurationError: the cluster refused our credentials or settings.
        """
        client = self._open(client_options(self.settings, client_id_suffix=self._client_id_suffix))
        try:
            await client.start()
        except CLIENT_ERRORS as exc:
            await self._close(client)
            raise translate(exc, self._failed_start()) from exc
        self._client = client
        self._opened()

    async def stop(self) -> None:
        """Disconnect (idempotent); a producer flushes what is pending first."""
        client, self._client = self._client, None
        if client is not None:
            await self._close(client)
            self._closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _started(self) -> Any:
        """The started client.

        Raises:
            RuntimeError: used before ``start()`` or after ``stop()``.
        """
        if self._client is None:
            raise RuntimeError(f"{type(self).__name__} used before start() or after stop()")
        return self._client
