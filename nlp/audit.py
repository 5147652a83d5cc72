"""Which labelled sets each lexicon pattern matches: the check that no rule was written from a sealed set.

A pattern or veto that fires on a held-out sentence and on nothing in train or dev was, most likely, written
while looking at that held-out set; its held-out score then overstates. ``pattern_coverage`` lists every risk
pattern, risk veto, action pattern and action veto with the number of utterances it matches in each set, so
such patterns can be found (``scripts/nlp_pattern_audit.py``) and kept out (``tests/unit/nlp``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dealtalk.nlp.rules import _read, compile_pattern

__all__ = ["PatternCoverage", "lexicon_patterns", "pattern_coverage", "unjustified"]


@dataclass(frozen=True, slots=True)
class PatternCoverage:
    """One lexicon pattern and how many utterances of each set it matches (anywhere in the text)."""

    kind: str  # "pattern" | "veto"
    label: str  # a risk label or "action_item"
    pattern: str
    matches: dict[str, int]


def lexicon_patterns() -> list[tuple[str, str, str]]:
    """(kind, label, pattern) for every risk and action-item pattern and veto in the bundled lexicons."""
    found: list[tuple[str, str, str]] = []
    for label, spec in _read("risks.json").items():
        if label.startswith("_"):
            continue
        found += [("pattern", label, p) for p in spec["patterns"]]
        found += [("veto", label, p) for p in spec["veto"]]
    actions = _read("actions.json")
    found += [("pattern", "action_item", p) for p in actions["patterns"]]
    found += [("veto", "action_item", p) for p in actions["veto"]]
    return found


def pattern_coverage(sets: Mapping[str, Sequence[str]]) -> list[PatternCoverage]:
    """Per lexicon pattern, the number of texts of each named set that it matches.

    Args:
        sets: set name -> its texts (e.g. {"train": [...], "dev": [...]}).
    """
    import spacy
    from spacy.matcher import Matcher

    nlp = spacy.blank("xx")
    matcher = Matcher(nlp.vocab)
    patterns = lexicon_patterns()
    for index, (_, _, pattern) in enumerate(patterns):
        matcher.add(str(index), [compile_pattern(pattern)])
    counts = [dict.fromkeys(sets, 0) for _ in patterns]
    for name, texts in sets.items():
        for text in texts:
            doc = nlp(text.replace("’", "'"))
            for index in {int(nlp.vocab.strings[match_id]) for match_id, _, _ in matcher(doc)}:
                counts[index][name] += 1
    return [
        PatternCoverage(kind, label, pattern, count)
        for (kind, label, pattern), count in zip(patterns, counts, strict=True)
    ]


def unjustified(
    coverage: Sequence[PatternCoverage], *, seen: Sequence[str], held_out: Sequence[str]
) -> list[PatternCoverage]:
    """Patterns that match something in a held-out set and nothing in the sets the rules may be written from."""
    return [
        c
        for c in coverage
        if any(c.matches.get(name, 0) for name in held_out)
        and not any(c.matches.get(name, 0) for name in seen)
    ]
