"""The model registry: one place that turns model specs into loaded models with provenance.

A spec is a short name (``whisper-base``, ``pyannote-segmentation-3.0``, ``campplus``), a local path, or a
hub name. Resolving verifies checksums and returns a ``ModelRef`` (name, version, source, sha256) that goes
into every result the model produced, so reprocessing knows what made what.

Usage::

    registry = ModelRegistry(settings)
    asr = registry.load("asr", settings.speech.asr_model)   # LoadedModel(model=WhisperModel, ref=ModelRef)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import ModelRef
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.models.device import DevicePlan, plan_device
from dealtalk.models.speaker import load_campplus, load_segmentation, resolve_campplus, resolve_segmentation
from dealtalk.models.whisper import load_whisper, resolve_whisper

__all__ = ["LOADERS", "RESOLVERS", "LoadedModel", "ModelRegistry", "Resolved"]


class Resolved(Protocol):
    """What every resolver returns: a local path and its provenance."""

    @property
    def path(self) -> Path: ...

    @property
    def ref(self) -> ModelRef: ...


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model object ready to run, with the provenance record of the weights it was built from."""

    model: Any
    ref: ModelRef
    path: Path


# kind -> (spec, model_cache_dir) -> Resolved. Other areas add their kinds here (one line each).
RESOLVERS: Mapping[str, Callable[[str, Path], Resolved]] = {
    "asr": resolve_whisper,
    "segmentation": resolve_segmentation,
    "speaker-embedding": resolve_campplus,
}

# kind -> (resolved, device plan) -> model object.
LOADERS: Mapping[str, Callable[[Any, DevicePlan], Any]] = {
    "asr": load_whisper,
    "segmentation": load_segmentation,
    "speaker-embedding": load_campplus,
}


class ModelRegistry:
    """Resolves and loads models for one process, on the device planned from the settings.

    Args:
        settings: the application settings (``model_cache_dir`` and the ``speech`` group are used).
        plan: a device plan; by default made from ``settings.speech`` (auto/cpu/cuda, int8/float16).
    """

    def __init__(self, settings: Settings, *, plan: DevicePlan | None = None) -> None:
        self._cache_dir = settings.model_cache_dir
        self.plan = plan or plan_device(settings.speech)

    def resolve(self, kind: str, spec: str) -> Resolved:
        """Resolve ``spec`` of ``kind`` to verified local files.

        Raises:
            ConfigurationError: unknown kind or spec; CorruptModelError (a subclass) on a checksum mismatch.
        """
        try:
            resolver = RESOLVERS[kind]
        except KeyError:
            raise ConfigurationError(f"unknown model kind {kind!r}; known: {', '.join(RESOLVERS)}") from None
        return resolver(spec, self._cache_dir)

    def load(self, kind: str, spec: str) -> LoadedModel:
        """Resolve and load a model onto the planned device.

        Returns:
            The loaded model and its ``ModelRef``.

        Raises:
            ConfigurationError: as ``resolve``, or the model cannot be loaded on this device.
        """
        resolved = self.resolve(kind, spec)
        loader = LOADERS.get(kind)
        if loader is None:
            raise ConfigurationError(f"model kind {kind!r} has no loader; resolve it instead")
        return LoadedModel(model=loader(resolved, self.plan), ref=resolved.ref, path=resolved.path)
