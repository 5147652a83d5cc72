"""The attendee match: name diarized speakers after meeting attendees, and give every speaker a role.

Evidence for "speaker k is attendee p" is scored, then speakers and attendees are matched one to one
(Hungarian assignment, maximising the total score); only pairs with positive evidence are named:

* voice: similarity to the attendee's stored seller voiceprint (strong, either way);
* self-introduction: "ik ben Mark", "met Mark", "my name is Mark" (strong);
* address: a speaker who says "Emma" is not Emma (medium); the next speaker after "Emma, ...?" probably is;
* the organizer usually opens the call (weak).

What stays unnamed is named by elimination when exactly one speaker and one attendee are left, else
"Customer 1/2" once all sellers are placed. Scores are pure arithmetic over these inputs, tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dealtalk.contracts.documents import Participant, Role

__all__ = ["MatchOptions", "SpeakerIdentity", "Utterance", "match_attendees"]


@dataclass(frozen=True, slots=True)
class Utterance:
    """One turn's text by a diarized speaker, in time order."""

    speaker: int
    text: str


@dataclass(frozen=True, slots=True)
class SpeakerIdentity:
    """Who a diarized speaker is. ``source``: voiceprint, cues, elimination or unnamed."""

    name: str
    email: str | None
    role: Role
    source: str
    margin: float = 0.0


@dataclass(frozen=True, slots=True)
class MatchOptions:
    voice_threshold: float = 0.55
    voice_weight: float = 4.0
    intro_weight: float = 3.0
    address_penalty: float = 2.0
    addressed_next_weight: float = 1.0
    organizer_first_weight: float = 0.5


# "ik ben Mark", "my name is Mark", and the Dutch phone greeting "(Goedemorgen,) met Mark".
_INTRO = (
    r"(?:\b(?:ik\s+ben|mijn\s+naam\s+is|hier\s+is|this\s+is|i\s+am|i'm|my\s+name\s+is)"
    r"|^\W*(?:\w+\W+){0,3}met)"
)


def _first_name(person: Participant) -> str:
    return person.name.strip().split()[0] if person.name.strip() else ""


def _mentions(text: str, name: str) -> bool:
    return bool(name) and re.search(rf"\b{re.escape(name)}\b", text, flags=re.IGNORECASE) is not None


def _introduces(text: str, name: str) -> bool:
    return bool(name) and re.search(rf"{_INTRO}\s+{re.escape(name)}\b", text, flags=re.IGNORECASE) is not None


def _scores(
    speakers: Sequence[int],
    participants: Sequence[Participant],
    utterances: Sequence[Utterance],
    voice: Mapping[tuple[int, str], float],
    opts: MatchOptions,
) -> np.ndarray:
    index = {speaker: i for i, speaker in enumerate(speakers)}
    scores = np.zeros((len(speakers), len(participants)))
    first_names = [_first_name(person) for person in participants]
    introduced: set[tuple[int, int]] = set()
    turns_seen: dict[int, int] = {}
    for u, utterance in enumerate(utterances):
        i = index.get(utterance.speaker)
        if i is None:
            continue
        turns_seen[utterance.speaker] = turns_seen.get(utterance.speaker, 0) + 1
        next_speaker = next(
            (later.speaker for later in utterances[u + 1 :] if later.speaker != utterance.speaker), None
        )
        for p, name in enumerate(first_names):
            if not _mentions(utterance.text, name):
                continue
            if turns_seen[utterance.speaker] <= 2 and _introduces(utterance.text, name):
                if (i, p) not in introduced:
                    scores[i, p] += opts.intro_weight
                    introduced.add((i, p))
                continue
            scores[i, p] -= opts.address_penalty
            if next_speaker is not None and next_speaker in index:
                scores[index[next_speaker], p] += opts.addressed_next_weight
    for p, person in enumerate(participants):
        if person.email is None:
            continue
        for i, speaker in enumerate(speakers):
            similarity = voice.get((speaker, person.email.lower()))
            if similarity is None:
                continue
            if similarity >= opts.voice_threshold:
                scores[i, p] += opts.voice_weight * (1.0 + similarity - opts.voice_threshold)
            elif similarity < opts.voice_threshold - 0.15:
                scores[i, p] -= opts.voice_weight / 2
    if utterances and utterances[0].speaker in index:
        for p, person in enumerate(participants):
            if person.is_organizer:
                scores[index[utterances[0].speaker], p] += opts.organizer_first_weight
    return scores


