"""Aggregate scores of the insight stage on one labelled set: utterances (format 3) and whole calls.

Whole calls are JSON files in the `segments` shape (contracts, section 2: speaker, role, start, end, text), each
segment marked with its "risks" (labels), "action_item" (bool) and "sentiment". A call runs through the
product's ``engine.analyze`` (as ``dealtalk analyze`` does) and is scored per segment:

* a marked risk counts as found when a risk of that label sits on its segment or an adjacent one (index +/- 1,
  since a signal repeated by one speaker is merged onto its first turn) and carries an exact quote from that
  segment, the segment's speaker and times inside the segment ("found with quote, speaker and time");
* precision: a predicted risk is correct when a marked risk of its label sits within +/- 1 segment;
* action items the same way; sentiment per segment (macro-F1 over the three classes).

Only aggregate per-label / per-set / per-language tables leave this module: never a text, a quote or a per-item
error, so it may run over sealed sets. It uses only interfaces the product has had since before issue 13, so
the same file scores the base commit (run it with that worktree's interpreter) and the final code.

Usage: .venv/bin/python bench/nlp_score.py --utterances FILE.jsonl --calls DIR --json OUT.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import InsightsDoc, RiskDoc, TranscriptDoc
from dealtalk.nlp.dataset import RISK_LABELS, read_dataset
from dealtalk.nlp.evaluation import EvalReport, Prf, build_detector, evaluate_utterances

SENTIMENTS = ("negative", "neutral", "positive")
# Confidence bins of the reliability table: [lower, upper).
BINS = ((0.0, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01))


def _bin(confidence: float) -> int:
    return next(i for i, (low, high) in enumerate(BINS) if low <= confidence < high)


def reliability(pairs: Iterable[tuple[str, float, bool]]) -> dict[str, list[list[int]]]:
    """Per label and confidence bin: [predicted, correct] counts (label "all" sums the labels)."""
    table = {label: [[0, 0] for _ in BINS] for label in (*RISK_LABELS, "all")}
    for label, confidence, correct in pairs:
        for key in (label, "all"):
            cell = table[key][_bin(confidence)]
            cell[0] += 1
            cell[1] += int(correct)
    return table


def score_utterances(path: Path, settings: Settings) -> dict[str, Any]:
    """The union's eval-nlp scores on a labelled file, per language too, with the reliability table."""
    utterances = read_dataset(path)
    detector = build_detector(settings, "union")
    report: EvalReport = evaluate_utterances(utterances, detector, variant="union", dataset=path.name)
    result: dict[str, Any] = report.to_json()
    result["by_language"] = {}
    for lang in sorted({u.lang for u in utterances}):
        part = [u for u in utterances if u.lang == lang]
        sub = evaluate_utterances(part, detector, variant="union", dataset=path.name)
        result["by_language"][lang] = {
            "n": sub.n,
            "sentiment_macro_f1": round(sub.sentiment_macro_f1, 4),
            "risk_micro_f1": round(sub.risk_micro.f1, 4),
            "action_f1": round(sub.action.f1, 4),
        }
    findings = detector.detect([u.text for u in utterances], [u.role for u in utterances])
    result["reliability"] = reliability(
        (r.label, r.confidence, r.label in u.risks)
        for u, f in zip(utterances, findings, strict=True)
        for r in f.risks
    )
    return result


