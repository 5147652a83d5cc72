"""A transcript from the Teams WebVTT transcript: Teams' words and speaker names, our document shape.

The voices of the VTT (``<v Eva de Vries>``) become the speakers. Each is matched to a meeting attendee by
display name (or the e-mail's local part: ``eva.devries`` is "Eva de Vries"); voices that match nobody go
through ``attendee_matching.match_attendees`` like diarized speakers do (self-introductions, elimination,
roles), and keep their Teams name when they stay unnamed. Word timings are spread over each cue and marked
``estimated``, unless words our ASR recognised in the same audio are given: then ``retime`` moves every word it
can align to the ASR's timing.

Usage::

    cues = parse_vtt(vtt_bytes)
    doc = teams_transcript(cues, context, language="nl", duration_s=312.4, models={"transcript": ref})
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from dealtalk.contracts.documents import ModelRef, Participant, Role, TranscriptDoc
from dealtalk.transcription.assign import TimedWord, group_segments
from dealtalk.transcription.attendee_matching import SpeakerIdentity, match_attendees
from dealtalk.transcription.compose import build_transcript, utterances
from dealtalk.transcription.language import segment_language
from dealtalk.transcription.protocols import CallContext
from dealtalk.transcription.retime import retime, spread
from dealtalk.transcription.vtt import VttCue

__all__ = ["ESTIMATED_TIMINGS", "cue_words", "match_voices", "teams_ref", "teams_transcript"]

ESTIMATED_TIMINGS = "word timings are estimated: each Teams transcript cue's time is spread over its words"
# Teams transcript words carry no confidence; this is what they get unless our ASR heard them too.
_TEAMS_WORD_PROBABILITY = 1.0
_PARENTHETICAL = re.compile(r"\([^)]*\)|\[[^]]*\]")

Classifier = Callable[[str], "tuple[str, float] | None"]


def teams_ref(vtt_sha256: str) -> ModelRef:
    """Provenance of a transcript that came from Teams: the VTT blob's checksum names the exact file."""
    return ModelRef(
        name="microsoft-teams-transcript", version="webvtt", source="teams:transcript", sha256=vtt_sha256
    )


def _key(name: str) -> str:
    """Display name -> comparison key: no "(Guest)"/"[Extern]" tags, accents, case or extra spaces."""
    text = unicodedata.normalize("NFKD", _PARENTHETICAL.sub(" ", name))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(text.casefold().split())


def _letters(text: str) -> str:
    return "".join(char for char in _key(text) if char.isalnum())


def _same_person(voice: str, person: Participant, tier: int) -> bool:
    if tier == 0:
        return _key(voice) == _key(person.name)
    if tier == 1:
        local = (person.email or "").split("@", 1)[0]
        return bool(local) and _letters(voice) in (_letters(local), _letters(person.name))
    voice_tokens, person_tokens = _key(voice).split(), _key(person.name).split()
    return (
        len(voice_tokens) >= 2
        and len(person_tokens) >= 2
        and (voice_tokens[0], voice_tokens[-1]) == (person_tokens[0], person_tokens[-1])
    )


