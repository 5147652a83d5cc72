"""Documents that cross stage boundaries: meeting metadata, the transcript, the insights, the call result.

These are the pydantic models at the edges (style: dataclasses inside a stage, pydantic at its boundaries).
The transcription stage returns a ``TranscriptDoc``; the insight stage reads it and returns an ``InsightsDoc``;
``CallResult`` joins both into the call-result JSON that ``dealtalk process`` writes (README, "What you get per
call"); ``tests/integration/cli/test_cli_contract.py`` pins its keys. Fields may be added; the contract's fields
are never renamed or dropped.

Times are seconds from the start of the recording; speaker ids (``S1``, ``S2``...) are stable within a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ActionItemDoc",
    "BlobRef",
    "CallKpisDoc",
    "CallResult",
    "EntityDoc",
    "HealthDoc",
    "HealthReasonDoc",
    "InsightsDoc",
    "KpisDoc",
    "LanguageHint",
    "LinkMethod",
    "MeetingInfo",
    "ModelRef",
    "OpportunityLink",
    "Participant",
    "RiskDoc",
    "RiskLabel",
    "Role",
    "SegmentDoc",
    "SegmentQuality",
    "SentimentDoc",
    "SpeakerDoc",
    "SpeakerKpisDoc",
    "TranscriptDoc",
    "WordDoc",
]

Role = Literal["seller", "customer", "unknown"]
SentimentLabel = Literal["positive", "neutral", "negative"]
Severity = Literal["low", "medium", "high"]
RiskLabel = Literal[
    "competitor_mention",
    "price_objection",
    "discount_request",
    "budget_constraint",
    "timeline_slip",
    "decision_maker_absent",
    "stakeholder_change",
    "contract_termination_threat",
    "procurement_tender",
    "legal_or_compliance_concern",
    "low_engagement",
    "scope_reduction",
]


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BlobRef(_Doc):
    """A claim check: the content lives in the blob store under its sha256, never inside an event."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    content_type: str = "application/octet-stream"


class ModelRef(_Doc):
    """Provenance of a model that produced a result (the model registry fills it)."""

    name: str
    version: str = ""
    source: str = ""
    sha256: str = ""


class Participant(_Doc):
    """A meeting attendee as the calendar (Teams/Graph or the local sidecar) knows them."""

    name: str
    email: str | None = None
    role: Role = "unknown"
    is_organizer: bool = False


class LanguageHint(_Doc):
    """One piece of evidence for a call's language before anyone listens to it.

    ``source`` says where it came from: "meeting.locale", "organizer.preferredLanguage",
    "attendee.preferredLanguage", "organizer.mailboxLanguage", "teams.transcript", ...
    """

    language: str = Field(pattern=r"^[a-z]{2,3}$")
    source: str


class MeetingInfo(_Doc):
    """Meeting metadata carried along every event so that no stage needs to look it up again."""

    subject: str | None = None
    organizer: Participant | None = None
    attendees: tuple[Participant, ...] = ()
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    join_url: str | None = None
    online_meeting_id: str | None = None
    # BCP-47-ish language tag from the calendar/CRM ("nl-NL", "en-GB"), used to force the ASR language.
    locale: str | None = None
    # What the tenant knows of the people's languages (Graph preferredLanguage, mailbox language, a Teams
    # transcript): a prior for the language decision, never a forced language on its own.
    language_hints: tuple[LanguageHint, ...] = ()
    # E-mail addresses of participants for whom Teams had recording disabled (or who declined the recording
    # consent prompt): their calls are not analysed beyond what ``DEALTALK_GDPR__CONSENT_POLICY`` allows.
    recording_declined: tuple[str, ...] = ()

    @property
    def participants(self) -> tuple[Participant, ...]:
        """Organizer first, then attendees, without duplicates (by e-mail, else name)."""
        seen: set[str] = set()
        people: list[Participant] = []
        for person in ((self.organizer,) if self.organizer else ()) + self.attendees:
            key = (person.email or person.name).lower()
            if key not in seen:
                seen.add(key)
                people.append(person)
        return tuple(people)


