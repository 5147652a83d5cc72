"""The sales organisation as the CRM knows it: who reports to whom, and who owns which opportunity.

A manager sees the calls of the opportunities owned by themselves and everyone below them in the Dynamics 365
user hierarchy (``systemuser._parentsystemuserid_value``). People are matched to CRM users by their Entra
object id (``systemuser.azureactivedirectoryobjectid``). Read once when the API starts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError

__all__ = ["Directory", "load_directory"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Directory:
    """CRM users (id -> manager id), their Entra object ids, and opportunity owners and accounts."""

    managers: Mapping[str, str | None] = field(default_factory=dict)
    user_by_oid: Mapping[str, str] = field(default_factory=dict)
    owner_of: Mapping[str, str | None] = field(default_factory=dict)
    account_of: Mapping[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, document: Mapping[str, Any]) -> Directory:
        """From Dataverse-shaped rows (``systemusers`` and ``opportunities``, as in ``crm.json``)."""
        users = document.get("systemusers", [])
        opportunities = document.get("opportunities", [])
        return cls(
            managers={u["systemuserid"]: u.get("_parentsystemuserid_value") for u in users},
            user_by_oid={
                str(u["azureactivedirectoryobjectid"]).lower(): u["systemuserid"]
                for u in users
                if u.get("azureactivedirectoryobjectid")
            },
            owner_of={o["opportunityid"]: o.get("_ownerid_value") for o in opportunities},
            account_of={o["opportunityid"]: o.get("_parentaccountid_value") for o in opportunities},
        )

    def user_for_oid(self, oid: str) -> str | None:
        return self.user_by_oid.get(oid.lower())

    def team(self, systemuser_id: str) -> frozenset[str]:
        """The user and everyone who reports to them, directly or not (cycles in the CRM data are cut)."""
        members = {systemuser_id}
        changed = True
        while changed:
            changed = False
            for user, manager in self.managers.items():
                if manager in members and user not in members:
                    members.add(user)
                    changed = True
        return frozenset(members)

    def opportunities_owned_by(self, owners: frozenset[str]) -> list[str]:
        return sorted(o for o, owner in self.owner_of.items() if owner in owners)

    def opportunities_of_account(self, account_id: str) -> list[str]:
        return sorted(o for o, account in self.account_of.items() if account == account_id)


def load_directory(settings: Settings) -> Directory:
    """The directory from the configured CRM fixture; an empty one for Dataverse (managers then see nothing).

    Raises:
        ConfigurationError: the fixture file is missing or not JSON.
    """
    if settings.crm.backend != "fixture":
        logger.warning("the team hierarchy is read from the CRM fixture only; managers see no calls")
        return Directory()
    from dealtalk.samples import CRM_FIXTURE

    path: Path = settings.crm.fixture_path or CRM_FIXTURE
    try:
        return Directory.from_rows(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"CRM fixture {path} cannot be read for the team hierarchy: {exc}") from exc
