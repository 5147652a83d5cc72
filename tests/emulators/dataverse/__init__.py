"""The Dataverse Web API emulator (see ``server.py``)."""

from .server import DataverseEmulator, ServiceProtection

__all__ = ["DataverseEmulator", "ServiceProtection"]
