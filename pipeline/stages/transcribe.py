"""Stage 2, transcribe: audio -> who said what, when (AudioStored -> TranscriptReady).

The words come from our ASR, or (``DEALTALK_SPEECH__TRANSCRIPT_SOURCE=teams|teams_retimed``) from the Teams
VTT transcript when Graph provided one; a VTT that cannot be used falls back to the ASR, with a warning.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.config import SpeechSettings, TenantSettings
from dealtalk.contracts.documents import LanguageHint, MeetingInfo, TranscriptDoc
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import AudioStored, TranscriptReady
from dealtalk.contracts.progress import ProgressHook
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.store.projections import save_transcript
from dealtalk.transcription.language import TextLanguageId
from dealtalk.transcription.protocols import CallContext, CallTranscriber
from dealtalk.transcription.teams_source import teams_call_transcript
from dealtalk.transcription.vtt import VttError, parse_vtt

__all__ = [
    "CompetitorsForMeeting",
    "build_transcribe_stage",
    "call_context",
    "stage_version",
    "transcribe_audio",
]

logger = logging.getLogger(__name__)

# Privacy at the stage's exit (``gdpr.consent.TranscriptGuard``): the transcript and meeting without the
# people who were erased or did not consent, before anything is stored or analysed.
TranscriptGuard = Callable[[str, TranscriptDoc, MeetingInfo], tuple[TranscriptDoc, MeetingInfo]]

# The competitor names a call's ASR should expect, most likely first, from its meeting (the composition root
# resolves the meeting's opportunity for its own competitors; see ``ModelsAndClients.hotword_competitors``).
CompetitorsForMeeting = Callable[[MeetingInfo], tuple[str, ...]]

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
    source: str | None = "configured" if language else None
    if language is None and meeting.locale:
        # Whisper's own detection fails on short Dutch audio: trust the calendar/CRM locale when known.
        primary = meeting.locale.replace("_", "-").split("-")[0].lower()
        language = primary if primary in speech.languages else None
        source = "meeting.locale" if language else None
    count = len(participants)
    known = 2 <= count <= _MAX_SPEAKER_HINT
    # Most likely first (the ASR keeps as many as fit its prompt): the people in the call, the tenant's own
    # terms, then the competitors in the caller's order.
    vocabulary = tuple(dict.fromkeys((*(p.name for p in participants), *tenant.vocabulary, *competitors)))
    return CallContext(
        call_id=recording_id,
        participants=participants,
        language=language,
        language_source=source,
        language_hints=tuple((hint.language, hint.source) for hint in meeting.language_hints),
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
    guard: TranscriptGuard | None = None,
) -> TranscriptReady:
    """Transcribe and diarize the recording; the transcript goes to the blob store as JSON.

    Raises:
        InvalidInput: the audio cannot be decoded, is too long, or holds no speech (the reason is named).
    """
    meeting = event.meeting
    if event.teams_transcript is not None:
        meeting = _with_transcript_hint(meeting, blobs.read_bytes(event.teams_transcript), speech.languages)
    context = call_context(event.recording_id, meeting, speech, tenant, competitors)
    audio_path = blobs.local_path(event.audio)
    doc: TranscriptDoc | None = None
    fallback: tuple[str, ...] = ()
    if speech.transcript_source != "asr" and event.teams_transcript is not None:
        try:
            doc = teams_call_transcript(
                blobs.read_bytes(event.teams_transcript),
                vtt_sha256=event.teams_transcript.sha256,
                audio_path=audio_path,
                context=context,
                transcriber=transcriber,
                retimed=speech.transcript_source == "teams_retimed",
                languages=speech.languages,
                progress=progress,
            )
        except VttError as exc:
            logger.warning("recording=%s: Teams transcript unusable, using ASR: %s", event.recording_id, exc)
            fallback = (
                f"the Teams transcript could not be used ({exc.message}); transcribed from the audio",
            )
    if doc is None:
        doc = transcriber.transcribe(audio_path, context, progress=progress)
        if fallback:
            doc = doc.model_copy(update={"warnings": (*doc.warnings, *fallback)})
    if not doc.segments:
        # Nothing to analyse or publish: a silent or music-only recording is reported, not sent to the CRM.
        notes = f" ({'; '.join(doc.warnings)})" if doc.warnings else ""
        raise InvalidInput(f"no speech found in {doc.duration_s:.0f} s of audio{notes}")
    meeting = event.meeting
    if guard is not None:
        doc, meeting = guard(event.recording_id, doc, meeting)
    ref = blobs.put_bytes(doc.model_dump_json().encode(), content_type="application/json")
    return TranscriptReady(
        **event.follow(),
        transcript=ref,
        audio=event.audio,
        meeting=meeting,
        language=doc.language,
        duration_s=doc.duration_s,
        models=doc.models,
    )


# The Teams transcript's text must be this clearly one language to count as a hint (mixed calls are not).
_TRANSCRIPT_HINT_CONFIDENCE = 0.9


def _with_transcript_hint(meeting: MeetingInfo, vtt: bytes, languages: tuple[str, ...]) -> MeetingInfo:
    """Add the language of the Teams transcript's text (when Graph gave one) to the meeting's language hints."""
    try:
        text = " ".join(cue.text for cue in parse_vtt(vtt))
    except VttError:
        return meeting  # the transcript's own problems are reported where it is used
    verdict = _text_lid(tuple(languages)).classify(text)
    if verdict is None or verdict[1] < _TRANSCRIPT_HINT_CONFIDENCE:
        return meeting
    hint = LanguageHint(language=verdict[0], source="teams.transcript")
    return meeting.model_copy(update={"language_hints": (*meeting.language_hints, hint)})


@functools.lru_cache(maxsize=4)
def _text_lid(languages: tuple[str, ...]) -> TextLanguageId:
    return TextLanguageId(languages)


def stage_version(transcriber: CallTranscriber, speech: SpeechSettings) -> str:
    """The transcriber's version, plus the transcript source when it is not our ASR alone."""
    if speech.transcript_source == "asr":
        return transcriber.version
    return f"{transcriber.version};source={speech.transcript_source}"


def build_transcribe_stage(
    *,
    transcriber: CallTranscriber,
    blobs: BlobStore,
    speech: SpeechSettings,
    tenant: TenantSettings,
    competitors: CompetitorsForMeeting | None = None,
    progress: ProgressHook | None = None,
    guard: TranscriptGuard | None = None,
) -> Stage[AudioStored, TranscriptReady]:
    version = stage_version(transcriber, speech)

    def run(event: AudioStored) -> TranscriptReady:
        return transcribe_audio(
            event,
            transcriber=transcriber,
            blobs=blobs,
            speech=speech,
            tenant=tenant,
            competitors=competitors(event.meeting) if competitors is not None else (),
            progress=progress,
            guard=guard,
        )

    def persist(session: Session, event: AudioStored, output: TranscriptReady) -> None:
        doc = TranscriptDoc.model_validate_json(blobs.read_bytes(output.transcript))
        save_transcript(session, output, doc, version=version)

    return Stage(name="transcribe", consumes=AudioStored, run=run, version=version, persist=persist)
