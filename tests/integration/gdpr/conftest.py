"""The bundled sample calls through the real stages, with a transcriber that reads the samples' reference
transcripts (a fake at our own ``CallTranscriber`` interface: Whisper is not what these tests are about),
and searches of every place personal data can sit.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import ModelRef, SegmentDoc, SpeakerDoc, TranscriptDoc, WordDoc
from dealtalk.contracts.progress import ProgressHook
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.discovery import discover_local
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker
from dealtalk.pipeline.runtime.stats import WorkerStats
from dealtalk.pipeline.stages.fetch import build_fetch_stage
from dealtalk.pipeline.stages.transcribe import build_transcribe_stage
from dealtalk.pipeline.store.queries import recording_with_audio
from dealtalk.pipeline.store.schema import Base
from dealtalk.samples import CALLS_DIR, SAMPLES_DIR
from dealtalk.transcription.assign import TimedWord
from dealtalk.transcription.audio import decode_audio
from dealtalk.transcription.protocols import CallContext, RecognisedWords

# The Microsoft 365 emulator fixtures (identity platform, Dataverse, Graph), all of them, for the tests here
# that erase against the emulated Dataverse or read the opt-out group through the emulated Graph.
from tests.integration.m365.conftest import *  # noqa: F403

CALLS = CALLS_DIR
SCRIPTS = SAMPLES_DIR / "scripts"
SARAH = "sarah.miller@northwind-logistics.com"
NORTHWIND = "rec-2026-11-18-northwind"


class ReferenceTranscriber:
    """Transcripts from the samples' reference turns (speakers named with their addresses), after decoding
    the audio for real (so a corrupt file fails as it would with Whisper)."""

    version = "reference-transcriber-1"
    models: ClassVar[dict[str, ModelRef]] = {"asr": ModelRef(name="reference-turns")}

    def __init__(self) -> None:
        self.refs: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for ref_path in CALLS.glob("*.ref.json"):
            ref = json.loads(ref_path.read_text())
            script = json.loads((SCRIPTS / ref_path.name.replace(".ref.json", ".json")).read_text())
            self.refs[ref["recording_id"]] = (ref, script)

    def transcribe(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> TranscriptDoc:
        decode_audio(audio_path, max_duration_s=3600, recording_id=context.call_id)
        ref, script = self.refs[context.call_id]
        people = script["speakers"]
        ids = {key: f"S{i}" for i, key in enumerate(dict.fromkeys(t["speaker"] for t in ref["turns"]), 1)}
        internal = "@schoonenberg.nl"
        speakers = tuple(
            SpeakerDoc(
                id=ids[key],
                name=people[key]["name"],
                email=people[key]["email"],
                role="seller" if people[key]["email"].endswith(internal) else "customer",
            )
            for key in ids
        )
        roles = {s.id: s.role for s in speakers}
        segments = []
        for turn in ref["turns"]:
            tokens = turn["text"].split()
            step = (turn["end"] - turn["start"]) / max(1, len(tokens))
            speaker = ids[turn["speaker"]]
            words = tuple(
                WordDoc(
                    start=turn["start"] + i * step,
                    end=turn["start"] + (i + 1) * step,
                    word=f" {token}",
                    speaker=speaker,
                    probability=0.9,
                )
                for i, token in enumerate(tokens)
            )
            segments.append(
                SegmentDoc(
                    start=turn["start"],
                    end=turn["end"],
                    speaker=speaker,
                    role=roles[speaker],
                    language=turn["language"],
                    text=turn["text"],
                    words=words,
                )
            )
        return TranscriptDoc(
            call_id=context.call_id,
            language=segments[0].language,
            duration_s=ref["duration_s"],
            speakers=speakers,
            segments=tuple(segments),
            models=self.models,
        )

    def recognise_words(
        self, audio_path: Path, context: CallContext, *, progress: ProgressHook | None = None
    ) -> RecognisedWords:
        """The reference words without speakers (what a Teams transcript would be re-timed to)."""
        doc = self.transcribe(audio_path, context, progress=progress)
        words = tuple(
            TimedWord(start=w.start, end=w.end, text=w.word, probability=w.probability, language=s.language)
            for s in doc.segments
            for w in s.words
        )
        return RecognisedWords(words=words, language=doc.language, duration_s=doc.duration_s)


def stages(resources: Resources, transcriber: ReferenceTranscriber) -> list[Stage[Any, Any]]:
    """The four real stages, the transcriber swapped for the reference one."""
    settings = resources.settings
    fetch = build_fetch_stage(
        fetchers=resources.fetchers(),
        blobs=resources.blobs,
        recording_with_audio=partial(recording_with_audio, resources.database),
        screen=resources.consent_screen(),
    )
    transcribe = build_transcribe_stage(
        transcriber=transcriber,
        blobs=resources.blobs,
        speech=settings.speech,
        tenant=settings.tenant,
        guard=resources.transcript_guard(),
    )
    return [fetch, transcribe, *resources.stages(["analyze", "publish"])]


def fill_inbox(
    inbox: Path, *, with_corrupt: bool = True, meetings: dict[str, dict[str, Any]] | None = None
) -> None:
    """The three sample calls (``meetings`` adds sidecar fields by recording id), plus (``with_corrupt``)
    a corrupt recording of Sarah's meeting: a dead letter that holds her address."""
    inbox.mkdir(parents=True, exist_ok=True)
    for audio in CALLS.glob("*.flac"):
        shutil.copy(audio, inbox / audio.name)
        meeting = json.loads(audio.with_name(audio.stem + ".meeting.json").read_text())
        meeting.update((meetings or {}).get(meeting["recording_id"], {}))
        (inbox / f"{audio.stem}.meeting.json").write_text(json.dumps(meeting))
    if with_corrupt:
        (inbox / "broken.flac").write_bytes(b"fLaC" + bytes(range(256)) * 40)
        meeting = json.loads((CALLS / "call-en-northwind.meeting.json").read_text())
        meeting["recording_id"] = "rec-2026-11-19-northwind-broken"
        (inbox / "broken.meeting.json").write_text(json.dumps(meeting))


