"""Browser sessions and pending sign-in flows, stored server-side under the SHA-256 of an opaque id.

The cookie holds only a random 256-bit id; the database row holds the principal, a CSRF token and the
expiry. A pending sign-in (the MSAL flow dict with the PKCE verifier and nonce) is kept the same way, keyed
by its ``state``, so no secret ever travels in a cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from dealtalk.api.auth.principal import ROLES, Principal, Role
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.access import ApiSessionRow
from dealtalk.pipeline.store.schema import utcnow

__all__ = ["create_session", "delete_session", "load_session", "pop_flow", "save_flow"]

_FLOW_TTL = timedelta(minutes=10)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_session(database: Database, principal: Principal, *, max_age_s: int) -> str:
    """A new session for ``principal``; returns the cookie value (a fresh id: no session fixation)."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    data = {
        "id": principal.id,
        "name": principal.name,
        "roles": sorted(principal.roles),
        "systemuser_id": principal.systemuser_id,
    }
    with database.session() as session:
        session.execute(delete(ApiSessionRow).where(ApiSessionRow.expires_at < now))
        session.add(
            ApiSessionRow(
                id_hash=_hash(session_id),
                kind="session",
                data=data,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(seconds=max_age_s),
            )
        )
    return session_id


def load_session(database: Database, session_id: str) -> Principal | None:
    """The principal of a live session; None when unknown or expired."""
    if not session_id or len(session_id) > 128:
        return None
    with database.session() as session:
        row = session.get(ApiSessionRow, _hash(session_id))
        if row is None or row.kind != "session" or row.expires_at <= utcnow():
            return None
        data, csrf = row.data, row.csrf_token
    roles: frozenset[Role] = frozenset(r for r in ROLES if r in data.get("roles", []))
    return Principal(
        kind="session",
        id=str(data["id"]),
        name=str(data["name"]),
        roles=roles,
        systemuser_id=data.get("systemuser_id"),
        csrf_token=csrf,
    )


def delete_session(database: Database, session_id: str) -> None:
    with database.session() as session:
        session.execute(delete(ApiSessionRow).where(ApiSessionRow.id_hash == _hash(session_id)))


def save_flow(database: Database, state: str, flow: dict[str, Any], *, binding: str, return_to: str) -> None:
    """Keep a pending sign-in under its ``state``; ``binding`` is the random value of the browser's flow cookie."""
    now = utcnow()
    with database.session() as session:
        session.add(
            ApiSessionRow(
                id_hash=_hash(state),
                kind="flow",
                data={"flow": flow, "return_to": return_to},
                csrf_token=_hash(binding),
                created_at=now,
                expires_at=now + _FLOW_TTL,
            )
        )


def pop_flow(database: Database, state: str, *, binding: str) -> tuple[dict[str, Any], str] | None:
    """Take a pending sign-in (single use): its flow dict and where to return; None when unknown, expired, or
    started in another browser."""
    if not state or len(state) > 256:
        return None
    with database.session() as session:
        row = session.get(ApiSessionRow, _hash(state))
        if row is None or row.kind != "flow":
            return None
        session.delete(row)
        if row.expires_at <= utcnow() or not secrets.compare_digest(row.csrf_token, _hash(binding)):
            return None
        return dict(row.data["flow"]), str(row.data["return_to"])
