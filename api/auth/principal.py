"""Who is calling: one ``Principal`` for bearer tokens, API keys and browser sessions alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["ROLES", "Principal", "Role", "roles_from_claim"]

Role = Literal["analyst", "manager", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``id`` is what the audit log records: the Entra object id (``oid``) for tokens and sessions, ``key:<id>``
    for API keys. ``systemuser_id`` is the caller's CRM user where known (a manager's team hangs off it).
    """

    kind: Literal["bearer", "session", "apikey", "anonymous"]
    id: str
    name: str
    roles: frozenset[Role]
    systemuser_id: str | None = None
    # Only sessions carry one: writes from a browser must echo it (CSRF).
    csrf_token: str | None = None

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_team_scoped(self) -> bool:
        """A manager who is neither analyst nor admin sees only the team's calls."""
        return "manager" in self.roles and not self.roles & {"analyst", "admin"}


def roles_from_claim(value: object) -> frozenset[Role]:
    """The known roles in a token's ``roles`` claim (unknown app roles are ignored, never an error)."""
    if not isinstance(value, list):
        return frozenset()
    return frozenset(role for role in ROLES if role in value)
