"""The call-language policy: decide the call's language, then decode every speech chunk in it.

The call's language is forced when configuration or the meeting locale names it (its source is the
evidence); otherwise ``SpokenLanguageProbe`` decides it from the audio among the allowed languages, with the
tenant's hints as a weak prior. Every chunk is then decoded in that language unless its own audio is clearly
another allowed language (``CLEAR_SWITCH_RATIO``), so a forced language holds and mixed calls stay mixed.
The decoding itself is ``whisper_decoder.WhisperDecoder``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dealtalk.contracts.progress import ProgressHook
from dealtalk.transcription.code_switch import refit_languages
from dealtalk.transcription.language import LanguageDecision
from dealtalk.transcription.oom import with_smaller_batches
from dealtalk.transcription.spoken_language import SpokenLanguageProbe
from dealtalk.transcription.types import AsrChunk, AsrSegment
from dealtalk.transcription.whisper_decoder import WhisperDecoder

__all__ = ["call_language", "decode_in_call_language"]

logger = logging.getLogger(__name__)


def call_language(
    asr: WhisperDecoder,
    samples: npt.NDArray[np.float32],
    chunks: Sequence[AsrChunk],
    *,
    forced: str | None,
    forced_source: str | None,
    languages: Sequence[str],
    hints: Sequence[tuple[str, str]],
) -> LanguageDecision:
    """The call's language and the evidence that chose it.

    Args:
        forced: the language configuration or the meeting locale names (already checked against the
            allowed languages), else None.
        forced_source: why it is forced ("configured", "meeting.locale"); None reads "configured".
        languages: the tenant's allowed languages (the first is the default).
        hints: ``(language, source)`` pairs known before listening; a prior for the audio decision.
    """
    if forced is not None:
        return LanguageDecision(forced, forced_source or "configured", forced=True)
    if not asr.multilingual:
        return LanguageDecision("en", "model: English-only")
    if len(languages) < 2:
        return LanguageDecision(languages[0], "configured: only allowed language")
    return SpokenLanguageProbe(asr.model).decide(samples, chunks, allowed=languages, hints=hints)


def decode_in_call_language(
    asr: WhisperDecoder,
    samples: npt.NDArray[np.float32],
    chunks: list[AsrChunk],
    *,
    decision: LanguageDecision,
    vocabulary: Sequence[str],
    batch_size: int,
    call_id: str,
    hook: ProgressHook,
) -> list[AsrSegment]:
    """Transcribe ``chunks`` with ``decision.language`` as every chunk's language unless clearly another.

    Args:
        decision: the call's language (``call_language``).
        batch_size: chunks per batch; halved on GPU out-of-memory.

    Returns:
        Segments in time order.
    """

    def once(size: int) -> list[AsrSegment]:
        return asr.transcribe(
            samples,
            chunks,
            language=decision.language,
            vocabulary=vocabulary,
            batch_size=size,
            on_chunks_done=lambda done: hook("asr", completed=float(done), total=float(len(chunks))),
        )

    segments = with_smaller_batches(once, batch_size, what=f"ASR of {call_id}")
    if not asr.multilingual:
        return segments
    forced = decision.language if decision.forced else None

    def refit(size: int) -> tuple[list[AsrSegment], int]:
        return refit_languages(
            asr,
            samples,
            segments,
            allowed=asr.opts.languages,
            vocabulary=vocabulary,
            batch_size=size,
            forced=forced,
        )

    refitted, switched = with_smaller_batches(refit, batch_size, what=f"code-switch check of {call_id}")
    if switched:
        logger.info("call %s: %d phrase(s) decoded again in another language", call_id, switched)
    return refitted
