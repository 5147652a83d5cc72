"""Pure redaction of one call's documents: a person's speech, quotes, names and address out, the rest kept.

The same functions serve an erasure (one person: their segments and quotes erased, their name scrubbed
from everyone else's words) and retention (everyone: text and names replaced by pseudonyms, figures and
labels kept so trends still work). Timings, sentiment labels, KPIs, risk types and the health score stay.
The summary is derived again from the redacted facts with the template summariser, so it can quote only
what is left.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dealtalk.contracts.documents import (
    ActionItemDoc,
    EntityDoc,
    InsightsDoc,
    MeetingInfo,
    Participant,
    RiskDoc,
    SpeakerDoc,
    TranscriptDoc,
    WordDoc,
)
from dealtalk.nlp.summary import SummaryFacts, TemplateSummary, summary_language
from dealtalk.pipeline.gdpr.identity import ERASED, ERASED_NAME, scrub

__all__ = [
    "RETIRED",
    "Redaction",
    "pseudonym",
    "redact_insights",
    "redact_meeting",
    "redact_transcript",
    "speakers_of",
]

# What replaces text removed by retention (as opposed to an erasure).
RETIRED = "[removed after retention]"


def pseudonym(speaker: SpeakerDoc) -> str:
    """A stable stand-in for a speaker's name: their id and role (``S2 (customer)``)."""
    return f"{speaker.id} ({speaker.role})"


@dataclass(frozen=True, slots=True)
class Redaction:
    """What to take out of one call.

    Attributes:
        speakers: ids of the speakers whose speech, quotes and name are removed entirely.
        pattern: names and addresses to scrub from everyone else's words (``identity.name_pattern``).
        marker: what replaces removed text.
        rename: the new name of a removed speaker.
    """

    speakers: frozenset[str]
    pattern: re.Pattern[str] | None
    marker: str = ERASED
    rename: Callable[[SpeakerDoc], str] = field(default=lambda _speaker: ERASED_NAME)

    def text(self, value: str) -> str:
        return scrub(value, self.pattern)


def speakers_of(doc: TranscriptDoc, is_subject: Callable[[str | None, str], bool]) -> frozenset[str]:
    """The ids of the speakers ``is_subject(email, name)`` recognises."""
    return frozenset(s.id for s in doc.speakers if is_subject(s.email, s.name))


def redact_meeting(
    meeting: MeetingInfo,
    is_subject: Callable[[str | None, str], bool],
    pattern: re.Pattern[str] | None,
    *,
    rename: Callable[[Participant], str] = lambda _person: ERASED_NAME,
) -> MeetingInfo:
    """The meeting with the recognised people's names and addresses replaced (their role is kept)."""

    def person(p: Participant) -> Participant:
        if not is_subject(p.email, p.name):
            return p
        return Participant(name=rename(p), email=None, role=p.role, is_organizer=p.is_organizer)

    return meeting.model_copy(
        update={
            "organizer": person(meeting.organizer) if meeting.organizer else None,
            "attendees": tuple(person(p) for p in meeting.attendees),
            "subject": scrub(meeting.subject, pattern) if meeting.subject else meeting.subject,
            "recording_declined": tuple(e for e in meeting.recording_declined if not is_subject(e, "")),
        }
    )


def _words(words: tuple[WordDoc, ...], redaction: Redaction) -> tuple[WordDoc, ...]:
    kept = []
    for word in words:
        if word.speaker in redaction.speakers:
            continue
        text = redaction.text(word.word)
        kept.append(word if text == word.word else word.model_copy(update={"word": text}))
    return tuple(kept)


def redact_transcript(doc: TranscriptDoc, redaction: Redaction) -> TranscriptDoc:
    """The transcript without the removed speakers' words and names, everyone else's words scrubbed."""
    speakers = tuple(
        s.model_copy(update={"name": redaction.rename(s), "email": None}) if s.id in redaction.speakers else s
        for s in doc.speakers
    )
    segments = tuple(
        s.model_copy(update={"text": redaction.marker, "words": ()})
        if s.speaker in redaction.speakers
        else s.model_copy(update={"text": redaction.text(s.text), "words": _words(s.words, redaction)})
        for s in doc.segments
    )
    return doc.model_copy(
        update={
            "speakers": speakers,
            "segments": segments,
            "warnings": tuple(redaction.text(w) for w in doc.warnings),
        }
    )


def _risk(risk: RiskDoc, removed: bool, redaction: Redaction) -> RiskDoc:
    if removed:
        return risk.model_copy(update={"quote": redaction.marker, "explanation": redaction.marker})
    return risk.model_copy(
        update={"quote": redaction.text(risk.quote), "explanation": redaction.text(risk.explanation)}
    )


def _action(item: ActionItemDoc, removed: bool, redaction: Redaction) -> ActionItemDoc:
    return item.model_copy(update={"text": redaction.marker if removed else redaction.text(item.text)})


def _entity(entity: EntityDoc, removed: bool, redaction: Redaction) -> EntityDoc:
    if removed or (entity.type == "person" and redaction.text(entity.text) != entity.text):
        return entity.model_copy(update={"text": redaction.marker, "value": None})
    value = redaction.text(entity.value) if entity.value is not None else None
    return entity.model_copy(update={"text": redaction.text(entity.text), "value": value})


def redact_insights(insights: InsightsDoc, transcript: TranscriptDoc, redaction: Redaction) -> InsightsDoc:
    """The insights of ``transcript`` (already redacted) without the removed speakers' quotes and names.

    Sentiments, KPIs, risk types, severities, confidences and the health score are kept as they were.
    """
    removed_segments = {i for i, s in enumerate(transcript.segments) if s.speaker in redaction.speakers}
    risks = tuple(
        _risk(r, r.speaker in redaction.speakers or r.segment_index in removed_segments, redaction)
        for r in insights.risks
    )
    actions = tuple(
        _action(a, a.owner in redaction.speakers or a.segment_index in removed_segments, redaction)
        for a in insights.action_items
    )
    entities = tuple(_entity(e, e.segment_index in removed_segments, redaction) for e in insights.entities)
    summary = _summary(insights, transcript, risks, actions, redaction) if insights.summary else ""
    return insights.model_copy(
        update={"risks": risks, "action_items": actions, "entities": entities, "summary": summary}
    )


def _summary(
    insights: InsightsDoc,
    transcript: TranscriptDoc,
    risks: tuple[RiskDoc, ...],
    actions: tuple[ActionItemDoc, ...],
    redaction: Redaction,
) -> str:
    """The template summary over what is left: removed text never becomes a "most telling sentence"."""

    def blank(text: str) -> str:
        return "" if text == redaction.marker else text

    segments = tuple(
        s if s.speaker not in redaction.speakers else s.model_copy(update={"text": "", "words": ()})
        for s in transcript.segments
    )
    facts = SummaryFacts(
        language=summary_language(segments, transcript.language),
        duration_s=transcript.duration_s,
        segments=segments,
        sentiments=insights.sentiments,
        roles={s.id: s.role for s in transcript.speakers},
        names={s.id: s.name for s in transcript.speakers},
        risks=tuple(r.model_copy(update={"quote": blank(r.quote)}) for r in risks),
        action_items=actions,
        kpis=insights.kpis,
        health=insights.health,
    )
    return TemplateSummary().summarize(facts)
