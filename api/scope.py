"""What a principal may see: every call, or the calls of their team's opportunities; transcripts or not."""

from __future__ import annotations

from dataclasses import dataclass

from dealtalk.api.auth.principal import Principal
from dealtalk.api.directory import Directory
from dealtalk.contracts.api_settings import ApiSettings

__all__ = ["Scope", "scope_for"]


@dataclass(frozen=True, slots=True)
class Scope:
    """``opportunity_ids`` None: every call; otherwise only calls linked to one of these opportunities."""

    opportunity_ids: frozenset[str] | None
    transcripts: bool  # full transcripts of the calls in scope (otherwise risks and quotes only)

    def allows(self, opportunity_id: str | None) -> bool:
        return self.opportunity_ids is None or (
            opportunity_id is not None and opportunity_id in self.opportunity_ids
        )


def scope_for(principal: Principal, directory: Directory, settings: ApiSettings) -> Scope:
    """Admins and analysts see every call (analysts without transcripts unless granted); a manager sees the
    calls of the opportunities that they or anyone below them owns, transcripts included."""
    if principal.is_admin:
        return Scope(opportunity_ids=None, transcripts=True)
    if "analyst" in principal.roles:
        granted = principal.id in settings.transcript_grants
        return Scope(opportunity_ids=None, transcripts=granted)
    if "manager" in principal.roles and principal.systemuser_id:
        team = directory.team(principal.systemuser_id)
        return Scope(opportunity_ids=frozenset(directory.opportunities_owned_by(team)), transcripts=True)
    return Scope(opportunity_ids=frozenset(), transcripts=False)
