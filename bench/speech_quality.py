"""Quality of the speech stage: WER, DER, word-to-speaker accuracy, and words invented on non-speech.

Every case goes through the product itself: ``load_transcriber`` (registry, whisper-base int8, beam 5, Silero VAD,
pyannote segmentation-3.0 + CAM++) and ``SpeechEngine.process``; DER is scored on the very diarization that
call used. The speaker count is given (Teams knows the attendees) and so is the language where the meeting
locale would give it (not for the mixed call). Metric definitions: ``bench/speech_metrics.py``.

Usage: HF_HUB_OFFLINE=1 .venv/bin/python bench/speech_quality.py [--quick] [--out bench/results/speech_quality.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the bench.* helper modules

from bench.speech_common import generated_calls as make_generated  # noqa: E402
from bench.speech_common import host_facts, load_engine, temp_dir  # noqa: E402
from bench.speech_metrics import (  # noqa: E402
    TimedWord,
    Turn,
    WordErrors,
    diarization_error_rate,
    normalise,
    word_errors,
    word_speaker_accuracy,
)
from bench.speech_synth import (  # noqa: E402
    BENCH_PACKAGES,
    Call,
    asterisk_call,
    fillets_call,
    missing_packages,
    non_speech,
    write_call,
)
from dealtalk.pipeline.documents import TranscriptDoc  # noqa: E402
from dealtalk.transcription.engine import SpeechEngine  # noqa: E402
from dealtalk.transcription.protocols import CallContext  # noqa: E402

NON_SPEECH = ("silence", "white-noise", "pink-noise", "music", "hold-tone")


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    group: str  # "generated", "real" or "non-speech"
    language: str
    duration_s: float
    speakers: int
    found_speakers: int
    errors: WordErrors | None
    der: float | None
    word_accuracy: float | None
    scored_words: int
    words: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    group: str
    path: Path
    language: str
    reference: tuple[Turn, ...]
    text: str  # the whole reference transcript in time order ("" when there is none)


def _doc_words(doc: TranscriptDoc) -> tuple[list[str], list[TimedWord], list[Turn]]:
    texts = [w.word for s in doc.segments for w in s.words]
    words = [TimedWord(w.start, w.end, w.speaker) for s in doc.segments for w in s.words]
    segments = [Turn(s.start, s.end, s.speaker) for s in doc.segments]
    return texts, words, segments


def run_case(engine: SpeechEngine, recorder_last: object, case: Case) -> Result:
    from bench.speech_common import RecordingDiarizer

    speakers = len({t.speaker for t in case.reference})
    context = CallContext(
        call_id=case.name,
        language=case.language if case.language in ("en", "nl") else None,
        num_speakers=speakers or None,
    )
    assert isinstance(recorder_last, RecordingDiarizer)
    recorder_last.last = None
    started = time.perf_counter()
    run = engine.process(case.path, context)
    seconds = time.perf_counter() - started
    doc = run.doc
    hyp_texts, words, segments = _doc_words(doc)
    errors = der = accuracy = None
    scored = 0
    if case.text:
        lang = "nl" if case.language == "nl" else "en"
        errors = word_errors(normalise(case.text, lang), normalise(" ".join(hyp_texts), lang))
    if case.reference:
        diarization = recorder_last.last
        hyp: list[Turn] = (
            [Turn(t.start, t.end, str(t.speaker)) for t in diarization.turns] if diarization else []
        )
        der = diarization_error_rate(case.reference, hyp, doc.duration_s)
        accuracy, scored = word_speaker_accuracy(case.reference, segments, words, doc.duration_s)
    return Result(
        name=case.name,
        group=case.group,
        language=case.language,
        duration_s=doc.duration_s,
        speakers=speakers,
        found_speakers=len(doc.speakers),
        errors=errors,
        der=der,
        word_accuracy=None if accuracy is None or math.isnan(accuracy) else accuracy,
        scored_words=scored,
        words=len(hyp_texts),
        seconds=seconds,
    )


def _case(call: Call, group: str, folder: Path) -> Case:
    ordered = sorted(zip(call.turns, call.texts, strict=True), key=lambda pair: pair[0].start)
    text = " ".join(line for _, line in ordered)
    return Case(call.name, group, write_call(call, folder), call.language, call.turns, text)


def pyannote_sample() -> Case | None:
    """pyannote's real 2-speaker sample with its RTTM and STM transcript (shipped in the pyannote.audio wheel)."""
    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "sample"
    wav, rttm, stm = folder / "sample.wav", folder / "sample.rttm", folder / "sample.stm"
    if not wav.is_file() or not rttm.is_file():
        return None
    lines = []  # STM: file channel speaker start end text...
    for row in stm.read_text().splitlines() if stm.is_file() else []:
        f = row.split(maxsplit=5)
        if len(f) == 6:
            lines.append((float(f[3]), f[5]))
    turns = []
    for row in rttm.read_text().splitlines():
        f = row.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            turns.append(Turn(float(f[3]), float(f[3]) + float(f[4]), f[7]))
    text = " ".join(line for _, line in sorted(lines))
    return Case("real-en-pyannote-sample", "real", wav, "en", tuple(turns), text)


