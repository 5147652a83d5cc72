"""Timings for words whose text someone else wrote (a Teams transcript): spread over a cue, or taken from our ASR.

Pure functions. ``spread`` places a cue's words over its time by their length (an estimate, marked so);
``retime`` aligns the reference words to the words our ASR recognised in the same audio (a longest-matching-
blocks alignment on normalised tokens, as ``difflib`` computes it) and gives each matched reference word the
ASR word's timing and probability. The reference text is kept as it is: only the times change. Reference
words without a match stay estimated, placed between their matched neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from difflib import SequenceMatcher

from dealtalk.transcription.assign import TimedWord

__all__ = ["normalise_token", "retime", "spread"]

_NON_WORD = re.compile(r"[^\w]", flags=re.UNICODE)
# An ASR word may match a reference word only this far outside the reference word's cue (Teams' cue times
# are coarse, but a match a minute away is the same common word said elsewhere).
_CUE_SLACK_S = 3.0


def normalise_token(text: str) -> str:
    """Lower case without punctuation: ``"Eva,"`` and ``"eva"`` are the same token."""
    return _NON_WORD.sub("", text.lower())


def spread(
    tokens: Sequence[str], start: float, end: float, *, speaker: int, language: str, probability: float
) -> list[TimedWord]:
    """Words over ``[start, end]`` in proportion to their length (plus one for the space), marked estimated.

    Returns:
        One word per token, back to back, the first at ``start`` and the last ending at ``end``.
    """
    weights = [len(token) + 1 for token in tokens]
    total = sum(weights)
    words: list[TimedWord] = []
    at = start
    for i, (token, weight) in enumerate(zip(tokens, weights, strict=True)):
        until = end if i == len(tokens) - 1 else at + (end - start) * weight / total
        words.append(TimedWord(at, until, token, probability, language, speaker=speaker, estimated=True))
        at = until
    return words


def retime(
    reference: Sequence[TimedWord], windows: Sequence[tuple[float, float]], recognised: Sequence[TimedWord]
) -> list[TimedWord]:
    """Give reference words the timing of the recognised words they align to.

    Args:
        reference: the reference words in order (text, speaker and language kept; times estimated).
        windows: for each reference word, the (start, end) of the cue it came from.
        recognised: our ASR's words in time order.

    Returns:
        The reference words, in order, with non-decreasing times: matched words take the ASR word's start,
        end and probability (``estimated=False``); the others are spread between their matched neighbours,
        inside their cue where the neighbours allow, and stay ``estimated=True``.
    """
    if len(windows) != len(reference):
        raise ValueError(f"{len(windows)} cue windows for {len(reference)} reference words")
    ref_keys = [normalise_token(word.text) for word in reference]
    asr_keys = [normalise_token(word.text) for word in recognised]
    matcher = SequenceMatcher(None, ref_keys, asr_keys, autojunk=False)
    anchors: dict[int, TimedWord] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i, match = block.a + k, recognised[block.b + k]
            cue_start, cue_end = windows[i]
            if ref_keys[i] and cue_start - _CUE_SLACK_S <= match.start <= cue_end + _CUE_SLACK_S:
                anchors[i] = match
    out: list[TimedWord] = []
    i = 0
    while i < len(reference):
        heard = anchors.get(i)
        if heard is not None:
            out.append(
                replace(
                    reference[i],
                    start=heard.start,
                    end=heard.end,
                    probability=heard.probability,
                    estimated=False,
                )
            )
            i += 1
            continue
        j = i
        while j + 1 < len(reference) and j + 1 not in anchors:
            j += 1
        out += _between(reference[i : j + 1], windows[i][0], windows[j][1], out, anchors.get(j + 1))
        i = j + 1
    return out


def _between(
    run: Sequence[TimedWord],
    cue_start: float,
    cue_end: float,
    placed: Sequence[TimedWord],
    following: TimedWord | None,
) -> list[TimedWord]:
    """Spread unmatched reference words between the previous placed word and the next anchor."""
    floor = placed[-1].end if placed else 0.0
    ceiling = following.start if following is not None else max(cue_end, floor)
    ceiling = max(ceiling, floor)
    lo = min(max(cue_start, floor), ceiling)
    hi = max(min(cue_end, ceiling), lo)
    weights = [len(word.text) + 1 for word in run]
    total = sum(weights)
    words: list[TimedWord] = []
    at = lo
    for k, (word, weight) in enumerate(zip(run, weights, strict=True)):
        until = hi if k == len(run) - 1 else at + (hi - lo) * weight / total
        words.append(replace(word, start=at, end=until, estimated=True))
        at = until
    return words
