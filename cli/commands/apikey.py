"""``dealtalk apikey create|list|revoke``: API keys for service accounts of the analyst API.

The key is printed once, at creation; the store keeps only an HMAC of its secret.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dealtalk.cli.commands.common import console, err_console, handle_errors, load_settings
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.store import open_database

__all__ = ["apikey_app"]

apikey_app = typer.Typer(help="Create, list and revoke API keys of the analyst API.", no_args_is_help=True)


@apikey_app.command("create")
@handle_errors
def create_command(
    role: Annotated[str, typer.Option(help="analyst, manager or admin.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key (shown in the audit log).")],
    systemuser: Annotated[
        str | None, typer.Option(help="manager keys: the CRM user (systemuserid) whose team the key sees.")
    ] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="Expire after this many days.")] = None,
) -> None:
    """Create a key and print it once (store it in the service account's secret store)."""
    from dealtalk.api.auth.apikeys import create_key

    if role not in ("analyst", "manager", "admin"):
        raise typer.BadParameter(f"unknown role {role!r}; use analyst, manager or admin", param_hint="--role")
    settings = load_settings()
    database = open_database(settings.database_url)
    try:
        info, key = create_key(
            database,
            role=role,  # type: ignore[arg-type]
            name=name,
            pepper=settings.api.api_key_pepper,
            systemuser_id=systemuser,
            expires_in_days=expires_in_days,
        )
    finally:
        database.dispose()
    err_console.print(f"created key {info.key_id} ({info.role}) for {info.name}; it is shown only once:")
    console.print(key, markup=False, highlight=False)


@apikey_app.command("list")
@handle_errors
def list_command() -> None:
    """The keys (ids, roles, names, dates; never the secrets)."""
    from dealtalk.api.auth.apikeys import list_keys

    settings = load_settings()
    database = open_database(settings.database_url)
    try:
        keys = list_keys(database)
    finally:
        database.dispose()
    table = Table("key id", "role", "name", "created", "expires", "revoked", "last used")
    for k in keys:
        table.add_row(
            k.key_id,
            k.role,
            k.name,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.expires_at:%Y-%m-%d}" if k.expires_at else "",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
        )
    console.print(table)


@apikey_app.command("revoke")
@handle_errors
def revoke_command(key_id: Annotated[str, typer.Argument(help="The key id from `apikey list`.")]) -> None:
    """Revoke a key at once."""
    from dealtalk.api.auth.apikeys import revoke_key

    settings = load_settings()
    database = open_database(settings.database_url)
    try:
        if not revoke_key(database, key_id):
            raise InvalidInput(f"no active key {key_id}; `dealtalk apikey list` shows them")
    finally:
        database.dispose()
    console.print(f"revoked {key_id}")
