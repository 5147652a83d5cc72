"""The speech stage's factory: every speech model loaded once, with provenance, into a ``SpeechEngine``.

The composition root (``pipeline/models_and_clients.py``) calls ``load_transcriber`` once per process.

Usage::

    engine = load_transcriber(Settings.load())
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from dataclasses import replace

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import ModelRef
from dealtalk.models.checksum import cached_sha256
from dealtalk.models.device import apply_torch_threads, gpu_batch_size
from dealtalk.models.registry import ModelRegistry
from dealtalk.models.whisper import dutch_model_warning
from dealtalk.transcription.diarization import CHUNK_DIARIZATION, WINDOW_DIARIZATION, Diarizer
from dealtalk.transcription.embedding import CamppEmbedder
from dealtalk.transcription.engine import SpeechEngine
from dealtalk.transcription.language import TextLanguageId
from dealtalk.transcription.vad import SileroVad
from dealtalk.transcription.voiceprints import FileVoiceprintStore
from dealtalk.transcription.whisper_decoder import DecodeOptions, WhisperDecoder

__all__ = ["load_transcriber"]

logger = logging.getLogger(__name__)


def load_transcriber(settings: Settings) -> SpeechEngine:
    """Load every speech model once (registry: checksums, device, precision, threads) and build the engine.

    Args:
        settings: the application settings (``speech`` group, ``model_cache_dir``, ``data_dir``).

    Returns:
        A ``CallTranscriber`` that the worker keeps for its lifetime.

    Raises:
        ConfigurationError: a model spec does not resolve, a checksum is wrong, or the device is unusable.
    """
    speech = settings.speech
    registry = ModelRegistry(settings)
    plan = registry.plan
    if plan.device == "cpu":
        apply_torch_threads(plan)
    asr_model = registry.load("asr", speech.asr_model)
    warning = dutch_model_warning(
        asr_model.ref.name,
        asr_model.path,
        multilingual=bool(asr_model.model.model.is_multilingual),
        languages=speech.languages,
    )
    if warning:
        logger.warning(warning)
    # ~64 MiB of activations per batch item plus a share of the weights (large-v3 needs far more than base).
    per_item = 64 * 2**20 + int(0.25 * (asr_model.path / "model.bin").stat().st_size)
    batch_size = (
        gpu_batch_size(plan, per_item_bytes=per_item, ceiling=max(speech.batch_size, 16))
        if plan.device == "cuda"
        else speech.batch_size
    )
    asr = WhisperDecoder(
        asr_model.model,
        DecodeOptions(
            beam_size=speech.beam_size,
            batch_size=batch_size,
            hotword_tokens=speech.hotword_tokens,
            languages=speech.languages,
            window_s=speech.asr_window_s,
        ),
    )
    vad = SileroVad()
    models: dict[str, ModelRef] = {"asr": asr_model.ref, "vad": _vad_ref(vad, settings)}
    diarizer = None
    if speech.diarization:
        segmentation = registry.load("segmentation", speech.segmentation_model)
        embedding = registry.load("speaker-embedding", speech.embedding_model)
        embedder = CamppEmbedder(embedding.model, device=plan.torch_device)
        diarizer = Diarizer(
            segmentation.model,
            embedder,
            replace(
                WINDOW_DIARIZATION if speech.speaker_embedding == "windows" else CHUNK_DIARIZATION,
                step=speech.segmentation_step,
                batch_size=32 if plan.device == "cuda" else 16,
            ),
            device=plan.torch_device,
        )
        models["diarization"] = ModelRef(
            name=f"pyannote.audio 4 recipe: {segmentation.ref.name} + {embedding.ref.name}",
            version=f"step={speech.segmentation_step};embedding={speech.speaker_embedding}",
            source=segmentation.ref.source,
            sha256=_combined(segmentation.ref.sha256, embedding.ref.sha256),
        )
        models["segmentation"] = segmentation.ref
        models["speaker-embedding"] = embedding.ref
    voiceprints = FileVoiceprintStore(settings.data_dir / "voiceprints") if speech.voiceprints else None
    return SpeechEngine(
        settings=speech,
        plan=plan,
        asr=asr,
        vad=vad,
        diarizer=diarizer,
        text_lid=TextLanguageId(speech.languages),
        models=models,
        voiceprints=voiceprints,
        batch_size=batch_size,
    )


def _vad_ref(vad: SileroVad, settings: Settings) -> ModelRef:
    version = importlib.metadata.version("faster-whisper")
    return ModelRef(
        name="silero-vad-v6",
        version=version,
        source=f"pypi:faster-whisper=={version}",
        sha256=cached_sha256(vad.model_path, settings.model_cache_dir / ".stamps"),
    )


def _combined(*digests: str) -> str:
    return hashlib.sha256("".join(digests).encode()).hexdigest()
