"""Guards against Whisper's well-known failure modes, as pure functions over recognised words.

* text invented on silence, music, hold tones or noise: Whisper's own no-speech rule, a list of phrases it
  is known to invent (subtitle credits), and words outside the speech the diarization found;
* repetition loops ("thank you thank you thank you ..."): repeated n-grams are cut back, and a segment whose
  text still compresses like a loop (Whisper's compression-ratio rule) is dropped;
* timestamps past the end of the chunk or the recording: clamped, or the word dropped.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.assign import TimedWord
from dealtalk.transcription.types import AsrChunk, AsrSegment, AsrWord, SpeakerTurn, SpeechRegion

__all__ = [
    "GuardOptions",
    "clamp_words",
    "collapse_repetitions",
    "compression_ratio",
    "guarded_words",
    "is_known_hallucination",
    "is_unlikely_speech",
    "keep_audible_words",
    "keep_words_in_speech",
    "speech_spans",
]


@dataclass(frozen=True, slots=True)
class GuardOptions:
    """Attributes:
    no_speech_threshold / logprob_threshold: a segment with a higher no-speech probability AND a lower
        average log-probability is dropped (Whisper's own rule; the batched decoder does not apply it).
    speech_tolerance_s: a word must overlap speech widened by this much.
    max_repeats: how many back-to-back copies of a phrase are kept (1-word phrases keep one more).
    compression_ratio_threshold: a segment whose text, after cutting repeats, compresses better than this
        (gzip ratio) is a loop the n-gram cut could not see and is dropped. Whisper's own rule uses 2.4, but
        only to trigger a fallback decode; as a reason to drop text it is too strict: 30 s of real telephone
        prompts that share phrases ("... followed by the pound key") scored 2.54, while loops score far higher.
    silence_floor_dbfs: a word whose audio is quieter than this (RMS, dB full scale) lies on digital silence.
    """

    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    speech_tolerance_s: float = 0.25
    max_repeats: int = 2
    compression_ratio_threshold: float = 3.0
    silence_floor_dbfs: float = -60.0


# Phrases Whisper produces on non-speech because its training data had them in subtitle files.
_KNOWN_HALLUCINATIONS = frozenset(
    {
        "thanks for watching",
        "thank you for watching",
        "thank you for watching please subscribe",
        "please subscribe",
        "subscribe to my channel",
        "like and subscribe",
        "subtitles by the amaraorg community",
        "subtitles by",
        "transcription by castingwords",
        "ondertiteling door de amaraorg gemeenschap",
        "ondertiteld door de amaraorg gemeenschap",
        "ondertiteling door",
        "ondertiteld door",
        "bedankt voor het kijken",
        "bedankt voor het kijken en tot de volgende keer",
        "vergeet niet te abonneren",
        "abonneer op mijn kanaal",
    }
)
_NON_WORD = re.compile(r"[^\w\s]", flags=re.UNICODE)


def _normalise(text: str) -> str:
    return " ".join(_NON_WORD.sub("", text.lower()).split())


def is_known_hallucination(text: str) -> bool:
    """Whether ``text`` as a whole is a phrase Whisper is known to invent on non-speech."""
    normalised = _normalise(text)
    return bool(normalised) and (
        normalised in _KNOWN_HALLUCINATIONS or "amaraorg" in normalised.replace(" ", "")
    )


def compression_ratio(text: str) -> float:
    """gzip compression ratio of ``text`` as Whisper computes it (high = repetitive; 0 for empty text)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def is_unlikely_speech(segment: AsrSegment, opts: GuardOptions = GuardOptions()) -> bool:
    """Whisper's no-speech rule: likely silence and a weak decode together."""
    return segment.no_speech_prob > opts.no_speech_threshold and segment.avg_logprob < opts.logprob_threshold


def collapse_repetitions(words: Sequence[AsrWord], max_repeats: int = 2, max_ngram: int = 8) -> list[AsrWord]:
    """Cut back runs of the same phrase repeated back to back (Whisper's repetition loop).

    An n-gram (n >= 2) repeated more than ``max_repeats`` times in a row keeps ``max_repeats`` copies; a
    single word keeps ``max_repeats + 1`` ("nee nee nee" is speech, twenty of them is a loop).

    Returns:
        The words with the excess copies removed, in order.
    """
    out = list(words)
    keys = [_normalise(word.text) for word in out]
    n = 1
    while n <= max_ngram:
        keep = max_repeats + (1 if n == 1 else 0)
        i = 0
        changed = False
        while i + n <= len(out):
            unit = keys[i : i + n]
            if not any(unit):
                i += 1
                continue
            copies = 1
            while keys[i + copies * n : i + (copies + 1) * n] == unit:
                copies += 1
            if copies > keep:
                cut_from, cut_to = i + keep * n, i + copies * n
                del out[cut_from:cut_to]
                del keys[cut_from:cut_to]
                changed = True
            i += 1
        n = n if changed else n + 1
    return out


def clamp_words(words: Sequence[AsrWord], start: float, end: float) -> list[AsrWord]:
    """Keep words inside [start, end]: drop those that begin at or after ``end``, clamp the rest, and make
    times non-decreasing (Whisper sometimes puts the last words of a window past its end).
    """
    out: list[AsrWord] = []
    previous = start
    for word in words:
        if word.start >= end:
            continue
        w_start = min(max(word.start, previous, start), end)
        w_end = min(max(word.end, w_start), end)
        out.append(replace(word, start=w_start, end=w_end))
        previous = w_start
    return out


def keep_words_in_speech(
    words: Sequence[AsrWord], speech: Sequence[SpeechRegion], tolerance_s: float = 0.25
) -> list[AsrWord]:
    """Drop words that do not overlap any speech region (widened by ``tolerance_s``).

    Args:
        words: words in time order.
        speech: sorted, non-overlapping speech regions (diarization turns merged, or VAD regions).
        tolerance_s: slack for Whisper's imprecise word edges.
    """
    out: list[AsrWord] = []
    j = 0
    for word in words:
        while j < len(speech) and speech[j].end + tolerance_s < word.start:
            j += 1
        k = j
        while k < len(speech) and speech[k].start - tolerance_s <= word.end:
            if speech[k].end + tolerance_s >= word.start:
                out.append(word)
                break
            k += 1
    return out


def keep_audible_words(
    words: Sequence[TimedWord],
    samples: npt.NDArray[np.float32],
    *,
    floor_dbfs: float = -60.0,
    sample_rate: int = 16_000,
) -> list[TimedWord]:
    """Drop words whose own stretch of audio is digital silence.

    Whisper says "you" on 8 s of zeros with no-speech probability 0.68 and log-probability -0.93, just inside
    its own no-speech rule; when the VAD is off (or lets silence through) nothing else would stop it.
    """
    floor = 10.0 ** (floor_dbfs / 20.0)
    # Whisper's alignment gives some short words no duration ("I" at 12.004-12.004 s); one sample of a spoken
    # word can sit on a zero crossing, so a word is measured on at least 20 ms around its middle.
    least = int(0.02 * sample_rate)
    out: list[TimedWord] = []
    for word in words:
        first = max(0, int(word.start * sample_rate))
        last = int(word.end * sample_rate)
        if last - first < least:
            first = max(0, int((word.start + word.end) / 2 * sample_rate) - least // 2)
            last = first + least
        span = samples[first:last]
        if span.size and float(np.sqrt(np.mean(np.square(span, dtype=np.float64)))) >= floor:
            out.append(word)
    return out


def speech_spans(turns: Sequence[SpeakerTurn] | None, regions: Sequence[SpeechRegion]) -> list[SpeechRegion]:
    """Where words may be: the diarized turns merged when there is a diarization, else the VAD regions."""
    if turns is None:
        return list(regions)
    merged: list[SpeechRegion] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if merged and turn.start <= merged[-1].end:
            merged[-1] = SpeechRegion(merged[-1].start, max(merged[-1].end, turn.end))
        else:
            merged.append(SpeechRegion(turn.start, turn.end))
    return merged


def guarded_words(
    segments: Sequence[AsrSegment],
    chunks: Sequence[AsrChunk],
    speech: Sequence[SpeechRegion],
    duration_s: float,
    opts: GuardOptions = GuardOptions(),
    *,
    samples: npt.NDArray[np.float32] | None = None,
) -> list[TimedWord]:
    """Every guard applied to the ASR output of a call: the words that survive, in time order.

    Segments that look like silence or a known hallucination are dropped whole; repetition loops are cut
    (and a segment that still compresses like a loop is dropped); with ``samples``, words on digital silence go;
    words are clamped to their chunk and the recording, and must overlap ``speech``.
    """
    words: list[TimedWord] = []
    for segment in segments:
        if is_unlikely_speech(segment, opts) or is_known_hallucination(segment.text):
            continue
        chunk: AsrChunk | SpeechRegion = (
            chunks[segment.chunk] if segment.chunk < len(chunks) else SpeechRegion(0.0, duration_s)
        )
        kept = collapse_repetitions(segment.words, opts.max_repeats)
        if compression_ratio("".join(w.text for w in kept)) > opts.compression_ratio_threshold:
            continue
        kept = clamp_words(kept, chunk.start, min(chunk.end, duration_s))
        kept = keep_words_in_speech(kept, speech, opts.speech_tolerance_s)
        words += [
            TimedWord(
                w.start,
                w.end,
                w.text,
                w.probability,
                segment.language,
                avg_logprob=segment.avg_logprob,
                no_speech_prob=segment.no_speech_prob,
            )
            for w in kept
            if w.text.strip()
        ]
    words.sort(key=lambda word: word.start)
    if samples is not None:
        words = keep_audible_words(words, samples, floor_dbfs=opts.silence_floor_dbfs)
    return words
