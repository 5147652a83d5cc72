"""The pure diff: word errors, risk matching, sentiment per role, and when a call counts as changed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.documents import (
    CallKpisDoc,
    CallResult,
    HealthDoc,
    KpisDoc,
    RiskDoc,
    SegmentDoc,
    SentimentDoc,
    SpeakerDoc,
)
from dealtalk.pipeline.reprocess.diff import diff_call, risk_changes, sentiment_by_role, totals, word_errors

WORDS = st.lists(st.sampled_from(["de", "prijs", "is", "te", "hoog", "price"]), max_size=8)


def _risk(kind: str, start: float) -> RiskDoc:
    return RiskDoc(
        type=kind,
        severity="high",
        confidence=0.9,
        speaker="S2",
        start=start,
        end=start + 2,
        quote="q",
        segment_index=0,
    )


def _result(
    lines: list[tuple[str, str, str]], risks: tuple[RiskDoc, ...] = (), summary: str = "s"
) -> CallResult:
    segments = tuple(
        SegmentDoc(
            start=i * 10.0,
            end=i * 10.0 + 5.0,
            speaker="S1" if role == "seller" else "S2",
            role=role,
            language="nl",
            text=text,
            sentiment=SentimentDoc(label=label, score=0.9),
        )
        for i, (role, text, label) in enumerate(lines)
    )
    return CallResult(
        call_id="c",
        language="nl",
        duration_s=10.0 * len(lines),
        models={},
        speakers=(
            SpeakerDoc(id="S1", name="A", role="seller"),
            SpeakerDoc(id="S2", name="B", role="customer"),
        ),
        segments=segments,
        kpis=KpisDoc(
            call=CallKpisDoc(duration_s=1, switch_count=0, customer_longest_monologue_ms=0), per_speaker={}
        ),
        risks=risks,
        action_items=(),
        summary=summary,
        health=HealthDoc(score=50),
    )


def test_word_errors_count_substitutions_deletions_and_insertions() -> None:
    assert word_errors(["a", "b", "c"], ["a", "x", "c"]) == 1
    assert word_errors(["a", "b", "c"], ["a", "c"]) == 1
    assert word_errors(["a", "b"], ["a", "b", "c", "d"]) == 2
    assert word_errors([], ["a"]) == 1
    assert word_errors(["a"], []) == 1


@given(WORDS, WORDS)
def test_word_errors_is_a_distance(a: list[str], b: list[str]) -> None:
    assert word_errors(a, a) == 0
    assert word_errors(a, b) == word_errors(b, a)
    assert abs(len(a) - len(b)) <= word_errors(a, b) <= max(len(a), len(b))


def test_risks_match_by_type_within_five_seconds() -> None:
    old = [_risk("price_objection", 10.0), _risk("timeline_slip", 50.0)]
    new = [_risk("price_objection", 13.0), _risk("price_objection", 40.0), _risk("competitor_mention", 50.0)]
    added, removed = risk_changes(old, new)
    assert [(r.type, r.start) for r in added] == [("price_objection", 40.0), ("competitor_mention", 50.0)]
    assert [(r.type, r.start) for r in removed] == [("timeline_slip", 50.0)]


def test_sentiment_by_role_weighs_turns_by_duration() -> None:
    result = _result(
        [("seller", "a", "positive"), ("customer", "b", "negative"), ("customer", "c", "neutral")]
    )
    assert sentiment_by_role(result) == {"customer": -0.5, "seller": 1.0}


def test_a_call_with_the_same_words_risks_sentiment_and_summary_is_unchanged() -> None:
    lines = [("seller", "De prijs is goed.", "positive"), ("customer", "Te hoog!", "negative")]
    same = diff_call("c", _result(lines), _result(lines))
    assert not same.changed and same.reference_words == 6 and same.wer == 0.0
    # Case and punctuation are not word errors; a different word is.
    assert (
        diff_call(
            "c",
            _result(lines),
            _result([("seller", "de prijs is GOED", "positive"), ("customer", "te hoog", "negative")]),
        ).word_errors
        == 0
    )
    changed = diff_call(
        "c",
        _result(lines),
        _result([("seller", "De prijs is hoog.", "positive"), ("customer", "Te hoog!", "negative")]),
    )
    assert changed.changed and changed.word_errors == 1 and round(changed.wer, 3) == round(1 / 6, 3)


def test_sentiment_shift_and_summary_change_count_as_changes() -> None:
    lines = [("seller", "x", "positive"), ("customer", "y", "neutral")]
    shifted = diff_call(
        "c", _result(lines), _result([("seller", "x", "positive"), ("customer", "y", "negative")])
    )
    assert shifted.sentiment_shift == {"customer": -1.0, "seller": 0.0} and shifted.changed
    assert diff_call("c", _result(lines), _result(lines, summary="other")).changed


def test_no_old_version_is_a_change_and_totals_weigh_long_calls_more() -> None:
    lines = [("seller", "a b c d e f g h", "neutral")]
    fresh = diff_call("c", None, _result(lines, risks=(_risk("price_objection", 1.0),)))
    assert not fresh.baseline and fresh.changed and fresh.risks_added == ("price_objection",)
    long_call = diff_call("l", _result(lines), _result([("seller", "a b c d e f g x", "neutral")]))
    short_call = diff_call("s", _result([("seller", "a", "neutral")]), _result([("seller", "b", "neutral")]))
    total = totals([long_call, short_call, fresh])
    assert (total.calls, total.changed, total.word_errors, total.reference_words) == (3, 3, 2, 9)
    assert total.risks_added == 1 and round(total.wer, 4) == round(2 / 9, 4)
