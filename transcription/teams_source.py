"""The Teams transcript as the speech stage's transcript source: VTT bytes (+ the recording) in, a
``TranscriptDoc`` out.

``transcript_source=teams`` reads only the VTT (and the recording's header for its length);
``transcript_source=teams_retimed`` also runs our ASR, without diarization, in the language of the VTT text,
and re-times the Teams words to it. Either way the provenance names the VTT file by its checksum.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from pathlib import Path

from dealtalk.contracts.documents import ModelRef, TranscriptDoc
from dealtalk.contracts.progress import ProgressHook
from dealtalk.transcription.language import TextLanguageId
from dealtalk.transcription.protocols import CallContext, CallTranscriber
from dealtalk.transcription.teams import teams_ref, teams_transcript
from dealtalk.transcription.vtt import VttError, parse_vtt

__all__ = ["teams_call_transcript"]

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _text_lid(languages: tuple[str, ...]) -> TextLanguageId:
    return TextLanguageId(languages)


def _declared_duration(path: Path) -> float:
    """The recording's length from its container header (0 when unreadable: the cues then decide it)."""
    import av

    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            return float(container.duration) / 1_000_000.0 if container.duration else 0.0
    except (av.error.FFmpegError, OSError):
        return 0.0


def teams_call_transcript(
    vtt: bytes,
    *,
    vtt_sha256: str,
    audio_path: Path,
    context: CallContext,
    transcriber: CallTranscriber,
    retimed: bool,
    languages: tuple[str, ...],
    progress: ProgressHook | None = None,
) -> TranscriptDoc:
    """Build the call's transcript from the Teams VTT transcript.

    Args:
        vtt: the VTT file's bytes.
        vtt_sha256: its blob checksum (provenance).
        audio_path: the recording (its length; with ``retimed``, the audio our ASR re-times the words to).
        context: the call: id, attendees with roles, language hint, vocabulary.
        transcriber: the speech engine (used only with ``retimed``).
        retimed: re-time the Teams words with our ASR instead of estimating their timings.
        languages: the languages a call may be in (the text language-ID chooses among them).

    Returns:
        The transcript, speakers named from the VTT voices.

    Raises:
        VttError: the VTT is malformed or holds no cue with text.
        InvalidInput: with ``retimed``, the audio cannot be decoded.
    """
    cues = parse_vtt(vtt)
    if not cues:
        raise VttError("the Teams transcript holds no cue with text")
    lid = _text_lid(languages)
    verdict = lid.classify(" ".join(cue.text for cue in cues[:200]))
    if context.language:
        language, evidence = context.language, context.language_source or "configured"
    elif verdict:
        language, evidence = verdict[0], f"teams.transcript text: {verdict[0]} {verdict[1]:.2f}"
    else:
        language, evidence = languages[0], "default: the first allowed language (Teams text too short)"
    teams = teams_ref(vtt_sha256)
    if not retimed:
        doc = teams_transcript(
            cues,
            context,
            language=language,
            duration_s=_declared_duration(audio_path),
            models={"transcript": teams},
            classify=lid.classify,
        )
        return doc.model_copy(update={"language_evidence": evidence})
    forced = replace(context, language=language, language_source=evidence)
    heard = transcriber.recognise_words(audio_path, forced, progress=progress)
    used: dict[str, ModelRef] = {k: v for k, v in transcriber.models.items() if k in ("asr", "vad")}
    logger.info(
        "call %s: re-timing %d Teams cues to %d ASR words", context.call_id, len(cues), len(heard.words)
    )
    doc = teams_transcript(
        cues,
        context,
        language=language,
        duration_s=heard.duration_s,
        models={**used, "transcript": teams},
        recognised=heard.words,
        classify=lid.classify,
        warnings=heard.warnings,
    )
    return doc.model_copy(update={"language_evidence": evidence})
