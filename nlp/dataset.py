"""Labelled utterances (contracts, format 3): one JSON object a line.

``{"id", "lang": "nl|en", "role": "customer|seller", "text", "sentiment": "positive|neutral|negative",
"risks": [label, ...], "action_item": true|false}``. Invalid lines are refused with their line number and what
was wrong, so a labeller can fix them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from dealtalk.contracts.documents import RiskLabel
from dealtalk.contracts.errors import InvalidInput

__all__ = ["RISK_LABELS", "Utterance", "read_dataset"]

RISK_LABELS: tuple[str, ...] = get_args(RiskLabel)
_SENTIMENTS = ("positive", "neutral", "negative")


@dataclass(frozen=True, slots=True)
class Utterance:
    id: str
    lang: str
    role: str
    text: str
    sentiment: str
    risks: tuple[str, ...]
    action_item: bool


def _parse(raw: Any, where: str) -> Utterance:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: expected a JSON object, got {type(raw).__name__}")
    missing = [
        key for key in ("id", "lang", "role", "text", "sentiment", "risks", "action_item") if key not in raw
    ]
    if missing:
        raise InvalidInput(f"{where}: missing field(s) {', '.join(missing)}")
    if raw["lang"] not in ("nl", "en"):
        raise InvalidInput(f"{where}: lang {raw['lang']!r} is not one of 'nl', 'en'")
    if raw["role"] not in ("customer", "seller"):
        raise InvalidInput(f"{where}: role {raw['role']!r} is not one of 'customer', 'seller'")
    if not isinstance(raw["text"], str) or not raw["text"].strip():
        raise InvalidInput(f"{where}: text must be a non-empty string")
    if raw["sentiment"] not in _SENTIMENTS:
        raise InvalidInput(f"{where}: sentiment {raw['sentiment']!r} is not one of {', '.join(_SENTIMENTS)}")
    risks = raw["risks"]
    if not isinstance(risks, list) or not all(isinstance(label, str) for label in risks):
        raise InvalidInput(f"{where}: risks must be a list of labels")
    unknown = sorted(set(risks) - set(RISK_LABELS))
    if unknown:
        raise InvalidInput(
            f"{where}: unknown risk label(s) {', '.join(unknown)}; accepted: {', '.join(RISK_LABELS)}"
        )
    if not isinstance(raw["action_item"], bool):
        raise InvalidInput(f"{where}: action_item must be true or false")
    return Utterance(
        id=str(raw["id"]),
        lang=raw["lang"],
        role=raw["role"],
        text=raw["text"],
        sentiment=raw["sentiment"],
        risks=tuple(dict.fromkeys(risks)),
        action_item=raw["action_item"],
    )


def read_dataset(path: Path) -> list[Utterance]:
    """Read and validate a labelled file.

    Raises:
        InvalidInput: the file is missing, empty, or a line is not valid (the message names the line).
    """
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    utterances: list[Utterance] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
            utterances.append(_parse(raw, where))
    if not utterances:
        raise InvalidInput(f"{path}: no labelled utterances")
    return utterances