class WordDoc(_Doc):
    start: float
    end: float
    word: str
    speaker: str
    probability: float = Field(ge=0.0, le=1.0)
    # True when the timing was not measured on the audio but spread over a Teams transcript cue.
    estimated: bool = False


class SentimentDoc(_Doc):
    label: SentimentLabel
    score: float = Field(ge=0.0, le=1.0)


class SegmentQuality(_Doc):
    """How well a segment was heard, from Whisper's own scores (``transcription/quality.py``)."""

    # Mean token log-probability of the decoding the words came from (weighted by word duration).
    avg_logprob: float
    # Whisper's probability that the audio held no speech at all.
    no_speech_prob: float = Field(ge=0.0, le=1.0)
    # Mean probability of the segment's words.
    word_probability: float = Field(ge=0.0, le=1.0)
    # 0 (heard badly) .. 1 (heard clearly): lowers the confidence of insights quoting this segment.
    score: float = Field(ge=0.0, le=1.0)


class SegmentDoc(_Doc):
    start: float
    end: float
    speaker: str
    role: Role
    language: str
    text: str
    words: tuple[WordDoc, ...] = ()
    sentiment: SentimentDoc | None = None
    # None when no ASR scores exist (a Teams transcript taken as is).
    quality: SegmentQuality | None = None


class SpeakerDoc(_Doc):
    id: str
    name: str
    email: str | None = None
    role: Role = "unknown"


class TranscriptDoc(_Doc):
    """What the transcription stage produces: who said what, when, with word timings."""

    call_id: str
    language: str
    duration_s: float = Field(ge=0.0)
    speakers: tuple[SpeakerDoc, ...]
    segments: tuple[SegmentDoc, ...]
    models: dict[str, ModelRef] = Field(default_factory=dict)
    # Warnings a user should see (e.g. "no speech found", "audio clipped"); never transcript text.
    warnings: tuple[str, ...] = ()
    # Which evidence chose ``language`` ("configured", "meeting.locale", "audio: nl 0.91 vs en 0.09 ...").
    language_evidence: str | None = None


class SpeakerKpisDoc(_Doc):
    talk_ratio: float = Field(ge=0.0, le=1.0)
    words_per_minute: float = Field(ge=0.0)
    avg_pause_before_speaking_ms: float = Field(ge=0.0)
    longest_monologue_ms: float = Field(ge=0.0)
    switch_count: int = Field(ge=0)
    questions: int = Field(ge=0)
    talk_time_s: float = Field(default=0.0, ge=0.0)
    interruptions: int = Field(default=0, ge=0)
    # How well this speaker was heard over the call, 0..1 (``contracts.evidence.speaker_quality``).
    transcript_quality: float = Field(default=1.0, ge=0.0, le=1.0)


class CallKpisDoc(_Doc):
    duration_s: float = Field(ge=0.0)
    switch_count: int = Field(ge=0)
    customer_longest_monologue_ms: float = Field(ge=0.0)
    questions_seller: int = Field(default=0, ge=0)
    questions_others: int = Field(default=0, ge=0)
    silence_share: float = Field(default=0.0, ge=0.0, le=1.0)
    overlap_share: float = Field(default=0.0, ge=0.0, le=1.0)
    interruptions: int = Field(default=0, ge=0)


class KpisDoc(_Doc):
    call: CallKpisDoc
    per_speaker: dict[str, SpeakerKpisDoc]


class RiskDoc(_Doc):
    type: RiskLabel
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    speaker: str
    start: float
    end: float
    quote: str
    segment_index: int = Field(ge=0)
    # Which detector raised it ("rule", "model", "rule+model") and the evidence in a few words.
    source: str = ""
    explanation: str = ""
    # How well the quoted segment was heard, 0..1 (``contracts.evidence``): below 0.7 the confidence is
    # lowered, below 0.5 reports mark the quote as heard badly.
    evidence_quality: float = Field(default=1.0, ge=0.0, le=1.0)


