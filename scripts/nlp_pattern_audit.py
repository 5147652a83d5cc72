"""List the lexicon patterns by the labelled sets they match; flag those that match only held-out sets.

A pattern or veto that matches a held-out utterance and nothing in train or dev was written from the held-out
set; such patterns are removed (issue 13). Prints one row per flagged pattern, then a summary; exit code 1 when
any pattern is flagged. Never run it on a sealed set: it names patterns by the sentences they match.

Usage: .venv/bin/python scripts/nlp_pattern_audit.py [--held-out holdout2] [--all]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dealtalk.nlp.audit import pattern_coverage, unjustified
from dealtalk.nlp.dataset import read_dataset

DATA = Path(__file__).resolve().parents[1] / "nlp" / "data"
SEEN = ("train", "dev")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held-out", nargs="+", default=["holdout", "holdout2"])
    parser.add_argument("--all", action="store_true", help="print every pattern, not only the flagged ones")
    args = parser.parse_args()
    names = (*SEEN, *args.held_out)
    sets = {name: [u.text for u in read_dataset(DATA / f"{name}.jsonl")] for name in names}
    coverage = pattern_coverage(sets)
    flagged = unjustified(coverage, seen=SEEN, held_out=args.held_out)
    rows = coverage if args.all else flagged
    print("| kind | label | pattern | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---:|" * len(names))
    for c in rows:
        print(
            f"| {c.kind} | {c.label} | `{c.pattern}` | " + " | ".join(str(c.matches[n]) for n in names) + " |"
        )
    silent = sum(not any(c.matches.values()) for c in coverage)
    print(
        f"\n{len(coverage)} patterns and vetoes; {len(flagged)} match only {'/'.join(args.held_out)} "
        f"(nothing in {'/'.join(SEEN)}); {silent} match no labelled utterance at all"
    )
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
