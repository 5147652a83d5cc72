"""The worker's retention job: ``run_retention`` every ``DEALTALK_GDPR__RETENTION_INTERVAL_S`` seconds."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from dealtalk.contracts.errors import DealtalkError
from dealtalk.pipeline.gdpr.retention import run_retention

if TYPE_CHECKING:
    from dealtalk.pipeline.parts import AppParts

__all__ = ["start_retention_schedule"]

logger = logging.getLogger(__name__)


def start_retention_schedule(parts: AppParts, stop: threading.Event) -> threading.Thread | None:
    """Start the periodic retention job in a daemon thread (first run at once); None when switched off."""
    interval = parts.settings.gdpr.retention_interval_s
    if interval <= 0:
        return None

    def loop() -> None:
        while not stop.is_set():
            try:
                run_retention(parts, actor="worker:retention")
            except DealtalkError as exc:
                logger.warning("gdpr retention failed, retried in %.0f s: %s", interval, type(exc).__name__)
            except Exception:  # a bug must not stop the worker's stages; it is logged and retried
                logger.exception("gdpr retention crashed, retried in %.0f s", interval)
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="gdpr-retention", daemon=True)
    thread.start()
    return thread
