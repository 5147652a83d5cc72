"""The product's VAD hears a real call exactly as plain faster-whisper's batched pipeline does."""

from __future__ import annotations

import numpy as np

from dealtalk.samples import CALLS_DIR
from dealtalk.transcription.audio import decode_audio
from dealtalk.transcription.engine import SpeechEngine
from dealtalk.transcription.vad import speech_regions


def test_probabilities_and_regions_equal_faster_whispers_on_a_real_call(engine: SpeechEngine) -> None:
    from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

    call = decode_audio(CALLS_DIR / "call-nl-zuidhaven.flac", max_duration_s=600.0).samples
    # Three times over (6 min): past faster-whisper's 10,000-frame batches, so the carried state is checked too.
    samples = np.concatenate([call, call, call])
    ours = engine.vad.probabilities(samples)
    padded = np.pad(samples, (0, 512 - len(samples) % 512))
    theirs = np.asarray(get_vad_model()(padded)).reshape(-1)
    np.testing.assert_array_equal(ours, theirs)
    regions = speech_regions(ours, len(samples))
    expected = get_speech_timestamps(
        samples, VadOptions(max_speech_duration_s=30, min_silence_duration_ms=160)
    )
    assert len(regions) > 3
    assert [(round(r.start * 16000), round(r.end * 16000)) for r in regions] == [
        (t["start"], t["end"]) for t in expected
    ]
