"""Decode any recording (MP4/M4A/WAV/FLAC/OGG/MP3/WebM, stereo, 8 kHz...) to 16 kHz mono float32.

A chain of small generators over PyAV (faster-whisper's habit): demuxed packets -> decoded frames (damaged
packets skipped and counted) -> resampled mono 16 kHz blocks -> one preallocated buffer. Memory stays at
the size of the result (4 bytes a sample, 230 MB an hour) instead of the two or three copies that a
read-all-then-convert decoder makes, and a file longer than the limit is refused before it is decoded.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dealtalk.contracts.errors import InvalidInput

__all__ = ["SAMPLE_RATE", "DecodedAudio", "audio_warnings", "decode_audio"]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
ACCEPTED = "MP4, M4A, WAV, FLAC, OGG/Opus, MP3 or WebM audio"
# Below this a file cannot hold a single audio frame of any container we accept.
_MIN_BYTES = 32


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    """Mono 16 kHz float32 samples in [-1, 1] and what the decoder noticed on the way."""

    samples: npt.NDArray[np.float32]
    declared_duration_s: float | None
    damaged_packets: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass(slots=True)
class _Stats:
    damaged_packets: int = 0


class _SampleBuffer:
    """A growable float32 buffer: one allocation when the length is known, doubling otherwise."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(max(capacity, SAMPLE_RATE), dtype=np.float32)
        self.size = 0

    def append(self, block: npt.NDArray[np.float32]) -> None:
        needed = self.size + len(block)
        if needed > len(self._data):
            grown = np.empty(max(needed, 2 * len(self._data)), dtype=np.float32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = block
        self.size = needed

    def result(self) -> npt.NDArray[np.float32]:
        if len(self._data) - self.size > SAMPLE_RATE * 60:
            # Over-estimated by more than a minute: give the slack back. Shrinking in place (realloc) instead
            # of copying keeps the peak at one buffer; a copy doubled it (1.3 GB for a 3-hour file).
            try:
                self._data.resize(self.size, refcheck=False)
            except ValueError:  # the buffer does not own its memory: fall back to a copy
                self._data = self._data[: self.size].copy()
            return self._data
        return self._data[: self.size]


def _decoded_frames(container: Any, stream: Any, stats: _Stats) -> Iterator[Any]:
    import av

    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            # A damaged packet (bit rot, a cut in a phone-system export): skip it, keep the rest.
            stats.damaged_packets += 1


def _resampled(frames: Iterator[Any], resampler: Any) -> Iterator[npt.NDArray[np.float32]]:
    for frame in frames:
        frame.pts = None  # some exports have broken timestamps; the resampler must not check them
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    for out in resampler.resample(None):  # flush
        yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)


def _declared_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000.0
    return None


def decode_audio(path: Path, *, max_duration_s: float, recording_id: str | None = None) -> DecodedAudio:
    """Decode a recording to 16 kHz mono float32.

    Args:
        path: the audio or video file.
        max_duration_s: refuse files longer than this (checked on the header and while decoding).
        recording_id: for error messages.

    Returns:
        The samples, plus the number of damaged packets skipped and user-facing warnings
        (truncated file, damaged packets).

    Raises:
        InvalidInput: missing, empty, not audio, no audio stream, nothing decodable, or too long.
    """
    import av

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path.name}: {exc.strerror or exc}", recording_id=recording_id
        ) from exc
    if size < _MIN_BYTES:
        raise InvalidInput(
            f"{path.name} is empty ({size} bytes); expected {ACCEPTED}", recording_id=recording_id
        )
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise InvalidInput(
            f"{path.name} is not a readable audio or video file ({exc.__class__.__name__}); "
            f"expected {ACCEPTED}",
            recording_id=recording_id,
        ) from exc
    with container:
        if not container.streams.audio:
            raise InvalidInput(
                f"{path.name} has no audio stream; expected {ACCEPTED}", recording_id=recording_id
            )
        stream = container.streams.audio[0]
        declared = _declared_duration(container, stream)
        if declared is not None and declared > max_duration_s:
            raise InvalidInput(
                f"{path.name} lasts {declared / 60:.0f} min; the limit is {max_duration_s / 60:.0f} min "
                "(DEALTALK_SPEECH__MAX_DURATION_S)",
                recording_id=recording_id,
            )
        # The header's duration plus 2 s for resampler rounding; a file longer than declared grows the buffer.
        capacity = int((declared or 600.0) * SAMPLE_RATE) + 2 * SAMPLE_RATE
        buffer = _SampleBuffer(capacity)
        stats = _Stats()
        limit = int(max_duration_s * SAMPLE_RATE)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        try:
            for block in _resampled(_decoded_frames(container, stream, stats), resampler):
                buffer.append(block)
                if buffer.size > limit:
                    raise InvalidInput(
                        f"{path.name} lasts more than {max_duration_s / 60:.0f} min "
                        "(DEALTALK_SPEECH__MAX_DURATION_S)",
                        recording_id=recording_id,
                    )
        except av.error.FFmpegError as exc:
            # The stream broke off (a truncated upload): keep what decoded so far, say so below.
            logger.warning(
                "decoding stopped early (%s) after %.1f s", exc.__class__.__name__, buffer.size / SAMPLE_RATE
            )
            stats.damaged_packets += 1
        finally:
            # PyAV's resampler holds native buffers until collected (faster-whisper issue #390).
            del resampler
            gc.collect()
    samples = buffer.result()
    if len(samples) == 0:
        raise InvalidInput(
            f"{path.name}: no audio could be decoded; expected {ACCEPTED}", recording_id=recording_id
        )
    np.clip(samples, -1.0, 1.0, out=samples)
    decoded = DecodedAudio(
        samples=samples, declared_duration_s=declared, damaged_packets=stats.damaged_packets
    )
    return DecodedAudio(
        samples=samples,
        declared_duration_s=declared,
        damaged_packets=stats.damaged_packets,
        warnings=audio_warnings(decoded),
    )


def audio_warnings(audio: DecodedAudio) -> tuple[str, ...]:
    """User-facing notes about the audio itself: truncated, damaged, clipped, silent."""
    notes: list[str] = []
    if audio.declared_duration_s is not None and audio.duration_s < audio.declared_duration_s - 1.0:
        notes.append(
            f"the audio ends at {audio.duration_s:.1f} s although the file declares "
            f"{audio.declared_duration_s:.1f} s; the file looks truncated, the rest is missing"
        )
    if audio.damaged_packets:
        notes.append(f"{audio.damaged_packets} damaged audio packet(s) were skipped")
    if len(audio.samples):
        clipped = _clipped_samples(audio.samples) / len(audio.samples)
        if clipped > 0.001:
            notes.append(f"the audio is clipped ({clipped:.1%} of samples at full scale); words may be lost")
    return tuple(notes)


def _clipped_samples(samples: npt.NDArray[np.float32], block: int = SAMPLE_RATE * 60) -> float:
    """Samples at full scale, counted a minute at a time: ``np.abs`` over the whole recording would make a
    temporary copy of it (660 MB more at the peak of a 3-hour file)."""
    count = 0
    for first in range(0, len(samples), block):
        piece = samples[first : first + block]
        count += int(np.count_nonzero((piece >= 0.999) | (piece <= -0.999)))
    return float(count)
