"""The committed comparison of the insight detectors: lexicon baseline, rules only, heads only, union.

Scores every variant on the dev set and on the held-out set (written after the rules, heads and thresholds
were frozen, and never used to choose anything), with per-label P/R/F1 for the union, and writes
bench/results/nlp_eval.md. The numbers are those of `dealtalk eval-nlp FILE --variant V`.

Usage: .venv/bin/python bench/nlp_eval_report.py [--out bench/results/nlp_eval.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dealtalk.nlp.dataset import RISK_LABELS, read_dataset
from dealtalk.nlp.detect import VARIANTS
from dealtalk.nlp.evaluation import EvalReport, build_detector, evaluate_utterances
from dealtalk.pipeline.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SETS = ("dev", "holdout")
NOTES = """
## How to read this

* **dev** (234 utterances) is split from the same pool as train. The rules and lexicons were written and
  debugged with train *and* dev in view, and the union's fusion choices were made looking at dev errors, so
  dev scores are optimistic: read them as "the product does what its labelled set says".
* **holdout** (128 utterances, `nlp/data/holdout.jsonl`) was written after every model, rule and threshold
  was frozen, and scored once for this report; nothing was changed after seeing it. It is the honest figure
  for new phrasing. One change came after its first scoring: the action-item verb "ga" ("ik ga") was
  dropped as too broad (a demo call showed "Ik ga vanaf januari naar Utrecht" as a next step), and the heads
  were retrained; the table is the re-score. (An earlier held-out set of 146 utterances revealed the gap
  between dev and unseen data; it was then folded into train, and this second one was written.)
* On unseen phrasing the rules alone catch few risks (micro-F1 about 0.3: high precision, low recall), the
  heads carry the recall, and the union is best for risks. For sentiment the union head (embedding plus rule
  and cue features) beat the plain head on dev but not on the holdout; the difference there is a few
  utterances of 128, not significant, and the union head stays the product's choice.
* Targets of the issue (sentiment macro-F1 >= 0.80, risk micro-F1 >= 0.85, action F1 >= 0.85) are met on dev;
  on the holdout, risk (0.81) and sentiment (0.70) fall short, action items (0.92) meet it.
"""


def headline(reports: dict[tuple[str, str], EvalReport]) -> str:
    lines = [
        "| set | variant | n | sentiment macro-F1 | risk micro-F1 | risk P | risk R | action P | action R "
        "| action F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in SETS:
        for variant in VARIANTS:
            r = reports[(name, variant)]
            lines.append(
                f"| {name} | {variant} | {r.n} | {r.sentiment_macro_f1:.3f} | {r.risk_micro.f1:.3f} | "
                f"{r.risk_micro.precision:.3f} | {r.risk_micro.recall:.3f} | {r.action.precision:.3f} | "
                f"{r.action.recall:.3f} | {r.action.f1:.3f} |"
            )
    return "\n".join(lines) + "\n"


def per_label(reports: dict[tuple[str, str], EvalReport]) -> str:
    lines = [
        "| label | dev P | dev R | dev F1 | dev n | holdout P | holdout R | holdout F1 | holdout n |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in RISK_LABELS:
        cells = []
        for name in SETS:
            prf = reports[(name, "union")].risk_per_label[label]
            cells += [f"{prf.precision:.2f}", f"{prf.recall:.2f}", f"{prf.f1:.2f}", str(prf.support)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "nlp_eval.md")
    args = parser.parse_args()
    settings = Settings.load()
    data = {name: read_dataset(ROOT / "nlp" / "data" / f"{name}.jsonl") for name in SETS}
    reports: dict[tuple[str, str], EvalReport] = {}
    for variant in VARIANTS:
        detector = build_detector(settings, variant)
        for name, utterances in data.items():
            reports[(name, variant)] = evaluate_utterances(
                utterances, detector, variant=variant, dataset=name
            )
    table, labels = headline(reports), per_label(reports)
    print(table)
    print(labels)
    args.out.write_text(
        "# Insight detectors compared\n\n"
        "Written by `bench/nlp_eval_report.py`. Variants: `lexicon` (VADER + flat keywords), `rules` (spaCy\n"
        "matcher with vetoes and role scopes; VADER sentiment), `heads` (e5 + linear heads only), `union` (the\n"
        "product: rules united with the heads; sentiment from the head that reads the embedding plus rule and\n"
        "cue features).\n\n" + table + "\n## Union, per risk label\n\n" + labels + NOTES,
        encoding="utf-8",
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
