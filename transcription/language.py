"""Which language each piece of a call is in: configuration, meeting locale, Whisper and a text check.

Whisper's own detection picks the argmax over 99 languages and gets short Dutch audio wrong (``de``,
``cy``). Choosing between the few languages a site expects (``nl``/``en``) from the same probabilities is
reliable, and a prior for the call's language (from configuration or the meeting locale) keeps a Dutch
call with one English name in Dutch. A text language-ID pass (py3langid) on the transcript then decides the
call's language when nothing else knew it, and labels each segment's language for code-switched calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["TextLanguageId", "choose_language", "language_from_locale", "majority_language"]


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
