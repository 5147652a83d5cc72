"""Assemble the transcript document from attributed words, speaker identities and languages (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dealtalk.contracts.documents import ModelRef, SegmentDoc, SpeakerDoc, TranscriptDoc, WordDoc
from dealtalk.transcription.assign import TimedWord, group_segments
from dealtalk.transcription.attendee_matching import SpeakerIdentity, Utterance
from dealtalk.transcription.quality import segment_quality
from dealtalk.transcription.types import SpeakerTurn

__all__ = ["build_transcript", "speaker_order", "utterances"]


def speaker_order(
    words: Sequence[TimedWord], turns: Sequence[SpeakerTurn], min_talk_s: float = 0.5
) -> list[int]:
    """Diarization labels in order of first appearance: speakers with words, then silent-but-long ones.

    A label with no words and less than ``min_talk_s`` of turns is a diarization artefact and is left out.
    """
    order: list[int] = []
    for word in words:
        if word.speaker not in order:
            order.append(word.speaker)
    talk: dict[int, float] = {}
    first: dict[int, float] = {}
    for turn in turns:
        talk[turn.speaker] = talk.get(turn.speaker, 0.0) + turn.duration
        first.setdefault(turn.speaker, turn.start)
    extra = sorted(
        (label for label in talk if label not in order and talk[label] >= min_talk_s),
        key=lambda label: first[label],
    )
    return order + extra


def utterances(segments: Sequence[Sequence[TimedWord]]) -> list[Utterance]:
    """Turns for the naming rules: consecutive segments of one speaker joined."""
    out: list[Utterance] = []
    for segment in segments:
        text = "".join(word.text for word in segment).strip()
        if out and out[-1].speaker == segment[0].speaker:
            out[-1] = Utterance(out[-1].speaker, f"{out[-1].text} {text}")
        else:
            out.append(Utterance(segment[0].speaker, text))
    return out


def build_transcript(
    *,
    call_id: str,
    language: str,
    duration_s: float,
    words: Sequence[TimedWord],
    order: Sequence[int],
    identities: Mapping[int, SpeakerIdentity],
    segment_languages: Sequence[str] | None = None,
    models: Mapping[str, ModelRef],
    warnings: Sequence[str],
    language_evidence: str | None = None,
) -> TranscriptDoc:
    """The stage's output document.

    Args:
        words: attributed words in time order (``speaker`` = diarization label).
        order: labels in order of first appearance; label ``order[i]`` becomes ``S{i+1}``.
        identities: name, e-mail and role per label.
        segment_languages: the language of each segment from ``group_segments(words)``; default the
            words' chunk language.
        language_evidence: which evidence chose ``language`` (never transcript text).
    """
    ids = {label: f"S{i + 1}" for i, label in enumerate(order)}
    speakers = tuple(
        SpeakerDoc(
            id=ids[label],
            name=identities[label].name,
            email=identities[label].email,
            role=identities[label].role,
        )
        for label in order
    )
    groups = group_segments(words)
    segments: list[SegmentDoc] = []
    for index, group in enumerate(groups):
        speaker_id = ids[group[0].speaker]
        segments.append(
            SegmentDoc(
                start=round(group[0].start, 3),
                end=round(max(word.end for word in group), 3),
                speaker=speaker_id,
                role=identities[group[0].speaker].role,
                language=segment_languages[index] if segment_languages else group[0].language,
                text="".join(word.text for word in group).strip(),
                quality=segment_quality(group),
                words=tuple(
                    WordDoc(
                        start=round(word.start, 3),
                        end=round(word.end, 3),
                        word=word.text.strip(),
                        speaker=speaker_id,
                        probability=min(1.0, max(0.0, word.probability)),
                        estimated=word.estimated,
                    )
                    for word in group
                ),
            )
        )
    return TranscriptDoc(
        call_id=call_id,
        language=language,
        duration_s=round(duration_s, 3),
        speakers=speakers,
        segments=tuple(segments),
        models=dict(models),
        warnings=tuple(warnings),
        language_evidence=language_evidence,
    )
