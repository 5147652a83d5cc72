"""Pure redaction and consent decisions on hand-built calls: one person out, everyone else kept."""

from __future__ import annotations

from datetime import date

from dealtalk.contracts.documents import (
    ActionItemDoc,
    CallKpisDoc,
    EntityDoc,
    HealthDoc,
    InsightsDoc,
    KpisDoc,
    MeetingInfo,
    Participant,
    RiskDoc,
    SegmentDoc,
    SentimentDoc,
    SpeakerDoc,
    SpeakerKpisDoc,
    TranscriptDoc,
    WordDoc,
)
from dealtalk.contracts.gdpr_settings import GdprSettings
from dealtalk.pipeline.gdpr.consent import consent_decision, opted_out_people
from dealtalk.pipeline.gdpr.identity import (
    ERASED,
    ERASED_NAME,
    Person,
    hash_email,
    hash_name,
    name_pattern,
    scrub,
)
from dealtalk.pipeline.gdpr.ledger import ErasedPeople
from dealtalk.pipeline.gdpr.redact import (
    RETIRED,
    Redaction,
    pseudonym,
    redact_insights,
    redact_meeting,
    redact_transcript,
    speakers_of,
)

ANNA = "anna.jong@klant.nl"


def _segment(start: float, speaker: str, role: str, text: str) -> SegmentDoc:
    words = tuple(
        WordDoc(start=start + i, end=start + i + 0.5, word=f" {w}", speaker=speaker, probability=0.9)
        for i, w in enumerate(text.split())
    )
    return SegmentDoc(
        start=start, end=start + 5, speaker=speaker, role=role, language="nl", text=text, words=words
    )


def _call() -> tuple[MeetingInfo, TranscriptDoc, InsightsDoc]:
    meeting = MeetingInfo(
        subject="Offerte voor Anna Jong",
        organizer=Participant(name="Piet Bos", email="piet@verkoop.nl", role="seller", is_organizer=True),
        attendees=(Participant(name="Anna Jong", email=ANNA, role="customer"),),
    )
    transcript = TranscriptDoc(
        call_id="rec-1",
        language="nl",
        duration_s=20,
        speakers=(
            SpeakerDoc(id="S1", name="Piet Bos", email="piet@verkoop.nl", role="seller"),
            SpeakerDoc(id="S2", name="Anna Jong", email=ANNA, role="customer"),
        ),
        segments=(
            _segment(0, "S1", "seller", "Goedemorgen Anna, fijn dat je er bent."),
            _segment(5, "S2", "customer", "De prijs is echt te hoog voor ons."),
            _segment(10, "S1", "seller", "Ik stuur je vrijdag een nieuwe offerte."),
        ),
    )
    sentiments = tuple(SentimentDoc(label=label, score=0.8) for label in ("positive", "negative", "neutral"))
    per = SpeakerKpisDoc(
        talk_ratio=0.5,
        words_per_minute=120,
        avg_pause_before_speaking_ms=300,
        longest_monologue_ms=5000,
        switch_count=1,
        questions=0,
    )
    insights = InsightsDoc(
        call_id="rec-1",
        sentiments=sentiments,
        kpis=KpisDoc(
            call=CallKpisDoc(duration_s=20, switch_count=2, customer_longest_monologue_ms=5000),
            per_speaker={"S1": per, "S2": per},
        ),
        risks=(
            RiskDoc(
                type="price_objection",
                severity="high",
                confidence=0.9,
                speaker="S2",
                start=5,
                end=10,
                quote="De prijs is echt te hoog voor ons.",
                segment_index=1,
                explanation="te hoog",
            ),
        ),
        action_items=(
            ActionItemDoc(
                text="Ik stuur Anna vrijdag een nieuwe offerte.",
                owner="S1",
                due=date(2026, 12, 11),
                start=10,
                segment_index=2,
            ),
        ),
        summary='Klant: "De prijs is echt te hoog voor ons."',
        health=HealthDoc(score=40),
        entities=(EntityDoc(type="person", text="Anna", segment_index=0, start=0.0),),
    )
    return meeting, transcript, insights


