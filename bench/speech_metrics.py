"""Metrics for the speech benchmarks: text normalisation, WER, DER and word-to-speaker accuracy.

* Normalisation (applied identically to reference and hypothesis): Unicode NFKC, lower case, digits spelled out
  as words in the call's language (integers below one million, English or Dutch; "737" -> "seven hundred
  thirty seven" / "zevenhonderdzevenendertig"), hyphens and slashes split words, every other punctuation mark
  dropped (apostrophes inside a word kept), whitespace collapsed.
* WER: word-level Levenshtein distance (substitutions + deletions + insertions) over reference words, summed over
  a set of files before dividing (corpus WER), not averaged per file.
* DER: ``pyannote.metrics.diarization.DiarizationErrorRate`` with collar 0 and overlap scored (its defaults).
* Word-to-speaker accuracy: among hypothesis words whose midpoint lies inside exactly one reference speaker's
  turn, the share whose label, mapped to a reference speaker by the optimal one-to-one mapping between the
  transcript's speaker segments and the reference, is that speaker. Words in overlaps or gaps are not scored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "TimedWord",
    "Turn",
    "WordErrors",
    "diarization_error_rate",
    "hypothesis_errors",
    "mapping_of",
    "normalise",
    "number_words",
    "word_errors",
    "word_speaker_accuracy",
]

_EN_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NL_ONES = [
    "nul",
    "een",
    "twee",
    "drie",
    "vier",
    "vijf",
    "zes",
    "zeven",
    "acht",
    "negen",
    "tien",
    "elf",
    "twaalf",
    "dertien",
    "veertien",
    "vijftien",
    "zestien",
    "zeventien",
    "achttien",
    "negentien",
]
_NL_TENS = ["_", "_", "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig"]


@dataclass(frozen=True, slots=True)
class Turn:
    """A reference or hypothesis speaker turn, seconds from the start of the recording."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True, slots=True)
class TimedWord:
    """A hypothesis word with its time span and speaker label."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True, slots=True)
class WordErrors:
    """Edit operations between a normalised reference and hypothesis."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_words + other.reference_words,
        )

    @property
    def wer(self) -> float:
        return self.errors / self.reference_words if self.reference_words else float(self.errors > 0)


def _en_below_1000(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_EN_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_EN_TENS[n // 10])
        n %= 10
        if n:
            words.append(_EN_ONES[n])
    elif n or not words:
        words.append(_EN_ONES[n])
    return words


def _nl_below_1000(n: int) -> str:
    text = ""
    if n >= 100:
        text = ("" if n // 100 == 1 else _NL_ONES[n // 100]) + "honderd"
        n %= 100
        if not n:
            return text
    if n < 20:
        return text + _NL_ONES[n]
    ones, tens = n % 10, _NL_TENS[n // 10]
    if not ones:
        return text + tens
    joiner = "ën" if _NL_ONES[ones].endswith("e") else "en"
    return text + _NL_ONES[ones] + joiner + tens


def number_words(n: int, language: str) -> list[str]:
    """Spell a non-negative integer below one million in English ("en") or Dutch (anything else: "nl")."""
    if language == "en":
        if n >= 1000:
            rest = n % 1000
            return [*_en_below_1000(n // 1000), "thousand", *(_en_below_1000(rest) if rest else [])]
        return _en_below_1000(n)
    if n >= 1000:
        thousands = "" if n // 1000 == 1 else _nl_below_1000(n // 1000)
        rest = n % 1000
        return [thousands + "duizend" + (_nl_below_1000(rest) if rest else "")]
    return [_nl_below_1000(n)]


def normalise(text: str, language: str = "en") -> list[str]:
    """The words of ``text`` after the normalisation described in the module docstring."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[-/–—]", " ", text)
    text = re.sub(r"(\d)[.,](\d{3})\b", r"\1\2", text)  # thousands separators: 1,000 / 1.000
    text = re.sub(
        r"\d+",
        lambda m: (
            f" {' '.join(number_words(int(m.group()), language))} " if len(m.group()) <= 6 else m.group()
        ),
        text,
    )
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    text = re.sub(r"[^\w\s']", " ", text)
    return text.split()


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> WordErrors:
    """Minimum-edit alignment counts (Levenshtein over words)."""
    n, m = len(reference), len(hypothesis)
    # cost[j] = (total, subs, dels, ins) for reference[:i] vs hypothesis[:j]
    previous = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        current = [(i, 0, i, 0)]
        for j in range(1, m + 1):
            same = reference[i - 1] == hypothesis[j - 1]
            diag = previous[j - 1]
            options = [
                (diag[0] + (0 if same else 1), diag[1] + (0 if same else 1), diag[2], diag[3]),
                (previous[j][0] + 1, previous[j][1], previous[j][2] + 1, previous[j][3]),
                (current[j - 1][0] + 1, current[j - 1][1], current[j - 1][2], current[j - 1][3] + 1),
            ]
            current.append(min(options))
        previous = current
    _, subs, dels, ins = previous[m]
    return WordErrors(subs, dels, ins, n)


def hypothesis_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> list[bool]:
    """Per hypothesis word, whether a minimum-edit alignment to ``reference`` makes it wrong (substituted or
    inserted); deletions belong to no hypothesis word. Used to score stretches of a transcript separately."""
    n, m = len(reference), len(hypothesis)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        cost[i][0] = i
        row, above = cost[i], cost[i - 1]
        for j in range(1, m + 1):
            same = reference[i - 1] == hypothesis[j - 1]
            row[j] = min(above[j - 1] + (0 if same else 1), above[j] + 1, row[j - 1] + 1)
    wrong = [False] * m
    i, j = n, m
    while j > 0:
        if i > 0 and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            wrong[j - 1] = reference[i - 1] != hypothesis[j - 1]
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            wrong[j - 1] = True
            j -= 1
    return wrong


def _annotation(turns: Sequence[Turn]) -> object:
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for i, turn in enumerate(turns):
        if turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), i] = turn.speaker
    return annotation


def _uem(duration_s: float) -> object:
    from pyannote.core import Segment, Timeline

    return Timeline([Segment(0.0, duration_s)])


def diarization_error_rate(reference: Sequence[Turn], hypothesis: Sequence[Turn], duration_s: float) -> float:
    """DER over the whole recording (``[0, duration_s]``), collar 0, overlapped speech scored."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    return float(metric(_annotation(reference), _annotation(hypothesis), uem=_uem(duration_s)))


def mapping_of(reference: Sequence[Turn], hypothesis: Sequence[Turn], duration_s: float) -> dict[str, str]:
    """Hypothesis label -> reference speaker, by the DER's optimal mapping."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    found = metric.optimal_mapping(_annotation(reference), _annotation(hypothesis), uem=_uem(duration_s))
    return {str(hyp): str(ref) for hyp, ref in found.items()}


def word_speaker_accuracy(
    reference: Sequence[Turn], segments: Sequence[Turn], words: Sequence[TimedWord], duration_s: float
) -> tuple[float, int]:
    """Share of scorable words given to the right speaker, and how many words were scorable.

    Args:
        reference: reference speaker turns.
        segments: the transcript's speaker segments (used only to map its labels onto reference speakers).
        words: the transcript's words with their labels.
    """
    mapping = mapping_of(reference, segments, duration_s)
    right = scored = 0
    for word in words:
        middle = (word.start + word.end) / 2
        speakers = {turn.speaker for turn in reference if turn.start <= middle < turn.end}
        if len(speakers) != 1:
            continue
        scored += 1
        right += mapping.get(word.speaker) == next(iter(speakers))
    return (right / scored if scored else float("nan")), scored
