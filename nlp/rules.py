"""Rule detectors: spaCy ``Matcher``/``PhraseMatcher`` over surface forms, Dutch and English in one pass.

The lexicons live in ``nlp/lexicons/*.json`` (data, not code). One multi-language tokenizer (spaCy's blank
``xx``) keeps English contractions whole ("don't", "can't"), so patterns match Whisper's text as written.
Rules work on surface forms (no lemmatizer needed); Dutch inflections are listed or matched by prefix.

A veto pattern in the same sentence cancels a label (a past competitor, a tender already won, praise of the
price): the hard negatives the contract names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from dealtalk.nlp.suppliers import SupplierNames
from dealtalk.nlp.text import Sentence

__all__ = ["RuleHit", "RuleMatch", "RuleSet", "competitor_pattern", "compile_pattern", "load_rules"]

COMPETITOR = "competitor_mention"
_ACTION = "action_item"


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that fired in one sentence: the label, the matched words and their character span."""

    label: str
    sentence: int
    start_char: int
    end_char: int
    matched: str


@dataclass(frozen=True, slots=True)
class RuleMatch:
    risks: list[RuleHit]
    actions: list[RuleHit]
    # Labels whose veto patterns occur anywhere in the text: they silence the heads too.
    vetoed: set[str]


@dataclass(frozen=True, slots=True)
class LabelRules:
    severity: str
    scope: str
    patterns: tuple[str, ...]
    veto: tuple[str, ...]


def compile_pattern(pattern: str) -> list[dict[str, Any]]:
    """Turn the lexicon syntax into a spaCy Matcher pattern.

    ``a|b`` alternatives, ``pre*`` a prefix, ``~N`` up to N arbitrary tokens; matching on lower case.
    """
    tokens: list[dict[str, Any]] = []
    for part in pattern.split():
        if part.startswith("~") and part[1:].isdigit():
            tokens.append({"OP": f"{{0,{int(part[1:])}}}"})
            continue
        options = part.split("|")
        if any(option.endswith("*") for option in options):
            alternatives = "|".join(
                re.escape(o[:-1]) + r"\w*" if o.endswith("*") else re.escape(o) for o in options
            )
            tokens.append({"LOWER": {"REGEX": f"^(?:{alternatives})$"}})
        elif len(options) == 1:
            # The tokenizer splits on hyphens ("in-house" -> "in", "-", "house"); so does the pattern.
            pieces = options[0].split("-")
            for index, piece in enumerate(pieces):
                if index:
                    tokens.append({"ORTH": "-"})
                tokens.append({"LOWER": piece})
        else:
            tokens.append({"LOWER": {"IN": options}})
    return tokens


