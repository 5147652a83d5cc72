"""The Microsoft Graph emulator (see ``server.py``)."""

from .server import GRAPH_AUDIENCE, GraphEmulator
from .state import Meeting, Recording, Tenant

__all__ = ["GRAPH_AUDIENCE", "GraphEmulator", "Meeting", "Recording", "Tenant"]