@dataclass
class Pipeline:
    settings: Settings
    resources: Resources
    transcriber: ReferenceTranscriber

    @property
    def inbox(self) -> Path:
        """The watch folder the pipeline discovers recordings in."""
        assert self.settings.ingest.watch_dir is not None
        return self.settings.ingest.watch_dir

    def run(self) -> WorkerStats:
        discover_local(self.inbox, self.resources.outlet, self.resources.database, self.settings)
        worker = EmbeddedWorker(
            self.resources.bus, stages(self.resources, self.transcriber), self.settings.bus
        )
        return worker.run(burst=True)


FAST_BUS = {"max_attempts": 1, "backoff_base_s": 0.05, "backoff_max_s": 0.1, "poll_interval_s": 0.02}


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Callable[..., Pipeline]]:
    opened: list[Resources] = []

    def make(**overrides: Any) -> Pipeline:
        overrides.setdefault("data_dir", tmp_path / "data")
        overrides.setdefault("bus", FAST_BUS)
        overrides.setdefault("ingest", {"watch_dir": tmp_path / "inbox"})
        settings = Settings.load(**overrides)
        resources = Resources.open(settings)
        opened.append(resources)
        return Pipeline(settings, resources, ReferenceTranscriber())

    yield make
    for resources in opened:
        resources.close()


def needles_found(resources: Resources, needles: list[str], extra_dirs: tuple[Path, ...] = ()) -> list[str]:
    """Where any needle (case-insensitive) still occurs: every table and column, every blob, given folders."""
    lowered = [n.lower() for n in needles]
    hits: list[str] = []
    with resources.database.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                text = json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False).lower()
                hits += [f"table {table.name}: {n!r}" for n in lowered if n in text]
    for folder in (resources.settings.blob_root, *extra_dirs):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []:
            text = path.read_bytes().decode("utf-8", errors="ignore").lower()
            hits += [f"file {path.name}: {n!r}" for n in lowered if n in text]
    return hits
