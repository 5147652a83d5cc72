"""``dealtalk process`` without a bus or a store: one local audio file to a call result, in process."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import CallResult
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.progress import ProgressHook
from dealtalk.ingest.local_folder import read_meeting
from dealtalk.nlp.protocols import InsightEngine
from dealtalk.pipeline.stages.analyze import insight_context
from dealtalk.pipeline.stages.transcribe import CompetitorsForMeeting, call_context
from dealtalk.transcription.protocols import CallTranscriber

__all__ = ["call_result_from_audio"]


def call_result_from_audio(
    path: Path,
    *,
    settings: Settings,
    transcriber: CallTranscriber,
    engine: InsightEngine,
    language: str | None = None,
    speakers: tuple[int | None, int | None, int | None] = (None, None, None),
    progress: ProgressHook | None = None,
    competitors: tuple[str, ...] | None = None,
    hotword_competitors: CompetitorsForMeeting | None = None,
) -> CallResult:
    """Transcribe, diarize and analyse one file, the same way the stages do.

    Args:
        path: the audio file; a ``<name>.meeting.json`` sidecar beside it supplies the meeting when present.
        language: "nl" or "en" to force the language; None for the configured/auto behaviour.
        speakers: (exact count, minimum, maximum) hints; None where not given.
        competitors: the names the insights look for (the composition root's configured ∪ CRM names);
            None means the configured ones.
        hotword_competitors: the competitor names the ASR should expect for the file's meeting, most likely
            first (``ModelsAndClients.hotword_competitors``); None means the configured ones.

    Raises:
        InvalidInput: the file is missing or cannot be decoded (the message says why).
    """
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist or is not a file")
    meeting, recording_id = read_meeting(path, settings.tenant)
    configured = settings.nlp.competitors
    asr_names = configured if hotword_competitors is None else hotword_competitors(meeting)
    context = call_context(recording_id, meeting, settings.speech, settings.tenant, asr_names)
    exact, minimum, maximum = speakers
    if language is not None:
        context = replace(context, language=language)
    if exact is not None or minimum is not None or maximum is not None:
        context = replace(context, num_speakers=exact, min_speakers=minimum, max_speakers=maximum)
    transcript = transcriber.transcribe(path, context, progress=progress)
    names = configured if competitors is None else competitors
    insights = engine.analyze(transcript, insight_context(meeting, settings.tenant, names))
    return CallResult.join(transcript, insights)
