"""Reprocessing throughput: calls/hour and x real time for the demo's three sample calls, per ASR model, beside
plain faster-whisper batched on the same files in the same run. Writes bench/results/reprocess.md.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/reprocess.py [--from-store DIR] [--models tiny.en base] [--device cpu]

The store with the calls' first results is either a copy of an existing demo store (``--from-store``, e.g.
the data dir of ``dealtalk demo``) or built here by running the embedded pipeline on the samples (as the demo
does). "dealtalk reprocess" rows are the whole product path per call (decode, VAD, ASR, language, diarization,
speaker naming, insights, storing a new version); "plain faster-whisper" rows are ``BatchedInferencePipeline``
with the same weights and threads, ASR only (its own VAD, no diarization, no insights).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile as sf

from dealtalk.contracts.config import Settings
from dealtalk.models.device import plan_device
from dealtalk.models.registry import ModelRegistry
from dealtalk.pipeline.discovery import discover_local
from dealtalk.pipeline.reprocess import (
    CallObserver,
    CallSelection,
    ModelSet,
    RunDeps,
    run_locally,
    select_calls,
    totals,
)
from dealtalk.pipeline.reprocess.compare import run_diffs
from dealtalk.pipeline.reprocess.runs import create_run, load_run, results_of
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker
from dealtalk.samples import CALLS_DIR
from dealtalk.transcription.loader import load_transcriber

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the bench.* helper modules

from bench.speech_common import host_facts, temp_dir  # noqa: E402

# Throughput a site needs to keep up: at least as fast as the calls last (x real time >= 1).
TARGET_X_REALTIME = 1.0
LANGUAGE = {"zuidhaven": "nl", "northwind": "en", "brightlab": "nl+en"}


@dataclass(frozen=True, slots=True)
class Row:
    case: str
    recording_id: str
    audio_s: float
    wall_s: float

    @property
    def language(self) -> str:
        return next((lang for key, lang in LANGUAGE.items() if key in self.recording_id), "?")

    @property
    def x_realtime(self) -> float:
        return self.audio_s / self.wall_s if self.wall_s else 0.0


class _Timer(CallObserver):
    def __init__(self) -> None:
        self.calls: list[tuple[str, float, float]] = []

    def call_finished(self, recording_id: str, *, status: str, audio_s: float, elapsed_s: float) -> None:
        if status != "done":
            raise RuntimeError(f"{recording_id} failed in the benchmark run; see the log")
        self.calls.append((recording_id, audio_s, elapsed_s))


def seed(settings: Settings) -> float:
    """The samples through the embedded pipeline (the stored versions a reprocessing run replaces)."""
    started = time.monotonic()
    resources = Resources.open(settings)
    try:
        discover_local(CALLS_DIR, resources.outlet, resources.database, settings)
        EmbeddedWorker(resources.bus, resources.stages(), settings.bus).run(burst=True)
    finally:
        resources.close()
    return time.monotonic() - started


def reprocess_case(resources: Resources, model: str, device: str) -> tuple[list[Row], float, dict[str, Any]]:
    model_set = ModelSet.from_options(model, device=device)
    settings = model_set.apply(resources.settings)
    started = time.monotonic()
    transcriber = load_transcriber(settings)
    load_s = time.monotonic() - started
    ids = select_calls(resources.database, CallSelection())
    run_id = create_run(resources.database, ids, selection=CallSelection(), model_set=model_set, mode="local")
    deps = RunDeps(
        transcriber=transcriber,
        engine=resources.models.insight_engine(),
        blobs=resources.blobs,
        settings=settings,
    )
    timer = _Timer()
    run_locally(resources.database, load_run(resources.database, run_id), deps, observer=timer)
    total = totals(run_diffs(resources.database, resources.blobs, run_id))
    stored = len(results_of(resources.database, run_id))
    case = f"dealtalk reprocess, {model_set.asr_model}"
    rows = [Row(case, rid, audio_s, elapsed) for rid, audio_s, elapsed in timer.calls]
    facts = {
        "run_id": run_id,
        "stored": stored,
        "wer_vs_stored": total.wer,
        "risks_added": total.risks_added,
        "risks_removed": total.risks_removed,
        "changed": total.changed,
    }
    return rows, load_s, facts


def plain_case(settings: Settings, model: str, device: str, batch_size: int) -> tuple[list[Row], float]:
    from faster_whisper import BatchedInferencePipeline

    spec = ModelSet.from_options(model, device=device).asr_model
    run_settings = ModelSet.from_options(model, device=device).apply(settings)
    started = time.monotonic()
    loaded = ModelRegistry(run_settings).load("asr", spec)
    load_s = time.monotonic() - started
    pipeline = BatchedInferencePipeline(loaded.model)
    rows = []
    english_only = spec.endswith(".en")
    for audio in sorted(CALLS_DIR.glob("*.flac")):
        duration = sf.info(str(audio)).duration
        started = time.monotonic()
        segments, _info = pipeline.transcribe(
            str(audio), batch_size=batch_size, language="en" if english_only else None, word_timestamps=True
        )
        list(segments)  # the generator does the work
        sidecar = json.loads(audio.with_name(f"{audio.stem}.meeting.json").read_text(encoding="utf-8"))
        recording = str(sidecar["recording_id"])  # the same audio as the reprocessed call of this id
        rows.append(
            Row(f"plain faster-whisper batched, {spec}", recording, duration, time.monotonic() - started)
        )
    return sorted(rows, key=lambda row: row.recording_id), load_s


def markdown(
    rows: list[Row],
    loads: dict[str, float],
    facts: dict[str, dict[str, Any]],
    host: str,
    device: str,
    batch_size: int,
    seed_s: float | None,
) -> str:
    lines = [
        "# Reprocessing throughput (bench/reprocess.py)",
        "",
        f"Host: {host}. Device: {device}; no GPU was available to this run, so there are no GPU rows.",
        f"ASR batch size {batch_size}; the demo's three sample calls (Dutch, English, mixed Dutch/English).",
        "Target: x real time >= 1.0 (a site keeps up when calls are processed at least as fast as they last).",
        "The host is shared with other work (see the load average): figures are indicative, not a lab measurement.",
        "",
        "| case | call | language | audio s | wall s | x real time | target | met |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        met = "yes" if row.x_realtime >= TARGET_X_REALTIME else "missed"
        lines.append(
            f"| {row.case} | {row.recording_id} | {row.language} | {row.audio_s:.1f} | {row.wall_s:.1f} | "
            f"{row.x_realtime:.2f} | ≥ {TARGET_X_REALTIME:.1f} | {met} |"
        )
    lines += [
        "",
        "Per case, all three calls (model loading not included; it is listed separately):",
        "",
        "| case | calls | audio min | wall s | calls/hour | x real time | model load s | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for case in dict.fromkeys(row.case for row in rows):
        mine = [row for row in rows if row.case == case]
        audio, wall = sum(r.audio_s for r in mine), sum(r.wall_s for r in mine)
        x = audio / wall if wall else 0.0
        met = "yes" if x >= TARGET_X_REALTIME else "missed"
        lines.append(
            f"| {case} | {len(mine)} | {audio / 60:.1f} | {wall:.1f} | {len(mine) * 3600 / wall:.1f} | "
            f"{x:.2f} | {loads[case]:.1f} | ≥ {TARGET_X_REALTIME:.1f} | {met} |"
        )
    lines += [
        "",
        "The first case's model load includes importing torch, pyannote and the insight models (once per process).",
    ]
    lines += [
        "",
        "What each reprocessing run changed against the stored versions (`dealtalk reprocess diff`):",
        "",
        "| case | run | versions stored | calls changed | WER vs stored | risks added | risks removed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for case, fact in facts.items():
        lines.append(
            f"| {case} | {fact['run_id']} | {fact['stored']} | {fact['changed']} | {fact['wer_vs_stored']:.1%} | "
            f"{fact['risks_added']} | {fact['risks_removed']} |"
        )
    origin = f"the embedded pipeline in this run ({seed_s:.0f} s)" if seed_s else "a copied demo store"
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("faster-whisper", "ctranslate2")
    )
    lines += [
        "",
        f"Stored versions made by {origin} with the configured model (whisper-base). {versions}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    # pyannote's import-time warning about torchcodec: we hand it waveforms, never files (as the CLI does).
    warnings.filterwarnings(
        "ignore", message=r"\s*torchcodec is not installed correctly", category=UserWarning
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--from-store", type=Path, help="copy this data dir (a `dealtalk demo` store) to start from"
    )
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reprocess.md")
    args = parser.parse_args()
    host_start = host_facts()
    with temp_dir() as work:
        data = Path(work) / "data"
        seed_s = None
        if args.from_store:
            shutil.copytree(args.from_store, data)
        settings = Settings.load(data_dir=data)
        if not args.from_store:
            seed_s = seed(settings)
        plan = plan_device(settings.speech.model_copy(update={"device": args.device}))
        rows: list[Row] = []
        loads: dict[str, float] = {}
        facts: dict[str, dict[str, Any]] = {}
        resources = Resources.open(settings)
        try:
            for model in args.models:
                case_rows, load_s, fact = reprocess_case(resources, model, args.device)
                rows += case_rows
                loads[case_rows[0].case] = load_s
                facts[case_rows[0].case] = fact
                plain_rows, plain_load = plain_case(settings, model, args.device, settings.speech.batch_size)
                rows += plain_rows
                loads[plain_rows[0].case] = plain_load
        finally:
            resources.close()
    host = f"{host_start}; at the end: {host_facts().split(', load average ')[1].split(' (')[0]}"
    report = markdown(
        rows,
        loads,
        facts,
        host,
        f"{plan.device} ({plan.compute_type}, {plan.cpu_threads} threads)",
        settings.speech.batch_size,
        seed_s,
    )
    args.out.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
