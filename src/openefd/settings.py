"""All of openefd's settings, in one model.

Every setting is read from the environment with the prefix ``OPENEFD_``
(``OPENEFD_STORE=/data/efd``) and can be overridden on the command line. The
settings reference in ``docs/reference/settings.md`` is generated from this
model (``openefd settings --markdown``); a test fails when they disagree.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SchemaMode", "Settings", "settings_markdown"]


class SchemaMode(StrEnum):
    """What a store does with a topic or field that is not in its registry."""

    STRICT = "strict"
    EXTEND = "extend"


class Settings(BaseSettings):
    """openefd settings (environment prefix ``OPENEFD_``)."""

    model_config = SettingsConfigDict(env_prefix="OPENEFD_", extra="forbid")

    store: Path = Field(
        default=Path("openefd-store"),
        description=(
            "Directory of the embedded store (holds efd.duckdb); created by the commands that "
            "write (init, load, demo) when missing."
        ),
    )
    schemas: list[Path] = Field(
        default_factory=list,
        description=(
            "SAL XML folders/files or Avro schema files that 'openefd init' and 'openefd demo' "
            "load into the topic registry when no --schemas is given (JSON list in the "
            'environment, e.g. ["/data/ts_xml/sal_interfaces"]).'
        ),
    )
    schema_mode: SchemaMode = Field(
        default=SchemaMode.EXTEND,
        description=(
            "Unknown topics and fields: 'extend' adds them with types inferred from the data "
            "(as InfluxDB does); 'strict' rejects them. Known fields are type-checked either way."
        ),
    )
    sites: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Site aliases for EfdClient(name): alias → store path or URL "
            '(JSON object in the environment, e.g. {"summit": "/data/efd"}).'
        ),
    )
    max_line_bytes: int = Field(
        default=1_048_576,
        ge=64,
        description="Longest accepted line of line protocol, in bytes.",
    )
    batch_rows: int = Field(
        default=50_000,
        ge=1,
        description="Rows per write batch when loading files.",
    )
    max_query_rows: int = Field(
        default=50_000_000,
        ge=1,
        description="Most rows one query may return; larger results are refused with an error.",
    )
    duckdb_threads: int = Field(
        default=0,
        ge=0,
        description="DuckDB worker threads (0: one per core).",
    )
    duckdb_memory_limit: str = Field(
        default="",
        description="DuckDB memory limit such as '4GB' (empty: DuckDB's default of 80% of RAM).",
    )


def settings_markdown() -> str:
    """The settings reference as a Markdown table."""
    lines = [
        "# Settings reference",
        "",
        "Generated from `openefd.settings.Settings` by `openefd settings --markdown`;",
        "do not edit by hand. Every setting is read from the environment variable shown.",
        "",
        "| variable | default | description |",
        "| --- | --- | --- |",
    ]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = str(default.value if isinstance(default, StrEnum) else default)
        lines.append(f"| `OPENEFD_{name.upper()}` | `{shown}` | {info.description} |")
    return "\n".join(lines) + "\n"