class RuleSet:
    """Compiled risk and action-item rules.

    Args:
        labels: per risk label its severity, scope, patterns and vetoes (``lexicons/risks.json``).
        actions: action-item patterns and vetoes (``lexicons/actions.json``).
        competitors: competitor names (configuration and CRM), matched case-insensitively as phrases.
        suppliers: finds names nobody configured said in a buying context (None: listed names only).
    """

    def __init__(
        self,
        labels: dict[str, LabelRules],
        actions: tuple[tuple[str, ...], tuple[str, ...]],
        competitors: Iterable[str],
        suppliers: SupplierNames | None = None,
    ) -> None:
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        self.labels = labels
        self.suppliers = suppliers
        self._nlp = spacy.blank("xx")
        self._matcher = Matcher(self._nlp.vocab)
        self._vetoes = Matcher(self._nlp.vocab)
        for label, rules in labels.items():
            self._matcher.add(label, [compile_pattern(p) for p in rules.patterns])
            if rules.veto:
                self._vetoes.add(label, [compile_pattern(p) for p in rules.veto])
        action_patterns, action_vetoes = actions
        self._matcher.add(_ACTION, [compile_pattern(p) for p in action_patterns])
        self._vetoes.add(_ACTION, [compile_pattern(p) for p in action_vetoes])
        self._phrases = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        names = sorted({name.strip() for name in competitors if name.strip()})
        self.competitors = tuple(names)
        if names:
            self._phrases.add(COMPETITOR, [self._nlp.make_doc(name) for name in names])

    def match(
        self,
        text: str,
        sentences: list[Sentence],
        extra_competitors: re.Pattern[str] | None = None,
        persons: tuple[str, ...] = (),
    ) -> RuleMatch:
        """Risk hits and action-item hits in one segment, vetoes applied per sentence.

        ``extra_competitors`` are names known for this call only (the CRM's competitor table), beyond the
        configured ones compiled into the phrase matcher; ``persons`` (the attendees) are never taken for
        supplier names.

        Returns:
            the hits (each names its sentence, an index into ``sentences``) and the vetoed labels.
        """
        # Curly apostrophes become straight ones (same length, so character offsets stay valid).
        doc = self._nlp(text.replace("’", "'"))
        found: list[tuple[str, int, int]] = []
        for match_id, start, end in self._matcher(doc):
            span = doc[start:end]
            found.append((self._nlp.vocab.strings[match_id], span.start_char, span.end_char))
        for _, start, end in self._phrases(doc):
            span = doc[start:end]
            found.append((COMPETITOR, span.start_char, span.end_char))
        if extra_competitors is not None:
            found.extend((COMPETITOR, *m.span()) for m in extra_competitors.finditer(text))
        if self.suppliers is not None:
            for part in sentences:
                for start, end in self.suppliers.find(text[part.start : part.end], persons=persons):
                    found.append((COMPETITOR, part.start + start, part.start + end))
        vetoed: set[tuple[str, int]] = set()
        for match_id, start, _ in self._vetoes(doc):
            vetoed.add((self._nlp.vocab.strings[match_id], _sentence_of(sentences, doc[start].idx)))
        risks: list[RuleHit] = []
        actions: list[RuleHit] = []
        seen: set[tuple[str, int]] = set()
        for label, start_char, end_char in sorted(found, key=lambda f: (f[1], -f[2])):
            sentence = _sentence_of(sentences, start_char)
            # A wildcard may stretch a match over a full stop ("... ik graag. Dan plannen ..."): not evidence.
            crosses = _sentence_of(sentences, max(start_char, end_char - 1)) != sentence
            if crosses or (label, sentence) in vetoed or (label, sentence) in seen:
                continue
            seen.add((label, sentence))
            hit = RuleHit(label, sentence, start_char, end_char, text[start_char:end_char])
            (actions if label == _ACTION else risks).append(hit)
        return RuleMatch(risks, actions, {label for label, _ in vetoed})


def competitor_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """A case-insensitive whole-word pattern for extra competitor names (None when there are none)."""
    cleaned = sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in cleaned) + r")\b", re.IGNORECASE)


def _sentence_of(sentences: list[Sentence], char: int) -> int:
    for index, sentence in enumerate(sentences):
        if char < sentence.end:
            return index
    return max(0, len(sentences) - 1)


def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("dealtalk.nlp.lexicons").joinpath(name).read_text(encoding="utf-8")
    )
    return data


def load_rules(competitors: Iterable[str]) -> RuleSet:
    """The bundled lexicons compiled, with these competitor names."""
    risks = _read("risks.json")
    labels = {
        label: LabelRules(
            severity=str(spec["severity"]),
            scope=str(spec["scope"]),
            patterns=tuple(spec["patterns"]),
            veto=tuple(spec["veto"]),
        )
        for label, spec in risks.items()
        if not label.startswith("_")
    }
    actions = _read("actions.json")
    suppliers = SupplierNames(_read("common_words.json")["words"])
    return RuleSet(labels, (tuple(actions["patterns"]), tuple(actions["veto"])), competitors, suppliers)
