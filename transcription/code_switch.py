"""Code-switching: phrases the call's language explains badly are decoded again in each allowed language.

One language per 30-second ASR chunk cannot follow a call that changes language every turn: a Dutch turn
inside an English chunk comes out as English-sounding nonsense ("Emma named the Fassi Deva human mate over"
for "Emma neemt het facilitair beheer van mij over") with low word probabilities. The chunk's words are cut
into phrases at pauses (turns end in pauses); every phrase heard badly is decoded again, on its own audio, once
with each allowed language forced, and the language whose decoding explains the audio clearly better (higher
average token log-probability, by ``MARGIN``; by ``ENGLISH_PRIOR`` more to become English) takes the phrase.
When the call's language is forced, only segments that already left it are checked: a chunk packs the speech
of several turns, and when Whisper hears a chunk as clearly another language, the forced language's turns in
it are found again this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.types import AsrChunk, AsrSegment, AsrWord, SpeechRegion
from dealtalk.transcription.whisper_decoder import WhisperDecoder

__all__ = ["ENGLISH_PRIOR", "MARGIN", "Phrase", "phrases", "refit_languages"]

# A pause this long between two words ends a phrase (turn changes and sentence ends).
PAUSE_S = 0.35
# Phrases whose words Whisper heard with less than this mean probability are tried in the other languages.
REFIT_BELOW = 0.7
# How much better (log-probability per token) another language must explain the phrase to take it over.
# Dutch turns in the bundled mixed sample fit 0.18-0.46 better in Dutch; at 0.15 the generated benchmark calls
# switched falsely, at 0.2 the mixed call kept its Dutch turns (bench/results/speech_quality.md).
MARGIN = 0.2
# Whisper's language model is strongest in English: its English decoding of unclear Dutch audio scores up to
# ~0.13 better than the Dutch decoding (bundled Dutch sample), so a phrase must clear this much more to become
# English.
ENGLISH_PRIOR = 0.15
# Shorter phrases carry too few tokens for the comparison to mean anything.
MIN_SECONDS = 1.5
# Audio kept around a phrase so its first and last words are not cut.
PAD_S = 0.15


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words ``first``..``last`` (inclusive) of segment ``segment``."""

    segment: int
    first: int
    last: int
    start: float
    end: float
    mean_probability: float


def phrases(segments: Sequence[AsrSegment], *, pause_s: float = PAUSE_S) -> list[Phrase]:
    """Every segment's words cut at pauses of at least ``pause_s``."""
    found: list[Phrase] = []
    for index, segment in enumerate(segments):
        words = segment.words
        begin = 0
        for position in range(1, len(words) + 1):
            if position == len(words) or words[position].start - words[position - 1].end >= pause_s:
                run = words[begin:position]
                found.append(
                    Phrase(
                        index,
                        begin,
                        position - 1,
                        run[0].start,
                        run[-1].end,
                        float(np.mean([w.probability for w in run])),
                    )
                )
                begin = position
    return found


def _fit(decoded: Sequence[AsrSegment]) -> float:
    total = sum(max(s.end - s.start, 0.01) for s in decoded)
    if not decoded or total <= 0:
        return -10.0
    return sum(s.avg_logprob * max(s.end - s.start, 0.01) for s in decoded) / total


def refit_languages(
    asr: WhisperDecoder,
    samples: npt.NDArray[np.float32],
    segments: list[AsrSegment],
    *,
    allowed: Sequence[str],
    vocabulary: Sequence[str] = (),
    batch_size: int | None = None,
    forced: str | None = None,
) -> tuple[list[AsrSegment], int]:
    """``segments`` with badly heard phrases re-decoded where another language fits clearly better.

    Args:
        forced: the call's forced language: segments decoded in it are left as they are.

    Returns:
        The segments in time order, and how many phrases changed language.
    """
    candidates = [
        p
        for p in phrases(segments)
        if p.mean_probability < REFIT_BELOW
        and p.end - p.start >= MIN_SECONDS
        and segments[p.segment].language != forced
    ]
    if len(allowed) < 2 or not candidates:
        return segments, 0
    duration = len(samples) / 16000.0
    regions = [SpeechRegion(max(0.0, p.start - PAD_S), min(duration, p.end + PAD_S)) for p in candidates]
    decoded: dict[str, list[list[AsrSegment]]] = {}
    for language in allowed:
        out = asr.transcribe(
            samples,
            [AsrChunk((region,)) for region in regions],
            language=language,
            vocabulary=vocabulary,
            batch_size=batch_size,
            forced=True,
        )
        decoded[language] = [[s for s in out if r.start - 0.05 <= s.start < r.end] for r in regions]
    chosen: dict[int, list[AsrSegment]] = {}
    for index, phrase in enumerate(candidates):
        current = segments[phrase.segment].language
        fits = {language: _fit(decoded[language][index]) for language in allowed}
        best = max(allowed, key=fits.__getitem__)
        needed = MARGIN + (ENGLISH_PRIOR if best == "en" else 0.0)
        if best != current and decoded[best][index] and fits[best] > fits.get(current, -10.0) + needed:
            chosen[index] = decoded[best][index]
    if not chosen:
        return segments, 0
    return _rebuild(segments, candidates, chosen), len(chosen)


def _rebuild(
    segments: list[AsrSegment], candidates: list[Phrase], chosen: dict[int, list[AsrSegment]]
) -> list[AsrSegment]:
    """Cut each segment around its replaced phrases and put the new decodings in their place."""
    by_segment: dict[int, list[tuple[Phrase, list[AsrSegment]]]] = {}
    for index, replacement in chosen.items():
        phrase = candidates[index]
        by_segment.setdefault(phrase.segment, []).append((phrase, replacement))
    out: list[AsrSegment] = []
    for index, segment in enumerate(segments):
        if index not in by_segment:
            out.append(segment)
            continue
        cursor = 0
        for phrase, replacement in sorted(by_segment[index], key=lambda item: item[0].first):
            out.extend(_piece(segment, segment.words[cursor : phrase.first]))
            out.extend(
                AsrSegment(**{**_fields(new), "chunk": segment.chunk})  # type: ignore[arg-type]
                for new in replacement
            )
            cursor = phrase.last + 1
        out.extend(_piece(segment, segment.words[cursor:]))
    return sorted(out, key=lambda s: s.start)


def _piece(segment: AsrSegment, words: Sequence[AsrWord]) -> list[AsrSegment]:
    """The part of ``segment`` made of ``words`` (same language and scores), or nothing."""
    if not words:
        return []
    fields = _fields(segment)
    fields.update(
        start=max(segment.start, words[0].start),
        end=min(segment.end, words[-1].end),
        text="".join(w.text for w in words).strip(),
        words=tuple(words),
    )
    return [AsrSegment(**fields)]  # type: ignore[arg-type]


def _fields(segment: AsrSegment) -> dict[str, object]:
    return {name: getattr(segment, name) for name in AsrSegment.__dataclass_fields__}
