"""Words to speakers, and words to segments: pure functions over sorted intervals.

Every word gets the speaker whose exclusive turn overlaps it most (or the nearest turn). Whisper's word
edges are imprecise where one speaker hands over to the next, so two small corrections follow:

* an *island* (one or two words of speaker B inside A's speech, with no pause around them) goes to A;
* a *sentence tail* that crossed the boundary moves back: when A's last word does not end a sentence and
  B's first one or two words do, those words were A's (and the mirror case for B's sentence head).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dealtalk.transcription.types import SpeakerTurn

__all__ = ["TimedWord", "assign_speakers", "group_segments", "smooth_turn_edges"]

_SENTENCE_END = (".", "?", "!", "…")


@dataclass(frozen=True, slots=True)
class TimedWord:
    """A word with its timing, probability, chunk language and (after assignment) speaker label.

    ``estimated``: the timing was not measured on the audio (spread over a Teams transcript cue).
    ``avg_logprob`` / ``no_speech_prob``: Whisper's scores of the decoded segment the word came from (None
    for words that were not decoded by our ASR, e.g. a Teams transcript's).
    """

    start: float
    end: float
    text: str
    probability: float
    language: str
    speaker: int = -1
    estimated: bool = False
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


def assign_speakers(
    words: Sequence[TimedWord], turns: Sequence[SpeakerTurn], default_speaker: int = 0
) -> list[int]:
    """The speaker of each word: most overlap with an exclusive turn, else the nearest turn.

    Args:
        words: in time order.
        turns: exclusive (non-overlapping) turns sorted by start.
        default_speaker: used when there are no turns at all.

    Returns:
        One speaker label per word.
    """
    if not turns:
        return [default_speaker] * len(words)
    labels: list[int] = []
    j = 0
    for word in words:
        while j < len(turns) and turns[j].end <= word.start:
            j += 1
        best, best_overlap = -1, 0.0
        k = j
        while k < len(turns) and turns[k].start < word.end:
            overlap = min(turns[k].end, word.end) - max(turns[k].start, word.start)
            if overlap > best_overlap:
                best, best_overlap = turns[k].speaker, overlap
            k += 1
        if best < 0:
            # No overlap (a word in a pause): the nearest turn on either side.
            before = turns[j - 1] if j > 0 else None
            after = turns[j] if j < len(turns) else None
            gap_before = word.start - before.end if before else float("inf")
            gap_after = after.start - word.end if after else float("inf")
            chosen = before if gap_before <= gap_after else after
            best = chosen.speaker if chosen else default_speaker
        labels.append(best)
    return labels


def _ends_sentence(text: str) -> bool:
    return text.rstrip().endswith(_SENTENCE_END)


def _sentence_end_after(
    words: Sequence[TimedWord], labels: Sequence[int], b: int, label: int, max_words: int
) -> int | None:
    """Index of the first sentence end among B's first ``max_words`` words, if B keeps talking after it."""
    for m in range(b, min(b + max_words, len(words))):
        if labels[m] != label:
            return None
        if _ends_sentence(words[m].text):
            return m if m + 1 < len(words) and labels[m + 1] == label else None
    return None


def _sentence_start_before(
    words: Sequence[TimedWord], labels: Sequence[int], b: int, label: int, max_words: int
) -> int | None:
    """Index where a sentence starts among A's last ``max_words`` words, after an earlier sentence end."""
    for m in range(b - 2, max(b - 2 - max_words, -1), -1):
        if labels[m] != label:
            return None
        if _ends_sentence(words[m].text):
            return m + 1
    return None


def smooth_turn_edges(
    words: Sequence[TimedWord], labels: Sequence[int], *, max_words: int = 2, max_gap_s: float = 0.3
) -> list[int]:
    """Fix speaker labels at turn edges (islands and sentence tails/heads that crossed a boundary).

    Args:
        words: in time order.
        labels: speaker per word from ``assign_speakers``.
        max_words: at most this many words move at one boundary.
        max_gap_s: only boundaries without a clear pause (shorter than this) are touched; a pause is
            evidence the boundary is real.

    Returns:
        Corrected labels.
    """
    out = list(labels)
    n = len(words)
    # 1. Islands: a short run of B between two runs of A without pauses around it.
    i = 0
    while i < n:
        j = i
        while j + 1 < n and out[j + 1] == out[i]:
            j += 1
        run_len = j - i + 1
        if i > 0 and j < n - 1 and run_len <= max_words and out[i - 1] == out[j + 1] != out[i]:
            pause_before = words[i].start - words[i - 1].end
            pause_after = words[j + 1].start - words[j].end
            if pause_before < max_gap_s and pause_after < max_gap_s:
                for k in range(i, j + 1):
                    out[k] = out[i - 1]
        i = j + 1
    # 2. Sentence tails and heads across a boundary. Only where A's last word does not end a sentence:
    #    either A's tail spilled into B (B's first words end a sentence), or B's head spilled into A (A's
    #    last words follow an earlier sentence end). When both readings fit, the boundary stays.
    for b in range(1, n):
        if out[b] == out[b - 1] or words[b].start - words[b - 1].end >= max_gap_s:
            continue
        if _ends_sentence(words[b - 1].text):
            continue
        a_label, b_label = out[b - 1], out[b]
        tail_end = _sentence_end_after(words, out, b, b_label, max_words)
        head_start = _sentence_start_before(words, out, b, a_label, max_words)
        if tail_end is not None and head_start is None:
            for k in range(b, tail_end + 1):
                out[k] = a_label
        elif head_start is not None and tail_end is None:
            for k in range(head_start, b):
                out[k] = b_label
    return out


def group_segments(
    words: Sequence[TimedWord], *, max_pause_s: float = 1.5, max_segment_s: float = 30.0
) -> list[list[TimedWord]]:
    """Split labelled words into segments: a new segment at a speaker change, a long pause, a language
    change, or when a segment grows past ``max_segment_s`` (at a sentence end when there is one).
    """
    segments: list[list[TimedWord]] = []
    for word in words:
        if segments:
            current = segments[-1]
            last = current[-1]
            too_long = word.end - current[0].start > max_segment_s and _ends_sentence(last.text)
            if (
                word.speaker == last.speaker
                and word.language == last.language
                and word.start - last.end <= max_pause_s
                and not too_long
                and word.end - current[0].start <= 2 * max_segment_s
            ):
                current.append(word)
                continue
        segments.append([word])
    return segments
