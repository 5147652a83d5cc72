"""A person's speech cut out of a recording: their time spans silenced, the rest of the call kept.

The result is mono 16 kHz FLAC (what the transcriber decodes to anyway), so a later reprocessing of the
recording hears everyone but the erased person. Spans come from the transcript (their segments and words).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["silence_spans"]

# Silence a little beyond each span: segment edges from diarization are not sample-exact.
_MARGIN_S = 0.25


def silence_spans(
    path: Path, spans: Iterable[tuple[float, float]], *, max_duration_s: float
) -> tuple[bytes, float]:
    """The recording at ``path`` with ``spans`` (seconds) silenced, as FLAC bytes, and the seconds silenced.

    Raises:
        InvalidInput: the recording cannot be decoded.
    """
    import soundfile as sf

    from dealtalk.transcription.audio import SAMPLE_RATE, decode_audio

    samples = decode_audio(path, max_duration_s=max_duration_s).samples.copy()
    silenced = 0
    for start, end in spans:
        first = max(0, int((start - _MARGIN_S) * SAMPLE_RATE))
        last = min(len(samples), int((end + _MARGIN_S) * SAMPLE_RATE))
        if last > first:
            silenced += int(np.count_nonzero(samples[first:last] != 0.0) > 0) * (last - first)
            samples[first:last] = 0.0
    buffer = io.BytesIO()
    sf.write(buffer, samples, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return buffer.getvalue(), silenced / SAMPLE_RATE
