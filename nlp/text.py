"""Small text helpers shared by the insight steps: sentences, words, questions, noise.

Whisper output is punctuated but noisy: fillers ("eh", "uh"), bracketed noise tags ("[muziek]", "(laughs)"),
emoji and music notes. Words are counted without those, so talking speed and summaries are not inflated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Sentence", "clean_text", "is_question", "sentences", "word_count", "words"]

_NOISE = re.compile(r"\[[^\]]*\]|\([^)]*\)|[\u2600-\u27bf\U0001f000-\U0001faff\u266a\u266b]")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_FILLERS = frozenset({"eh", "ehm", "uh", "uhm", "um", "hmm", "mm", "mmm", "ah", "oh"})
# A sentence ends at . ! ? … followed by space, or at the end of the text.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_QUESTION_START = frozenset(
    # Dutch interrogatives and verb-first questions, then English.
    [
        "wat",
        "wie",
        "waar",
        "wanneer",
        "hoe",
        "waarom",
        "welke",
        "welk",
        "hoeveel",
        "waarmee",
        "kunt",
        "kun",
        "kunnen",
        "kan",
        "heeft",
        "hebben",
        "heb",
        "is",
        "zijn",
        "gaat",
        "gaan",
        "wilt",
        "wil",
        "zou",
        "zouden",
        "moet",
        "moeten",
        "mag",
        "klopt",
        "bent",
        "ben",
        "doen",
        "doet",
        "what",
        "who",
        "where",
        "when",
        "how",
        "why",
        "which",
        "can",
        "could",
        "would",
        "will",
        "do",
        "does",
        "did",
        "are",
        "should",
        "shall",
        "have",
        "has",
        "may",
    ]
)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a segment: its text and character offsets in the segment's text."""

    text: str
    start: int
    end: int


def clean_text(text: str) -> str:
    """The text without noise tags, emoji and repeated whitespace."""
    return " ".join(_NOISE.sub(" ", text).split())


def words(text: str) -> list[str]:
    """The words of a text, noise tags, emoji and fillers removed."""
    return [w for w in _WORD.findall(_NOISE.sub(" ", text)) if w.lower() not in _FILLERS]


def word_count(text: str) -> int:
    """How many words a person said (fillers and noise tags do not count)."""
    return len(words(text))


def sentences(text: str) -> list[Sentence]:
    """Split a segment's text into sentences with their offsets (never empty for a non-blank text)."""
    found: list[Sentence] = []
    position = 0
    for part in _SENTENCE_END.split(text):
        start = text.find(part, position)
        position = start + len(part)
        stripped = part.strip()
        if stripped and word_count(stripped):
            offset = start + part.find(stripped)
            found.append(Sentence(stripped, offset, offset + len(stripped)))
    return found


def is_question(sentence: str) -> bool:
    """A question: ends with "?" or, when ASR dropped the mark, starts with an interrogative verb or word."""
    stripped = sentence.strip()
    if stripped.endswith("?"):
        return True
    if stripped.endswith((".", "!")):
        return False
    first = words(stripped)[:1]
    return bool(first) and first[0].lower() in _QUESTION_START and len(words(stripped)) >= 3
