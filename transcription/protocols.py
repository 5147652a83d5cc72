"""The contract between the transcription stage and whatever transcribes: one call in, one transcript out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dealtalk.contracts.documents import ModelRef, Participant, TranscriptDoc
from dealtalk.contracts.progress import ProgressHook
from dealtalk.transcription.assign import TimedWord

__all__ = ["CallContext", "CallTranscriber", "RecognisedWords"]


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the calendar and the CRM tell us about a call before we listen to it.

    Attributes:
        call_id: the recording id; becomes ``TranscriptDoc.call_id``.
        participants: attendees with roles (sellers from the tenant's own domains, customers otherwise).
        language: forced language ("nl", "en") when configured or known from the meeting locale; None = detect.
        num_speakers / min_speakers / max_speakers: speaker-count hints for diarization (Teams attendee count).
        vocabulary: words the ASR should expect (competitor, customer and product names).
        language_source: why ``language`` is set ("configured", "meeting.locale"); None when it is not.
        language_hints: (language, source) pairs the tenant knows before listening (meeting locale, people's
            preferred languages): a prior among the allowed languages, not a forced language.
    """

    call_id: str
    participants: tuple[Participant, ...] = ()
    language: str | None = None
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    vocabulary: tuple[str, ...] = ()
    language_source: str | None = None
    language_hints: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RecognisedWords:
    """What the ASR heard in a recording, without speakers: guarded words in time order."""

    words: tuple[TimedWord, ...]
    language: str
    duration_s: float
    warnings: tuple[str, ...] = ()
    # Which evidence chose ``language`` (as ``TranscriptDoc.language_evidence``).
    language_evidence: str | None = None


class CallTranscriber(Protocol):
    """Decodes, transcribes and diarizes one recording; names speakers and gives them roles."""

    @property
    def models(self) -> dict[str, ModelRef]:
        """Provenance of the models in use, keyed "asr" and "diarization"."""

    @property
    def version(self) -> str:
        """A stable string that changes whenever the models or options that shape the output change."""

    def transcribe(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> TranscriptDoc:
        """Transcribe one recording.

        Raises:
            InvalidInput: unreadable, empty, truncated or over-long audio (message names the cause).
            TransientError: a resource problem worth retrying (e.g. GPU out of memory after fallbacks).
        """

    def recognise_words(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> RecognisedWords:
        """Words and timings of one recording without diarization (to re-time a Teams transcript).

        Raises:
            InvalidInput: as ``transcribe``.
            TransientError: as ``transcribe``.
        """
