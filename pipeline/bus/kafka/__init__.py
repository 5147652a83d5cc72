"""The Kafka bus (``kafka`` extra): topics, producer, consumers' settings, and the dead-letter topic's tools.

The driver that runs stages over it lives in ``dealtalk.pipeline.runtime.kafka``.
"""

from __future__ import annotations

try:
    import aiokafka  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the Kafka bus needs the 'kafka' extra: pip install 'dealtalk[kafka]' (aiokafka)"
    ) from exc
