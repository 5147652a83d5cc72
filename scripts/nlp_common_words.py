"""Write nlp/lexicons/common_words.json: words of train and dev that are written in lower case somewhere.

The supplier-name finder (nlp/suppliers.py) takes a capitalised word for a name only when it is not a common
word; this list adds the trade's vocabulary to spaCy's stop words. A word seen only capitalised (a name) stays
out, and so do the configured competitor names. Only train and dev are read.

Usage: .venv/bin/python scripts/nlp_common_words.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from dealtalk.contracts.config import Settings
from dealtalk.nlp.dataset import read_dataset

ROOT = Path(__file__).resolve().parents[1]
WORD = re.compile(r"[^\W\d_][\w'-]*")


def main() -> None:
    texts = [
        u.text for name in ("train", "dev") for u in read_dataset(ROOT / "nlp" / "data" / f"{name}.jsonl")
    ]
    names = {part.lower() for name in Settings.load().nlp.competitors for part in name.split()}
    words = sorted({w for text in texts for w in WORD.findall(text) if w == w.lower()} - names)
    out = ROOT / "nlp" / "lexicons" / "common_words.json"
    payload = {"_format": __doc__.splitlines()[0] if __doc__ else "", "words": words}
    out.write_text(json.dumps(payload, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(words)} words)")


if __name__ == "__main__":
    main()
