"""What the voiceprint store adds to the attendee match: voice evidence before it, enrolment after it.

The match itself (cues, elimination, Hungarian assignment) is ``attendee_matching.match_attendees``; this module
scores each diarized speaker's voice against the stored seller voiceprints before the match, and afterwards
enrols the voice of each confidently named seller. The store is ``voiceprints.VoiceprintStore``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dealtalk.contracts.documents import ModelRef, Participant
from dealtalk.transcription.assign import TimedWord
from dealtalk.transcription.attendee_matching import MatchOptions, SpeakerIdentity, match_attendees
from dealtalk.transcription.compose import utterances
from dealtalk.transcription.diarization import Diarization
from dealtalk.transcription.voiceprints import VoiceprintStore, unit

__all__ = ["ENROL_MIN_MARGIN", "ENROL_MIN_TALK_S", "enrol_sellers", "identify_speakers"]

# A seller is enrolled from a call only with this much talk time and this clear a naming margin.
ENROL_MIN_TALK_S = 10.0
ENROL_MIN_MARGIN = 1.5


def identify_speakers(
    order: Sequence[int],
    participants: Sequence[Participant],
    groups: Sequence[Sequence[TimedWord]],
    diarization: Diarization | None,
    *,
    voiceprints: VoiceprintStore | None,
    models: Mapping[str, ModelRef],
    opts: MatchOptions,
) -> dict[int, SpeakerIdentity]:
    """Name every diarization label: voiceprints of the attending sellers (or of every enrolled seller when
    the attendees are unknown) plus the cues in what was said.
    """
    people = list(participants)
    attendees_known = bool(people)
    voice: dict[tuple[int, str], float] = {}
    if voiceprints is not None and diarization is not None and "speaker-embedding" in models:
        model_sha = models["speaker-embedding"].sha256
        if attendees_known:
            prints = [
                p
                for p in (
                    voiceprints.get(person.email, model_sha256=model_sha)
                    for person in people
                    if person.role == "seller" and person.email
                )
                if p is not None
            ]
        else:
            prints = voiceprints.all(model_sha256=model_sha)
            people = [Participant(name=p.name, email=p.email, role="seller") for p in prints]
        for label in order:
            if label < len(diarization.centroids):
                centroid = unit(diarization.centroids[label])
                for voiceprint in prints:
                    voice[(label, voiceprint.email.lower())] = float(np.dot(centroid, voiceprint.embedding))
    return match_attendees(
        order, people, utterances(groups), voice=voice, attendees_known=attendees_known, opts=opts
    )


def enrol_sellers(
    identities: Mapping[int, SpeakerIdentity],
    diarization: Diarization,
    *,
    voiceprints: VoiceprintStore | None,
    models: Mapping[str, ModelRef],
) -> None:
    """Add this call's voice of each confidently named seller with enough talk time to their voiceprint."""
    if voiceprints is None or "speaker-embedding" not in models:
        return
    talk: dict[int, float] = {}
    for turn in diarization.exclusive:
        talk[turn.speaker] = talk.get(turn.speaker, 0.0) + turn.duration
    for label, identity in identities.items():
        confident = identity.source == "voiceprint" or (
            identity.source == "cues" and identity.margin >= ENROL_MIN_MARGIN
        )
        if (
            identity.role != "seller"
            or not identity.email
            or not confident
            or talk.get(label, 0.0) < ENROL_MIN_TALK_S
            or label >= len(diarization.centroids)
        ):
            continue
        voiceprints.enrol(
            identity.email,
            identity.name,
            diarization.centroids[label],
            model_sha256=models["speaker-embedding"].sha256,
        )
