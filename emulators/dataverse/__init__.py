"""The Dataverse Web API emulator (see ``server.py``)."""

from .security import DEALTALK_ROLE, SYSTEM_ADMINISTRATOR, SecurityRole
from .server import DataverseEmulator, ServiceProtection

__all__ = ["DEALTALK_ROLE", "SYSTEM_ADMINISTRATOR", "DataverseEmulator", "SecurityRole", "ServiceProtection"]
