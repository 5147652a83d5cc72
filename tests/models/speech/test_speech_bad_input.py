"""Bad and odd input through the real engine: a clear error, or a correct empty or partial transcript.

Zero-length, truncated, corrupt and wrong-format files; all-silence, noise and a 440 Hz tone (zero words,
with and without the VAD in front of Whisper); one speaker; clipped audio; 8 kHz stereo telephone audio.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dealtalk.contracts.errors import InvalidInput
from dealtalk.samples import CALLS_DIR
from dealtalk.transcription.engine import NO_SPEECH, SpeechEngine
from dealtalk.transcription.protocols import CallContext

pytestmark = pytest.mark.models

CALLS = CALLS_DIR
EN_CALL = CALLS / "call-en-northwind.flac"
NL_CALL = CALLS / "call-nl-zuidhaven.flac"
RATE = 16000


def _ctx(name: str, **hints: object) -> CallContext:
    return CallContext(call_id=name, **hints)  # type: ignore[arg-type]


def _words(doc: object) -> list[str]:
    return [w.word for s in doc.segments for w in s.words]  # type: ignore[attr-defined]


def _non_speech() -> dict[str, np.ndarray]:
    t = np.arange(8 * RATE) / RATE
    rng = np.random.default_rng(7)
    return {
        "silence": np.zeros(8 * RATE, dtype=np.float32),
        "noise": (0.1 * rng.standard_normal(8 * RATE)).astype(np.float32),
        "tone": (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
    }


@pytest.mark.parametrize("kind", ["silence", "noise", "tone"])
def test_non_speech_gives_zero_words(
    kind: str, engine: SpeechEngine, raw_asr_engine: SpeechEngine, write_wav: Callable[..., Path]
) -> None:
    path = write_wav(_non_speech()[kind], f"{kind}.wav")
    doc = engine.transcribe(path, _ctx(kind, num_speakers=2))
    assert _words(doc) == [] and doc.speakers == ()
    assert NO_SPEECH in doc.warnings and doc.duration_s == 8.0
    # Without the VAD, Whisper decodes the non-speech itself: the guards must throw away what it invents.
    raw = raw_asr_engine.transcribe(path, _ctx(kind, language="en"))
    assert _words(raw) == [], f"Whisper's output on {kind} passed the guards: {_words(raw)}"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", r"empty \(0 bytes\)"),
        (b"this is a meeting note, not audio\n" * 20, "not a readable audio or video file"),
        (
            b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
            "not a readable audio or video file|has no audio stream",
        ),
    ],
    ids=["zero-length", "text-file", "png-bytes"],
)
def test_unreadable_files_are_refused_clearly(
    content: bytes, problem: str, engine: SpeechEngine, tmp_path: Path
) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=problem) as caught:
        engine.transcribe(path, _ctx("bad"))
    assert not caught.value.retriable and caught.value.recording_id == "bad"


def test_a_corrupt_middle_keeps_the_readable_audio(engine: SpeechEngine, tmp_path: Path) -> None:
    samples, _ = sf.read(EN_CALL, dtype="float32", stop=12 * RATE)
    path = tmp_path / "corrupt.flac"
    sf.write(path, samples, RATE)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = bytes(4000)  # a run of zeroed bytes: damaged FLAC frames
    path.write_bytes(bytes(data))
    doc = engine.transcribe(path, _ctx("corrupt", language="en"))
    # The words before the damage are there; the decoder does not always notice zeroed FLAC frames (it then
    # decodes them as a short gap), so no warning is asserted.
    assert len([w for s in doc.segments for w in s.words if w.end < 5.0]) >= 5
    assert doc.duration_s <= 12.5


def test_a_truncated_file_gives_a_partial_transcript_and_says_so(
    engine: SpeechEngine, tmp_path: Path
) -> None:
    samples, _ = sf.read(EN_CALL, dtype="float32", stop=20 * RATE)
    whole = tmp_path / "whole.wav"
    sf.write(whole, samples, RATE, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: 44 + 2 * 10 * RATE])  # the header still declares 20 s
    doc = engine.transcribe(cut, _ctx("truncated", language="en"))
    # The 10 s that are there, transcribed. (PyAV takes a WAV's length from the file size, so the decoder
    # cannot tell that the header promised 20 s; the FLAC/MP4 truncation warning does not fire here.)
    assert 9.5 <= doc.duration_s <= 10.5
    assert len(_words(doc)) >= 5


def test_one_speaker_is_one_speaker(engine: SpeechEngine, clip: Callable[..., Path]) -> None:
    # Eva's opening turn of the Dutch sample call (0.6-10.4 s), nobody else.
    doc = engine.transcribe(clip(NL_CALL, 0.0, 10.5), _ctx("one", language="nl", max_speakers=4))
    assert len(doc.speakers) == 1
    assert len(_words(doc)) >= 10


def test_clipped_audio_is_transcribed_with_a_warning(
    engine: SpeechEngine, write_wav: Callable[..., Path]
) -> None:
    samples, _ = sf.read(EN_CALL, dtype="float32", stop=10 * RATE)
    loud = np.clip(samples * 20.0, -1.0, 1.0).astype(np.float32)
    doc = engine.transcribe(write_wav(loud, "clipped.wav"), _ctx("clipped", language="en"))
    assert any("clipped" in w for w in doc.warnings), doc.warnings
    assert len(_words(doc)) >= 5


def test_8khz_stereo_telephone_audio_is_transcribed(
    asr_engine: SpeechEngine, write_wav: Callable[..., Path]
) -> None:
    samples, _ = sf.read(EN_CALL, dtype="float32", stop=12 * RATE)
    narrow = samples[::2]  # 16 kHz -> 8 kHz (the band above 4 kHz is lost, as on a phone line)
    stereo = np.stack([narrow, 0.5 * narrow], axis=1)
    path = write_wav(stereo, "phone.wav", rate=8000)
    assert sf.info(path).channels == 2 and sf.info(path).samplerate == 8000
    doc = asr_engine.transcribe(path, _ctx("phone", language="en"))
    assert doc.duration_s == pytest.approx(12.0, abs=0.05)
    assert len(_words(doc)) >= 10 and doc.language == "en"
