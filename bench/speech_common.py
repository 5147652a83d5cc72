"""What both speech benchmarks share: the product engine with its diarization recorded, cases, host facts."""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.speech_synth import VOICES, Call, Line, render_call, script_lines

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

from dealtalk.contracts.config import Settings
from dealtalk.transcription.diarization import Diarization, Diarizer
from dealtalk.transcription.engine import SpeechEngine
from dealtalk.transcription.loader import load_transcriber

__all__ = ["RecordingDiarizer", "eight_speaker_lines", "generated_calls", "host_facts", "load_engine"]

ROOT = Path(__file__).resolve().parents[1]


class RecordingDiarizer(Diarizer):
    """The product's diarizer (same loaded models and options), keeping its last result for DER."""

    def __init__(self, inner: Diarizer) -> None:
        self.__dict__.update(inner.__dict__)
        self.last: Diarization | None = None

    def __call__(
        self,
        samples: npt.NDArray[np.float32],
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: Callable[[str, float, float], None] | None = None,
    ) -> Diarization:
        self.last = super().__call__(
            samples,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            progress=progress,
        )
        return self.last


def load_engine(data_dir: Path) -> tuple[SpeechEngine, RecordingDiarizer]:
    """``load_transcriber`` with the default speech settings (whisper-base, beam 5, VAD, diarization on);
    voiceprints off so that one benchmark call cannot name speakers in the next."""
    settings = Settings.load(data_dir=data_dir, speech={"voiceprints": False})
    engine = load_transcriber(settings)
    assert engine.diarizer is not None
    recorder = RecordingDiarizer(engine.diarizer)
    engine.diarizer = recorder
    return engine, recorder


def eight_speaker_lines(count: int, seed: int) -> list[Line]:
    """English script lines re-assigned to eight speakers, each speaking in turn in a shuffled order."""
    lines = script_lines("en")
    rng = np.random.default_rng(seed)
    order: list[int] = []
    while len(order) < count:
        block = list(rng.permutation(8))
        if order and block[0] == order[-1]:
            block.reverse()
        order += [int(s) for s in block]
    return [Line(f"p{order[i]}", "en", lines[i % len(lines)].text) for i in range(count)]


def generated_calls(workdir: Path, *, quick: bool) -> list[Call]:
    """The generated calls of the quality benchmark (see the report for what each one varies)."""
    en, nl, mixed = script_lines("en"), script_lines("nl"), script_lines("mixed")
    calls = [
        render_call("gen-en-2spk", en, VOICES[:2], workdir, seed=1),
        render_call(
            "gen-en-3spk-overlap-noise", en, VOICES[:3], workdir, seed=2, overlap_every=4, snr_db=15.0
        ),
        render_call("gen-en-2spk-tel8k", en, VOICES[1:3], workdir, seed=3, snr_db=25.0, telephone=True),
        render_call("gen-en-8spk", eight_speaker_lines(24 if quick else 48, 4), VOICES, workdir, seed=4),
    ]
    if not quick:
        calls += [
            render_call("gen-nl-2spk", nl, VOICES[3:5], workdir, seed=5, language="nl"),
            render_call("gen-mixed-3spk", mixed, VOICES[3:6], workdir, seed=6, language="mixed"),
        ]
    return calls


def host_facts() -> str:
    """Cores, CPU model, load average and commit: the machine is shared, so say what it was doing."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for row in cpuinfo.read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if changed:
        commit += " with uncommitted changes"
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu}), "
        f"load average {load} (1/5/15 min), Python {platform.python_version()}, commit {commit or '?'}"
    )


def temp_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="dealtalk-bench-")
