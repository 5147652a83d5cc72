"""The model set a reprocessing run uses: ASR spec, device, precision and batch size on top of the settings.

The speech engine already does the device work (``models/device.py`` plans CUDA vs CPU and float16 vs int8,
sizes the batch to the GPU's free memory; ``transcription/oom.py`` halves the batch after out-of-memory). A run
only chooses: these options become a copy of the ``Settings`` that ``load_transcriber`` builds the engine from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import InvalidInput

__all__ = ["ASR_ALIASES", "ModelSet", "resolve_asr_spec"]

# Short names people type, mapped to the registry's specs (a local CTranslate2 folder passes through).
ASR_ALIASES = {
    "tiny.en": "whisper-tiny.en",
    "whisper-tiny.en": "whisper-tiny.en",
    "base": "whisper-base",
    "whisper-base": "whisper-base",
}

Device = Literal["auto", "cpu", "cuda"]


def resolve_asr_spec(name: str) -> str:
    """``tiny.en``/``base`` -> the registry spec; anything else (a folder, a hub name) unchanged.

    Raises:
        InvalidInput: an empty name.
    """
    spec = name.strip()
    if not spec:
        raise InvalidInput("--asr-model is empty; use tiny.en, base (whisper-base) or a CTranslate2 folder")
    return ASR_ALIASES.get(spec, spec)


@dataclass(frozen=True, slots=True)
class ModelSet:
    """What a run changes about the speech models (None/"" keeps the configured value).

    Attributes:
        asr_model: registry spec or local CTranslate2 folder (``whisper-base``, ``/models/large-v3``).
        device: "auto", "cpu" or "cuda" (cuda fails fast when no GPU is usable); None keeps the configured one.
        compute_type: CTranslate2 compute type ("float16", "int8_float16", "int8"); "" picks per device.
        batch_size: ASR chunks decoded together; on CUDA the engine lowers it to what free memory allows and
            halves it after an out-of-memory error.
    """

    asr_model: str
    device: Device | None = None
    compute_type: str = ""
    batch_size: int | None = None

    @classmethod
    def from_options(
        cls,
        asr_model: str,
        *,
        device: str | None = None,
        compute_type: str = "",
        batch_size: int | None = None,
    ) -> ModelSet:
        """Build from command-line strings, validating them.

        Raises:
            InvalidInput: an unknown device or a batch size below 1.
        """
        if device is not None and device not in ("auto", "cpu", "cuda"):
            raise InvalidInput(f"--device {device!r} is not one of auto, cpu, cuda")
        if batch_size is not None and batch_size < 1:
            raise InvalidInput(f"--batch-size must be at least 1, got {batch_size}")
        return cls(
            asr_model=resolve_asr_spec(asr_model),
            device=device,  # type: ignore[arg-type]
            compute_type=compute_type.strip(),
            batch_size=batch_size,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSet:
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def apply(self, settings: Settings) -> Settings:
        """A copy of ``settings`` whose speech group uses this model set."""
        update: dict[str, Any] = {"asr_model": self.asr_model}
        if self.device is not None:
            update["device"] = self.device
        if self.compute_type:
            update["compute_type"] = self.compute_type
        if self.batch_size is not None:
            update["batch_size"] = self.batch_size
        speech = settings.speech.model_copy(update=update)
        return settings.model_copy(update={"speech": speech})
