"""The audio's side of the language decision: Whisper's language scores and forced-decoding fit per window.

The call's language is decided over windows spread across the whole call (not the first 30 s alone):
each window is one VAD chunk (at most 30 s of speech), encoded once. ``decide`` asks Whisper's language
head for every window, and only when that leaves the call unclear (generated or accented Dutch often scores
55-75 % Dutch against English) decodes a few windows greedily with each allowed language forced and
compares the average token log-probabilities: the language that explains the audio better wins.

Usage::

    probe = SpokenLanguageProbe(whisper_model)
    decision = probe.decide(samples, chunks, allowed=("nl", "en"), hints=(("nl", "organizer.preferredLanguage"),))
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.language import LanguageDecision, decide_language, needs_decoding
from dealtalk.transcription.packing import pack_speech
from dealtalk.transcription.types import AsrChunk

__all__ = ["SpokenLanguageProbe", "spread_windows"]

logger = logging.getLogger(__name__)

# Windows scored with Whisper's language head (one encoder pass each) and, when unclear, decoded per language.
SCORE_WINDOWS = 8
DECODE_WINDOWS = 3
# Tokens decoded per window and language: enough for the fit to show, bounded so the probe stays cheap.
DECODE_TOKENS = 64
# Windows shorter than this say little about the language; they are used only when nothing longer exists.
MIN_WINDOW_S = 3.0


def spread_windows(chunks: Sequence[AsrChunk], count: int) -> list[AsrChunk]:
    """Up to ``count`` chunks evenly spread over the call, preferring chunks of at least ``MIN_WINDOW_S`` of speech."""
    usable = [chunk for chunk in chunks if chunk.speech_s >= MIN_WINDOW_S] or list(chunks)
    if len(usable) <= count:
        return usable
    step = len(usable) / count
    return [usable[int(i * step + step / 2)] for i in range(count)]


class SpokenLanguageProbe:
    """Scores how well each allowed language explains a call's audio with a loaded ``WhisperModel``.

    Args:
        model: a multilingual ``faster_whisper.WhisperModel``.
    """

    def __init__(self, model: Any) -> None:
        self.model = model

    def decide(
        self,
        samples: npt.NDArray[np.float32],
        chunks: Sequence[AsrChunk],
        *,
        allowed: Sequence[str],
        hints: Iterable[tuple[str, str]] = (),
    ) -> LanguageDecision:
        """The call's language among ``allowed`` from its audio, with ``hints`` as a weak prior.

        Args:
            samples: the whole recording, 16 kHz mono float32.
            chunks: the ASR chunks (at most 30 s of speech each) in time order.
            allowed: the tenant's languages (at least one).
            hints: ``(language, source)`` pairs known before listening.
        """
        hints = tuple(hints)
        windows = spread_windows(chunks, SCORE_WINDOWS)
        if len(allowed) < 2 or not windows:
            return decide_language((), allowed, hints=hints)
        encoded = self._encode(samples, windows)
        scores = [
            {token[2:-2]: float(p) for token, p in ranked}
            for ranked in self.model.model.detect_language(encoded)
        ]
        logprobs: list[dict[str, float]] = []
        if needs_decoding(scores, allowed, hints):
            picked = [windows.index(w) for w in spread_windows(windows, DECODE_WINDOWS)]
            subset = self._encode(samples, [windows[i] for i in picked])
            logprobs = self._forced_logprobs(subset, len(picked), allowed)
        decision = decide_language(scores, allowed, hints=hints, window_logprobs=logprobs)
        logger.debug("language decision: %s (%s)", decision.language, decision.evidence)
        return decision

    def _encode(self, samples: npt.NDArray[np.float32], windows: Sequence[AsrChunk]) -> Any:
        from faster_whisper.audio import pad_or_trim

        # Each window is heard as the decoder hears it: its speech back to back.
        features = np.stack(
            [pad_or_trim(self.model.feature_extractor(pack_speech(samples, [w]).audio)) for w in windows]
        )
        return self.model.encode(features)

    def _forced_logprobs(self, encoded: Any, count: int, allowed: Sequence[str]) -> list[dict[str, float]]:
        from faster_whisper.tokenizer import Tokenizer

        out: list[dict[str, float]] = [{} for _ in range(count)]
        for language in allowed:
            tokenizer = Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language=language)
            prompt = self.model.get_prompt(tokenizer, [], without_timestamps=True)
            results = self.model.model.generate(
                encoded,
                [list(prompt) for _ in range(count)],
                beam_size=1,
                max_length=len(prompt) + DECODE_TOKENS,
                return_scores=True,
            )
            for index, result in enumerate(results):
                # With length_penalty 1 the score is the sum of token log-probabilities over the length.
                out[index][language] = float(result.scores[0])
        return out
