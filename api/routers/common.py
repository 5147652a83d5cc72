"""Helpers the routers share: the auth context, the caller's scope, role aliases and the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from dealtalk.api.auth.deps import AuthContext, require
from dealtalk.api.auth.principal import Principal
from dealtalk.api.scope import Scope, scope_for
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import AuditRow

__all__ = [
    "AdminDep",
    "AnyRoleDep",
    "ContextDep",
    "ManagerDep",
    "PageSize",
    "audit",
    "get_context",
    "scope_of",
]


def get_context(request: Request) -> AuthContext:
    context: AuthContext = request.app.state.auth
    return context


ContextDep = Annotated[AuthContext, Depends(get_context)]
AnyRoleDep = Annotated[Principal, Depends(require("analyst", "manager", "admin"))]
ManagerDep = Annotated[Principal, Depends(require("manager", "admin"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]
PageSize = Annotated[int, Query(ge=1, le=500, description="items per page (at most 500)")]


def scope_of(principal: Principal, context: AuthContext) -> Scope:
    return scope_for(principal, context.directory, context.settings)


def audit(
    database: Database, principal: Principal, action: str, recording_id: str | None, **detail: object
) -> None:
    """Record who did what to which call (ids only: never transcript text or personal data)."""
    with database.session() as session:
        session.add(
            AuditRow(
                recording_id=recording_id,
                actor=principal.id[:200],
                action=action,
                detail={"kind": principal.kind, **detail},
            )
        )
