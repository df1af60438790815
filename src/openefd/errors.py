"""Every error openefd raises on purpose.

Hierarchy::

    OpenEfdError                      base of all of them
    ├── ConfigurationError            a setting or a store location is unusable
    ├── SchemaError                   a topic definition cannot be read
    │   └── SchemaConflictError       a new definition cannot replace the stored one
    ├── UnknownTopicError             (also KeyError) topic not in the registry
    │   └── TopicNotInSchemaError     (also ValueError) summit_utils-style helpers
    ├── UnknownFieldError             (also KeyError) field not in the topic
    ├── IngestError                   input rejected; nothing of the batch was written
    │   ├── LineProtocolError         malformed line protocol (names source and line)
    │   └── RecordError               a row with a wrong type, missing time, ...
    ├── TimeValueError                (also ValueError) a time that cannot be used
    ├── QueryError                    (also ValueError) a query that cannot be answered
    │   ├── InfluxQLError             InfluxQL text that does not parse (names the position)
    │   └── LimitExceededError        a query over a configured limit (points, series, time)
    ├── AuthenticationError           no or an unknown token / password
    ├── PermissionDeniedError         a valid token without the scope asked for
    └── RemoteError                   an openefd server answered with an error the client
                                      cannot map to one of the above

Every message says what was wrong and, where it can, how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "InfluxQLError",
    "IngestError",
    "LimitExceededError",
    "LineProtocolError",
    "OpenEfdError",
    "PermissionDeniedError",
    "QueryError",
    "RecordError",
    "RemoteError",
    "SchemaConflictError",
    "SchemaError",
    "TimeValueError",
    "TopicNotInSchemaError",
    "UnknownFieldError",
    "UnknownTopicError",
]


class OpenEfdError(Exception):
    """Base of every error openefd raises on purpose."""


class ConfigurationError(OpenEfdError):
    """A setting, a path or a store location cannot be used."""


class SchemaError(OpenEfdError):
    """A topic definition (SAL XML, Avro) cannot be read or is inconsistent."""


class SchemaConflictError(SchemaError):
    """A new topic definition cannot be reconciled with the stored one."""


class UnknownTopicError(OpenEfdError, KeyError):
    """The topic is not in the store's registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TopicNotInSchemaError(UnknownTopicError, ValueError):
    """The topic is unknown to the store: an ``UnknownTopicError`` that is also the
    ``ValueError`` ``summit_utils`` raises, so either ``except`` catches it."""


class UnknownFieldError(OpenEfdError, KeyError):
    """The field is not part of the topic."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class IngestError(OpenEfdError):
    """Input was rejected; nothing of the batch it belonged to was written."""


class LineProtocolError(IngestError):
    """Malformed InfluxDB line protocol.

    Attributes
    ----------
    source
        File name or ``"<text>"``.
    line_number
        1-based line number within ``source``.
    """

    def __init__(self, message: str, *, source: str = "<text>", line_number: int = 0) -> None:
        self.source = source
        self.line_number = line_number
        self.reason = message
        super().__init__(f"{source}:{line_number}: {message}")


class RecordError(IngestError):
    """A record with a wrong-typed value, an unknown field or an unusable time."""


class TimeValueError(OpenEfdError, ValueError):
    """A time value that cannot be used: naive datetime, unknown format, out of range."""


class QueryError(OpenEfdError, ValueError):
    """A query that cannot be answered as asked."""


class InfluxQLError(QueryError):
    """InfluxQL text that does not parse.

    Attributes
    ----------
    position
        0-based character offset in the query text where parsing failed, or -1.
    """

    def __init__(self, message: str, *, position: int = -1) -> None:
        self.position = position
        self.reason = message
        super().__init__(message)


class LimitExceededError(QueryError):
    """A query that would go over a configured limit (points, series, time, body size)."""


class AuthenticationError(OpenEfdError):
    """No credentials, or credentials that match no token."""


class PermissionDeniedError(OpenEfdError):
    """Valid credentials whose token lacks the scope the request needs."""


class RemoteError(OpenEfdError):
    """An openefd server answered with an error the client cannot map to a known one.

    Attributes
    ----------
    status
        The HTTP status code.
    """

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(message)
