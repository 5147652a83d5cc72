"""Speed and memory of the speech stage on CPU: x real time per step and end to end, peak RSS, and plain
faster-whisper (same base model, same audio) in the same run as the reference.

Each measurement runs in its own child process, so that its peak RSS (``ru_maxrss``) is its own: the product
(``load_transcriber`` + ``SpeechEngine.transcribe_timed``, model load excluded from the timings, the file processed
``--runs`` times after one load), plain ``faster_whisper.WhisperModel.transcribe`` (beam 5, Silero VAD filter,
word timestamps, the same CTranslate2 thread count and int8 weights), and decode + VAD alone on a 3-hour file to
check that memory stays bounded. Steps come from ``SpeechRun.timings``: decode, vad, diarization, language, asr,
alignment (guards, word-to-speaker assignment, naming, composition).

Usage: HF_HUB_OFFLINE=1 .venv/bin/python bench/speech_speed.py [--quick] [--runs 3]
       [--out bench/results/speech_speed.md]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the bench.* helper modules

from bench.speech_common import eight_speaker_lines, host_facts, load_engine, temp_dir  # noqa: E402
from bench.speech_synth import VOICES, Line, render_call, script_lines, write_call  # noqa: E402

STEPS = ("decode", "vad", "diarization", "language", "asr", "alignment")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def child_engine(path: Path, speakers: int, language: str, runs: int, data_dir: Path) -> dict[str, Any]:
    from dealtalk.transcription.protocols import CallContext

    started = time.perf_counter()
    engine, _ = load_engine(data_dir)
    load_s = time.perf_counter() - started
    rss_loaded = _peak_rss_mb()
    totals, timings, duration = [], [], 0.0
    for i in range(runs):
        t = time.perf_counter()
        run = engine.transcribe_timed(
            path, CallContext(call_id=f"speed-{i}", language=language, num_speakers=speakers)
        )
        totals.append(time.perf_counter() - t)
        timings.append(run.timings)
        duration = run.doc.duration_s
    return {
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "totals": totals,
        "timings": timings,
        "duration_s": duration,
        "rss_mb": _peak_rss_mb(),
    }


def child_plain(path: Path, language: str, runs: int) -> dict[str, Any]:
    from faster_whisper import WhisperModel

    from dealtalk.contracts.config import Settings
    from dealtalk.models.device import plan_device
    from dealtalk.models.registry import ModelRegistry

    settings = Settings.load()
    registry = ModelRegistry(settings)
    plan = plan_device(settings.speech)
    folder = registry.resolve("asr", settings.speech.asr_model).path
    model = WhisperModel(
        str(folder), device="cpu", compute_type=plan.compute_type, cpu_threads=plan.cpu_threads
    )
    totals, duration = [], 0.0
    for _ in range(runs):
        t = time.perf_counter()
        segments, info = model.transcribe(
            str(path), language=language, beam_size=5, vad_filter=True, word_timestamps=True
        )
        list(segments)
        totals.append(time.perf_counter() - t)
        duration = float(info.duration)
    return {"totals": totals, "duration_s": duration, "rss_mb": _peak_rss_mb()}


def child_decode_vad(path: Path) -> dict[str, Any]:
    from dealtalk.transcription.audio import decode_audio
    from dealtalk.transcription.vad import SileroVad, speech_regions

    vad = SileroVad()
    rss_before = _peak_rss_mb()
    t = time.perf_counter()
    audio = decode_audio(path, max_duration_s=4 * 3600.0)
    decode_s = time.perf_counter() - t
    t = time.perf_counter()
    regions = speech_regions(vad.probabilities(audio.samples), len(audio.samples))
    vad_s = time.perf_counter() - t
    return {
        "duration_s": audio.duration_s,
        "decode_s": decode_s,
        "vad_s": vad_s,
        "regions": len(regions),
        "samples_mb": audio.samples.nbytes / 2**20,
        "rss_before_mb": rss_before,
        "rss_mb": _peak_rss_mb(),
    }


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def long_lines(minutes: float) -> list[Line]:
    """English lines for a long four-speaker call of about ``minutes`` (about 6 s a line with its gap)."""
    lines = eight_speaker_lines(int(minutes * 60 / 6.0), seed=7)
    return [Line(f"p{int(line.speaker[1:]) % 4}", "en", line.text) for line in lines]


def _x(duration: float, seconds: float) -> str:
    return f"{duration / seconds:.1f}×" if seconds > 0 else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short call only, 30-minute decode+VAD check")
    parser.add_argument("--runs", type=int, default=3, help="runs per file after one load (median reported)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "speech_speed.md")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    host = host_facts()  # the commit as the run starts: the code every figure below ran on
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "engine":
            out = child_engine(Path(rest[0]), int(rest[1]), rest[2], int(rest[3]), Path(rest[4]))
        elif kind == "plain":
            out = child_plain(Path(rest[0]), rest[1], int(rest[2]))
        else:
            out = child_decode_vad(Path(rest[0]))
        print(json.dumps(out))
        return

    rows: list[str] = []
    e2e: list[tuple[str, float, float, float, float]] = []  # name, e2e x, diar x, rss, plain x
    with temp_dir() as tmp:
        folder = Path(tmp)
        en = script_lines("en")
        short_call = render_call("call-2spk", en, VOICES[:2], folder, seed=11)
        files = [(write_call(short_call, folder), 2, args.runs)]
        if not args.quick:
            long_call = render_call("long-4spk", long_lines(10.0), VOICES[:4], folder, seed=12)
            files.append((write_call(long_call, folder), 4, 1))
        for path, speakers, runs in files:
            print(f"{path.name}: product x{runs} ...", flush=True)
            eng = _child("engine", str(path), str(speakers), "en", str(runs), str(folder / "data"))
            print(f"{path.name}: plain faster-whisper x{runs} ...", flush=True)
            plain = _child("plain", str(path), "en", str(runs))
            duration = float(eng["duration_s"])
            total = statistics.median(eng["totals"])
            steps = {s: statistics.median(t.get(s, 0.0) for t in eng["timings"]) for s in STEPS}
            plain_total = statistics.median(plain["totals"])
            cells = " | ".join(f"{_x(duration, steps[s])} ({steps[s]:.1f} s)" for s in STEPS)
            rows.append(
                f"| {path.name} | {duration / 60:.1f} min, {speakers} spk | {runs} | {cells} | "
                f"**{_x(duration, total)}** ({total:.1f} s) | {eng['rss_mb']:.0f} MB "
                f"(after load {eng['rss_loaded_mb']:.0f}) | {eng['load_s']:.1f} s | "
                f"{_x(duration, plain_total)} ({plain_total:.1f} s), {plain['rss_mb']:.0f} MB |"
            )
            e2e.append(
                (
                    path.name,
                    duration / total,
                    duration / steps["diarization"],
                    eng["rss_mb"],
                    duration / plain_total,
                )
            )
            print(rows[-1], flush=True)
        base = files[-1][0]
        hours = 0.5 if args.quick else 3.0
        big = folder / "long-repeat.flac"
        # sox repeats the generated call end to end into one long file (FLAC: about 40 MB an hour).
        repeats = max(0, round(hours * 3600 / _duration(base)) - 1)
        subprocess.run(["sox", str(base), str(big), "repeat", str(repeats)], check=True)
        print(f"{big.name}: decode + VAD ...", flush=True)
        dv = _child("decode-vad", str(big))
    worst_e2e = min(x[1] for x in e2e)
    worst_diar = min(x[2] for x in e2e)
    worst_ratio = max(x[4] / x[1] for x in e2e)  # plain faster-whisper's speed over the product's
    worst_rss = max([x[3] for x in e2e] + [dv["rss_mb"]])

    def status(ok: bool) -> str:
        return "met" if ok else "**not met**"

    text = "\n".join(
        [
            "# Speech speed benchmark",
            "",
            f"`bench/speech_speed.py{' --quick' if args.quick else ''} --runs {args.runs}` — {host}.",
            "",
            "## Targets (whisper-base int8, 2 CPU cores; worst file of this run)",
            "",
            "| target | measured | target | status |",
            "|---|---|---|---|",
            f"| ASR + diarization end to end | {worst_e2e:.1f}× real time | ≥ 10× (issue 18) | "
            f"{status(worst_e2e >= 10)} |",
            f"| product as fast as plain faster-whisper (its speed / the product's) | {worst_ratio:.2f} | ≤ 1.00 | "
            f"{status(worst_ratio <= 1.0)} |",
            f"| diarization alone | {worst_diar:.1f}× real time | ≥ 15× | {status(worst_diar >= 15)} |",
            f"| peak RSS (whole process, models included) | {worst_rss:.0f} MB | ≤ 2048 MB | "
            f"{status(worst_rss <= 2048)} |",
            "",
            "## Per step (median of runs; x real time, seconds)",
            "",
            "| file | audio | runs | decode | VAD | diarization | language | ASR | alignment | end to end | "
            "peak RSS | model load | plain faster-whisper |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Plain faster-whisper / product end-to-end speed: "
            + ", ".join(f"{name}: {p / e:.2f}" for name, e, _, _, p in e2e)
            + " (above 1: plain faster-whisper is faster; it does no diarization).",
            "",
            "## Long file: decode + VAD memory",
            "",
            f"{dv['duration_s'] / 3600:.2f} h of audio (the generated call repeated with sox, FLAC): decode "
            f"{_x(dv['duration_s'], dv['decode_s'])} ({dv['decode_s']:.0f} s), VAD {_x(dv['duration_s'], dv['vad_s'])} "
            f"({dv['vad_s']:.0f} s), {dv['regions']} speech regions. The samples take {dv['samples_mb']:.0f} MB; "
            f"peak RSS {dv['rss_mb']:.0f} MB (before decoding, VAD model loaded: {dv['rss_before_mb']:.0f} MB).",
            "",
            "## Method",
            "",
            "- Every figure comes from a child process of its own; peak RSS is that process's `ru_maxrss`.",
            "- Product: default speech settings (whisper-base int8, beam 5, batch 8, Silero VAD, segmentation-3.0 +",
            "  CAM++ at step 0.5, 1 torch thread), speaker count and language (en) given; model load excluded from x",
            "  real time and shown apart. Steps are `SpeechRun.timings`.",
            "- Plain faster-whisper: `WhisperModel(same folder, int8, same cpu_threads)`,",
            "  `.transcribe(file, language='en',",
            "  beam_size=5, vad_filter=True, word_timestamps=True)`, sequential (its default), segments consumed.",
            "- The host is shared with other engineers' jobs; the load average above says how busy it was.",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


def _duration(path: Path) -> float:
    import soundfile as sf

    return float(sf.info(str(path)).duration)


if __name__ == "__main__":
    main()