class ActionItemDoc(_Doc):
    text: str
    owner: str | None
    due: date | None = None
    start: float
    segment_index: int = Field(ge=0)
    # How well its segment was heard, 0..1, as on ``RiskDoc``.
    evidence_quality: float = Field(default=1.0, ge=0.0, le=1.0)


class EntityDoc(_Doc):
    """An amount, percentage, date, quantity, competitor or person mentioned in the call."""

    type: str
    text: str
    value: str | None = None
    unit: str | None = None
    segment_index: int = Field(ge=0)
    start: float


class HealthReasonDoc(_Doc):
    reason: str
    delta: float


class HealthDoc(_Doc):
    score: int = Field(ge=0, le=100)
    reasons: tuple[HealthReasonDoc, ...] = ()


class InsightsDoc(_Doc):
    """What the insight stage produces for one transcript. ``sentiments`` is aligned with the segments."""

    call_id: str
    sentiments: tuple[SentimentDoc, ...]
    kpis: KpisDoc
    risks: tuple[RiskDoc, ...]
    action_items: tuple[ActionItemDoc, ...]
    summary: str
    health: HealthDoc
    entities: tuple[EntityDoc, ...] = ()
    models: dict[str, ModelRef] = Field(default_factory=dict)


class CallResult(_Doc):
    """The call-result JSON of the contracts (section 2), plus a few added fields."""

    call_id: str
    language: str
    duration_s: float
    models: dict[str, ModelRef]
    speakers: tuple[SpeakerDoc, ...]
    segments: tuple[SegmentDoc, ...]
    kpis: KpisDoc
    risks: tuple[RiskDoc, ...]
    action_items: tuple[ActionItemDoc, ...]
    summary: str
    health: HealthDoc
    entities: tuple[EntityDoc, ...] = ()
    warnings: tuple[str, ...] = ()
    language_evidence: str | None = None

    @classmethod
    def join(cls, transcript: TranscriptDoc, insights: InsightsDoc) -> CallResult:
        """Merge a transcript and its insights into one call result (sentiment onto each segment)."""
        if len(insights.sentiments) != len(transcript.segments):
            raise ValueError(
                f"insights carry {len(insights.sentiments)} sentiments for {len(transcript.segments)} segments"
            )
        segments = tuple(
            segment.model_copy(update={"sentiment": sentiment})
            for segment, sentiment in zip(transcript.segments, insights.sentiments, strict=True)
        )
        return cls(
            call_id=transcript.call_id,
            language=transcript.language,
            duration_s=transcript.duration_s,
            models={**transcript.models, **insights.models},
            speakers=transcript.speakers,
            segments=segments,
            kpis=insights.kpis,
            risks=insights.risks,
            action_items=insights.action_items,
            summary=insights.summary,
            health=insights.health,
            entities=insights.entities,
            warnings=transcript.warnings,
            language_evidence=transcript.language_evidence,
        )


LinkMethod = Literal["appointment", "contact_account", "manual", "none"]


@dataclass(frozen=True, slots=True)
class OpportunityLink:
    """The opportunity a call was linked to, and how.

    Attributes:
        opportunity_id: Dataverse opportunityid (GUID), or None when the call stays unlinked.
        method: "appointment" (the D365 appointment of the Teams meeting), "contact_account" (attendees'
            e-mails -> contacts -> account -> open opportunities), "manual" (``dealtalk link``), "none".
        detail: a sentence a sales manager understands ("appointment 'X' regards opportunity 'Y'").
    """

    opportunity_id: str | None
    method: LinkMethod
    detail: str
    opportunity_name: str | None = None
    account_name: str | None = None
