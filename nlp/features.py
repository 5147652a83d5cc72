"""Hand-made features that the union sentiment head reads next to the e5 embedding.

The embedding captures what an utterance is about; these add what a linear head on ~550 examples cannot learn
from it: which risk rules fired (an objection or a threat is negative for the deal, by the guidelines), a
commitment, a question, polarity cue words with a negator nearby, and sarcasm ("Oh geweldig, weer een
prijsverhoging"). Shape: (FEATURES,) per utterance, values in [0, 1].
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from dealtalk.nlp.dataset import RISK_LABELS
from dealtalk.nlp.rules import RuleMatch
from dealtalk.nlp.text import Sentence, is_question

__all__ = ["FEATURES", "SentimentCues", "load_cues", "utterance_features"]

FEATURES = len(RISK_LABELS) + 6
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True, slots=True)
class SentimentCues:
    positive: frozenset[str]
    negative: frozenset[str]
    negators: frozenset[str]
    sarcasm: tuple[re.Pattern[str], ...]


def load_cues() -> SentimentCues:
    """The bundled polarity cue words and sarcasm patterns (``lexicons/sentiment.json``)."""
    raw = json.loads(resources.files("dealtalk.nlp.lexicons").joinpath("sentiment.json").read_text("utf-8"))
    return SentimentCues(
        positive=frozenset(raw["positive"]),
        negative=frozenset(raw["negative"]),
        negators=frozenset(raw["negators"]),
        sarcasm=tuple(re.compile(p, re.IGNORECASE) for p in raw["sarcasm"]),
    )


def utterance_features(
    text: str, parts: list[Sentence], matched: RuleMatch, in_scope: set[str], cues: SentimentCues
) -> npt.NDArray[np.float32]:
    """The feature vector of one utterance.

    Args:
        text: the utterance.
        parts: its sentences.
        matched: the rule hits in it.
        in_scope: the risk labels whose rule hits count for this speaker's role.
        cues: polarity words and sarcasm patterns.
    """
    vector = np.zeros(FEATURES, dtype=np.float32)
    for hit in matched.risks:
        if hit.label in in_scope:
            vector[RISK_LABELS.index(hit.label)] = 1.0
    n = len(RISK_LABELS)
    words = _WORD.findall(text.lower().replace("’", "'"))
    vector[n] = float(bool(matched.actions))
    vector[n + 1] = float(any(is_question(sentence.text) for sentence in parts))
    vector[n + 2] = min(2, sum(word in cues.positive for word in words)) / 2
    vector[n + 3] = min(2, sum(word in cues.negative for word in words)) / 2
    vector[n + 4] = float(any(pattern.search(text) for pattern in cues.sarcasm))
    vector[n + 5] = float(any(word in cues.negators for word in words))
    return vector
