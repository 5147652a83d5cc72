"""Labelled data files: the committed sets are valid, bad lines are refused with their line number."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dealtalk.contracts.errors import InvalidInput
from dealtalk.nlp.dataset import RISK_LABELS, read_dataset

DATA = Path(__file__).resolve().parents[3] / "nlp" / "data"


def test_committed_sets_meet_the_brief() -> None:
    train, dev = read_dataset(DATA / "train.jsonl"), read_dataset(DATA / "dev.jsonl")
    both = train + dev
    assert len(both) >= 600
    positives = Counter(label for u in both for label in u.risks)
    assert all(positives[label] >= 30 for label in RISK_LABELS), positives
    no_risk = sum(not u.risks for u in both) / len(both)
    assert 0.38 <= no_risk <= 0.52
    assert {u.lang for u in both} == {"nl", "en"} and {u.role for u in both} == {"customer", "seller"}
    assert not {u.text for u in train} & {u.text for u in dev}
    assert len({u.id for u in both}) == len(both)


@pytest.mark.parametrize("name", ["holdout", "holdout2"])
def test_holdouts_are_disjoint_from_training(name: str) -> None:
    holdout = read_dataset(DATA / f"{name}.jsonl")
    seen = {u.text.lower() for u in read_dataset(DATA / "train.jsonl") + read_dataset(DATA / "dev.jsonl")}
    assert not {u.text.lower() for u in holdout} & seen


def test_sealed_holdout_covers_the_brief() -> None:
    sealed = read_dataset(DATA / "holdout2.jsonl")
    older = {u.text.lower() for u in read_dataset(DATA / "holdout.jsonl")}
    assert not {u.text.lower() for u in sealed} & older
    positives = Counter(label for u in sealed for label in u.risks)
    assert all(positives[label] >= 10 for label in RISK_LABELS), positives
    assert 0.40 <= sum(not u.risks for u in sealed) / len(sealed) <= 0.55
    combinations = {(lang, role) for lang in ("nl", "en") for role in ("customer", "seller")}
    assert {(u.lang, u.role) for u in sealed} == combinations


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "line 2: not valid JSON"),
        ('{"id": "x"}', "line 2: missing field(s)"),
        (
            '{"id":"x","lang":"de","role":"customer","text":"t","sentiment":"neutral","risks":[],"action_item":false}',
            "lang 'de'",
        ),
        (
            '{"id":"x","lang":"nl","role":"customer","text":"t","sentiment":"neutral","risks":["angry"],'
            '"action_item":false}',
            "unknown risk label(s) angry",
        ),
        (
            '{"id":"x","lang":"nl","role":"customer","text":"t","sentiment":"meh","risks":[],"action_item":false}',
            "sentiment 'meh'",
        ),
        (
            '{"id":"x","lang":"nl","role":"customer","text":"t","sentiment":"neutral","risks":[],"action_item":1}',
            "action_item must be true or false",
        ),
    ],
)
def test_bad_line_names_line_and_problem(tmp_path: Path, line: str, problem: str) -> None:
    good = '{"id":"a","lang":"nl","role":"seller","text":"Hoi","sentiment":"neutral","risks":[],"action_item":false}'
    path = tmp_path / "set.jsonl"
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"set\.jsonl") as caught:
        read_dataset(path)
    assert problem in str(caught.value)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no labelled utterances"):
        read_dataset(path)
