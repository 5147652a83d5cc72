"""Print the configuration table (markdown) from the settings model, so the README never drifts from the code.

Usage: ``python scripts/config_table.py`` (tests/unit/pipeline/test_readme.py checks the README holds it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from dealtalk.pipeline.config import Settings


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = "(computed)"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, SecretStr):
        return "(secret)"
    if value is None or value == "":
        return "—"
    if isinstance(value, tuple):
        text = ", ".join(map(str, value))
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def rows() -> list[tuple[str, str]]:
    table: list[tuple[str, str]] = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub_name, sub_field in annotation.model_fields.items():
                table.append((f"DEALTALK_{name.upper()}__{sub_name.upper()}", _default(sub_field)))
        else:
            table.append((f"DEALTALK_{name.upper()}", _default(field)))
    return table


def markdown() -> str:
    lines = ["| variable | default |", "|---|---|"]
    lines += [f"| `{variable}` | {default.replace('|', '/')} |" for variable, default in rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
