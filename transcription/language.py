"""Which language each piece of a call is in: configuration, meeting locale, the audio, hints, a text check.

Whisper's own detection picks the argmax over 99 languages and gets short Dutch audio wrong (``de``,
``cy``). The call's language is therefore either forced (configuration, meeting locale) or decided from the
audio among the tenant's allowed languages only (``decide_language``): Whisper's language scores over windows
spread across the whole call, and when those are unclear, how well decoding a few windows with each candidate
forced explains the audio (average token log-probability). What the tenant knows of the people (preferred
languages) is a weak prior that clear audio overrules. Each chunk is then decoded in the call's language
unless its audio is clearly another allowed language (``choose_language`` with ``CLEAR_SWITCH_RATIO``), so
mixed calls stay mixed and a forced language holds. A text language-ID pass (py3langid) labels each
segment's language for code-switched calls.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CLEAR_SWITCH_RATIO",
    "LanguageDecision",
    "TextLanguageId",
    "choose_language",
    "decide_language",
    "hint_prior",
    "language_from_locale",
    "majority_language",
    "needs_decoding",
]

# A chunk leaves the call's language only when another allowed language is this many times likelier (98 % of
# the allowed probability mass between two languages). Whisper base gives real English >= 99 % against Dutch,
# but generated Dutch only 55-75 % Dutch and sometimes 95 % English: a weaker ratio (3 before) decoded forced
# Dutch chunks as English words.
CLEAR_SWITCH_RATIO = 49.0
# Whisper's language scores decide the call alone when one language gets this share (after the hint prior).
CLEAR_SHARE = 0.8
# How much a language the tenant's hints name is preferred a priori (odds 2:1 between two languages).
HINT_ODDS = 2.0
# Nats per token that turn a window's difference in average log-probability of forced decoding into odds: a
# margin of 0.07 nats/token (a window decoded visibly better in one language) is e^2.1 ~ 8:1, beating a hint.
DECODING_SHARPNESS = 30.0


def language_from_locale(locale: str | None, allowed: Sequence[str]) -> str | None:
    """``nl-NL`` / ``nl_BE`` / ``EN-gb`` -> ``nl`` / ``nl`` / ``en`` when allowed, else None."""
    if not locale:
        return None
    primary = locale.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in allowed else None


def choose_language(
    probabilities: Mapping[str, float],
    allowed: Sequence[str],
    *,
    prior: str | None = None,
    switch_ratio: float = 3.0,
) -> tuple[str, float]:
    """Pick one of ``allowed`` from Whisper's language probabilities for a chunk.

    Args:
        probabilities: language code -> probability (any set of codes; missing ones count as 0).
        allowed: the languages a call may contain, in order of preference for ties.
        prior: the call's expected language; another allowed language must be ``switch_ratio`` times
            more likely to win a chunk.
        switch_ratio: how much evidence a switch away from ``prior`` needs.

    Returns:
        (language, its probability renormalised over ``allowed``).
    """
    if not allowed:
        raise ValueError("allowed languages must not be empty")
    scores = {code: max(0.0, float(probabilities.get(code, 0.0))) for code in allowed}
    total = sum(scores.values())
    if total <= 0.0:
        chosen = prior if prior in scores else allowed[0]
        return chosen, 1.0 / len(allowed)
    normalised = {code: score / total for code, score in scores.items()}
    best = max(allowed, key=lambda code: normalised[code])
    if prior in normalised and best != prior and normalised[best] < switch_ratio * normalised[prior]:
        best = prior
    return best, normalised[best]


def hint_prior(hints: Iterable[tuple[str, str]], allowed: Sequence[str]) -> dict[str, float]:
    """A weak prior over ``allowed`` from ``(language, source)`` hints: the most-hinted language(s) get
    ``HINT_ODDS`` times the weight of the others; no usable hint gives a flat prior."""
    counts = dict.fromkeys(allowed, 0)
    for language, _source in hints:
        if language in counts:
            counts[language] += 1
    top = max(counts.values(), default=0)
    weights = {code: HINT_ODDS if top and n == top else 1.0 for code, n in counts.items()}
    total = sum(weights.values())
    return {code: weight / total for code, weight in weights.items()}


def _combine(shares: Mapping[str, float], prior: Mapping[str, float]) -> dict[str, float]:
    product = {code: shares.get(code, 0.0) * prior[code] for code in prior}
    total = sum(product.values())
    if total <= 0.0:
        return dict(prior)
    return {code: value / total for code, value in product.items()}


def _score_shares(windows: Sequence[Mapping[str, float]], allowed: Sequence[str]) -> dict[str, float]:
    """Mean over windows of Whisper's language probabilities renormalised over ``allowed``."""
    totals = dict.fromkeys(allowed, 0.0)
    for probabilities in windows:
        scores = {code: max(0.0, float(probabilities.get(code, 0.0))) for code in allowed}
        mass = sum(scores.values())
        for code in allowed:
            totals[code] += scores[code] / mass if mass > 0.0 else 1.0 / len(allowed)
    count = max(1, len(windows))
    return {code: total / count for code, total in totals.items()}


