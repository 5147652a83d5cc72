"""Stage 2, transcribe: audio -> who said what, when (AudioStored -> TranscriptReady)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dealtalk.pipeline.blobs import BlobStore
from dealtalk.pipeline.config import SpeechSettings, TenantSettings
from dealtalk.pipeline.documents import MeetingInfo, TranscriptDoc
from dealtalk.pipeline.errors import InvalidInput
from dealtalk.pipeline.events import AudioStored, TranscriptReady
from dealtalk.pipeline.progress import ProgressHook
from dealtalk.pipeline.runtime.stage import Stage
from dealtalk.pipeline.store.projections import save_transcript
from dealtalk.transcription.protocols import CallContext, CallTranscriber

__all__ = ["build_transcribe_stage", "call_context", "transcribe_audio"]

# Teams puts at most this many people in a call we still diarize with a fixed speaker count.
_MAX_SPEAKER_HINT = 8


def call_context(
    recording_id: str,
    meeting: MeetingInfo,
    speech: SpeechSettings,
    tenant: TenantSettings,
    competitors: tuple[str, ...] = (),
) -> CallContext:
    """What the calendar tells the transcriber: people with roles, language, speaker count, vocabulary."""
    participants = meeting.participants
    language: str | None = None if speech.language == "auto" else speech.language
    if language is None and meeting.locale:
        # Whisper's own detection fails on short Dutch audio: trust the calendar/CRM locale when known.
        primary = meeting.locale.replace("_", "-").split("-")[0].lower()
        language = primary if primary in ("nl", "en") else None
    count = len(participants)
    known = 2 <= count <= _MAX_SPEAKER_HINT
    vocabulary = tuple(dict.fromkeys((*tenant.vocabulary, *competitors, *(p.name for p in participants))))
    return CallContext(
        call_id=recording_id,
        participants=participants,
        language=language,
        num_speakers=count if known else None,
        min_speakers=1 if not known else None,
        max_speakers=_MAX_SPEAKER_HINT if not known else None,
        vocabulary=vocabulary,
    )


def transcribe_audio(
    event: AudioStored,
    *,
    transcriber: CallTranscriber,
    blobs: BlobStore,
    speech: SpeechSettings,
    tenant: TenantSettings,
    competitors: tuple[str, ...] = (),
    progress: ProgressHook | None = None,
) -> TranscriptReady:
    """Transcribe and diarize the recording; the transcript goes to the blob store as JSON.

    Raises:
        InvalidInput: the audio cannot be decoded, is too long, or holds no speech (the reason is named).
    """
    context = call_context(event.recording_id, event.meeting, speech, tenant, competitors)
    doc = transcriber.transcribe(blobs.local_path(event.audio), context, progress=progress)
    if not doc.segments:
        # Nothing to analyse or publish: a silent or music-only recording is reported, not sent to the CRM.
        notes = f" ({'; '.join(doc.warnings)})" if doc.warnings else ""
        raise InvalidInput(f"no speech found in {doc.duration_s:.0f} s of audio{notes}")
    ref = blobs.put_bytes(doc.model_dump_json().encode(), content_type="application/json")
    return TranscriptReady(
        **event.follow(),
        transcript=ref,
        audio=event.audio,
        meeting=event.meeting,
        language=doc.language,
        duration_s=doc.duration_s,
        models=doc.models,
    )


def build_transcribe_stage(
    *,
    transcriber: CallTranscriber,
    blobs: BlobStore,
    speech: SpeechSettings,
    tenant: TenantSettings,
    competitors: tuple[str, ...] = (),
    progress: ProgressHook | None = None,
) -> Stage[AudioStored, TranscriptReady]:
    def run(event: AudioStored) -> TranscriptReady:
        return transcribe_audio(
            event,
            transcriber=transcriber,
            blobs=blobs,
            speech=speech,
            tenant=tenant,
            competitors=competitors,
            progress=progress,
        )

    def persist(session: Session, event: AudioStored, output: TranscriptReady) -> None:
        doc = TranscriptDoc.model_validate_json(blobs.read_bytes(output.transcript))
        save_transcript(session, output, doc, version=transcriber.version)

    return Stage(
        name="transcribe", consumes=AudioStored, run=run, version=transcriber.version, persist=persist
    )
