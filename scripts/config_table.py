"""The configuration table (markdown) from the settings model, so the README never drifts from the code.

Usage: ``python scripts/config_table.py`` prints it; ``--write README.md`` puts it between the README's
``config-table`` markers. ``tests/unit/pipeline/test_readme.py`` checks that the README holds the current one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from dealtalk.contracts.config import Settings


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


START, END = "<!-- config-table:start -->", "<!-- config-table:end -->"


def embed(readme: str) -> str:
    """``readme`` with the current table between its markers."""
    head, rest = readme.split(START, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{START}\n{markdown()}\n{END}{tail}"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        target = Path(sys.argv[2])
        target.write_text(embed(target.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(markdown())