def _decoding_shares(windows: Sequence[Mapping[str, float]], allowed: Sequence[str]) -> dict[str, float]:
    """Mean over windows of a softmax of each language's forced-decoding fit (average token log-probability).

    Each window votes with a bounded share, so one window where a forced decoding loops on a repeated
    phrase (a loop scores a high log-probability) cannot outvote the others.
    """
    totals = dict.fromkeys(allowed, 0.0)
    for window in windows:
        top = max(window[code] for code in allowed)
        odds = {code: math.exp(DECODING_SHARPNESS * (window[code] - top)) for code in allowed}
        mass = sum(odds.values())
        for code in allowed:
            totals[code] += odds[code] / mass
    return {code: total / len(windows) for code, total in totals.items()}


def needs_decoding(
    window_scores: Sequence[Mapping[str, float]],
    allowed: Sequence[str],
    hints: Iterable[tuple[str, str]] = (),
) -> bool:
    """Whether Whisper's language scores leave the call's language unclear (then decode with each)."""
    if len(allowed) < 2 or not window_scores:
        return False
    posterior = _combine(_score_shares(window_scores, allowed), hint_prior(hints, allowed))
    return max(posterior.values()) < CLEAR_SHARE


@dataclass(frozen=True, slots=True)
class LanguageDecision:
    """The call's language and a short human account of the evidence (never transcript text)."""

    language: str
    evidence: str
    # Named by configuration or the meeting locale (it holds), not decided from the audio.
    forced: bool = False


def _shares_text(shares: Mapping[str, float], *, digits: int = 2) -> str:
    ranked = sorted(shares, key=lambda code: -shares[code])
    return " vs ".join(f"{code} {shares[code]:.{digits}f}" for code in ranked)


def decide_language(
    window_scores: Sequence[Mapping[str, float]],
    allowed: Sequence[str],
    *,
    hints: Iterable[tuple[str, str]] = (),
    window_logprobs: Sequence[Mapping[str, float]] = (),
) -> LanguageDecision:
    """Choose the call's language among ``allowed`` from the audio, with the hints as a weak prior.

    Args:
        window_scores: per window spread over the call, Whisper's language probabilities (any codes).
        allowed: the tenant's languages, in order of preference for ties.
        hints: ``(language, source)`` pairs the tenant knows (a prior, ``HINT_ODDS`` : 1).
        window_logprobs: per decoded window, the average token log-probability of decoding it with each
            allowed language forced; used instead of the scores when given (they are unclear then).

    Returns:
        The language and e.g. "audio: nl 0.86 vs en 0.14 over 9 windows; hints organizer.preferredLanguage=nl".
    """
    if not allowed:
        raise ValueError("allowed languages must not be empty")
    hints = [(language, source) for language, source in hints if language in allowed]
    prior = hint_prior(hints, allowed)
    shares = _score_shares(window_scores, allowed)
    if window_logprobs:
        decoded = _decoding_shares(window_logprobs, allowed)
        posterior = _combine(decoded, prior)
        means = {code: sum(w[code] for w in window_logprobs) / len(window_logprobs) for code in allowed}
        evidence = (
            f"audio decoded: {_shares_text(decoded)} over {len(window_logprobs)} windows "
            f"(mean log-prob {_shares_text(means, digits=3)}); "
            f"language scores {_shares_text(shares)} over {len(window_scores)} windows, unclear"
        )
    elif window_scores:
        posterior = _combine(shares, prior)
        evidence = f"audio: {_shares_text(shares)} over {len(window_scores)} windows"
    else:
        posterior = prior
        evidence = "no audio evidence"
    language = max(allowed, key=lambda code: posterior[code])
    if hints:
        counted = Counter(f"{source}={code}" for code, source in hints)
        evidence += "; hints " + ", ".join(f"{k} x{n}" if n > 1 else k for k, n in counted.items())
    return LanguageDecision(language, evidence)


def majority_language(spans: Iterable[tuple[str, float]], default: str) -> str:
    """The language with the most weight (seconds or characters) over ``(language, weight)`` spans."""
    totals: dict[str, float] = {}
    for language, weight in spans:
        totals[language] = totals.get(language, 0.0) + weight
    if not totals:
        return default
    return max(totals, key=lambda code: totals[code])


# A segment's text-LID verdict overrides the language it would otherwise get only when this sure.
SEGMENT_LANGUAGE_CONFIDENCE = 0.9


def segment_language(
    text: str, classify: Callable[[str], tuple[str, float] | None] | None, otherwise: str
) -> str:
    """A segment's language: the text-LID verdict when it is sure (code-switching), else ``otherwise``."""
    verdict = classify(text) if classify is not None else None
    return verdict[0] if verdict is not None and verdict[1] >= SEGMENT_LANGUAGE_CONFIDENCE else otherwise


class TextLanguageId:
    """py3langid restricted to the allowed languages (its model ships in the wheel; loads in ~0.5 s).

    Args:
        allowed: language codes to choose between.
        min_chars: shorter texts ("ja", "OK") get no verdict.
    """

    def __init__(self, allowed: Sequence[str], *, min_chars: int = 12) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier: Any = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(list(allowed))
        self.allowed = tuple(allowed)
        self.min_chars = min_chars

    def classify(self, text: str) -> tuple[str, float] | None:
        """(language, confidence) for ``text``, or None when it is too short to tell."""
        if len(text.strip()) < self.min_chars:
            return None
        language, confidence = self._identifier.classify(text)
        return str(language), float(confidence)
