"""The committed evaluation of the insight stage: every figure it shows is computed here, with its target.

Scores the product (the union of rules and heads, plus the call-context refinements for whole calls) on:

* dev (regression; the rules were written with it in view), its ASR-style copy, and four whole dev calls,
* holdout and holdout2 (no longer sealed: part of heads-4's training data since issue 13),
* sealed3 utterances and sealed3 whole calls (``nlp/data/sealed3``, written blind for issue 13): the base
  commit's scores (``bench/results/nlp_sealed3_before.json``, recorded by ``bench/nlp_score.py`` before any
  change) and the final code's (``nlp_sealed3_after.json``, scored once; ``--sealed`` scores a folder again),
* sealed4 to sealed12 (``nlp/data/sealed4..12``, each written blind before the round that follows it): read from
  their scorings, ``bench/results/nlp_sealed{4..9}_before.json``, the final ``nlp_sealed{6..9}_after.json``,
  ``nlp_sealed10_final.json`` (written after that session's last change, scored once with it) and sealed11's
  base and final scorings (``nlp_sealed11_{before,after}.json``) and ``nlp_sealed12_final.json``
  (written after round 5's change, scored once with it);
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

from bench.nlp_eval_history import NOTES, SEEN  # noqa: E402
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
    ("sealed11", ROOT / "bench" / "results" / "nlp_sealed11_before.json", "ccaa5ff (base)"),
    ("sealed11", ROOT / "bench" / "results" / "nlp_sealed11_after.json", "f9f26fd (final)"),
    ("sealed12", ROOT / "bench" / "results" / "nlp_sealed12_final.json", "137a86e (final)"),
)
OPEN_SETS = ("dev", "holdout", "holdout2")
ASR_SEED = 7919
TARGET = 0.85  # risk micro-F1, sentiment macro-F1, action F1
LABEL_TARGET = 0.70  # every risk label's F1
FOUND_TARGET = 0.90  # share of marked whole-call risks found with quote, speaker and time


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
        + f"\n## Reliability of the reported confidence, per label ({scored_once[-1][0]}, final code)\n\n"
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