def all_cases(folder: Path, *, quick: bool) -> list[Case]:
    cases = [_case(call, "generated", folder) for call in make_generated(folder, quick=quick)]
    missing = missing_packages()
    if missing:
        print(
            f"real-speech packages missing ({', '.join(missing)}): skipping the Fish Fillets and Asterisk cases.\n"
            f"  install them with: bash scripts/setup.sh --dev --bench   "
            f"(or: sudo apt-get install {' '.join(BENCH_PACKAGES)})",
            file=sys.stderr,
        )
    else:
        cases.append(
            _case(fillets_call("real-nl-fillets-2spk", 60 if quick else 180, folder), "real", folder)
        )
        cases.append(
            _case(asterisk_call("real-en-asterisk-8k", 45 if quick else 120, folder), "real", folder)
        )
    sample = pyannote_sample()
    if sample is not None:
        cases.append(sample)
    for kind in NON_SPEECH[:2] if quick else NON_SPEECH:
        cases.append(Case(f"none-{kind}", "non-speech", non_speech(kind, 60.0, folder), "en", (), ""))
    return cases


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def report(results: list[Result], host: str, quick: bool) -> str:
    gen_en = [r for r in results if r.group == "generated" and r.language == "en" and r.errors]
    pooled = sum((r.errors for r in gen_en if r.errors), WordErrors(0, 0, 0, 0))
    clean = [r for r in gen_en if "noise" not in r.name and "tel" not in r.name]
    pooled_clean = sum((r.errors for r in clean if r.errors), WordErrors(0, 0, 0, 0))
    diarized = [r for r in results if r.group == "generated" and r.der is not None]
    two = [r for r in diarized if r.speakers == 2]
    eight = [r for r in diarized if r.speakers == 8]
    acc_rows = [r for r in results if r.group == "generated" and r.word_accuracy is not None]
    scored = sum(r.scored_words for r in acc_rows)
    pooled_acc = sum((r.word_accuracy or 0.0) * r.scored_words for r in acc_rows) / scored if scored else None
    silent = [r for r in results if r.group == "non-speech"]
    worst_silent = max((r.words for r in silent), default=0)

    def status(ok: bool) -> str:
        return "met" if ok else "**not met**"

    der_max = max((r.der or 0.0 for r in diarized), default=0.0)
    rows = [
        ("English WER, all generated calls (pooled)", _pct(pooled.wer), "≤ 8 %", status(pooled.wer <= 0.08)),
        (
            "English WER, generated calls without added noise or phone band",
            _pct(pooled_clean.wer),
            "≤ 8 %",
            status(pooled_clean.wer <= 0.08),
        ),
        ("DER, generated calls, worst case (count given)", _pct(der_max), "≤ 5 %", status(der_max <= 0.05)),
        *[
            (f"DER, {r.name} ({r.speakers} speakers)", _pct(r.der), "≤ 5 %", status((r.der or 0) <= 0.05))
            for r in two + eight
        ],
        (
            "words to the right speaker, generated (pooled)",
            _pct(pooled_acc),
            "≥ 98 %",
            status(pooled_acc is not None and pooled_acc >= 0.98),
        ),
        ("words on 60 s non-speech, worst case", str(worst_silent), "0", status(worst_silent == 0)),
    ]
    out = [
        "# Speech quality benchmark",
        "",
        f"`bench/speech_quality.py{' --quick' if quick else ''}` — {host}.",
        "",
        "Product path: `load_transcriber(Settings)` with default speech settings (whisper-base int8, beam 5,",
        "Silero VAD,",
        "segmentation-3.0 + CAM++ at step 0.5, voiceprints off), `SpeechEngine.process` per file; speaker count given;",
        "language given as the meeting locale would (en / nl), auto for the mixed call.",
        "",
        "## Targets",
        "",
        "| target | measured | target | status |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "## Per case",
        "",
        "| case | group | lang | audio s | speakers (found) | WER | S/D/I of ref words | DER | word→speaker "
        "(scored) | words | x real time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        e = r.errors
        sdi = f"{e.substitutions}/{e.deletions}/{e.insertions} of {e.reference_words}" if e else "–"
        out.append(
            f"| {r.name} | {r.group} | {r.language} | {r.duration_s:.1f} | {r.speakers} ({r.found_speakers}) | "
            f"{_pct(e.wer) if e else '–'} | {sdi} | {_pct(r.der)} | {_pct(r.word_accuracy)} ({r.scored_words}) | "
            f"{r.words} | {r.duration_s / r.seconds:.1f}× |"
        )
    out += ["", *METHOD]
    return "\n".join(out) + "\n"


METHOD = [
    "## Method",
    "",
    "- Generated calls: the bundled dialogue scripts (`ingest/samples/scripts`) spoken by espeak-ng voices, each turn",
    "  trimmed of espeak's silence so reference turns start and end with the sound; gaps 0.35–1.2 s; `overlap` calls",
    "  start every 4th turn 0.8 s before the previous one ends; `noise` = white noise at 15 dB SNR; `tel8k` = 8 kHz",
    "  WAV band-limited to 300–3400 Hz (sox) at 25 dB SNR; the 8-speaker call re-assigns English lines to 8 voices.",
    "- Real speech: Fish Fillets NG Dutch dialogue (small fish `-m-` / big fish `-v-` lines, alternating, silence",
    "  trimmed, text from `dialogs_nl.lua`), Asterisk English 8 kHz prompts (one voice, text from",
    "  `core-sounds-en.txt`, prompts of at least 4 words), pyannote's `sample.wav` with its `sample.rttm` (turns)",
    "  and `sample.stm` (transcript). Reference turns of concatenated clips span each whole clip, so pauses inside a",
    "  line count as speech in the reference.",
    "- WER: corpus WER (edits / reference words) after normalisation: NFKC, lower case, digits spelled out in the",
    "  call's language, hyphens split, punctuation dropped. No reference was edited to match the output.",
    "- DER: pyannote.metrics over the whole recording (UEM = [0, duration]), collar 0, overlap scored, on the",
    "  overlap-aware turns the engine's diarizer returned.",
    "- Word→speaker: words whose midpoint lies in exactly one reference turn; transcript speakers mapped to reference",
    "  speakers by pyannote's optimal mapping of the transcript's segments.",
    "- Non-speech: 60 s each made with sox (silence, white noise, pink noise, plucked C–Am–F–G chords, 425 Hz hold",
    "  tone 1 s on / 4 s off); the figure is the number of words in the transcript.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter cases (a few minutes)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "speech_quality.md")
    args = parser.parse_args()
    with temp_dir() as tmp:
        folder = Path(tmp)
        cases = all_cases(folder, quick=args.quick)
        engine, recorder = load_engine(folder / "data")
        results = []
        for case in cases:
            result = run_case(engine, recorder, case)
            results.append(result)
            print(
                f"{result.name:30s} {result.duration_s:7.1f} s  "
                f"WER {_pct(result.errors.wer if result.errors else None):>8s}"
                f"  DER {_pct(result.der):>8s}  word→spk {_pct(result.word_accuracy):>8s}  words {result.words:5d}"
                f"  {result.duration_s / result.seconds:5.1f}x",
                flush=True,
            )
    text = report(results, host_facts(), args.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
