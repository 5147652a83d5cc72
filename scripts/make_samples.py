"""Generate the bundled sample calls from their dialogue scripts with espeak-ng and sox.

For each ``samples/scripts/<name>.json`` this writes, under ``samples/calls/``:

* ``<name>.flac``: 16 kHz mono, each turn spoken by its speaker's espeak-ng voice, gaps between turns and a
  low room-noise floor, so that VAD and diarization see something like a real call;
* ``<name>.meeting.json``: the meeting sidecar that the local-folder ingest reads (stands in for Teams);
* ``<name>.ref.json``: the exact reference (speaker, start, end, language, text per turn) for WER/DER.

Usage: ``python scripts/make_samples.py [--out DIR] [--seed N]`` (needs ``espeak-ng`` and ``sox`` on PATH).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16_000
ROOT = Path(__file__).resolve().parent.parent
SCRIPTS_DIR = ROOT / "samples" / "scripts"
OUT_DIR = ROOT / "samples" / "calls"
INTERNAL_DOMAIN = "schoonenberg.nl"


def speak(text: str, voice: str, pitch: int, speed: int, workdir: Path) -> np.ndarray:
    """One utterance as 16 kHz mono float32, with espeak's leading/trailing silence trimmed."""
    raw = workdir / "raw.wav"
    clean = workdir / "clean.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(raw), text],
        check=True,
    )
    # Trim silence at both ends so that reference turn boundaries are where speech starts and stops.
    subprocess.run(
        [
            "sox",
            "-G",
            str(raw),
            "-r",
            str(SAMPLE_RATE),
            "-c",
            "1",
            "-b",
            "16",
            str(clean),
            "silence",
            "1",
            "0.02",
            "0.5%",
            "reverse",
            "silence",
            "1",
            "0.02",
            "0.5%",
            "reverse",
        ],
        check=True,
    )
    audio, rate = sf.read(clean, dtype="float32")
    assert rate == SAMPLE_RATE
    return np.asarray(audio, dtype=np.float32)


def render_call(
    script: dict[str, Any], rng: np.random.Generator, workdir: Path
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Concatenate the turns with natural gaps; return the audio and the reference turns."""
    speakers = script["speakers"]
    pieces: list[np.ndarray] = []
    reference: list[dict[str, Any]] = []
    cursor = 0.6  # a little lead-in before the first word, as in a real recording
    pieces.append(np.zeros(int(cursor * SAMPLE_RATE), dtype=np.float32))
    for speaker_key, language, text in script["turns"]:
        voice = speakers[speaker_key]
        # The same timbre (variant, pitch) in both languages: one person, one voice, whatever they speak.
        espeak_voice = f"{voice['voices'][language]}+{voice['variant']}"
        clip = speak(text, espeak_voice, voice["pitch"], voice["speed"], workdir)
        clip *= 0.6 / max(float(np.abs(clip).max()), 1e-6)  # similar loudness for every speaker
        start = cursor
        end = start + len(clip) / SAMPLE_RATE
        reference.append(
            {
                "speaker": speaker_key,
                "name": voice["name"],
                "start": round(start, 3),
                "end": round(end, 3),
                "language": language,
                "text": text,
            }
        )
        gap = float(rng.uniform(0.35, 0.95))
        pieces.extend([clip, np.zeros(int(gap * SAMPLE_RATE), dtype=np.float32)])
        cursor = end + int(gap * SAMPLE_RATE) / SAMPLE_RATE
    audio = np.concatenate(pieces)
    noise = rng.normal(0.0, 0.0015, size=audio.shape).astype(np.float32)  # about -56 dBFS room noise
    return np.clip(audio + noise, -1.0, 1.0), reference


def sidecar(script: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """The meeting sidecar: what Graph would tell us about the Teams meeting."""
    people = [
        {"name": v["name"], "email": v["email"]}
        for v in script["speakers"].values()
        if not v.get("organizer")
    ]
    organizer = next(v for v in script["speakers"].values() if v.get("organizer"))
    return {
        "recording_id": script["recording_id"],
        "subject": script["subject"],
        "organizer": {"name": organizer["name"], "email": organizer["email"]},
        "attendees": people,
        "start_time": script["start_time"],
        "duration_s": round(duration_s, 1),
        "join_url": script["join_url"],
        "online_meeting_id": script["online_meeting_id"],
        "locale": script["locale"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for script_path in sorted(SCRIPTS_DIR.glob("*.json")):
            script = json.loads(script_path.read_text(encoding="utf-8"))
            audio, reference = render_call(script, rng, Path(tmp))
            name = script_path.stem
            duration_s = len(audio) / SAMPLE_RATE
            sf.write(args.out / f"{name}.flac", audio, SAMPLE_RATE, subtype="PCM_16")
            meeting = sidecar(script, duration_s)
            (args.out / f"{name}.meeting.json").write_text(
                json.dumps(meeting, indent=2, ensure_ascii=False) + "\n"
            )
            ref = {
                "recording_id": script["recording_id"],
                "duration_s": round(duration_s, 3),
                "turns": reference,
            }
            (args.out / f"{name}.ref.json").write_text(json.dumps(ref, indent=2, ensure_ascii=False) + "\n")
            print(f"{name}: {duration_s:.1f} s, {len(reference)} turns, {len(script['speakers'])} voices")


if __name__ == "__main__":
    main()
