"""The ``dealtalk`` command line (Typer + Rich). Each command lives in its own module under ``commands/``.

Exit codes: 0 success, 1 processing error (message on stderr), 2 usage error.
"""

from __future__ import annotations

import os
import warnings

import typer

from dealtalk.cli.commands.apikey import apikey_app
from dealtalk.cli.commands.dataverse import dataverse_app
from dealtalk.cli.commands.demo import demo
from dealtalk.cli.commands.dlq import dlq_app
from dealtalk.cli.commands.evaluate import eval_nlp
from dealtalk.cli.commands.gdpr import gdpr_app
from dealtalk.cli.commands.link import calls, link
from dealtalk.cli.commands.process import analyze, process
from dealtalk.cli.commands.report import report
from dealtalk.cli.commands.reprocess import reprocess_app
from dealtalk.cli.commands.rollups import rollups_app
from dealtalk.cli.commands.serve import serve
from dealtalk.cli.commands.topics import topics_app
from dealtalk.cli.commands.worker import worker

__all__ = ["app", "main"]

app = typer.Typer(
    name="dealtalk",
    help="Sales-call insights for Dynamics 365: Teams recordings in, risks with quotes on the opportunity out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(demo)
app.command()(process)
app.command()(analyze)
app.command("eval-nlp")(eval_nlp)
app.command()(worker)
app.command()(serve)
app.command()(link)
app.command()(calls)
app.command()(report)
app.add_typer(dlq_app, name="dlq")
app.add_typer(apikey_app, name="apikey")
app.add_typer(rollups_app, name="rollups")
app.add_typer(dataverse_app, name="dataverse")
app.add_typer(topics_app, name="topics")
app.add_typer(reprocess_app, name="reprocess")
app.add_typer(gdpr_app, name="gdpr")


def main() -> None:
    # Libraries must never reach for a model hub unless the operator opted in.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    # pyannote warns at import that torchcodec cannot decode files; we never let it decode (the engine
    # passes it in-memory waveforms), so on CPU hosts without torchcodec's native libraries it is noise.
    warnings.filterwarnings(
        "ignore", message=r"\s*torchcodec is not installed correctly", category=UserWarning
    )
    app()


if __name__ == "__main__":
    main()
