"""Whether a ``DEALTALK_*`` environment variable names a real field of the settings model."""

from __future__ import annotations

from pydantic import BaseModel

from dealtalk.contracts.config import Settings


def setting_exists(variable: str) -> bool:
    """DEALTALK_A__B names field b of group a (or top-level field a) of ``Settings``."""
    if not variable.startswith("DEALTALK_"):
        return False
    parts = variable.removeprefix("DEALTALK_").lower().split("__")
    fields = Settings.model_fields
    if len(parts) == 1:
        return parts[0] in fields
    group = fields.get(parts[0])
    annotation = group.annotation if group is not None else None
    if len(parts) != 2 or not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return False
    return parts[1] in annotation.model_fields
