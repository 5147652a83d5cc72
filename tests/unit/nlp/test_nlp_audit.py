"""The lexicon audit: patterns that match only held-out sets are found, and none are left in the lexicons."""

from __future__ import annotations

from pathlib import Path

from dealtalk.nlp.audit import PatternCoverage, lexicon_patterns, pattern_coverage, unjustified
from dealtalk.nlp.dataset import read_dataset

DATA = Path(__file__).resolve().parents[3] / "nlp" / "data"


def test_unjustified_flags_only_patterns_seen_nowhere_but_held_out() -> None:
    coverage = [
        PatternCoverage("pattern", "budget_constraint", "a", {"train": 0, "dev": 0, "holdout2": 1}),
        PatternCoverage("pattern", "budget_constraint", "b", {"train": 2, "dev": 0, "holdout2": 1}),
        PatternCoverage("veto", "timeline_slip", "c", {"train": 0, "dev": 0, "holdout2": 0}),
        PatternCoverage("veto", "timeline_slip", "d", {"train": 0, "dev": 1, "holdout2": 3}),
    ]
    flagged = unjustified(coverage, seen=("train", "dev"), held_out=("holdout2",))
    assert [c.pattern for c in flagged] == ["a"]


def test_coverage_counts_utterances_per_set_in_both_languages() -> None:
    sets = {
        "train": ["Dat is echt te duur voor ons.", "That is too expensive for us.", "Prima."],
        "dev": ["Nothing about money here."],
    }
    coverage = pattern_coverage(sets)
    too_expensive = next(c for c in coverage if c.pattern.startswith("too|very|so expensive"))
    assert too_expensive.matches == {"train": 1, "dev": 0}
    te_duur = next(c for c in coverage if c.pattern.startswith("te|erg|veel|zo duur"))
    assert te_duur.matches == {"train": 1, "dev": 0}
    assert len(coverage) == len(lexicon_patterns())


def test_no_lexicon_pattern_matches_only_held_out_sentences() -> None:
    """Issue 13: every pattern and veto is justified by train or dev, not by a held-out set."""
    names = ("train", "dev", "holdout", "holdout2")
    sets = {name: [u.text for u in read_dataset(DATA / f"{name}.jsonl")] for name in names}
    flagged = unjustified(pattern_coverage(sets), seen=("train", "dev"), held_out=("holdout", "holdout2"))
    assert [(c.label, c.pattern) for c in flagged] == []
