"""The call-insights activity table: its names (from settings) and its columns (from the table definition).

One definition file (``publisher/dataverse/call_insights.table.json``, linked from ``deploy/dataverse/``)
feeds both the provisioning command and the payload builder, so the builder never writes a column that
provisioning did not create. Names are configurable: the table's logical name and entity set and the key
column come from ``PublisherSettings``; the other columns are the same customization prefix plus a suffix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dealtalk.contracts.config import PublisherSettings
from dealtalk.contracts.errors import ConfigurationError

__all__ = ["ActivitySchema", "ColumnDef", "TableDefinition", "load_table_definition"]

ColumnType = Literal["String", "Memo", "Integer", "Decimal", "Picklist"]


class OptionDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: int
    name: str
    label: str


class ColumnDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    suffix: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    type: ColumnType
    label: str
    description: str = ""
    role: Literal["key"] | None = None
    max_length: int | None = None
    format: Literal["Text", "Url"] = "Text"
    min_value: float | None = None
    max_value: float | None = None
    precision: int | None = None
    options: tuple[OptionDef, ...] = ()


class TableDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    display_name: str
    display_collection_name: str
    description: str
    ownership_type: Literal["UserOwned", "TeamOwned"]
    activity_type_mask: Literal[0, 1]
    subject_max_length: int = Field(ge=1, le=4000)


class KeyDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    suffix: str
    display_name: str


class TableDefinition(BaseModel):
    """The definition file, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    about: str = ""
    table: TableDef
    key: KeyDef
    columns: tuple[ColumnDef, ...]

    def column(self, suffix: str) -> ColumnDef:
        for column in self.columns:
            if column.suffix == suffix:
                return column
        raise KeyError(suffix)


def load_table_definition() -> TableDefinition:
    """Read the bundled table definition.

    Raises:
        ConfigurationError: the file is missing or malformed (a broken install).
    """
    source = resources.files("dealtalk.publisher.dataverse") / "call_insights.table.json"
    try:
        raw: Any = json.loads(source.read_text(encoding="utf-8"))
        return TableDefinition.model_validate(raw)
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise ConfigurationError(f"the call-insights table definition is unreadable: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ActivitySchema:
    """Names of the call-insights activity table in one Dataverse organisation.

    Attributes:
        logical_name: the table's logical name (``dt_callinsight``).
        entity_set: its Web API entity set (``dt_callinsights``).
        key_column: the alternate-key column holding the recording id (``dt_recordingid``).
        prefix: the customization prefix with its underscore (``dt_``).
        definition: the columns and table properties.
    """

    logical_name: str
    entity_set: str
    key_column: str
    prefix: str
    definition: TableDefinition

    @classmethod
    def from_settings(cls, settings: PublisherSettings) -> ActivitySchema:
        """Names from settings, columns from the bundled definition.

        Raises:
            ConfigurationError: the logical name has no customization prefix (``prefix_name``).
        """
        prefix, sep, rest = settings.activity_logical_name.partition("_")
        if not sep or not prefix or not rest:
            raise ConfigurationError(
                "DEALTALK_PUBLISHER__ACTIVITY_LOGICAL_NAME must carry the solution publisher's customization "
                f"prefix, like dt_callinsight; got {settings.activity_logical_name!r}"
            )
        return cls(
            logical_name=settings.activity_logical_name,
            entity_set=settings.activity_entity_set,
            key_column=settings.alternate_key_column,
            prefix=f"{prefix}_",
            definition=load_table_definition(),
        )

    def column(self, suffix: str) -> str:
        """The logical name of a column of the definition (the key column comes from settings)."""
        column = self.definition.column(suffix)
        return self.key_column if column.role == "key" else f"{self.prefix}{suffix}"

    @property
    def key_name(self) -> str:
        """Schema name of the alternate key."""
        return f"{self.prefix}{self.definition.key.suffix}"

    @property
    def parties_navigation(self) -> str:
        """The collection navigation of the activity's parties (``dt_callinsight_activity_parties``)."""
        return f"{self.logical_name}_activity_parties"

    @property
    def regarding_opportunity_navigation(self) -> str:
        """The single-valued navigation of "regarding" towards an opportunity."""
        return f"regardingobjectid_opportunity_{self.logical_name}"

    def option_value(self, suffix: str, name: str) -> int:
        """The picklist value of a named option (``sentiment``/``positive`` -> 727000000)."""
        for option in self.definition.column(suffix).options:
            if option.name == name:
                return option.value
        raise KeyError(f"{suffix}.{name}")
