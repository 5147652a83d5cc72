"""Fakes at our own interfaces (CallTranscriber, InsightEngine) and a store with three processed calls."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import (
    CallKpisDoc,
    HealthDoc,
    InsightsDoc,
    KpisDoc,
    ModelRef,
    RiskDoc,
    SegmentDoc,
    SentimentDoc,
    SpeakerDoc,
    TranscriptDoc,
)
from dealtalk.contracts.errors import TransientError
from dealtalk.contracts.progress import ProgressHook
from dealtalk.contracts.stage import Stage
from dealtalk.ingest.local_folder import LocalFolderFetcher
from dealtalk.nlp.protocols import InsightContext
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.bus.outlet import EmbeddedOutlet
from dealtalk.pipeline.discovery import discover_local
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker
from dealtalk.pipeline.stages.analyze import build_analyze_stage
from dealtalk.pipeline.stages.fetch import build_fetch_stage
from dealtalk.pipeline.stages.transcribe import build_transcribe_stage
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.queries import recording_with_audio
from dealtalk.transcription.protocols import CallContext, RecognisedWords

# What each call says (seller and customer alternate), per recording id.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "rec-a": ("good morning", "the price is too expensive for us", "we can talk about volume"),
    "rec-b": ("hello there", "great to hear from you", "shall we plan the next step"),
    "rec-c": ("goedemorgen", "dat vinden wij te duur", "dan kijken we naar de scope"),
}
LANGUAGES = {"rec-a": "en", "rec-b": "en", "rec-c": "nl"}


@dataclass
class ScriptTranscriber:
    """Turns a recording into its script (with per-recording edits), like an ASR model of a given version."""

    name: str
    edits: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    fail: frozenset[str] = frozenset()
    calls: list[str] = field(default_factory=list)

    @property
    def models(self) -> dict[str, ModelRef]:
        return {
            "asr": ModelRef(name=self.name, version="1", source="test", sha256=self.name.encode().hex()[:12])
        }

    @property
    def version(self) -> str:
        return f"script-asr={self.name}"

    def transcribe(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> TranscriptDoc:
        self.calls.append(context.call_id)
        if progress is not None:
            progress("asr", completed=1, total=1)
        if context.call_id in self.fail:
            raise TransientError(f"ASR of {context.call_id}: out of GPU memory even with batch size 1")
        lines = []
        for line in SCRIPTS[context.call_id]:
            for old, new in self.edits.get(context.call_id, {}).items():
                line = line.replace(old, new)
            lines.append(line)
        language = LANGUAGES[context.call_id]
        segments = tuple(
            SegmentDoc(
                start=i * 5.0,
                end=i * 5.0 + 4.0,
                speaker=f"S{i % 2 + 1}",
                role="seller" if i % 2 == 0 else "customer",
                language=language,
                text=text,
            )
            for i, text in enumerate(lines)
        )
        speakers = (
            SpeakerDoc(id="S1", name="Seller", role="seller"),
            SpeakerDoc(id="S2", name="Buyer", role="customer"),
        )
        return TranscriptDoc(
            call_id=context.call_id,
            language=language,
            duration_s=5.0 * len(lines),
            speakers=speakers,
            segments=segments,
            models=self.models,
        )

    def recognise_words(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> RecognisedWords:
        raise AssertionError(
            "the reprocess tests never re-time a Teams transcript: nothing may ask this fake to"
        )


class KeywordEngine:
    """Insights from keywords: "expensive"/"duur" is a negative price objection, "competitor" a competitor."""

    @property
    def models(self) -> dict[str, ModelRef]:
        return {"nlp": ModelRef(name="keywords", version="1")}

    @property
    def version(self) -> str:
        return "keywords-1"

    def analyze(self, transcript: TranscriptDoc, context: InsightContext) -> InsightsDoc:
        sentiments, risks = [], []
        for index, segment in enumerate(transcript.segments):
            text = segment.text
            negative = "expensive" in text or "duur" in text
            label = "negative" if negative else "positive" if "great" in text else "neutral"
            sentiments.append(SentimentDoc(label=label, score=0.9))
            for word, risk in (
                ("expensive", "price_objection"),
                ("duur", "price_objection"),
                ("competitor", "competitor_mention"),
            ):
                if word in text:
                    risks.append(
                        RiskDoc(
                            type=risk,
                            severity="high",
                            confidence=0.9,
                            speaker=segment.speaker,
                            start=segment.start,
                            end=segment.end,
                            quote=text,
                            segment_index=index,
                        )
                    )
        kpis = KpisDoc(
            call=CallKpisDoc(
                duration_s=transcript.duration_s,
                switch_count=len(transcript.segments) - 1,
                customer_longest_monologue_ms=4000,
            ),
            per_speaker={},
        )
        return InsightsDoc(
            call_id=transcript.call_id,
            sentiments=tuple(sentiments),
            kpis=kpis,
            risks=tuple(risks),
            action_items=(),
            summary=" / ".join(s.text for s in transcript.segments[:2]),
            health=HealthDoc(score=50),
            models=self.models,
        )


def seed_calls(settings: Settings, database: Database, inbox: Path, transcriber: ScriptTranscriber) -> None:
    """Three recordings through fetch -> transcribe -> analyze with the fakes (the 'old' versions)."""
    inbox.mkdir(parents=True, exist_ok=True)
    for number, recording_id in enumerate(SCRIPTS):
        (inbox / f"{recording_id}.flac").write_bytes(f"not really audio {recording_id}".encode())
        meeting = {
            "recording_id": recording_id,
            "subject": f"call {recording_id}",
            "organizer": {"name": "Seller", "email": "seller@example.com"},
            "start_time": datetime(2026, 11, 10 + number, 9, tzinfo=UTC).isoformat(),
        }
        (inbox / f"{recording_id}.meeting.json").write_text(json.dumps(meeting))
    bus = EmbeddedBus(database, settings.bus)
    blobs = LocalBlobStore(settings.blob_root)
    discover_local(inbox, EmbeddedOutlet(bus), database, settings)
    stages: list[Stage[Any, Any]] = [
        build_fetch_stage(
            fetchers={"local": LocalFolderFetcher()},
            blobs=blobs,
            recording_with_audio=partial(recording_with_audio, database),
        ),
        build_transcribe_stage(
            transcriber=transcriber, blobs=blobs, speech=settings.speech, tenant=settings.tenant
        ),
        build_analyze_stage(
            engine=KeywordEngine(), blobs=blobs, tenant=settings.tenant, competitors=lambda _: ()
        ),
    ]
    stats = EmbeddedWorker(bus, stages, settings.bus).run(burst=True)
    assert stats.processed == 3 * len(SCRIPTS), stats
