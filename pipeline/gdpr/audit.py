"""Audit rows for GDPR actions: who, when, what and how many, never the personal data itself."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy.orm import Session

from dealtalk.pipeline.store.schema import AuditRow

__all__ = ["default_actor", "record_audit"]


def default_actor() -> str:
    """Who runs a command: the operating-system user (``cli:alice``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli:unknown"


def record_audit(
    session: Session, *, action: str, actor: str, detail: dict[str, Any], recording_id: str | None = None
) -> None:
    """One audit row. ``detail`` holds counts, hashes and policy names only."""
    session.add(AuditRow(recording_id=recording_id, actor=actor, action=action, detail=detail))
