"""The committed comparison of the insight detectors: lexicon baseline, rules only, heads only, union.

Scores every variant on the dev set, the older held-out set and the sealed held-out set (holdout2), with
per-label P/R/F1 for the union, puts the product's scores from before the nlp2 round next to them
(bench/results/nlp_before_nlp2.json), and writes bench/results/nlp_eval.md. The numbers are those of
`dealtalk eval-nlp FILE --variant V`.

Usage: .venv/bin/python bench/nlp_eval_report.py [--out bench/results/nlp_eval.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dealtalk.nlp.dataset import RISK_LABELS, read_dataset
from dealtalk.nlp.detect import VARIANTS
from dealtalk.nlp.evaluation import EvalReport, build_detector, evaluate_utterances
from dealtalk.pipeline.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SETS = ("dev", "holdout", "holdout2")
BEFORE = ROOT / "bench" / "results" / "nlp_before_nlp2.json"
NOTES = """
## How to read this

Which set was seen when:

| set | n | written | seen while building heads-3 (nlp2) |
|---|---:|---|---|
| train | 1034 | 697 before heads-2, 337 in nlp2 | heads fit on it, rules written from it, CV chose settings |
| dev | 234 | before heads-2 | heads-2 rules debugged on it; in nlp2 aggregate scores only |
| holdout | 128 | after heads-2 was frozen | aggregate scores guided the rule work: **no longer sealed** |
| holdout2 | 291 | in nlp2, before any change | scored once before, once after: **the honest figure** |

* **holdout2** (`nlp/data/holdout2.jsonl`) was written first in the nlp2 round, before any rule, lexicon,
  data or head changed, deliberately unlike the existing files: phone-call fragments with disfluencies, formal
  tender language, blunt customers, indirect Dutch politeness, code-switching, sarcasm, negation, past
  competitors, tenders already won, praise of the price. The "before" rows are the heads-2 product scored on
  it at that point; per-item errors were never looked at. Caveat: the same engineer wrote holdout2, the new
  training utterances and the new patterns, so phrasing habits can leak between them; new patterns were
  written from training utterances and general synonyms, not from holdout2, but no author can un-know a set
  they wrote. A customer's data remains the real test.
* **dev** is optimistic (the heads-2 rules were written with it in view); it stays the regression test for
  the issue's targets.
* The union reads the heads' thresholds plus a margin of 0.10 when a head alone raises a risk, and a rule
  hit for a deal-negative risk on a customer turn makes the turn negative (the labelling guidelines' rule);
  both were chosen on train cross-validation and checked on dev.
* Targets of the issue (sentiment macro-F1 >= 0.80, risk micro-F1 >= 0.85, action F1 >= 0.85) are met on
  dev. On the sealed holdout2 the union went from 0.736 / 0.601 / 0.792 (heads-2) to 0.750 / 0.686 / 0.830
  (heads-3), and rules alone from recall 0.217 to 0.382 at precision 0.77: better, and still short of every
  target on unseen phrasing. Expect a customer's data to score near the holdout2 rows, not the dev rows.
* Tried and not adopted: a one-hidden-layer MLP on the embedding (sentiment: CV macro-F1 0.736 vs 0.711 for
  the plain logistic head, but dev 0.685 vs 0.746; risk, multi-label: CV micro-F1 0.30 vs 0.70) and other
  regularisation strengths (C 1 and 16 for the risk heads, 4 and 64 for the union sentiment head).
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


def before_rows() -> str:
    """The product's scores before the nlp2 round (heads-2), recorded when holdout2 was written."""
    if not BEFORE.is_file():
        return ""
    scores = json.loads(BEFORE.read_text(encoding="utf-8"))["scores"]
    lines = [
        "| set | product | n | sentiment macro-F1 | risk micro-F1 | risk P | risk R | action P | action R "
        "| action F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in SETS:
        for key, label in ((name, "union"), (f"{name}_rules", "rules"), (f"{name}_heads", "heads")):
            if key not in scores:
                continue
            r = scores[key]
            lines.append(
                f"| {name} | heads-2 {label} (before) | {r['n']} | {r['sentiment_macro_f1']:.3f} | "
                f"{r['risk_micro_f1']:.3f} | {r['risk_precision']:.3f} | {r['risk_recall']:.3f} | "
                f"{r['action_precision']:.3f} | {r['action_recall']:.3f} | {r['action_f1']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def per_label(reports: dict[tuple[str, str], EvalReport]) -> str:
    lines = [
        "| label | " + " | ".join(f"{name} P | {name} R | {name} F1 | {name} n" for name in SETS) + " |",
        "|---|" + "---:|" * (4 * len(SETS)),
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
    table, labels, before = headline(reports), per_label(reports), before_rows()
    print(table)
    print(labels)
    args.out.write_text(
        "# Insight detectors compared\n\n"
        "Written by `bench/nlp_eval_report.py`. Variants: `lexicon` (VADER + flat keywords), `rules` (spaCy\n"
        "matcher with vetoes and role scopes; VADER sentiment), `heads` (e5 + linear heads only), `union` (the\n"
        "product: rules united with the heads; sentiment from the head that reads the embedding plus rule and\n"
        "cue features). Heads: `heads-3` (nlp2).\n\n"
        + table
        + "\n## Before the nlp2 round (heads-2 product, scored when holdout2 was written)\n\n"
        + before
        + "\n## Union, per risk label\n\n"
        + labels
        + NOTES,
        encoding="utf-8",
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