def match_voices(
    voices: Sequence[str | None],
    participants: Sequence[Participant],
    segments: Sequence[Sequence[TimedWord]],
) -> dict[int, SpeakerIdentity]:
    """An identity for each voice label (its index in ``voices``).

    Args:
        voices: the VTT voice names in order of first appearance (None: cues that name nobody).
        participants: the meeting's attendees with roles.
        segments: the call's segments (labelled words), for the match's cues on unmatched voices.

    Returns:
        Matched voices: the attendee's name, e-mail and role (source ``teams``). The rest as
        ``match_attendees`` decides, keeping the Teams name when it names nobody.
    """
    named: dict[int, SpeakerIdentity] = {}
    used: set[int] = set()
    for tier in range(3):
        for label, voice in enumerate(voices):
            if voice is None or label in named:
                continue
            candidates = [
                p
                for p, person in enumerate(participants)
                if p not in used and _same_person(voice, person, tier)
            ]
            if len(candidates) == 1:
                person = participants[candidates[0]]
                named[label] = SpeakerIdentity(person.name, person.email, person.role, "teams", margin=1.0)
                used.add(candidates[0])
    rest = [label for label in range(len(voices)) if label not in named]
    left = [person for p, person in enumerate(participants) if p not in used]
    if left:
        others = match_attendees(rest, left, utterances(segments), attendees_known=True)
    else:
        # Everyone on the invitation is placed (or nobody was invited): like the attendee match's rule for unknown
        # attendees, the extra voices are customers once a seller is known.
        role: Role = "customer" if any(i.role == "seller" for i in named.values()) else "unknown"
        prefix = "Customer" if role == "customer" else "Speaker"
        others = {
            label: SpeakerIdentity(f"{prefix} {n}", None, role, "unnamed") for n, label in enumerate(rest, 1)
        }
    for label in rest:
        identity = others[label]
        voice = voices[label]
        if identity.source == "unnamed" and voice is not None:
            identity = SpeakerIdentity(voice, None, identity.role, "teams", margin=0.0)
        named[label] = identity
    return named


def cue_words(
    cues: Sequence[VttCue], labels: Mapping[str | None, int], language: str
) -> tuple[list[TimedWord], list[tuple[float, float]]]:
    """Every word of every cue with an estimated timing, and the (start, end) of the cue each came from."""
    words: list[TimedWord] = []
    windows: list[tuple[float, float]] = []
    for cue in sorted(cues, key=lambda c: c.start):
        tokens = cue.text.split()
        if not tokens:
            continue
        placed = spread(
            tokens,
            cue.start,
            cue.end,
            speaker=labels[cue.speaker],
            language=language,
            probability=_TEAMS_WORD_PROBABILITY,
        )
        # Whisper's words carry their leading space and segments join them with "": the same here.
        words += [replace(word, text=f" {word.text}") for word in placed]
        windows += [(cue.start, cue.end)] * len(placed)
    return words, windows


def teams_transcript(
    cues: Sequence[VttCue],
    context: CallContext,
    *,
    language: str,
    duration_s: float,
    models: Mapping[str, ModelRef],
    recognised: Sequence[TimedWord] | None = None,
    classify: Classifier | None = None,
    warnings: Sequence[str] = (),
) -> TranscriptDoc:
    """Build the transcript document from Teams cues.

    Args:
        cues: parsed VTT cues.
        context: the call (id and attendees).
        language: the call's language.
        duration_s: the recording's length (at least the last cue's end is used).
        models: provenance, including ``teams_ref`` under "transcript".
        recognised: our ASR's words for the same audio; when given, words are re-timed to them.
        classify: a text language-ID (``TextLanguageId.classify``) for each segment's language.
        warnings: notes to carry (the decoder's, the re-timing's).

    Returns:
        A ``TranscriptDoc`` like the speech engine's, speakers named from the VTT voices.
    """
    voices = list(dict.fromkeys(cue.speaker for cue in sorted(cues, key=lambda c: c.start) if cue.text))
    labels = {voice: label for label, voice in enumerate(voices)}
    words, windows = cue_words(cues, labels, language)
    notes = list(warnings)
    if recognised is not None:
        words = retime(words, windows, recognised)
        estimated = sum(word.estimated for word in words)
        if estimated:
            notes.append(f"{estimated} of {len(words)} words kept an estimated timing (not heard by our ASR)")
    elif words:
        notes.append(ESTIMATED_TIMINGS)
    groups = group_segments(words)
    identities = match_voices(voices, context.participants, groups)
    segment_languages = [
        segment_language("".join(word.text for word in group), classify, language) for group in groups
    ]
    end = max((word.end for word in words), default=0.0)
    return build_transcript(
        call_id=context.call_id,
        language=language,
        duration_s=max(duration_s, end),
        words=words,
        order=list(range(len(voices))),
        identities=identities,
        segment_languages=segment_languages,
        models=models,
        warnings=notes,
    )
