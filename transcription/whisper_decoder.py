"""The Whisper decoder: batched decoding of speech chunks, a language per chunk, word timestamps.

We drive faster-whisper's ``BatchedInferencePipeline`` with our own chunks (the shared VAD pass's speech,
packed back to back by ``packing``; ``clip_timestamps`` into the packed audio) and override one step of it,
``generate_segment_batched``, to pick each chunk's language among the allowed ones from the encoder output it
already computed: code-switched Dutch/English calls get the right language per chunk at no extra encoder pass.
faster-whisper is pinned (==1.2.1) because this override depends on that method's signature.

Long recordings are transcribed in windows of chunks (``window_s`` of speech each): the pipeline computes
the features of all chunks it is given up front, so windows bound memory on a 3-hour file. Which language the
call is in, and how chunks keep to it, is the policy of ``call_language``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.audio import SAMPLE_RATE
from dealtalk.transcription.language import CLEAR_SWITCH_RATIO, choose_language
from dealtalk.transcription.packing import PackedSpeech, pack_speech
from dealtalk.transcription.types import AsrChunk, AsrSegment, AsrWord

__all__ = ["DecodeOptions", "WhisperDecoder", "hotword_prompt"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """Decoding options.

    Attributes:
        beam_size: beam width (5 is Whisper's default; 1 is ~1.4x faster and a little worse).
        batch_size: chunks decoded together.
        languages: the languages a chunk may be in.
        switch_ratio: how much more likely another language must be than the call's language to win a chunk
            (``CLEAR_SWITCH_RATIO``: only audio that is clearly another language leaves a forced language).
        window_s: speech per pipeline call (bounds memory on long files).
        hotword_tokens: Whisper tokens of hotwords at most (``SpeechSettings.hotword_tokens``).
    """

    beam_size: int = 5
    batch_size: int = 8
    languages: tuple[str, ...] = ("nl", "en")
    switch_ratio: float = CLEAR_SWITCH_RATIO
    window_s: float = 600.0
    hotword_tokens: int = 64


def hotword_prompt(
    vocabulary: Sequence[str], count_tokens: Callable[[str], int], max_tokens: int
) -> str | None:
    """The names and terms that fit Whisper's prompt whole, in the given (priority) order; None when none do.

    faster-whisper cuts hotwords at half the model's context, mid-name; a CRM table would fill that with
    names nobody in this call says. Callers order the vocabulary by how likely each name is in the call
    (attendees, the tenant's terms, the opportunity's competitors, the configured ones, the CRM table), so a
    cut drops the least likely whole names. A name that does not fit is skipped; a shorter later one may.
    """
    kept: list[str] = []
    seen: set[str] = set()
    for entry in vocabulary:
        name = " ".join(entry.split())
        if not name or name.casefold() in seen:
            continue
        if count_tokens(" " + " ".join((*kept, name))) <= max_tokens:
            kept.append(name)
            seen.add(name.casefold())
    return " ".join(kept) or None


def _make_pipeline(model: Any) -> Any:
    from faster_whisper import BatchedInferencePipeline

    class ChunkLanguagePipeline(BatchedInferencePipeline):  # type: ignore[misc]
        """Batched pipeline that picks each chunk's language among a few, from the shared encoder output."""

        allowed: tuple[str, ...] = ()
        prior: str | None = None
        switch_ratio: float = CLEAR_SWITCH_RATIO
        chosen: list[tuple[str, float]]

        def generate_segment_batched(self, features: Any, tokenizer: Any, options: Any) -> Any:
            batch_size = features.shape[0]
            prompt = self.model.get_prompt(
                tokenizer,
                previous_tokens=(tokenizer.encode(options.initial_prompt) if options.initial_prompt else []),
                without_timestamps=options.without_timestamps,
                hotwords=options.hotwords,
            )
            encoder_output = self.model.encode(features)
            prompts = [list(prompt) for _ in range(batch_size)]
            if len(self.allowed) > 1 and self.model.model.is_multilingual:
                index = prompt.index(tokenizer.language)
                for i, ranked in enumerate(self.model.model.detect_language(encoder_output)):
                    probabilities = {token[2:-2]: float(p) for token, p in ranked}
                    language, confidence = choose_language(
                        probabilities, self.allowed, prior=self.prior, switch_ratio=self.switch_ratio
                    )
                    prompts[i][index] = tokenizer.tokenizer.token_to_id(f"<|{language}|>")
                    self.chosen.append((language, confidence))
            else:
                self.chosen.extend([(tokenizer.language_code, 1.0)] * batch_size)
            max_length = self.model.max_length
            if options.max_new_tokens is not None:
                max_length = min(max_length, len(prompt) + options.max_new_tokens)
            results = self.model.model.generate(
                encoder_output,
                prompts,
                beam_size=options.beam_size,
                patience=options.patience,
                length_penalty=options.length_penalty,
                max_length=max_length,
                suppress_blank=options.suppress_blank,
                suppress_tokens=options.suppress_tokens,
                return_scores=True,
                return_no_speech_prob=True,
                sampling_temperature=options.temperatures[0],
                repetition_penalty=options.repetition_penalty,
                no_repeat_ngram_size=options.no_repeat_ngram_size,
            )
            output = []
            for result in results:
                seq_len = len(result.sequences_ids[0])
                cum_logprob = result.scores[0] * (seq_len**options.length_penalty)
                output.append(
                    {
                        "avg_logprob": cum_logprob / (seq_len + 1),
                        "no_speech_prob": result.no_speech_prob,
                        "tokens": result.sequences_ids[0],
                    }
                )
            return encoder_output, output

    return ChunkLanguagePipeline(model)


class WhisperDecoder:
    """Transcribes speech chunks of a recording with a loaded ``faster_whisper.WhisperModel``.

    Args:
        model: the loaded Whisper model (from the registry).
        opts: decoding options.
    """

    def __init__(self, model: Any, opts: DecodeOptions) -> None:
        self.model = model
        self.opts = opts
        self.multilingual = bool(model.model.is_multilingual)
        self._pipeline = _make_pipeline(model)
        # faster-whisper itself keeps at most half the context, less the start token, cut mid-name.
        self.max_hotword_tokens = min(opts.hotword_tokens, int(model.max_length) // 2 - 1)

    def count_tokens(self, text: str) -> int:
        """Whisper tokens of ``text`` (BPE, no special tokens)."""
        return len(self.model.hf_tokenizer.encode(text, add_special_tokens=False).ids)

    def transcribe(
        self,
        samples: npt.NDArray[np.float32],
        chunks: Sequence[AsrChunk],
        *,
        language: str | None,
        vocabulary: Sequence[str] = (),
        batch_size: int | None = None,
        on_chunks_done: Callable[[int], None] | None = None,
        forced: bool = False,
    ) -> list[AsrSegment]:
        """Transcribe ``chunks`` of ``samples``; each chunk gets one language among the allowed ones.

        Args:
            samples: the whole recording, 16 kHz mono float32.
            chunks: speech chunks of at most 30 s of speech each (``packing.plan_chunks``), in time order;
                Whisper hears each chunk's regions back to back.
            language: the call's language when known (a strong prior per chunk), else None.
            vocabulary: names and terms to expect, most likely first; passed to Whisper as hotwords, as many
                whole entries as fit its prompt (``hotword_prompt``).
            batch_size: override of ``opts.batch_size`` (the GPU path shrinks it after out-of-memory).
            on_chunks_done: called with the number of chunks finished so far (progress).
            forced: decode every chunk in ``language``, however sure Whisper is of another one.

        Returns:
            Segments in time order (recording time) with words and the decoding scores the guards need.
        """
        allowed = self.opts.languages if self.multilingual else ("en",)
        prior = language if language in allowed else None
        pipeline = self._pipeline
        pipeline.allowed = allowed
        pipeline.prior = prior
        pipeline.switch_ratio = math.inf if forced else self.opts.switch_ratio
        hotwords = hotword_prompt(vocabulary, self.count_tokens, self.max_hotword_tokens)
        segments: list[AsrSegment] = []
        done = 0
        for window in _windows(chunks, self.opts.window_s):
            packed = pack_speech(samples, window)
            heard = [i for i, (start, end) in enumerate(packed.clips) if end > start]
            pipeline.chosen = []
            raw, _info = pipeline.transcribe(
                packed.audio,
                language=prior or allowed[0],
                clip_timestamps=[_clip(*packed.clips[i]) for i in heard],
                vad_filter=False,
                word_timestamps=True,
                beam_size=self.opts.beam_size,
                batch_size=batch_size or self.opts.batch_size,
                hotwords=hotwords,
                without_timestamps=True,
            )
            # The generator runs the model: materialise it here, inside the stage (style rule 5).
            decoded = list(raw)
            seeks = [
                int(round(packed.clips[i][0] * SAMPLE_RATE) / SAMPLE_RATE * self.model.frames_per_second)
                for i in heard
            ]
            for segment in decoded:
                index = seeks.index(segment.seek) if segment.seek in seeks else _nearest(seeks, segment.seek)
                chosen = pipeline.chosen[index] if index < len(pipeline.chosen) else (allowed[0], 0.0)
                chunk_index = heard[index]
                segments.append(_convert(segment, chosen, window[chunk_index], done + chunk_index, packed))
            done += len(window)
            if on_chunks_done is not None:
                on_chunks_done(done)
        return segments


def _clip(start: float, end: float) -> dict[str, float]:
    # The pipeline turns seconds into samples with int(): half a sample more keeps the exact sample.
    return {"start": start + 0.5 / SAMPLE_RATE, "end": end + 0.5 / SAMPLE_RATE}


def _nearest(values: Sequence[int], target: int) -> int:
    return min(range(len(values)), key=lambda i: abs(values[i] - target))


def _windows(chunks: Sequence[AsrChunk], window_s: float) -> list[list[AsrChunk]]:
    windows: list[list[AsrChunk]] = []
    speech = 0.0
    for chunk in chunks:
        if not windows or speech + chunk.speech_s > window_s:
            windows.append([])
            speech = 0.0
        windows[-1].append(chunk)
        speech += chunk.speech_s
    return windows


def _convert(
    segment: Any, chosen: tuple[str, float], chunk: AsrChunk, chunk_index: int, packed: PackedSpeech
) -> AsrSegment:
    words = tuple(
        AsrWord(
            start=packed.recording_time(float(word.start)),
            end=packed.recording_time(float(word.end), is_end=True),
            text=str(word.word),
            probability=float(word.probability),
        )
        for word in (segment.words or ())
    )
    return AsrSegment(
        start=max(packed.recording_time(float(segment.start)), chunk.start),
        end=min(packed.recording_time(float(segment.end), is_end=True), chunk.end),
        text=str(segment.text).strip(),
        language=chosen[0],
        language_probability=chosen[1],
        words=words,
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=float(segment.no_speech_prob),
        compression_ratio=float(segment.compression_ratio),
        chunk=chunk_index,
    )
