"""ASR over the speech chunks of a call with the call's language decided along the way.

When configuration or the meeting locale names the language, every chunk is decoded with it as a strong
prior. When nothing does, a text language-ID pass over the first transcript decides it, and chunks that
Whisper put in another language without being sure are decoded again in the call's language.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from dealtalk.pipeline.progress import ProgressHook
from dealtalk.transcription.asr import WhisperAsr
from dealtalk.transcription.language import TextLanguageId, majority_language
from dealtalk.transcription.oom import with_smaller_batches
from dealtalk.transcription.types import AsrSegment, SpeechRegion

__all__ = ["KEEP_SWITCH_PROBABILITY", "chunks_to_redo", "recognise"]

logger = logging.getLogger(__name__)

# A chunk whose language disagrees with the call's is re-decoded unless Whisper was this sure of it.
KEEP_SWITCH_PROBABILITY = 0.9


def chunks_to_redo(segments: Sequence[AsrSegment], language: str) -> list[int]:
    """Chunks decoded in another language than the call's without a confident language choice."""
    return sorted(
        {
            s.chunk
            for s in segments
            if s.language != language and s.language_probability < KEEP_SWITCH_PROBABILITY
        }
    )


def recognise(
    asr: WhisperAsr,
    text_lid: TextLanguageId,
    samples: npt.NDArray[np.float32],
    chunks: list[SpeechRegion],
    *,
    prior: str | None,
    languages: Sequence[str],
    vocabulary: Sequence[str],
    batch_size: int,
    call_id: str,
    hook: ProgressHook,
) -> tuple[list[AsrSegment], str]:
    """Transcribe ``chunks`` and decide the call's language.

    Args:
        prior: the call's language when configuration or the meeting locale knows it, else None.
        languages: the languages a call may contain (the first is the default).
        batch_size: chunks per batch; halved on GPU out-of-memory.

    Returns:
        (segments in time order, the call's language).
    """

    def run(target: list[SpeechRegion], language: str | None) -> list[AsrSegment]:
        def once(size: int) -> list[AsrSegment]:
            return asr.transcribe(
                samples,
                target,
                language=language,
                vocabulary=vocabulary,
                batch_size=size,
                on_chunks_done=lambda done: hook("asr", completed=float(done), total=float(len(target))),
            )

        return with_smaller_batches(once, batch_size, what=f"ASR of {call_id}")

    segments = run(chunks, prior)
    if prior is not None or not asr.multilingual or len(languages) < 2:
        return segments, prior or majority_language(((s.language, s.end - s.start) for s in segments), "en")
    verdict = text_lid.classify(" ".join(segment.text for segment in segments))
    language = (
        verdict[0]
        if verdict
        else majority_language(((s.language, s.end - s.start) for s in segments), languages[0])
    )
    redo = chunks_to_redo(segments, language)
    if redo:
        logger.info("call %s: re-decoding %d chunk(s) in %s", call_id, len(redo), language)
        again = run([chunks[i] for i in redo], language)
        again = [replace(segment, chunk=redo[segment.chunk]) for segment in again]
        segments = sorted([s for s in segments if s.chunk not in set(redo)] + again, key=lambda s: s.start)
    return segments, language
