"""GPU out-of-memory is a batch-size problem, not a crash: halve the batch and try again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from dealtalk.contracts.errors import TransientError

__all__ = ["is_out_of_memory", "with_smaller_batches"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def is_out_of_memory(exc: BaseException) -> bool:
    """CTranslate2 raises RuntimeError("... out of memory"), torch OutOfMemoryError, pyannote MemoryError."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "cuda_error_out_of_memory" in text)


def _release_cached_memory() -> None:
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def with_smaller_batches(run: Callable[[int], T], batch_size: int, *, what: str) -> T:
    """Call ``run(batch_size)``; after out-of-memory, retry with half the batch down to 1.

    Raises:
        TransientError: still out of memory at batch size 1 (the device is busy; retry the job later).
    """
    size = max(1, batch_size)
    while True:
        try:
            return run(size)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            _release_cached_memory()
            if size == 1:
                raise TransientError(f"{what}: out of GPU memory even with batch size 1") from exc
            size = max(1, size // 2)
            logger.warning("%s: out of GPU memory, retrying with batch size %d", what, size)
