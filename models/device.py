"""Device and precision per host: ``auto|cpu|cuda``, int8 on CPU, float16 on GPU, explicit thread counts.

Nothing here imports torch or ctranslate2 at module import; the probes run when a plan is made.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal

from dealtalk.contracts.config import SpeechSettings
from dealtalk.contracts.errors import ConfigurationError

__all__ = [
    "DevicePlan",
    "apply_torch_threads",
    "cuda_free_bytes",
    "gpu_batch_size",
    "plan_device",
    "usable_cpus",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """Where and how the speech models run.

    Attributes:
        device: "cpu" or "cuda".
        compute_type: CTranslate2 compute type for Whisper ("int8" on CPU, "float16" on CUDA by default).
        cpu_threads: CTranslate2 intra-op threads on CPU.
        torch_threads: torch intra-op threads (diarization); 1 per worker process on CPU.
        device_index: the CUDA device.
    """

    device: Literal["cpu", "cuda"]
    compute_type: str
    cpu_threads: int
    torch_threads: int
    device_index: int = 0

    @property
    def torch_device(self) -> str:
        return f"cuda:{self.device_index}" if self.device == "cuda" else "cpu"


def usable_cpus() -> int:
    """The CPUs this process may run on (respects taskset/cgroup affinity, unlike ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _cuda_available() -> bool:
    # CTranslate2 runs the ASR and torch the diarization: both must see the GPU for the CUDA path.
    try:
        import ctranslate2
        import torch
    except ImportError:
        return False
    try:
        return bool(ctranslate2.get_cuda_device_count() > 0 and torch.cuda.is_available())
    except RuntimeError:
        return False


def plan_device(settings: SpeechSettings) -> DevicePlan:
    """Choose device, precision and threads from the settings and what the host has.

    Args:
        settings: the speech settings (``device``, ``compute_type``, ``cpu_threads``, ``torch_threads``).

    Returns:
        The plan; ``auto`` picks CUDA when both CTranslate2 and torch can use a GPU.

    Raises:
        ConfigurationError: ``device=cuda`` on a host without a usable GPU.
    """
    if settings.device == "cuda" and not _cuda_available():
        raise ConfigurationError(
            "DEALTALK_SPEECH__DEVICE=cuda but no CUDA device is usable by CTranslate2 and torch here; "
            "set it to auto or cpu, or install the gpu extra (cuBLAS/cuDNN 9)"
        )
    auto: Literal["cpu", "cuda"] = "cuda" if settings.device == "auto" and _cuda_available() else "cpu"
    device: Literal["cpu", "cuda"] = auto if settings.device == "auto" else settings.device
    compute_type = settings.compute_type or ("float16" if device == "cuda" else "int8")
    cpu_threads = settings.cpu_threads or usable_cpus()
    plan = DevicePlan(
        device=device,
        compute_type=compute_type,
        cpu_threads=cpu_threads,
        torch_threads=settings.torch_threads,
    )
    logger.info(
        "speech models on %s (%s), %d CTranslate2 threads, %d torch threads",
        plan.device,
        plan.compute_type,
        plan.cpu_threads,
        plan.torch_threads,
    )
    return plan


def apply_torch_threads(plan: DevicePlan) -> None:
    """Set torch's thread pools for this process (1 intra-op thread per worker on CPU).

    Oversubscribed torch threads were ~20x slower on a shared 2-core host, so we set them explicitly.
    """
    import torch

    torch.set_num_threads(plan.torch_threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        # Only settable before the first parallel op; a second plan in the same process keeps the first.
        logger.debug("torch inter-op threads already fixed for this process")


def cuda_free_bytes(device_index: int = 0) -> int:
    """Free memory on a CUDA device in bytes (0 when CUDA is not usable)."""
    try:
        import torch
    except ImportError:
        return 0
    if not torch.cuda.is_available():
        return 0
    free, _total = torch.cuda.mem_get_info(device_index)
    return int(free)


def gpu_batch_size(plan: DevicePlan, *, per_item_bytes: int, ceiling: int, floor: int = 1) -> int:
    """A batch size that fits the GPU's free memory (70 % of it, leaving room for other allocations).

    On CPU this returns ``ceiling`` unchanged: there the batch size is a throughput knob, not a limit.
    """
    if plan.device != "cuda":
        return ceiling
    free = cuda_free_bytes(plan.device_index)
    fit = int(free * 0.7) // max(per_item_bytes, 1)
    return max(floor, min(ceiling, fit))
