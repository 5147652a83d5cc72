"""Security roles of the Dataverse emulator's application users, and the privilege check.

Per "Security roles and privileges" and "Create an application user": an application user gets its access
from the security roles assigned to it; each operation needs a privilege named ``prv<Action><Entity>``
(``prvReadOpportunity``, ``prvCreateActivity``, ``prvWritedt_CallInsight``) or a customization privilege
(``prvCreateEntity``). A missing privilege is a 403 with code ``0x80040220`` whose message names it, as
Dataverse's does ("Principal user (Id=…, type=8, …) is missing prvReadOpportunity privilege …").

Standard activity tables (appointment, phonecall) and the activity views share the ``Activity`` privileges;
a custom activity table has its own, named by its schema name. Notes are ``Note``, system users ``User``.
Append/AppendTo and record-level (owner/business unit) depth are not modelled: roles here are org-wide.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Table
from .odata import ODataError

__all__ = ["DEALTALK_ROLE", "SYSTEM_ADMINISTRATOR", "SecurityRole", "privilege_for", "require_privilege"]

_ACTIONS = {"GET": "Read", "POST": "Create", "PATCH": "Write", "PUT": "Write", "DELETE": "Delete"}
_ENTITY_NAMES = {
    "account": "Account",
    "contact": "Contact",
    "opportunity": "Opportunity",
    "competitor": "Competitor",
    "systemuser": "User",
    "annotation": "Note",
    "appointment": "Activity",
    "phonecall": "Activity",
    "activityparty": "Activity",
    "activitypointer": "Activity",
}
CUSTOMIZATION = frozenset(
    {
        "prvCreateEntity",
        "prvCreateAttribute",
        "prvCreateEntityKey",
        "prvDeleteEntityKey",
        "prvPublishCustomizations",
    }
)


@dataclass(frozen=True)
class SecurityRole:
    """A named set of privileges; ``None`` grants every privilege (System Administrator)."""

    name: str
    privileges: frozenset[str] | None

    def grants(self, privilege: str) -> bool:
        return self.privileges is None or privilege in self.privileges

    def without(self, *privileges: str) -> SecurityRole:
        """This role minus ``privileges`` (for tests of a missing privilege)."""
        if self.privileges is None:
            raise ValueError("System Administrator grants everything; build a role with explicit privileges")
        return SecurityRole(f"{self.name} (reduced)", self.privileges - set(privileges))


def entity_name(table: Table) -> str:
    """The entity part of the table's privilege names."""
    if table.logical_name in _ENTITY_NAMES:
        return _ENTITY_NAMES[table.logical_name]
    return str(table.definition.get("SchemaName", table.logical_name))


def privilege_for(method: str, table: Table) -> str:
    return f"prv{_ACTIONS.get(method, 'Write')}{entity_name(table)}"


def _data(*entities: str, actions: tuple[str, ...]) -> set[str]:
    return {f"prv{action}{entity}" for entity in entities for action in actions}


def dealtalk_role(custom_activity: str = "dt_callinsight") -> SecurityRole:
    """What dealtalk's application user needs (the README's security role): read the CRM (competitors
    included), write activities and notes, create and publish its activity table (``custom_activity`` is the
    table's schema name)."""
    privileges = set(CUSTOMIZATION)
    privileges |= _data("Account", "Contact", "Opportunity", "Competitor", "User", actions=("Read",))
    privileges |= _data("Activity", "Note", custom_activity, actions=("Read", "Create", "Write"))
    return SecurityRole("dealtalk integration", frozenset(privileges))


DEALTALK_ROLE = dealtalk_role()
SYSTEM_ADMINISTRATOR = SecurityRole("System Administrator", None)


def require_privilege(role: SecurityRole, app_id: str, privilege: str, entity: str) -> None:
    """Raise Dataverse's 403 when ``role`` lacks ``privilege`` (on ``entity``, a logical name)."""
    if role.grants(privilege):
        return
    raise ODataError(
        f"Principal user (Id={app_id}, type=8, roleCount=1, privilegeCount="
        f"{len(role.privileges or ())}, accessMode=4), is missing {privilege} privilege on OTC for entity "
        f"'{entity}'. Context: the application user's security role '{role.name}'.",
        "0x80040220",
        403,
    )
