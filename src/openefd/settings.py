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
    aggregation: bool = Field(
        default=True,
        description=(
            "Keep 1-second aggregates as data arrives (DMTN-082): statistics of telemetry "
            "sampled faster than 1 Hz, repeated events counted once per second."
        ),
    )
    aggregate_lag_s: int = Field(
        default=30,
        ge=0,
        description=(
            "Seconds of new data gathered before a topic's aggregates are brought up to date "
            "(larger: less work per row; queries of aggregates catch up first either way)."
        ),
    )
    aggregate_budget_ms: int = Field(
        default=250,
        ge=1,
        description=(
            "Most time one commit spends on aggregates; what is left waits for the next "
            "commit, so a burst of work never stalls a live feed."
        ),
    )
    aggregate_include: list[str] = Field(
        default_factory=list,
        description=(
            "Telemetry topics (glob patterns, JSON list) always aggregated, whatever their rate."
        ),
    )
    aggregate_exclude: list[str] = Field(
        default_factory=list,
        description="Telemetry topics (glob patterns, JSON list) never aggregated.",
    )
    duckdb_checkpoint_threshold: str = Field(
        default="1GB",
        description=(
            "WAL size at which DuckDB folds it into the database file. Larger: live commits "
            "stay cheap (a checkpoint rewrites every table touched); the WAL is replayed on "
            "open after a crash, and closing the store always checkpoints. Empty: DuckDB's "
            "default (16MB)."
        ),
    )
    duckdb_memory_limit: str = Field(
        default="",
        description="DuckDB memory limit such as '4GB' (empty: DuckDB's default of 80% of RAM).",
    )
    cold_location: str = Field(
        default="",
        description=(
            "Where 'openefd export' writes the Parquet cold tier (topic=…/day=…/ partitions): a "
            "local directory or a pyarrow file system URI such as 's3://bucket/efd' or "
            "'file:///data/cold' (empty: the folder 'cold' in the store directory)."
        ),
    )
    raw_retention_days: int = Field(
        default=30,
        ge=0,
        description=(
            "'openefd retention' deletes from DuckDB the raw rows of exported UTC days that ended "
            "more than this many days ago; queries then read them from Parquet (0: as soon as a "
            "day is exported). Rows of days not exported are never deleted."
        ),
    )
    export_grace_s: int = Field(
        default=3600,
        ge=0,
        description=(
            "Seconds after a UTC day ends before 'openefd export' treats it as complete and "
            "writes it (rows that come later still reach the day's partition on the next export)."
        ),
    )

    influx_database: str = Field(
        default="efd",
        min_length=1,
        description=(
            "The database name the InfluxDB-compatible HTTP API answers to (db=… and "
            '"db"."rp"."measurement"); the EFD\'s clients use "efd".'
        ),
    )
    influx_retention_policy: str = Field(
        default="autogen",
        min_length=1,
        description="The retention policy name the InfluxDB-compatible API reports and accepts.",
    )
    server_host: str = Field(
        default="127.0.0.1",
        description=(
            "Address 'openefd serve' listens on. Any address other than loopback needs TLS "
            "(--tls-cert/--tls-key) and at least one token ('openefd token create')."
        ),
    )
    server_port: int = Field(
        default=8086,
        ge=0,
        le=65535,
        description="Port 'openefd serve' listens on (8086, InfluxDB's, by default; 0: any free).",
    )
    tls_cert: Path | None = Field(
        default=None,
        description=(
            "PEM certificate (chain) for HTTPS, with tls_key; lsst-efd-client needs HTTPS."
        ),
    )
    tls_key: Path | None = Field(default=None, description="PEM private key of tls_cert.")
    query_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "Longest time one HTTP query may run; a query over it is cancelled and answered "
            "with an error saying so (the server stays up)."
        ),
    )
    query_max_points: int = Field(
        default=50_000_000,
        ge=1,
        description=(
            "Most values (rows × columns) one query may return over HTTP; more gives an error "
            "naming the limit (narrow the time range, or use GROUP BY time())."
        ),
    )
    query_max_series: int = Field(
        default=10_000,
        ge=1,
        description="Most series (measurement × tag set) one query may return over HTTP.",
    )
    request_max_body_bytes: int = Field(
        default=25_000_000,
        ge=1,
        description=(
            "Largest request body the HTTP server accepts (writes and POSTed queries), as "
            "InfluxDB's max-body-size; larger gives HTTP 413."
        ),
    )
    schema_registry_url: str = Field(
        default="",
        description=(
            "Schema registry URL handed out in credential documents (creds/{alias}); empty: "
            "the server's own /schema-registry endpoint."
        ),
    )

    latency_transfer_target_s: float = Field(
        default=7.0,
        gt=0,
        description=(
            "'openefd latency': an image is on time when it reaches object storage within this "
            "many seconds of shutter close."
        ),
    )
    latency_cadence_target_s: float = Field(
        default=34.0,
        gt=0,
        description="'openefd latency': the nominal time between exposures, seconds.",
    )
    latency_cap_s: float = Field(
        default=300.0,
        gt=0,
        description="'openefd latency': plots draw longer latencies at this cap, seconds.",
    )
    latency_slow_detector_margin_s: float = Field(
        default=5.0,
        ge=0,
        description=(
            "'openefd latency': a detector is systematically slow when its median lateness "
            "against the other detectors of the same exposures exceeds this, seconds."
        ),
    )
    summaries_auto: bool = Field(
        default=True,
        description=(
            "Keep per-exposure summaries in the store up to date as data arrives: an exposure "
            "is summarised when it is recorded with its timespan, and again when rows of a "
            "summarised topic arrive inside its window (late data). Applies to stores opened "
            "for writing by openefd's commands, server and client."
        ),
    )
    summaries_config: Path | None = Field(
        default=None,
        description=(
            "YAML configuration of the stored per-exposure summaries "
            "(default: the shipped one, openefd/analysis/default_summaries.yaml)."
        ),
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