def _marks(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The marked segments, in the order ``transcript_from_json`` sorts them (by start, end; stable)."""
    segments = [s for s in raw["segments"] if isinstance(s, dict)]
    return sorted(segments, key=lambda s: (float(s["start"]), float(s["end"])))


def _on_segment(risk: RiskDoc | None, transcript: TranscriptDoc, index: int) -> bool:
    """Quote, speaker and time of a signal all point at segment ``index``."""
    if risk is None or not 0 <= index < len(transcript.segments):
        return False
    segment = transcript.segments[index]
    quoted = bool(risk.quote.strip()) and risk.quote in segment.text
    timed = segment.start - 0.05 <= risk.start <= risk.end <= segment.end + 0.05
    return quoted and timed and risk.speaker == segment.speaker


class CallTally:
    """Counts over whole calls, per label and per language."""

    def __init__(self) -> None:
        self.risk = {
            label: [0, 0, 0, 0] for label in RISK_LABELS
        }  # gold, gold matched, predicted, pred correct
        self.found = {label: [0, 0] for label in RISK_LABELS}  # gold, found with quote/speaker/time
        self.found_by_language: dict[str, list[int]] = {}
        self.action = [0, 0, 0, 0]
        self.sentiment = {label: [0, 0, 0] for label in SENTIMENTS}  # tp, fp, fn
        self.confidence: list[tuple[str, float, bool]] = []
        self.calls = 0
        self.segments = 0
        self.unknown_marks = 0

    def add(self, transcript: TranscriptDoc, insights: InsightsDoc, marks: Sequence[dict[str, Any]]) -> None:
        self.calls += 1
        self.segments += len(marks)
        language = transcript.language if transcript.language in ("nl", "en") else "und"
        by_lang = self.found_by_language.setdefault(language, [0, 0])
        gold: dict[str, set[int]] = {label: set() for label in RISK_LABELS}
        for index, mark in enumerate(marks):
            for label in mark.get("risks") or ():
                if label in gold:
                    gold[label].add(index)
                else:
                    self.unknown_marks += 1
        predicted: dict[str, list[RiskDoc]] = {label: [] for label in RISK_LABELS}
        for risk in insights.risks:
            predicted[risk.type].append(risk)
        for label in RISK_LABELS:
            near = {
                j
                for r in predicted[label]
                for j in (r.segment_index - 1, r.segment_index, r.segment_index + 1)
            }
            tally = self.risk[label]
            tally[0] += len(gold[label])
            tally[1] += sum(1 for i in gold[label] if i in near)
            tally[2] += len(predicted[label])
            for risk in predicted[label]:
                correct = any(abs(risk.segment_index - i) <= 1 for i in gold[label])
                tally[3] += int(correct)
                self.confidence.append((label, risk.confidence, correct))
            for i in gold[label]:
                found = any(
                    abs(r.segment_index - i) <= 1 and _on_segment(r, transcript, r.segment_index)
                    for r in predicted[label]
                )
                self.found[label][0] += 1
                self.found[label][1] += int(found)
                by_lang[0] += 1
                by_lang[1] += int(found)
        gold_actions = {i for i, mark in enumerate(marks) if mark.get("action_item") is True}
        item_rows = [item.segment_index for item in insights.action_items if item.segment_index is not None]
        self.action[0] += len(gold_actions)
        self.action[1] += sum(1 for i in gold_actions if any(abs(i - j) <= 1 for j in item_rows))
        self.action[2] += len(item_rows)
        self.action[3] += sum(1 for j in item_rows if any(abs(i - j) <= 1 for i in gold_actions))
        for mark, sentiment in zip(marks, insights.sentiments, strict=True):
            want = mark.get("sentiment")
            if want not in SENTIMENTS:
                continue
            got = sentiment.label
            if got == want:
                self.sentiment[want][0] += 1
            else:
                self.sentiment[got][1] += 1
                self.sentiment[want][2] += 1

    def to_json(self) -> dict[str, Any]:
        def prf(gold: int, gold_hit: int, pred: int, pred_hit: int) -> dict[str, float | int]:
            precision = pred_hit / pred if pred else 0.0
            recall = gold_hit / gold if gold else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            return {
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
                "support": gold,
            }

        total = [sum(t[i] for t in self.risk.values()) for i in range(4)]
        classes = {k: Prf.of(*v) for k, v in self.sentiment.items()}
        present = [c for c in classes.values() if c.support]
        found_gold = sum(v[0] for v in self.found.values())
        found_hit = sum(v[1] for v in self.found.values())
        return {
            "calls": self.calls,
            "segments": self.segments,
            "unknown_marks": self.unknown_marks,
            "risk": {
                **{k: v for k, v in prf(*total).items() if k != "f1"},
                "micro_f1": prf(*total)["f1"],
                "per_label": {label: prf(*t) for label, t in self.risk.items()},
            },
            "found": {
                "share": round(found_hit / found_gold, 4) if found_gold else 0.0,
                "marked": found_gold,
                "per_label": {k: {"marked": v[0], "found": v[1]} for k, v in self.found.items()},
                "by_language": {
                    k: {"marked": v[0], "found": v[1]} for k, v in self.found_by_language.items()
                },
            },
            "sentiment": {
                "macro_f1": round(sum(c.f1 for c in present) / len(present), 4) if present else 0.0
            },
            "action_items": prf(*self.action),
            "reliability": reliability(self.confidence),
        }


def score_calls(folder: Path, settings: Settings) -> dict[str, Any]:
    """Run every ``*.json`` call in ``folder`` through the product's engine and tally the aggregate scores."""
    from dealtalk.contracts.transcript_json import transcript_from_json
    from dealtalk.nlp.engine import load_engine
    from dealtalk.nlp.protocols import InsightContext

    engine = load_engine(settings)
    tally = CallTally()
    for path in sorted(folder.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
        transcript = transcript_from_json(text, default_call_id=path.stem)
        insights = engine.analyze(transcript, InsightContext())
        tally.add(transcript, insights, _marks(raw))
    return tally.to_json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--utterances", type=Path)
    parser.add_argument("--calls", type=Path)
    parser.add_argument("--json", type=Path, required=True, help="where the aggregate scores go")
    parser.add_argument("--label", default="", help="a note stored with the scores (which code, when)")
    args = parser.parse_args()
    settings = Settings.load()
    scores: dict[str, Any] = {"label": args.label}
    if args.utterances:
        scores["utterances"] = score_utterances(args.utterances, settings)
    if args.calls:
        scores["calls"] = score_calls(args.calls, settings)
    args.json.write_text(json.dumps(scores, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    u, c = scores.get("utterances"), scores.get("calls")
    if u:
        print(
            f"utterances n={u['n']}: risk micro-F1 {u['risk']['micro_f1']:.3f}, sentiment macro-F1 "
            f"{u['sentiment']['macro_f1']:.3f}, action F1 {u['action_items']['f1']:.3f}"
        )
    if c:
        print(
            f"calls {c['calls']} ({c['segments']} segments): risk micro-F1 {c['risk']['micro_f1']:.3f}, risks found "
            f"{c['found']['share']:.1%} of {c['found']['marked']}, "
            f"sentiment macro-F1 {c['sentiment']['macro_f1']:.3f}, "
            f"action F1 {c['action_items']['f1']:.3f}"
        )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
