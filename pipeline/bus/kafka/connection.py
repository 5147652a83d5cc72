"""How to reach the cluster: the client options every Kafka client here shares, built from ``KafkaSettings``.

Three cluster shapes by configuration alone:

* plain: ``PLAINTEXT`` (the test broker, a private network);
* Azure Event Hubs' Kafka endpoint: ``SASL_SSL`` + ``PLAIN`` on port 9093, user name ``$ConnectionString``,
  password the namespace's connection string;
* SASL/SCRAM clusters (Confluent, MSK, Strimzi): ``SASL_SSL`` + ``SCRAM-SHA-256``/``SCRAM-SHA-512``.

The password is unwrapped only here, into the client's arguments; nothing logs it.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from dealtalk.contracts.config import KafkaSettings

__all__ = ["client_options", "describe_cluster"]

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
