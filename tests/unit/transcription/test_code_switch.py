"""Code-switching: phrases cut at pauses, decoded again per language, taken over only on a clear margin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dealtalk.transcription.code_switch import ENGLISH_PRIOR, MARGIN, phrases, refit_languages
from dealtalk.transcription.types import AsrChunk, AsrSegment, AsrWord, SpeechRegion


def _words(spec: Sequence[tuple[float, float, str, float]]) -> tuple[AsrWord, ...]:
    return tuple(AsrWord(start=a, end=b, text=f" {t}", probability=p) for a, b, t, p in spec)


def _segment(language: str, words: tuple[AsrWord, ...], logprob: float = -0.3) -> AsrSegment:
    return AsrSegment(
        start=words[0].start,
        end=words[-1].end,
        text="".join(w.text for w in words).strip(),
        language=language,
        words=words,
        avg_logprob=logprob,
        language_probability=0.9,
        no_speech_prob=0.01,
        compression_ratio=1.2,
        chunk=0,
    )


# An English chunk whose middle turn was Dutch, heard as English nonsense (low word probabilities).
CHUNK = _segment(
    "en",
    _words(
        [
            (0.0, 0.5, "Thanks", 0.95),
            (0.5, 1.0, "everyone", 0.94),
            (1.6, 2.2, "Emma", 0.4),
            (2.2, 2.9, "named", 0.3),
            (2.9, 3.6, "the", 0.35),
            (3.6, 4.2, "Fassi", 0.2),
            (4.8, 5.3, "Great", 0.9),
            (5.3, 5.9, "news", 0.92),
        ]
    ),
)


@dataclass
class DecodesPerLanguage:
    """Stands in for Whisper: what each forced language "decodes" for a region, with its log-probability."""

    fits: dict[str, float]
    calls: list[tuple[str, tuple[SpeechRegion, ...]]] = field(default_factory=list)

    def transcribe(
        self, samples: object, chunks: Sequence[AsrChunk], *, language: str, **_: object
    ) -> list[AsrSegment]:
        regions = [region for chunk in chunks for region in chunk.regions]
        self.calls.append((language, tuple(regions)))
        text = {"nl": "Emma neemt het over", "en": "Emma named the Fassi"}[language]
        return [
            AsrSegment(
                start=r.start + 0.1,
                end=r.end - 0.1,
                text=text,
                language=language,
                words=_words([(r.start + 0.1, r.end - 0.1, text, 0.8)]),
                avg_logprob=self.fits[language],
                language_probability=1.0,
                no_speech_prob=0.01,
                compression_ratio=1.1,
            )
            for r in regions
        ]


def test_words_are_cut_into_phrases_at_pauses() -> None:
    found = phrases([CHUNK])
    assert [(p.first, p.last) for p in found] == [(0, 1), (2, 5), (6, 7)]
    assert found[1].mean_probability < 0.5 < found[0].mean_probability


def test_a_phrase_that_fits_clearly_better_in_another_language_is_taken_over() -> None:
    asr = DecodesPerLanguage({"nl": -0.4, "en": -0.4 - MARGIN - 0.05})
    out, switched = refit_languages(asr, np.zeros(16000 * 6, np.float32), [CHUNK], allowed=("nl", "en"))  # type: ignore[arg-type]
    assert switched == 1
    assert [s.language for s in out] == ["en", "nl", "en"]
    assert [s.text for s in out] == ["Thanks everyone", "Emma neemt het over", "Great news"]
    # Only the badly heard phrase was decoded again (once per language), not the well-heard ones.
    assert all(len(regions) == 1 for _language, regions in asr.calls)


def test_a_small_difference_keeps_the_call_s_language() -> None:
    asr = DecodesPerLanguage({"nl": -0.4, "en": -0.4 - MARGIN + 0.05})
    out, switched = refit_languages(asr, np.zeros(16000 * 6, np.float32), [CHUNK], allowed=("nl", "en"))  # type: ignore[arg-type]
    assert switched == 0 and out == [CHUNK]


def test_one_allowed_language_or_well_heard_speech_decodes_nothing_again() -> None:
    asr = DecodesPerLanguage({"nl": 0.0, "en": -5.0})
    clear = _segment("en", _words([(0.0, 1.0, "Good", 0.95), (1.0, 2.0, "morning", 0.97)]))
    assert refit_languages(asr, np.zeros(32000, np.float32), [clear], allowed=("nl", "en")) == ([clear], 0)  # type: ignore[arg-type]
    assert refit_languages(asr, np.zeros(96000, np.float32), [CHUNK], allowed=("en",)) == ([CHUNK], 0)  # type: ignore[arg-type]
    assert asr.calls == []


def test_becoming_english_needs_more_than_becoming_dutch() -> None:
    """Whisper favours English: a Dutch phrase that English explains only by ``MARGIN`` stays Dutch."""
    dutch = _segment("nl", CHUNK.words)
    asr = DecodesPerLanguage({"en": -0.4, "nl": -0.4 - MARGIN - 0.05})
    out, switched = refit_languages(asr, np.zeros(16000 * 6, np.float32), [dutch], allowed=("nl", "en"))  # type: ignore[arg-type]
    assert switched == 0 and out == [dutch]
    asr = DecodesPerLanguage({"en": -0.4, "nl": -0.4 - MARGIN - ENGLISH_PRIOR - 0.05})
    out, switched = refit_languages(asr, np.zeros(16000 * 6, np.float32), [dutch], allowed=("nl", "en"))  # type: ignore[arg-type]
    assert switched >= 1 and "en" in {s.language for s in out}
