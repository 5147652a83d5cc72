"""Reading a transcript someone hands to ``dealtalk analyze``: the contracts' ``segments`` shape.

Accepts a full call result or transcript, or just ``{"segments": [{"speaker", "role", "start", "end", "text"},
...]}``. Missing speakers are derived from the segments; a missing role is "unknown"; a missing language is
taken from the top level or left "und" (undetermined). Problems are reported with the segment's index.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dealtalk.contracts.documents import Role, SegmentDoc, SpeakerDoc, TranscriptDoc, WordDoc
from dealtalk.contracts.errors import InvalidInput

__all__ = ["transcript_from_json"]


class _Segment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    speaker: str = Field(min_length=1)
    role: Role = "unknown"
    language: str | None = None
    text: str
    words: tuple[WordDoc, ...] = ()

    @field_validator("speaker", mode="before")
    @classmethod
    def _speaker_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _ordered(self) -> _Segment:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class _Transcript(BaseModel):
    model_config = ConfigDict(extra="ignore")

    call_id: str | None = None
    language: str | None = None
    duration_s: float | None = Field(default=None, ge=0)
    speakers: tuple[SpeakerDoc, ...] = ()
    segments: list[_Segment]


def transcript_from_json(text: str | bytes, *, default_call_id: str) -> TranscriptDoc:
    """Parse and normalise a transcript.

    Raises:
        InvalidInput: not JSON, no ``segments`` list, or a segment that violates the shape (named by index).
    """
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the transcript is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("segments"), list):
        raise InvalidInput('the transcript must be a JSON object with a "segments" list')
    try:
        parsed = _Transcript.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidInput(f"the transcript does not have the segments shape: {problems}") from exc

    language = parsed.language or "und"
    segments = tuple(
        SegmentDoc(
            start=s.start,
            end=s.end,
            speaker=s.speaker,
            role=s.role,
            language=s.language or language,
            text=s.text,
            words=s.words,
        )
        for s in sorted(parsed.segments, key=lambda seg: (seg.start, seg.end))
    )
    known = {speaker.id: speaker for speaker in parsed.speakers}
    roles = {s.speaker: s.role for s in segments}
    for speaker_id in dict.fromkeys(s.speaker for s in segments):
        if speaker_id not in known:
            known[speaker_id] = SpeakerDoc(id=speaker_id, name=speaker_id, role=roles[speaker_id])
    duration = (
        parsed.duration_s if parsed.duration_s is not None else max((s.end for s in segments), default=0.0)
    )
    return TranscriptDoc(
        call_id=parsed.call_id or default_call_id,
        language=language,
        duration_s=duration,
        speakers=tuple(known.values()),
        segments=segments,
    )
