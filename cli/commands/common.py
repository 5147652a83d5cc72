"""What every command shares: settings from the environment, consoles, and errors turned into exit codes.

Exit codes (contracts): 0 success, 1 processing error (message on stderr, nothing half-written), 2 usage error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import DealtalkError

__all__ = [
    "EXIT_PROCESSING",
    "EXIT_USAGE",
    "console",
    "err_console",
    "handle_errors",
    "load_settings",
]

EXIT_PROCESSING = 1
EXIT_USAGE = 2

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and config files, with command-line overrides (None means not given)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings.load(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"DEALTALK_{'__'.join(str(p).upper() for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        err_console.print(f"[red]error:[/red] invalid configuration: {problems}")
        raise typer.Exit(EXIT_USAGE) from exc


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn dealtalk's own errors into a one-line message on stderr and exit code 1 (no trace)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DealtalkError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(EXIT_PROCESSING) from exc

    return wrapper
