"""Authentication and authorization of the API: Entra bearer tokens, API keys, browser sessions, roles."""

from dealtalk.api.auth.principal import ROLES, Principal, Role

__all__ = ["ROLES", "Principal", "Role"]
