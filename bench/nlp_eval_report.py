"""The committed evaluation of the insight stage: every figure it shows is computed here, with its target.

Scores the product (the union of rules and heads, plus the call-context refinements for whole calls) on:

* dev (regression; the rules were written with it in view), its ASR-style copy, and four whole dev calls,
* holdout and holdout2 (no longer sealed: part of heads-4's training data since issue 13),
* sealed3 utterances and sealed3 whole calls (``nlp/data/sealed3``, written blind for issue 13): the base
  commit's scores (``bench/results/nlp_sealed3_before.json``, recorded by ``bench/nlp_score.py`` before any
  change) and the final code's (``nlp_sealed3_after.json``, scored once; ``--sealed`` scores a folder again),
* sealed4 to sealed10 (``nlp/data/sealed4..10``, each written blind before the round that follows it): read from
  their scorings, ``bench/results/nlp_sealed{4..9}_before.json``, the final ``nlp_sealed{6..9}_after.json`` and
  ``nlp_sealed10_final.json`` (written after the last change, scored once with it);
  this report never scores them again.

Also the variants (lexicon baseline, rules only, heads only, union) on dev, a reliability table per label on
sealed3, and which set was seen when. Only aggregate figures: never a sealed text or a per-item error.

Usage: .venv/bin/python bench/nlp_eval_report.py [--out bench/results/nlp_eval.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the bench.* helper modules

from bench.nlp_score import BINS, score_calls, score_utterances  # noqa: E402
from dealtalk.contracts.config import Settings  # noqa: E402
from dealtalk.nlp.augment import asr_style  # noqa: E402
from dealtalk.nlp.dataset import RISK_LABELS, Utterance, read_dataset  # noqa: E402
from dealtalk.nlp.evaluation import VARIANTS, build_detector, evaluate_utterances  # noqa: E402

BEFORE = ROOT / "bench" / "results" / "nlp_sealed3_before.json"
AFTER = ROOT / "bench" / "results" / "nlp_sealed3_after.json"
# Sets scored once by ``bench/nlp_score.py`` (never here): name, its scores, the commit that scored them.
SCORED_ONCE = (
    ("sealed4", ROOT / "bench" / "results" / "nlp_sealed4_before.json", "28fd6bd"),
    ("sealed5", ROOT / "bench" / "results" / "nlp_sealed5_before.json", "82173bd"),
    ("sealed6", ROOT / "bench" / "results" / "nlp_sealed6_before.json", "394b103 (base)"),
    ("sealed6", ROOT / "bench" / "results" / "nlp_sealed6_after.json", "1f08dba (final)"),
    ("sealed7", ROOT / "bench" / "results" / "nlp_sealed7_before.json", "394b103 (base)"),
    ("sealed7", ROOT / "bench" / "results" / "nlp_sealed7_after.json", "87fa0cb (final)"),
    ("sealed8", ROOT / "bench" / "results" / "nlp_sealed8_before.json", "dd75d8c (base)"),
    ("sealed8", ROOT / "bench" / "results" / "nlp_sealed8_after.json", "d215ed7 (final)"),
    ("sealed9", ROOT / "bench" / "results" / "nlp_sealed9_before.json", "f7859fc (base)"),
    ("sealed9", ROOT / "bench" / "results" / "nlp_sealed9_after.json", "0795d8c (final)"),
    ("sealed10", ROOT / "bench" / "results" / "nlp_sealed10_final.json", "05a767d (final)"),
)
OPEN_SETS = ("dev", "holdout", "holdout2")
ASR_SEED = 7919
TARGET = 0.85  # risk micro-F1, sentiment macro-F1, action F1
LABEL_TARGET = 0.70  # every risk label's F1
FOUND_TARGET = 0.90  # share of marked whole-call risks found with quote, speaker and time
SEEN = {
    "dev": "regression set; heads-2 rules debugged on it; since then aggregate scores only",
    "dev, ASR-style copy": "dev re-written by nlp/augment.py (lower case, no punctuation, fillers): robustness",
    "holdout": "unsealed in nlp2; training data of heads-4 (issue 13)",
    "holdout2": "sealed in nlp2, 17 patterns later found written from it and holdout were removed; training "
    "data of heads-4 (issue 13): no longer sealed",
    "dev calls": "4 whole calls written in nlp3 (train style, the rules in view): whole-call regression only",
    "sealed3 utterances": "written blind for issue 13; scored once with the base commit, once with the final code",
    "sealed3 calls": "written blind for issue 13; scored once with the base commit, once with the final code",
    "sealed4 utterances": "written blind on 2026-12-07 after nlp3's code landed; scored once (commit 28fd6bd, "
    "nlp3's final code): unseen figures of the current code, and the base row of the next round",
    "sealed4 calls": "as sealed4 utterances",
    "sealed5 utterances": "written blind on 2026-12-07 (other trades, half ASR-style) while issue 17 landed; "
    "scored once (commit 82173bd: nlp3's code plus the CRM's competitor table in every call's analysis, which "
    "came after sealed4's scoring): the base row of the next round; its per-label aggregates were seen",
    "sealed5 calls": "as sealed5 utterances",
    "sealed6 utterances": "written blind on 2026-12-07 (facility services weighted, half ASR-style) before this "
    "round's changes were scored; scored once with the base NLP code (394b103) and once with the final "
    "(1f08dba: heads-5 with train_blind, engagement as a quiet customer side); aggregates only",
    "sealed6 calls": "as sealed6 utterances",
    "sealed7 utterances": "written blind on 2026-12-07 (half facility services, brief-but-engaged customers) before "
    "the second part of the round; scored once with the base code (394b103) and once with the final (87fa0cb: "
    "heads-6 with train_blind2, engagement with commitments, e5 batches of 512); aggregates only. Its writer's "
    "summary (talk share of its brief-but-engaged calls, 36 and 40 %) was read before the engagement thresholds "
    "were chosen on the training calls",
    "sealed7 calls": "as sealed7 utterances",
    "sealed8 utterances": "written blind on 2026-12-07 (pest control, grounds, parking, managed print, care homes, "
    "housing associations; over half ASR-style) and committed before this round's first change; scored once "
    "with the base code (dd75d8c) and once with the final (heads-7 with train_blind3, a rival named earlier is "
    "'they' later); aggregates only",
    "sealed8 calls": "as sealed8 utterances",
    "sealed9 utterances": "written blind on 2026-12-07 (data-centre, cleanroom and retail night cleaning, patrols, "
    "EV charging, payroll; long neutral stretches in the calls) after sealed8's round and before the next change; "
    "scored once with heads-7 and once with heads-8 (sentiment offsets chosen out of fold on the training data); "
    "aggregates only",
    "sealed9 calls": "as sealed9 utterances",
    "sealed10 utterances": "written blind on 2026-12-07 (hotel housekeeping, airport lounges, laboratories, "
    "telematics; calls with every label in at least 4 calls) after the last change of the session; scored once "
    "with that final code (heads-8): the unseen figures of the code as it stands; aggregates only",
    "sealed10 calls": "as sealed10 utterances",
}


def mark(value: float, target: float) -> str:
    return "met" if value >= target else "**missed**"


def flat(name: str, scores: dict[str, Any], kind: str) -> dict[str, Any]:
    """The headline figures of one set from ``bench/nlp_score.py``'s JSON (utterances or calls)."""
    if kind == "utterances":
        per_label = dict(scores["risk"]["per_label"])
        return {
            "set": name,
            "n": scores["n"],
            "risk": scores["risk"]["micro_f1"],
            "sentiment": scores["sentiment"]["macro_f1"],
            "action": scores["action_items"]["f1"],
            "found": None,
            "per_label": per_label,
        }
    return {
        "set": name,
        "n": scores["segments"],
        "risk": scores["risk"]["micro_f1"],
        "sentiment": scores["sentiment"]["macro_f1"],
        "action": scores["action_items"]["f1"],
        "found": scores["found"]["share"],
        "per_label": scores["risk"]["per_label"],
    }


