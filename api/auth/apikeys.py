"""API keys for service accounts: ``dtk_<key id>_<secret>``, 256-bit secret, only an HMAC of it is stored.

The key id finds the row; ``hmac.compare_digest`` compares the secret's HMAC (SHA-256 under the optional
pepper ``DEALTALK_API__API_KEY_PEPPER``). Unknown, revoked, expired and wrong keys all get the same answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr
from sqlalchemy import select, update

from dealtalk.api.auth.principal import ROLES, Principal, Role
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.access import ApiKeyRow
from dealtalk.pipeline.store.schema import utcnow

__all__ = ["ApiKeyInfo", "authenticate_key", "create_key", "list_keys", "revoke_key"]

_KEY = re.compile(r"dtk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    key_id: str
    name: str
    role: str
    systemuser_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def _digest(secret: str, pepper: SecretStr | None) -> str:
    key = pepper.get_secret_value().encode() if pepper else b"dealtalk-api-key"
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def create_key(
    database: Database,
    *,
    role: Role,
    name: str,
    pepper: SecretStr | None,
    systemuser_id: str | None = None,
    expires_in_days: int | None = None,
) -> tuple[ApiKeyInfo, str]:
    """A new key: its stored description and the key itself (shown once, never stored).

    Raises:
        InvalidInput: unknown role or empty name.
    """
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if not name.strip():
        raise InvalidInput("an API key needs a name (who or what uses it)")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiKeyRow(
        key_id=key_id,
        name=name.strip()[:200],
        role=role,
        systemuser_id=systemuser_id,
        secret_hash=_digest(secret, pepper),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    with database.session() as session:
        session.add(row)
    return _info(row), f"dtk_{key_id}_{secret}"


def list_keys(database: Database) -> list[ApiKeyInfo]:
    with database.session() as session:
        return [_info(row) for row in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))]


def revoke_key(database: Database, key_id: str) -> bool:
    """Revoke a key at once; False when no such (unrevoked) key exists."""
    with database.session() as session:
        result = session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.key_id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def authenticate_key(database: Database, key: str, pepper: SecretStr | None) -> Principal | None:
    """The principal of a valid key; None for anything else (malformed, unknown, wrong, revoked, expired)."""
    match = _KEY.fullmatch(key.strip())
    if match is None:
        return None
    key_id, secret = match.groups()
    now = utcnow()
    with database.session() as session:
        row = session.get(ApiKeyRow, key_id)
        expected = row.secret_hash if row is not None else _digest("", pepper)
        if not hmac.compare_digest(expected, _digest(secret, pepper)) or row is None:
            return None
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        if row.last_used_at is None or now - row.last_used_at > _LAST_USED_GRANULARITY:
            row.last_used_at = now
        role: Role = row.role  # type: ignore[assignment]
        return Principal(
            kind="apikey",
            id=f"key:{row.key_id}",
            name=row.name,
            roles=frozenset({role}),
            systemuser_id=row.systemuser_id,
        )


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row.key_id,
        name=row.name,
        role=row.role,
        systemuser_id=row.systemuser_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
