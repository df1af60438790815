"""openefd: an observatory engineering database.

Telemetry, events and commands (SAL topics), stored in an embedded DuckDB
file and read with the ``lsst-efd-client`` API. Canonical time inside is TAI
nanoseconds; see :mod:`openefd.timescales`.
"""

from openefd.client import EfdClient, EfdClientSync, RemoteEfdClientSync
from openefd.errors import (
    AuthenticationError,
    ConfigurationError,
    InfluxQLError,
    IngestError,
    LimitExceededError,
    LineProtocolError,
    OpenEfdError,
    PermissionDeniedError,
    QueryError,
    RecordError,
    RemoteError,
    SchemaConflictError,
    SchemaError,
    TimeValueError,
    UnknownFieldError,
    UnknownTopicError,
)
from openefd.ingest.writer import Writer, WriteResult
from openefd.settings import SchemaMode, Settings
from openefd.store.duckdb_store import Store

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "EfdClient",
    "EfdClientSync",
    "InfluxQLError",
    "IngestError",
    "LimitExceededError",
    "LineProtocolError",
    "OpenEfdError",
    "PermissionDeniedError",
    "QueryError",
    "RecordError",
    "RemoteEfdClientSync",
    "RemoteError",
    "SchemaConflictError",
    "SchemaError",
    "SchemaMode",
    "Settings",
    "Store",
    "TimeValueError",
    "UnknownFieldError",
    "UnknownTopicError",
    "WriteResult",
    "Writer",
]

__version__ = "0.1.0"
