"""The speech stage: one recording in, a diarized transcript with named, role-tagged speakers out.

decode -> VAD (one pass, shared) -> diarization -> ASR on VAD chunks -> guards -> words to speakers ->
names and roles -> TranscriptDoc. Models load once in ``load_transcriber``; ``transcribe`` runs per call.

Usage::

    engine = load_transcriber(Settings.load())
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

from dealtalk.models.checksum import cached_sha256
from dealtalk.models.device import DevicePlan, apply_torch_threads, gpu_batch_size
from dealtalk.models.registry import ModelRegistry
from dealtalk.pipeline.config import Settings, SpeechSettings
from dealtalk.pipeline.documents import ModelRef, Participant, TranscriptDoc
from dealtalk.pipeline.progress import ProgressHook, no_progress
from dealtalk.transcription.asr import AsrOptions, WhisperAsr
from dealtalk.transcription.assign import TimedWord, assign_speakers, group_segments, smooth_turn_edges
from dealtalk.transcription.audio import decode_audio
from dealtalk.transcription.compose import build_transcript, speaker_order, utterances
from dealtalk.transcription.diarization import Diarization, DiarizationOptions, Diarizer
from dealtalk.transcription.embedding import CamppEmbedder
from dealtalk.transcription.guards import (
    GuardOptions,
    clamp_words,
    collapse_repetitions,
    is_known_hallucination,
    is_unlikely_speech,
    keep_words_in_speech,
)
from dealtalk.transcription.language import TextLanguageId, majority_language
from dealtalk.transcription.naming import NamingOptions, SpeakerIdentity, name_speakers
from dealtalk.transcription.oom import with_smaller_batches
from dealtalk.transcription.protocols import CallContext
from dealtalk.transcription.types import AsrSegment, SpeechRegion
from dealtalk.transcription.vad import SileroVad, plan_chunks, speech_regions
from dealtalk.transcription.voiceprints import FileVoiceprintStore, VoiceprintStore, unit

__all__ = ["SpeechEngine", "SpeechRun", "load_transcriber"]

logger = logging.getLogger(__name__)

NO_SPEECH = "no speech detected"
# A seller is enrolled from a call only with this much talk time and this clear a naming margin.
_ENROL_MIN_TALK_S = 10.0
_ENROL_MIN_MARGIN = 1.5
# A chunk whose language disagrees with the call's is re-decoded unless Whisper was this sure of it.
_KEEP_SWITCH_PROBABILITY = 0.9


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

    Build it with ``load_transcriber``; the constructor takes already-loaded parts (tests inject them).
    """

    def __init__(
        self,
        *,
        settings: SpeechSettings,
        plan: DevicePlan,
        asr: WhisperAsr,
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
        self.naming_opts = NamingOptions(voice_threshold=settings.voiceprint_threshold)
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
            parts += [f"diar={self._models['diarization'].sha256[:12]}", f"step={s.segmentation_step}"]
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
        return self.process(audio_path, context, progress=progress).doc

    def process(
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
            if self.settings.vad:
                regions = speech_regions(self.vad.probabilities(audio.samples), duration)
            else:
                regions = [SpeechRegion(0.0, duration)]
        hook("vad", completed=1.0, total=1.0)
        prior = self._prior(context)
        if not regions:
            return SpeechRun(self._empty(context, duration, prior, [*warnings, NO_SPEECH]), timings)
        diarization = None
        if self.diarizer is not None:
            with _timed(timings, "diarization"):
                diarization = self._diarize(audio.samples, context, hook)
        chunks = plan_chunks(regions)
        with _timed(timings, "asr"):
            segments, language = self._recognise(audio.samples, chunks, prior, context, hook)
        with _timed(timings, "alignment"):
            speech = _speech_of(diarization, regions)
            words = self._guarded_words(segments, chunks, speech, duration)
            if not words:
                return SpeechRun(self._empty(context, duration, language, [*warnings, NO_SPEECH]), timings)
            doc = self._compose(context, duration, language, words, diarization, warnings)
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

    # -- steps ------------------------------------------------------------------------------------------

    def _prior(self, context: CallContext) -> str | None:
        allowed = self.settings.languages if self.asr.multilingual else ("en",)
        configured = None if self.settings.language == "auto" else self.settings.language
        language = configured or context.language
        return language if language in allowed else None

    def _diarize(
        self, samples: npt.NDArray[np.float32], context: CallContext, hook: ProgressHook
    ) -> Diarization:
        assert self.diarizer is not None
        diarizer = self.diarizer
        num, low, high = context.num_speakers, context.min_speakers, context.max_speakers
        if num is None and low is None and high is None and context.participants:
            # Not every attendee speaks, but nobody speaks who did not attend.
            high = len(context.participants)

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

    def _recognise(
        self,
        samples: npt.NDArray[np.float32],
        chunks: list[SpeechRegion],
        prior: str | None,
        context: CallContext,
        hook: ProgressHook,
    ) -> tuple[list[AsrSegment], str]:
        def run(target: list[SpeechRegion], language: str | None) -> list[AsrSegment]:
            def once(batch_size: int) -> list[AsrSegment]:
                return self.asr.transcribe(
                    samples,
                    target,
                    language=language,
                    vocabulary=context.vocabulary,
                    batch_size=batch_size,
                    on_chunks_done=lambda done: hook("asr", completed=float(done), total=float(len(target))),
                )

            return with_smaller_batches(once, self.batch_size, what=f"ASR of {context.call_id}")

        segments = run(chunks, prior)
        if prior is not None or not self.asr.multilingual or len(self.settings.languages) < 2:
            return segments, prior or majority_language(
                ((s.language, s.end - s.start) for s in segments), "en"
            )
        # Nothing told us the language: a text language-ID pass over the first transcript decides it, and
        # chunks that Whisper put in another language without being sure are decoded again in it.
        verdict = self.text_lid.classify(" ".join(segment.text for segment in segments))
        language = (
            verdict[0]
            if verdict
            else majority_language(
                ((s.language, s.end - s.start) for s in segments), self.settings.languages[0]
            )
        )
        redo = sorted(
            {
                s.chunk
                for s in segments
                if s.language != language and s.language_probability < _KEEP_SWITCH_PROBABILITY
            }
        )
        if redo:
            logger.info("call %s: re-decoding %d chunk(s) in %s", context.call_id, len(redo), language)
            again = run([chunks[i] for i in redo], language)
            again = [replace(segment, chunk=redo[segment.chunk]) for segment in again]
            segments = sorted(
                [s for s in segments if s.chunk not in set(redo)] + again, key=lambda s: s.start
            )
        return segments, language

    def _guarded_words(
        self,
        segments: list[AsrSegment],
        chunks: list[SpeechRegion],
        speech: list[SpeechRegion],
        duration: float,
    ) -> list[TimedWord]:
        words: list[TimedWord] = []
        for segment in segments:
            if is_unlikely_speech(segment, self.guard_opts) or is_known_hallucination(segment.text):
                continue
            chunk = chunks[segment.chunk] if segment.chunk < len(chunks) else SpeechRegion(0.0, duration)
            kept = collapse_repetitions(segment.words, self.guard_opts.max_repeats)
            kept = clamp_words(kept, chunk.start, min(chunk.end, duration))
            kept = keep_words_in_speech(kept, speech, self.guard_opts.speech_tolerance_s)
            words += [
                TimedWord(w.start, w.end, w.text, w.probability, segment.language)
                for w in kept
                if w.text.strip()
            ]
        words.sort(key=lambda word: word.start)
        return words

    def _compose(
        self,
        context: CallContext,
        duration: float,
        language: str,
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
        identities = self._identities(order, context, groups, diarization)
        if diarization is not None:
            self._enrol(identities, diarization)
        return build_transcript(
            call_id=context.call_id,
            language=language,
            duration_s=duration,
            words=words,
            order=order,
            identities=identities,
            segment_languages=segment_languages,
            models=self._models,
            warnings=warnings,
        )

    def _segment_language(self, group: list[TimedWord]) -> str:
        verdict = self.text_lid.classify("".join(word.text for word in group))
        if verdict is not None and verdict[1] >= 0.9:
            return verdict[0]
        return majority_language(((w.language, w.end - w.start) for w in group), group[0].language)

    def _identities(
        self,
        order: list[int],
        context: CallContext,
        groups: list[list[TimedWord]],
        diarization: Diarization | None,
    ) -> dict[int, SpeakerIdentity]:
        participants = list(context.participants)
        attendees_known = bool(participants)
        voice: dict[tuple[int, str], float] = {}
        if self.voiceprints is not None and diarization is not None and "speaker-embedding" in self._models:
            model_sha = self._models["speaker-embedding"].sha256
            if attendees_known:
                prints = [
                    p
                    for p in (
                        self.voiceprints.get(person.email, model_sha256=model_sha)
                        for person in participants
                        if person.role == "seller" and person.email
                    )
                    if p is not None
                ]
            else:
                prints = self.voiceprints.all(model_sha256=model_sha)
                participants = [Participant(name=p.name, email=p.email, role="seller") for p in prints]
            for label in order:
                if label < len(diarization.centroids):
                    centroid = unit(diarization.centroids[label])
                    for voiceprint in prints:
                        voice[(label, voiceprint.email.lower())] = float(
                            np.dot(centroid, voiceprint.embedding)
                        )
        return name_speakers(
            order,
            participants,
            utterances(groups),
            voice=voice,
            attendees_known=attendees_known,
            opts=self.naming_opts,
        )

    def _enrol(self, identities: dict[int, SpeakerIdentity], diarization: Diarization) -> None:
        if self.voiceprints is None or "speaker-embedding" not in self._models:
            return
        talk: dict[int, float] = {}
        for turn in diarization.exclusive:
            talk[turn.speaker] = talk.get(turn.speaker, 0.0) + turn.duration
        for label, identity in identities.items():
            confident = identity.source == "voiceprint" or (
                identity.source == "cues" and identity.margin >= _ENROL_MIN_MARGIN
            )
            if (
                identity.role != "seller"
                or not identity.email
                or not confident
                or talk.get(label, 0.0) < _ENROL_MIN_TALK_S
                or label >= len(diarization.centroids)
            ):
                continue
            self.voiceprints.enrol(
                identity.email,
                identity.name,
                diarization.centroids[label],
                model_sha256=self._models["speaker-embedding"].sha256,
            )

    def _empty(
        self, context: CallContext, duration: float, language: str | None, warnings: list[str]
    ) -> TranscriptDoc:
        return TranscriptDoc(
            call_id=context.call_id,
            language=language or self.settings.languages[0],
            duration_s=round(duration, 3),
            speakers=(),
            segments=(),
            models=self.models,
            warnings=tuple(warnings),
        )


def _speech_of(diarization: Diarization | None, regions: list[SpeechRegion]) -> list[SpeechRegion]:
    """Where words may be: the diarized speech when there is a diarization, else the VAD regions."""
    if diarization is None:
        return regions
    merged: list[SpeechRegion] = []
    for turn in sorted(diarization.turns, key=lambda t: t.start):
        if merged and turn.start <= merged[-1].end:
            merged[-1] = SpeechRegion(merged[-1].start, max(merged[-1].end, turn.end))
        else:
            merged.append(SpeechRegion(turn.start, turn.end))
    return merged


def load_transcriber(settings: Settings) -> SpeechEngine:
    """Load every speech model once (registry: checksums, device, precision, threads) and build the engine.

    Args:
        settings: the application settings (``speech`` group, ``model_cache_dir``, ``data_dir``).

    Returns:
        A ``CallTranscriber`` that the worker keeps for its lifetime.

    Raises:
        ConfigurationError: a model spec does not resolve, a checksum is wrong, or the device is unusable.
    """
    speech = settings.speech
    registry = ModelRegistry(settings)
    plan = registry.plan
    if plan.device == "cpu":
        apply_torch_threads(plan)
    asr_model = registry.load("asr", speech.asr_model)
    # ~64 MiB of activations per batch item plus a share of the weights (large-v3 needs far more than base).
    per_item = 64 * 2**20 + int(0.25 * (asr_model.path / "model.bin").stat().st_size)
    batch_size = (
        gpu_batch_size(plan, per_item_bytes=per_item, ceiling=max(speech.batch_size, 16))
        if plan.device == "cuda"
        else speech.batch_size
    )
    asr = WhisperAsr(
        asr_model.model,
        AsrOptions(
            beam_size=speech.beam_size,
            batch_size=batch_size,
            languages=speech.languages,
            window_s=speech.asr_window_s,
        ),
    )
    vad = SileroVad()
    models: dict[str, ModelRef] = {"asr": asr_model.ref, "vad": _vad_ref(vad, settings)}
    diarizer = None
    if speech.diarization:
        segmentation = registry.load("segmentation", speech.segmentation_model)
        embedding = registry.load("speaker-embedding", speech.embedding_model)
        embedder = CamppEmbedder(embedding.model, device=plan.torch_device)
        diarizer = Diarizer(
            segmentation.model,
            embedder,
            DiarizationOptions(
                step=speech.segmentation_step,
                threshold=0.5,
                min_duration_off=0.5,
                batch_size=32 if plan.device == "cuda" else 16,
            ),
            device=plan.torch_device,
        )
        models["diarization"] = ModelRef(
            name=f"pyannote.audio 4 recipe: {segmentation.ref.name} + {embedding.ref.name}",
            version=f"step={speech.segmentation_step};threshold=0.5",
            source=segmentation.ref.source,
            sha256=_combined(segmentation.ref.sha256, embedding.ref.sha256),
        )
        models["segmentation"] = segmentation.ref
        models["speaker-embedding"] = embedding.ref
    voiceprints = FileVoiceprintStore(settings.data_dir / "voiceprints") if speech.voiceprints else None
    return SpeechEngine(
        settings=speech,
        plan=plan,
        asr=asr,
        vad=vad,
        diarizer=diarizer,
        text_lid=TextLanguageId(speech.languages),
        models=models,
        voiceprints=voiceprints,
        batch_size=batch_size,
    )


def _vad_ref(vad: SileroVad, settings: Settings) -> ModelRef:
    import importlib.metadata

    version = importlib.metadata.version("faster-whisper")
    return ModelRef(
        name="silero-vad-v6",
        version=version,
        source=f"pypi:faster-whisper=={version}",
        sha256=cached_sha256(vad.model_path, settings.model_cache_dir / ".stamps"),
    )


def _combined(*digests: str) -> str:
    import hashlib

    return hashlib.sha256("".join(digests).encode()).hexdigest()
