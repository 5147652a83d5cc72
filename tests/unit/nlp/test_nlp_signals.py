"""Risk signals from findings: exact quotes, times from words, adjacent duplicates merged."""

from __future__ import annotations

from dealtalk.contracts.documents import SegmentDoc, WordDoc
from dealtalk.nlp.detect import Finding, RiskFinding
from dealtalk.nlp.signals import risk_signals
from dealtalk.nlp.text import sentences


def segment(speaker: str, start: float, end: float, text: str, words: tuple[WordDoc, ...] = ()) -> SegmentDoc:
    return SegmentDoc(
        start=start, end=end, speaker=speaker, role="customer", language="nl", text=text, words=words
    )


def finding(text: str, label: str, sentence: int | None, confidence: float) -> Finding:
    return Finding(
        "negative",
        0.9,
        (RiskFinding(label, sentence, confidence, "rule", "x"),),
        False,
        None,
        tuple(sentences(text)),
    )


SEVERITY = {"price_objection": "high"}


def test_quote_is_the_evidence_sentence_with_word_times() -> None:
    text = "Goedemorgen. De prijs is te hoog."
    words = tuple(
        WordDoc(start=s, end=e, word=w, speaker="S2", probability=0.9)
        for s, e, w in [(0.0, 0.5, "Goedemorgen."), (1.0, 1.2, "De"), (1.2, 1.5, "prijs"), (1.5, 1.6, "is"),
                        (1.6, 1.7, "te"), (1.7, 2.0, "hoog.")]
    )  # fmt: skip
    signals = risk_signals(
        [segment("S2", 0.0, 2.0, text, words)], [finding(text, "price_objection", 1, 0.9)], SEVERITY
    )
    assert [(s.quote, s.start, s.end, s.severity) for s in signals] == [
        ("De prijs is te hoog.", 1.0, 2.0, "high")
    ]


def test_adjacent_duplicates_merge_and_keep_the_stronger_quote() -> None:
    first, second, far = "Te duur.", "Echt veel te duur.", "Nog steeds te duur."
    segments = [segment("S2", 0, 2, first), segment("S2", 5, 7, second), segment("S2", 100, 102, far)]
    findings = [
        finding(first, "price_objection", 0, 0.7),
        finding(second, "price_objection", 0, 0.95),
        finding(far, "price_objection", 0, 0.7),
    ]
    signals = risk_signals(segments, findings, SEVERITY)
    assert [(s.quote, s.segment_index) for s in signals] == [(second, 1), (far, 2)]
    assert "repeated at 00:00" in signals[0].explanation


def test_model_only_signal_is_one_severity_lower() -> None:
    text = "Dat gaat lastig worden."
    model = Finding(
        "neutral",
        0.5,
        (RiskFinding("price_objection", None, 0.85, "model", "p"),),
        False,
        None,
        tuple(sentences(text)),
    )
    (signal,) = risk_signals([segment("S2", 0, 3, text)], [model], SEVERITY)
    assert signal.severity == "medium" and signal.quote == text and signal.source == "model"


def test_a_repetition_after_another_turn_stays_on_its_own_turn() -> None:
    first, reply, again = "Te duur.", "Ik begrijp het.", "Nog steeds te duur."
    segments = [
        SegmentDoc(start=0, end=2, speaker="S2", role="customer", language="nl", text=first),
        SegmentDoc(start=3, end=4, speaker="S1", role="seller", language="nl", text=reply),
        SegmentDoc(start=5, end=7, speaker="S2", role="customer", language="nl", text=again),
    ]
    empty = Finding("neutral", 0.9, (), False, None, tuple(sentences(reply)))
    findings = [finding(first, "price_objection", 0, 0.7), empty, finding(again, "price_objection", 0, 0.95)]
    signals = risk_signals(segments, findings, SEVERITY)
    assert [(s.quote, s.segment_index) for s in signals] == [(first, 0), (again, 2)]


def test_a_badly_heard_quote_loses_confidence_and_says_how_well_it_was_heard() -> None:
    from dealtalk.contracts.documents import SegmentQuality

    text = "Het budget mogen faciliteren diemsten."
    heard = segment("S2", 0.0, 3.0, text).model_copy(
        update={
            "quality": SegmentQuality(
                avg_logprob=-0.9, no_speech_prob=0.05, word_probability=0.45, score=0.35
            )
        }
    )
    clear = heard.model_copy(
        update={
            "quality": SegmentQuality(
                avg_logprob=-0.1, no_speech_prob=0.01, word_probability=0.95, score=0.92
            )
        }
    )
    badly = risk_signals([heard], [finding(text, "price_objection", 0, 0.9)], SEVERITY)[0]
    clearly = risk_signals([clear], [finding(text, "price_objection", 0, 0.9)], SEVERITY)[0]
    assert (clearly.confidence, clearly.evidence_quality) == (0.9, 0.92)
    assert badly.evidence_quality == 0.35 and badly.confidence == 0.45  # 0.9 * 0.35 / 0.7
