"""The real speech models, loaded once per test session: Whisper base, Silero VAD, segmentation-3.0 + CAM++.

Tests use short clips of real recordings (pyannote's 30 s two-speaker sample with its RTTM, the bundled
sample calls with their reference turns) and generated non-speech; every clip is cut to what the test needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from dealtalk.contracts.config import Settings
from dealtalk.samples import CALLS_DIR
from dealtalk.transcription.engine import SpeechEngine
from dealtalk.transcription.loader import load_transcriber

CALLS = CALLS_DIR


@pytest.fixture(scope="session")
def speech_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings.load(
        data_dir=tmp_path_factory.mktemp("speech-data"), speech={"device": "cpu", "voiceprints": False}
    )


@pytest.fixture(scope="session")
def engine(speech_settings: Settings) -> SpeechEngine:
    """The product's engine as ``load_transcriber`` builds it (diarization on)."""
    return load_transcriber(speech_settings)


def _variant(engine: SpeechEngine, **speech: object) -> SpeechEngine:
    return SpeechEngine(
        settings=engine.settings.model_copy(update=speech),
        plan=engine.plan,
        asr=engine.asr,
        vad=engine.vad,
        diarizer=engine.diarizer if speech.get("diarization", True) else None,
        text_lid=engine.text_lid,
        models=engine.models,
        batch_size=engine.batch_size,
    )


@pytest.fixture(scope="session")
def asr_engine(engine: SpeechEngine) -> SpeechEngine:
    """The same loaded models without diarization (language and guard tests need only the words)."""
    return _variant(engine, diarization=False)


@pytest.fixture(scope="session")
def raw_asr_engine(engine: SpeechEngine) -> SpeechEngine:
    """Without VAD either: Whisper sees the non-speech itself, so only the guards stand in the way."""
    return _variant(engine, diarization=False, vad=False)


@pytest.fixture
def clip(tmp_path: Path) -> Callable[..., Path]:
    """Cut ``[start_s, end_s)`` of a recording into a WAV (optionally resampled / made stereo)."""

    def cut(source: Path, start_s: float, end_s: float, *, name: str = "clip.wav") -> Path:
        samples, rate = sf.read(source, dtype="float32", start=int(start_s * 16000), stop=int(end_s * 16000))
        assert rate == 16000
        target = tmp_path / name
        sf.write(target, samples, rate, subtype="PCM_16")
        return target

    return cut


@pytest.fixture
def write_wav(tmp_path: Path) -> Callable[..., Path]:
    def write(
        samples: npt.NDArray[np.float32], name: str, rate: int = 16000, subtype: str = "PCM_16"
    ) -> Path:
        path = tmp_path / name
        sf.write(path, samples, rate, subtype=subtype)
        return path

    return write
