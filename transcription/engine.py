"""The speech stage: one recording in, a diarized transcript with named, role-tagged speakers out.

decode -> VAD (one pass, shared) -> diarization -> ASR on VAD chunks -> guards -> words to speakers ->
names and roles -> TranscriptDoc. Models load once in ``loader.load_transcriber``; ``transcribe`` runs per
call.

Usage::

    engine = load_transcriber(Settings.load())  # dealtalk.transcription.loader
    doc = engine.transcribe(Path("call.m4a"), CallContext(call_id="rec-1", participants=people))
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dealtalk.contracts.config import SpeechSettings
from dealtalk.contracts.documents import ModelRef, TranscriptDoc
from dealtalk.contracts.progress import ProgressHook, no_progress
from dealtalk.models.device import DevicePlan
from dealtalk.transcription.assign import TimedWord, assign_speakers, group_segments, smooth_turn_edges
from dealtalk.transcription.attendee_matching import MatchOptions
from dealtalk.transcription.audio import decode_audio
from dealtalk.transcription.call_language import call_language, decode_in_call_language
from dealtalk.transcription.compose import build_transcript, speaker_order
from dealtalk.transcription.diarization import Diarization, Diarizer
from dealtalk.transcription.guards import GuardOptions, guarded_words, speech_spans
from dealtalk.transcription.language import (
    LanguageDecision,
    TextLanguageId,
    majority_language,
    segment_language,
)
from dealtalk.transcription.oom import with_smaller_batches
from dealtalk.transcription.packing import plan_chunks
from dealtalk.transcription.protocols import CallContext, RecognisedWords
from dealtalk.transcription.types import AsrChunk, AsrSegment, SpeechRegion
from dealtalk.transcription.vad import SileroVad, speech_regions
from dealtalk.transcription.voiceprint_evidence import enrol_sellers, identify_speakers
from dealtalk.transcription.voiceprints import VoiceprintStore
from dealtalk.transcription.whisper_decoder import WhisperDecoder

__all__ = ["MAX_SPEAKERS", "NO_SPEECH", "SpeechEngine", "SpeechRun"]

logger = logging.getLogger(__name__)

NO_SPEECH = "no speech detected"
# The most speakers a recording is diarized into when nothing else bounds the count.
MAX_SPEAKERS = 20


@dataclass(frozen=True, slots=True)
class SpeechRun:
    """A transcript plus the seconds each step took (for benchmarks and metrics)."""

    doc: TranscriptDoc
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = timings.get(step, 0.0) + time.perf_counter() - started


class SpeechEngine:
    """Implements ``CallTranscriber`` with faster-whisper, Silero VAD and pyannote + CAM++.

    Build it with ``loader.load_transcriber``; the constructor takes already-loaded parts (tests inject them).
    """

    def __init__(
        self,
        *,
        settings: SpeechSettings,
        plan: DevicePlan,
        asr: WhisperDecoder,
        vad: SileroVad,
        diarizer: Diarizer | None,
        text_lid: TextLanguageId,
        models: dict[str, ModelRef],
        voiceprints: VoiceprintStore | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.asr = asr
        self.vad = vad
        self.diarizer = diarizer
        self.text_lid = text_lid
        self.voiceprints = voiceprints
        self.batch_size = batch_size or settings.batch_size
        self.guard_opts = GuardOptions()
        self.match_opts = MatchOptions(voice_threshold=settings.voiceprint_threshold)
        self._models = dict(models)

    @property
    def models(self) -> dict[str, ModelRef]:
        return dict(self._models)

    @property
    def version(self) -> str:
        s = self.settings
        parts = [
            "speech-1",
            f"asr={self._models['asr'].sha256[:12]}",
            f"beam={s.beam_size}",
            f"langs={','.join(s.languages)}",
            f"vad={s.vad}",
        ]
        if "diarization" in self._models:
            parts += [
                f"diar={self._models['diarization'].sha256[:12]}",
                f"step={s.segmentation_step}",
                f"emb={s.speaker_embedding}",
            ]
        return ";".join(parts)

    def transcribe(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> TranscriptDoc:
        """Transcribe, diarize and name the speakers of one recording.

        Args:
            audio_path: any audio or video file FFmpeg reads.
            context: call id, attendees with roles, language and speaker-count hints, vocabulary.
            progress: optional hook, called per step.

        Returns:
            The transcript (empty segments and a warning when there is no speech).

        Raises:
            InvalidInput: unreadable, empty, truncated beyond use, or over-long audio.
            TransientError: out of GPU memory even at batch size 1.
        """
        return self.transcribe_timed(audio_path, context, progress=progress).doc

    def transcribe_timed(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> SpeechRun:
        """``transcribe`` plus per-step timings."""
        hook = progress or no_progress
        timings: dict[str, float] = {}
        with _timed(timings, "decode"):
            audio = decode_audio(
                audio_path, max_duration_s=self.settings.max_duration_s, recording_id=context.call_id
            )
        hook("decode", completed=1.0, total=1.0)
        duration = audio.duration_s
        warnings = list(audio.warnings)
        with _timed(timings, "vad"):
            regions = self._speech_regions(audio.samples, duration)
        hook("vad", completed=1.0, total=1.0)
        if not regions:
            return SpeechRun(self._empty(context, duration, None, [*warnings, NO_SPEECH]), timings)
        diarization = None
        if self.diarizer is not None:
            with _timed(timings, "diarization"):
                diarization = self._diarize(audio.samples, context, hook)
        chunks = plan_chunks(regions)
        with _timed(timings, "language"):
            decision = self._language(audio.samples, chunks, context)
        with _timed(timings, "asr"):
            segments = self._decode(audio.samples, chunks, decision, context, hook)
        with _timed(timings, "alignment"):
            speech = speech_spans(diarization.turns if diarization else None, regions)
            words = guarded_words(segments, chunks, speech, duration, self.guard_opts, samples=audio.samples)
            if not words:
                return SpeechRun(self._empty(context, duration, decision, [*warnings, NO_SPEECH]), timings)
            doc = self._compose(context, duration, decision, words, diarization, warnings)
        hook("alignment", completed=1.0, total=1.0)
        logger.info(
            "call %s: %.1f s audio, %d speakers, %d segments, language %s",
            context.call_id,
            duration,
            len(doc.speakers),
            len(doc.segments),
            doc.language,
        )
        return SpeechRun(doc, timings)

    def recognise_words(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> RecognisedWords:
        """Decode, VAD, ASR and guards without diarization: the words a Teams transcript is re-timed to.

        Raises:
            InvalidInput: as ``transcribe``.
        """
        hook = progress or no_progress
        audio = decode_audio(
            audio_path, max_duration_s=self.settings.max_duration_s, recording_id=context.call_id
        )
        hook("decode", completed=1.0, total=1.0)
        regions = self._speech_regions(audio.samples, audio.duration_s)
        hook("vad", completed=1.0, total=1.0)
        if not regions:
            forced, _source = self._forced(context)
            language = forced or self.settings.languages[0]
            return RecognisedWords((), language, audio.duration_s, audio.warnings)
        chunks = plan_chunks(regions)
        decision = self._language(audio.samples, chunks, context)
        segments = self._decode(audio.samples, chunks, decision, context, hook)
        words = guarded_words(
            segments, chunks, regions, audio.duration_s, self.guard_opts, samples=audio.samples
        )
        return RecognisedWords(
            tuple(words), decision.language, audio.duration_s, audio.warnings, decision.evidence
        )

    # -- steps ------------------------------------------------------------------------------------------

    def _speech_regions(self, samples: npt.NDArray[np.float32], duration: float) -> list[SpeechRegion]:
        if not self.settings.vad:
            return [SpeechRegion(0.0, duration)]
        return speech_regions(self.vad.probabilities(samples), len(samples))

    def _language(
        self, samples: npt.NDArray[np.float32], chunks: list[AsrChunk], context: CallContext
    ) -> LanguageDecision:
        forced, source = self._forced(context)
        return call_language(
            self.asr,
            samples,
            chunks,
            forced=forced,
            forced_source=source,
            languages=self.settings.languages,
            hints=context.language_hints,
        )

    def _decode(
        self,
        samples: npt.NDArray[np.float32],
        chunks: list[AsrChunk],
        decision: LanguageDecision,
        context: CallContext,
        hook: ProgressHook,
    ) -> list[AsrSegment]:
        return decode_in_call_language(
            self.asr,
            samples,
            chunks,
            decision=decision,
            vocabulary=context.vocabulary,
            batch_size=self.batch_size,
            call_id=context.call_id,
            hook=hook,
        )

    def _forced(self, context: CallContext) -> tuple[str | None, str | None]:
        """The forced language and its source: configuration first, then what the context forces."""
        allowed = self.settings.languages if self.asr.multilingual else ("en",)
        if self.settings.language != "auto" and self.settings.language in allowed:
            return self.settings.language, "configured"
        if context.language in allowed:
            return context.language, context.language_source or "configured"
        return None, None

    def _diarize(
        self, samples: npt.NDArray[np.float32], context: CallContext, hook: ProgressHook
    ) -> Diarization:
        assert self.diarizer is not None
        diarizer = self.diarizer
        num, low, high = context.num_speakers, context.min_speakers, context.max_speakers
        if num is None and low is None and high is None and context.participants:
            # Not every attendee speaks, but nobody speaks who did not attend.
            high = len(context.participants)
        if num is None and high is None:
            # No bound at all crashed the diarizer's speaker-count clamp (uint8 counts vs. 1000): a call has
            # far fewer voices than this anyway.
            high = MAX_SPEAKERS

        def run(batch_size: int) -> Diarization:
            diarizer.batch_size = batch_size
            return diarizer(
                samples,
                num_speakers=num,
                min_speakers=low,
                max_speakers=high,
                progress=lambda step, done, total: hook(step, completed=done, total=total),
            )

        return with_smaller_batches(run, diarizer.batch_size, what=f"diarization of {context.call_id}")

    def _compose(
        self,
        context: CallContext,
        duration: float,
        decision: LanguageDecision,
        words: list[TimedWord],
        diarization: Diarization | None,
        warnings: list[str],
    ) -> TranscriptDoc:
        turns = diarization.exclusive if diarization else ()
        labels = smooth_turn_edges(words, assign_speakers(words, turns))
        words = [replace(word, speaker=label) for word, label in zip(words, labels, strict=True)]
        groups = group_segments(words)
        segment_languages = [self._segment_language(group) for group in groups]
        order = speaker_order(words, diarization.turns if diarization else ())
        identities = identify_speakers(
            order,
            context.participants,
            groups,
            diarization,
            voiceprints=self.voiceprints,
            models=self._models,
            opts=self.match_opts,
        )
        if diarization is not None:
            enrol_sellers(identities, diarization, voiceprints=self.voiceprints, models=self._models)
        return build_transcript(
            call_id=context.call_id,
            language=decision.language,
            language_evidence=decision.evidence,
            duration_s=duration,
            words=words,
            order=order,
            identities=identities,
            segment_languages=segment_languages,
            models=self._models,
            warnings=warnings,
        )

    def _segment_language(self, group: list[TimedWord]) -> str:
        spoken = majority_language(((w.language, w.end - w.start) for w in group), group[0].language)
        return segment_language("".join(word.text for word in group), self.text_lid.classify, spoken)

    def _empty(
        self,
        context: CallContext,
        duration: float,
        decision: LanguageDecision | None,
        warnings: list[str],
    ) -> TranscriptDoc:
        if decision is None:
            forced, source = self._forced(context)
            decision = (
                LanguageDecision(forced, source or "configured")
                if forced
                else LanguageDecision(self.settings.languages[0], "no speech: the first allowed language")
            )
        return TranscriptDoc(
            call_id=context.call_id,
            language=decision.language,
            language_evidence=decision.evidence,
            duration_s=round(duration, 3),
            speakers=(),
            segments=(),
            models=self.models,
            warnings=tuple(warnings),
        )