def match_attendees(
    speakers: Sequence[int],
    participants: Sequence[Participant],
    utterances: Sequence[Utterance],
    *,
    voice: Mapping[tuple[int, str], float] | None = None,
    attendees_known: bool = True,
    opts: MatchOptions = MatchOptions(),
) -> dict[int, SpeakerIdentity]:
    """Name and role-tag each diarized speaker.

    Args:
        speakers: diarization labels in order of first appearance.
        participants: attendees with roles (organizer flagged).
        utterances: turns in time order (speaker label + text).
        voice: (speaker label, lower-case e-mail) -> cosine similarity to that seller's voiceprint.
        attendees_known: False when ``participants`` are only the enrolled sellers (no attendee list):
            then nobody is named by elimination, and the speakers left are customers once a seller is found.
        opts: weights and the voiceprint threshold.

    Returns:
        An identity for every speaker label.
    """
    from scipy.optimize import linear_sum_assignment

    voice = voice or {}
    named: dict[int, SpeakerIdentity] = {}
    used: set[int] = set()
    if speakers and participants:
        scores = _scores(speakers, participants, utterances, voice, opts)
        rows, cols = linear_sum_assignment(scores, maximize=True)
        for i, p in zip(rows.tolist(), cols.tolist(), strict=True):
            if scores[i, p] <= 0:
                continue
            others = np.delete(scores[i], p)
            margin = float(scores[i, p] - (others.max() if others.size else 0.0))
            has_voice = (
                voice.get((speakers[i], (participants[p].email or "").lower()), 0.0) >= opts.voice_threshold
            )
            named[speakers[i]] = _identity(participants[p], "voiceprint" if has_voice else "cues", margin)
            used.add(p)
        left_speakers = [s for s in speakers if s not in named]
        left_people = [p for p in range(len(participants)) if p not in used]
        if attendees_known and len(left_speakers) == 1 and len(left_people) == 1:
            i, p = speakers.index(left_speakers[0]), left_people[0]
            if scores[i, p] >= 0:
                named[left_speakers[0]] = _identity(participants[p], "elimination", 0.0)
                used.add(p)
    return _fill_unnamed(speakers, participants if attendees_known else (), named, used)


def _identity(person: Participant, source: str, margin: float) -> SpeakerIdentity:
    return SpeakerIdentity(
        name=person.name, email=person.email, role=person.role, source=source, margin=margin
    )


def _fill_unnamed(
    speakers: Sequence[int],
    participants: Sequence[Participant],
    named: dict[int, SpeakerIdentity],
    used: set[int],
) -> dict[int, SpeakerIdentity]:
    sellers_left = any(p.role == "seller" and i not in used for i, p in enumerate(participants))
    customers_left = any(p.role == "customer" and i not in used for i, p in enumerate(participants))
    any_seller_named = any(identity.role == "seller" for identity in named.values())
    role: Role
    if participants and not sellers_left:
        role = "customer"
    elif participants and not customers_left and sellers_left:
        role = "seller"
    elif not participants and any_seller_named:
        role = "customer"
    else:
        role = "unknown"
    label = {"customer": "Customer", "seller": "Seller", "unknown": "Speaker"}[role]
    counter = 0
    out: dict[int, SpeakerIdentity] = {}
    for speaker in speakers:
        if speaker in named:
            out[speaker] = named[speaker]
            continue
        counter += 1
        out[speaker] = SpeakerIdentity(name=f"{label} {counter}", email=None, role=role, source="unnamed")
    return out
