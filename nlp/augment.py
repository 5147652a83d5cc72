"""ASR-style copies of written utterances: how Whisper-like transcripts read on the phone.

Labelled utterances are written with capitals and punctuation; speech as ASR writes it often has neither, with
fillers ("eh", "uh") and a repeated word from a false start. Training on both forms keeps the heads from
leaning on punctuation, and a dev copy in this style measures how much a model depends on it. Deterministic for
a given seed.
"""

from __future__ import annotations

import random
import re

__all__ = ["asr_style"]

_PUNCTUATION = re.compile(r"[.,!?;:\"“”()…]+")
_FILLERS = {"nl": ("eh", "ehm", "nou"), "en": ("uh", "um", "like")}


def asr_style(text: str, lang: str, seed: int) -> str:
    """The utterance lower-cased, without punctuation, with a filler and sometimes a false start.

    Args:
        text: the written utterance.
        lang: "nl" or "en" (which fillers).
        seed: makes the choice of filler and positions reproducible.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible augmentation, not security
    words = _PUNCTUATION.sub(" ", text.replace("’", "'")).lower().split()
    if not words:
        return text
    fillers = _FILLERS.get(lang, _FILLERS["en"])
    position = rng.randrange(len(words))
    words.insert(position, rng.choice(fillers))
    if len(words) > 3 and rng.random() < 0.3:
        # A false start: the first word said twice ("we we hebben").
        words.insert(0, words[0])
    return " ".join(words)
