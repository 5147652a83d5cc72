"""``dealtalk serve``: the HTTP API (analysts' queries, health, metrics, Graph notifications)."""

from __future__ import annotations

from typing import Annotated

import typer

from dealtalk.cli.commands.common import handle_errors, load_settings
from dealtalk.pipeline.logs import configure_logging

__all__ = ["serve"]


@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: DEALTALK_API__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: DEALTALK_API__PORT).")] = None,
) -> None:
    """Run the API server until interrupted (refuses a non-loopback host with DEALTALK_API__AUTH=off)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    import uvicorn

    from dealtalk.api.app import create_app
    from dealtalk.api.wiring import check_exposure

    bind = host or settings.api.host
    check_exposure(bind, settings)
    uvicorn.run(create_app(settings), host=bind, port=port or settings.api.port, log_config=None)