def headline(rows: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [
        "| set | code | n | risk micro-F1 | target | sentiment macro-F1 | target | action F1 | target "
        "| whole-call risks found | target | labels below 0.70 |",
        "|---|---|---:|---:|---|---:|---|---:|---|---:|---|---:|",
    ]
    for code, row in rows:
        supported = {k: v for k, v in row["per_label"].items() if v["support"]}
        below = sum(1 for v in supported.values() if v["f1"] < LABEL_TARGET)
        found = row["found"]
        found_cells = (
            f"{found:.1%} | ≥ 90 % {mark(found, FOUND_TARGET)}" if found is not None else "— | (utterances)"
        )
        lines.append(
            f"| {row['set']} | {code} | {row['n']} | {row['risk']:.3f} | ≥ 0.85 {mark(row['risk'], TARGET)} | "
            f"{row['sentiment']:.3f} | ≥ 0.85 {mark(row['sentiment'], TARGET)} | {row['action']:.3f} | "
            f"≥ 0.85 {mark(row['action'], TARGET)} | {found_cells} | {below} of {len(supported)} |"
        )
    return "\n".join(lines) + "\n"


def per_label(columns: list[tuple[str, dict[str, Any]]]) -> str:
    head = "| label | " + " | ".join(f"{name} P / R / F1 (n)" for name, _ in columns) + " | target |"
    lines = [head, "|---|" + "---:|" * len(columns) + "---|"]
    for label in RISK_LABELS:
        cells = []
        for _, row in columns:
            prf = row["per_label"][label]
            verdict = "" if not prf["support"] else (" ✓" if prf["f1"] >= LABEL_TARGET else " ✗")
            cells.append(
                f"{prf['precision']:.2f} / {prf['recall']:.2f} / {prf['f1']:.2f}{verdict} ({prf['support']})"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " | F1 ≥ 0.70 |")
    return "\n".join(lines) + "\n"


def by_language(runs: list[tuple[str, dict[str, Any]]], sealed: str = "sealed3") -> str:
    lines = [
        f"| {sealed} part | language | code | n / marked | risk micro-F1 | sentiment macro-F1 | action F1 "
        "| risks found | targets |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for code, scores in runs:
        for lang, row in scores.get("utterances", {}).get("by_language", {}).items():
            lines.append(
                f"| utterances | {lang} | {code} | {row['n']} | {row['risk_micro_f1']:.3f} "
                f"{mark(row['risk_micro_f1'], TARGET)} | {row['sentiment_macro_f1']:.3f} "
                f"{mark(row['sentiment_macro_f1'], TARGET)} | {row['action_f1']:.3f} {mark(row['action_f1'], TARGET)} "
                "| — | ≥ 0.85 each |"
            )
        for lang, row in scores.get("calls", {}).get("found", {}).get("by_language", {}).items():
            share = row["found"] / row["marked"] if row["marked"] else 0.0
            lines.append(
                f"| whole calls | {lang} | {code} | {row['marked']} | — | — | — | {share:.1%} "
                f"{mark(share, FOUND_TARGET)} | ≥ 90 % |"
            )
    return "\n".join(lines) + "\n"


def reliability(scores: dict[str, Any], part: str) -> str:
    table = scores.get(part, {}).get("reliability")
    if not table:
        return ""
    names = [f"[{low:.1f}, {min(high, 1.0):.1f})" for low, high in BINS]
    lines = [
        f"| label ({part}) | " + " | ".join(f"conf {n}: n / precision" for n in names) + " |",
        "|---|" + "---:|" * len(BINS),
    ]
    for label, bins in table.items():
        cells = [f"{n} / {correct / n:.2f}" if n else "0 / —" for n, correct in bins]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def variants(settings: Settings) -> tuple[str, dict[str, Any]]:
    """All four variants on dev; the union on the open sets (as utterance-score dicts)."""
    data = {name: read_dataset(ROOT / "nlp" / "data" / f"{name}.jsonl") for name in OPEN_SETS}
    # dev as ASR writes speech (lower case, no punctuation, fillers, false starts): robustness, not a new set.
    data["dev, ASR-style copy"] = [
        Utterance(
            u.id, u.lang, u.role, asr_style(u.text, u.lang, ASR_SEED + i), u.sentiment, u.risks, u.action_item
        )
        for i, u in enumerate(data["dev"])
    ]
    lines = [
        "| set | variant | n | sentiment macro-F1 | risk micro-F1 | risk P | risk R | action F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    union: dict[str, Any] = {}
    for variant in VARIANTS:
        detector = build_detector(settings, variant)
        for name, utterances in data.items():
            if variant != "union" and not name.startswith("dev"):
                continue
            r = evaluate_utterances(utterances, detector, variant=variant, dataset=name)
            lines.append(
                f"| {name} | {variant} | {r.n} | {r.sentiment_macro_f1:.3f} | {r.risk_micro.f1:.3f} | "
                f"{r.risk_micro.precision:.3f} | {r.risk_micro.recall:.3f} | {r.action.f1:.3f} |"
            )
            if variant == "union":
                union[name] = r.to_json()
    return "\n".join(lines) + "\n", union


NOTES = """
## How the figures are computed

* Utterances: `dealtalk eval-nlp` (each utterance one segment with its role, through the product's detector).
* Whole calls (`bench/nlp_score.py`): each call runs through `engine.analyze` as `dealtalk analyze` does. A
  marked risk is *found* when a risk of its label sits on its segment or an adjacent one and carries an exact
  quote from that segment, the segment's speaker and times inside the segment. Per-label P/R/F1 on calls: a
  marked risk counts as recalled with a prediction of its label within one segment, a prediction as correct with
  a marked risk within one segment. Sentiment per segment; action items within one segment.
* Targets (issue 13): risk micro-F1, sentiment macro-F1 and action F1 ≥ 0.85, every label ≥ 0.70, ≥ 90 % of
  whole-call risks found. "met" / "**missed**" beside every figure; labels with no support are not judged.
* Reliability: predicted risks binned by the confidence the product reports, with the share that was right.

## What changed in issue 13 (chosen on train with cross-validation, checked on dev; never on sealed errors)

* 17 lexicon patterns and vetoes that matched only holdout/holdout2 sentences and nothing in train or dev were
  removed (`scripts/nlp_pattern_audit.py`; a unit test keeps it so).
* heads-4: trained on train + holdout + holdout2, each utterance also as an ASR-style copy (`nlp/augment.py`:
  lower case, no punctuation, a filler, sometimes a false start); per-label thresholds from 5-fold out-of-fold
  F1 with an utterance and its copy in the same fold (fixed seed). On dev's ASR-style copy the union's risk
  micro-F1 went 0.899 -> 0.916 against heads-4 without copies (regression check, not the choice).
* Context over turns for whole calls (`nlp/context.py`): a seller's question and the customer's short answer,
  a rule match across two turns of one speaker, engagement from the customer's pattern over the call (answer
  lengths, talk share, unanswered questions, explicit disinterest) instead of one short turn, and a former
  supplier named once as former stays former in the call.
* Unknown suppliers: organisation-like names in a buying context count as `competitor_mention`
  (`nlp/suppliers.py`); more former-supplier vetoes; polite short answers ("Klinkt goed.", "Sure, speak soon.")
  veto `low_engagement`.
* 15 training utterances (nl, en; 12 positives, 3 hard negatives) and their patterns for the failure kinds the
  issue names with made-up examples: a decision maker abroad, a budget gap ("een gat van twintig mille"),
  "something back for the missed weeks", a location that closes.
* Risks repeated by one speaker merge only with the very next segment; a repetition after another turn keeps
  its own quote, speaker and time.

## What changed in the round scored on sealed6 (2026-12-07)

* `train_blind` (472 utterances, 16 whole calls, written blind to the rules by a helper with its own brief)
  was scored before it was used (current code then: utterances risk 0.769 / sentiment 0.733 / action 0.874;
  calls risk 0.662, 60.2 % found), then became training data: its errors were read, sealed6's never.
* Engagement: a quiet customer side (talk share <= 0.42 and median customer turn <= 7 words, midpoints between
  the disengaged and engaged training calls) is disengaged without question marks, and every evasive customer
  turn of such a call (<= 16 words) is marked. train_blind calls with heads-4: risk 0.662 -> 0.750, found
  60.2 -> 74.2 %.
* heads-5: heads-4's data plus train_blind's utterances and call turns (call-level low_engagement left out).
  Regression check, not a choice: half of train_blind added to heads-4's data scored the other half at risk
  0.736 -> 0.751, sentiment 0.729 -> 0.742, action 0.893 -> 0.911.

## Second part of the round, scored on sealed7 (2026-12-07)

* `train_blind2` (200 utterances, 18 whole calls, written blind) was scored before it was used (utterances risk
  0.808 / sentiment 0.723 / action 0.905; calls risk 0.658, 61.6 % found), then became training data.
* Engagement: a quiet customer side counts as disengaged only when the customer commits to no next step
  (share <= 0.38, median turn <= 10 words, <= 1 customer action item), chosen on the training calls, where a
  brief but decisive customer (40-42 % of the words, 2-3 commitments) was flagged by the first rule; an evasive
  turn keeps its other risks. train_blind2 calls: risk 0.658 -> 0.697, found 61.6 -> 63.0 %.
* e5 in batches of 512 tokens (embedding 239 -> 366 segments/CPU-s); heads-6 trained with the same batching
  on heads-5's data plus train_blind2.
* The sealed7 writer's summary said its two brief-but-engaged calls have 36 % and 40 % customer talk; it was
  read before the engagement thresholds were chosen. The thresholds come from the training calls' midpoints.

## Third round, scored on sealed8 (2026-12-07, later)

* sealed8 (420 utterances, 23 calls) and `train_blind3` (369 utterances, 19 calls) were written blind by two
  helper sessions with their own briefs; sealed8 was committed and scored with the base code before any change.
* `train_blind3` was scored before it was used (utterances risk 0.836 / sentiment 0.809 / action 0.954; calls
  risk 0.713, 73.9 % found, competitor recall 3 of 10), then became training data: heads-7 is heads-6's data
  plus its utterances and call turns.
* A rival named earlier is "they" later (`nlp/context.py`): a customer turn within 6 turns of a current rival
  that says "ze / zij / hun / they / their" with price, offer or comparison talk is a competitor mention. The
  window was chosen over the blind training calls and `calls_dev` (competitor recall 0.667 -> 0.726, precision
  0.833 -> 0.833; windows 2-8 tried).
* On sealed8 the round changed little and not for the better: it is reported as scored, and nothing was chosen
  or reverted by it.

## Fourth round, scored on sealed9 (2026-12-07, later)

* sealed9 (400 utterances, 21 calls, written blind) was committed and scored with heads-7 before the change.
* heads-8: the union sentiment head was trained with balanced class weights, which give the rare positive and
  negative classes the weight of the common neutral one; on train_blind3's calls (training data) a fifth of the
  neutral turns came out positive or negative. Logit offsets per class are now chosen by 5-fold out-of-fold
  macro-F1 over the whole training data in `scripts/train_nlp.py` (neutral +0.7, positive -0.2; out-of-fold
  macro-F1 0.722 -> 0.737). Risk and action heads are unchanged.

## Disclosure

The sealed3 scores of the base commit (including this report's per-label base columns) were seen while the
report code was tested, after the context, supplier and engagement pieces had been written and before the 15
training utterances above were added; those follow the issue's own examples, not sealed3's errors, which were
never printed. Per-item sealed3 errors were never looked at; sealed3 was scored twice (base, final).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # Scoring sealed3 with the final code happened once (nlp3); the report reads that scoring. --sealed scores a
    # set again into --after-json: only for the one "after" scoring of a new round.
    parser.add_argument(
        "--sealed", type=Path, default=None, help="score this sealed folder as the 'after' row"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "nlp_eval.md")
    parser.add_argument("--after-json", type=Path, default=AFTER)
    args = parser.parse_args()
    settings = Settings.load()
    variant_table, union = variants(settings)
    before = json.loads(BEFORE.read_text(encoding="utf-8")) if BEFORE.is_file() else {}
    if args.sealed is None:
        after: dict[str, Any] = json.loads(args.after_json.read_text(encoding="utf-8"))
    else:
        after = {"label": "final code of issue 13 (nlp3)"}
        if (args.sealed / "utterances.jsonl").is_file():
            after["utterances"] = score_utterances(args.sealed / "utterances.jsonl", settings)
        if (args.sealed / "calls").is_dir():
            after["calls"] = score_calls(args.sealed / "calls", settings)
        args.after_json.write_text(json.dumps(after, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    rows: list[tuple[str, dict[str, Any]]] = [
        ("final" if name.startswith("dev") else "final (in training data)", flat(name, scores, "utterances"))
        for name, scores in union.items()
    ]
    dev_calls = flat("dev calls", score_calls(ROOT / "nlp" / "data" / "calls_dev", settings), "calls")
    rows.append(("final", dev_calls))
    columns: list[tuple[str, dict[str, Any]]] = [
        ("dev final", flat("dev", union["dev"], "utterances")),
        ("dev calls final", dev_calls),
    ]
    for part, name in (("utterances", "sealed3 utterances"), ("calls", "sealed3 calls")):
        for code, scores in (("base d964ec8", before), ("final", after)):
            if part in scores:
                row = flat(name, scores[part], part)
                rows.append((code, row))
                columns.append((f"{name} {code.split()[0]}", row))
    scored_once = [
        (name, json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}, code)
        for name, path, code in SCORED_ONCE
    ]
    for set_name, scores, code in scored_once:
        for part in ("utterances", "calls"):
            if part in scores:
                row = flat(f"{set_name} {part}", scores[part], part)
                rows.append((f"{code} (scored once)", row))
                columns.append((f"{set_name} {part} {code.split()[0]}", row))
    seen = "| set | seen when |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in SEEN.items())
    text = (
        "# Insight stage evaluated (issue 13)\n\n"
        "Written by `bench/nlp_eval_report.py`; every figure below is computed by it (sealed3's base row from\n"
        "`bench/results/nlp_sealed3_before.json`, written by `bench/nlp_score.py` with the base commit's code).\n\n"
        "## Per set, with the targets\n\n"
        + headline(rows)
        + "\n## Which set was seen when\n\n"
        + seen
        + "\n## Per risk label (union; whole calls with the context refinements)\n\n"
        + per_label(columns)
        + "\n## sealed3 per language\n\n"
        + by_language([("base", before), ("final", after)])
        + "".join(
            f"\n## {set_name} per language (scored once, commit {code})\n\n"
            + by_language([(code, scores)], set_name)
            for set_name, scores, code in scored_once
        )
        + "\n## Reliability of the reported confidence, per label (sealed10, final code)\n\n"
        + reliability(scored_once[-1][1], "utterances")
        + "\n"
        + reliability(scored_once[-1][1], "calls")
        + "\n## Variants on dev (lexicon baseline, rules only, heads only, union) and the union on the open sets\n\n"
        + variant_table
        + NOTES
    )
    args.out.write_text(text, encoding="utf-8")
    print(headline(rows))
    print(per_label(columns))
    print(f"wrote {args.out}" + (f" and {args.after_json}" if args.sealed is not None else ""))


if __name__ == "__main__":
    main()