def test_one_person_out_everyone_else_kept() -> None:
    meeting, transcript, insights = _call()
    person = Person(ANNA, ("Anna Jong",))

    def is_anna(email: str | None, name: str) -> bool:
        return person.matches(email=email, name=name if not email else None)

    speakers = speakers_of(transcript, is_anna)
    assert speakers == {"S2"}
    redaction = Redaction(speakers=speakers, pattern=name_pattern(person.names, [ANNA]))
    new_transcript = redact_transcript(transcript, redaction)
    new_insights = redact_insights(insights, new_transcript, redaction)
    new_meeting = redact_meeting(meeting, is_anna, redaction.pattern)

    assert [s.text for s in new_transcript.segments] == [
        f"Goedemorgen {ERASED_NAME}, fijn dat je er bent.",
        ERASED,
        "Ik stuur je vrijdag een nieuwe offerte.",
    ]
    assert new_transcript.segments[1].words == () and len(new_transcript.segments[2].words) == 7
    assert new_transcript.speakers[1] == SpeakerDoc(id="S2", name=ERASED_NAME, email=None, role="customer")
    assert new_transcript.speakers[0] == transcript.speakers[0]
    assert new_insights.risks[0].quote == ERASED and new_insights.risks[0].type == "price_objection"
    assert new_insights.action_items[0].text == f"Ik stuur {ERASED_NAME} vrijdag een nieuwe offerte."
    assert new_insights.entities[0].text == ERASED
    assert (new_insights.kpis, new_insights.sentiments, new_insights.health) == (
        insights.kpis,
        insights.sentiments,
        insights.health,
    )
    assert "te hoog" not in new_insights.summary and "Anna" not in new_insights.summary
    assert new_meeting.attendees[0] == Participant(name=ERASED_NAME, email=None, role="customer")
    assert new_meeting.organizer == meeting.organizer and new_meeting.subject == f"Offerte voor {ERASED_NAME}"


def test_retention_pseudonymises_everyone() -> None:
    _meeting, transcript, insights = _call()
    names = [s.name for s in transcript.speakers]
    redaction = Redaction(
        speakers=frozenset({"S1", "S2"}), pattern=name_pattern(names), marker=RETIRED, rename=pseudonym
    )
    new = redact_transcript(transcript, redaction)
    assert {s.text for s in new.segments} == {RETIRED}
    assert [s.name for s in new.speakers] == ["S1 (seller)", "S2 (customer)"]
    kept = redact_insights(insights, new, redaction)
    assert kept.action_items[0].text == RETIRED and kept.risks[0].severity == "high"


def test_names_and_hashes() -> None:
    pattern = name_pattern(["Eva de Vries"], ["eva@x.nl"])
    assert scrub("Eva zei: mail eva@x.nl of De Vries; de offerte", pattern) == (
        f"{ERASED_NAME} zei: mail {ERASED_NAME} of {ERASED_NAME}; de offerte"
    )
    assert scrub("Evaluatie", pattern) == "Evaluatie"  # whole words only
    assert hash_email(" Eva@X.nl ") == hash_email("eva@x.nl") and len(hash_email("a@b.c")) == 64
    erased = ErasedPeople(
        email_hashes=frozenset({hash_email("eva@x.nl")}), name_hashes=frozenset({hash_name("Eva de Vries")})
    )
    assert erased.contains("EVA@x.nl", None) and erased.contains(None, "eva  de VRIES")
    assert not erased.contains("other@x.nl", "Eva")


def test_consent_decisions() -> None:
    meeting, _t, _i = _call()
    assert consent_decision(meeting, GdprSettings()) is None
    listed = GdprSettings(opted_out_emails=(" ANNA.jong@klant.nl ",))
    assert consent_decision(meeting, listed) is not None
    assert opted_out_people(meeting, listed, None) == {ANNA: "opted_out_list"}
    grouped = opted_out_people(meeting, GdprSettings(), lambda email: email == "piet@verkoop.nl")
    assert grouped == {"piet@verkoop.nl": "opted_out_group"}
    declined = meeting.model_copy(update={"recording_declined": (ANNA,)})
    decision = consent_decision(declined, GdprSettings())
    assert decision is not None and (decision.reason, decision.people) == ("recording_declined", 1)
