"""``dealtalk eval-nlp DATASET.jsonl``: score the insight models on labelled utterances (contracts, format 3)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.logs import configure_logging

__all__ = ["eval_nlp"]


class Variant(StrEnum):
    union = "union"
    rules = "rules"
    heads = "heads"
    lexicon = "lexicon"


@handle_errors
def eval_nlp(
    dataset: Annotated[Path, typer.Argument(help="Labelled utterances, one JSON object per line.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Also print the scores as one JSON line.")
    ] = False,
    variant: Annotated[Variant, typer.Option(help="Which detectors to score.")] = Variant.union,
) -> None:
    """Sentiment macro-F1, risk micro-F1 with per-label P/R/F1, and action-item P/R/F1."""
    if not dataset.is_file():
        raise InvalidInput(f"{dataset} does not exist")
    settings = load_settings()
    configure_logging("WARNING", settings.log_format)
    from dealtalk.nlp.evaluation import evaluate, render

    report = evaluate(dataset, variant=variant.value, settings=settings)
    render(report, console)
    if json_output:
        print(json.dumps(report.to_json(), ensure_ascii=False))  # noqa: T201 - machine-readable last line
