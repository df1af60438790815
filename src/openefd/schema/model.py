"""The one schema model every source of topic definitions is read into.

A topic is what SAL publishes and the EFD stores as one measurement:
``lsst.sal.<CSC>.<name>`` where telemetry keeps its bare name, events gain
``logevent_`` and commands ``command_``. Its fields carry a type, an array
length (``count``; 1 means a scalar, 0 an array of unknown length), units and a
description.

Time fields of the SAL private block are seconds: ``private_sndStamp``,
``private_rcvStamp`` and ``private_kafkaStamp`` are TAI unix seconds,
``private_efdStamp`` UTC unix seconds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from openefd.errors import SchemaError

__all__ = [
    "PRIVATE_FIELDS",
    "SAL_INDEX_FIELD",
    "FieldSchema",
    "FieldType",
    "TopicKind",
    "TopicSchema",
    "kind_from_topic_name",
    "private_fields",
]


class TopicKind(StrEnum):
    """What a topic carries."""

    TELEMETRY = "telemetry"
    EVENT = "event"
    COMMAND = "command"


class FieldType(StrEnum):
    """Value types, named as SAL's IDL names them."""

    BOOLEAN = "boolean"
    BYTE = "byte"
    SHORT = "short"
    INT = "int"
    LONG = "long"
    LONG_LONG = "long long"
    UNSIGNED_SHORT = "unsigned short"
    UNSIGNED_INT = "unsigned int"
    UNSIGNED_LONG = "unsigned long"
    UNSIGNED_LONG_LONG = "unsigned long long"
    FLOAT = "float"
    DOUBLE = "double"
    STRING = "string"

    @property
    def is_integer(self) -> bool:
        return self not in (FieldType.BOOLEAN, FieldType.FLOAT, FieldType.DOUBLE, FieldType.STRING)

    @property
    def is_float(self) -> bool:
        return self in (FieldType.FLOAT, FieldType.DOUBLE)


@dataclass(frozen=True, slots=True)
class FieldSchema:
    """One field of a topic.

    ``count`` is the array length; 1 is a scalar and 0 an array of unknown
    length (an Avro array whose schema does not say how long it is; such a
    field cannot be flattened). Strings are scalars whatever their SAL
    ``Count`` (which bounds their length). ``units`` is kept verbatim as the
    definition spells it; ``private`` marks SAL's private block and
    ``salIndex``.
    """

    name: str
    type: FieldType
    count: int = 1
    units: str | None = None
    description: str | None = None
    private: bool = False

    @property
    def is_array(self) -> bool:
        return self.count != 1

    def flat_names(self) -> list[str]:
        """The EFD's flattened names: ``name0 … nameN-1`` for arrays, else ``[name]``.

        Raises
        ------
        SchemaError
            If the array length is unknown (``count`` 0).
        """
        if not self.is_array:
            return [self.name]
        if self.count < 1:
            raise SchemaError(
                f"field {self.name!r} is an array of unknown length; "
                "give its length (a 'count' attribute in the Avro schema) to flatten it"
            )
        return [f"{self.name}{i}" for i in range(self.count)]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "count": self.count,
            "units": self.units,
            "description": self.description,
            "private": self.private,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FieldSchema:
        return cls(
            name=doc["name"],
            type=FieldType(doc["type"]),
            count=int(doc.get("count", 1)),
            units=doc.get("units"),
            description=doc.get("description"),
            private=bool(doc.get("private", False)),
        )


SAL_INDEX_FIELD = "salIndex"

PRIVATE_FIELDS: tuple[FieldSchema, ...] = (
    FieldSchema(
        "private_efdStamp",
        FieldType.DOUBLE,
        1,
        "s",
        "UTC time for EFD timestamp. An integer (the number of leap seconds) "
        "different from private_sndStamp.",
        True,
    ),
    FieldSchema(
        "private_kafkaStamp",
        FieldType.DOUBLE,
        1,
        "s",
        "TAI time at which the Kafka message was created.",
        True,
    ),
    FieldSchema(
        "private_identity",
        FieldType.STRING,
        1,
        None,
        "Identity of the publisher: SAL component name for a CSC or user@host for a user.",
        True,
    ),
    FieldSchema("private_origin", FieldType.LONG, 1, None, "Process ID of the publisher.", True),
    FieldSchema(
        "private_rcvStamp",
        FieldType.DOUBLE,
        1,
        "s",
        "Time of instance reception (TAI unix seconds).",
        True,
    ),
    FieldSchema(
        "private_revCode", FieldType.STRING, 1, None, "Revision hash code for the topic.", True
    ),
    FieldSchema(
        "private_seqNum",
        FieldType.LONG,
        1,
        None,
        "Sequence number of the message, increasing per topic.",
        True,
    ),
    FieldSchema(
        "private_sndStamp",
        FieldType.DOUBLE,
        1,
        "s",
        "Time of instance publication (TAI unix seconds).",
        True,
    ),
)


def private_fields(indexed: bool) -> tuple[FieldSchema, ...]:
    """SAL's private fields, plus ``salIndex`` for an indexed CSC."""
    if not indexed:
        return PRIVATE_FIELDS
    sal_index = FieldSchema(
        SAL_INDEX_FIELD, FieldType.LONG, 1, None, "SAL index of the component instance.", True
    )
    return (*PRIVATE_FIELDS, sal_index)


def kind_from_topic_name(name: str) -> TopicKind:
    """Guess a topic's kind from its EFD name (``logevent_``/``command_`` prefixes).

    SAL's ``ackcmd`` topic (command acknowledgements) is an event.
    """
    last = name.rsplit(".", 1)[-1]
    if last.startswith("logevent_") or last == "ackcmd":
        return TopicKind.EVENT
    if last.startswith("command_"):
        return TopicKind.COMMAND
    return TopicKind.TELEMETRY


@dataclass(frozen=True, slots=True)
class TopicSchema:
    """One topic's definition.

    ``name`` is the EFD name (``lsst.sal.MTMount.azimuth``); ``csc`` the SAL
    component (``MTMount``) or ``None`` for topics not from SAL; ``indexed``
    whether the CSC is indexed (then ``salIndex`` is among the fields).
    ``fields`` holds the user fields followed by the private ones.
    """

    name: str
    kind: TopicKind
    fields: tuple[FieldSchema, ...]
    csc: str | None = None
    indexed: bool = False
    description: str | None = None
    source: str | None = None
    _by_name: dict[str, FieldSchema] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        seen: dict[str, FieldSchema] = {}
        for f in self.fields:
            if f.name in seen:
                raise SchemaError(f"topic {self.name!r} defines field {f.name!r} twice")
            seen[f.name] = f
        object.__setattr__(self, "_by_name", seen)

    def field(self, name: str) -> FieldSchema | None:
        """The field called ``name``, or ``None``."""
        return self._by_name.get(name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def flat_field_names(self) -> list[str]:
        """Every field as the EFD names it, arrays flattened."""
        return [n for f in self.fields for n in f.flat_names()]

    def with_fields(self, fields: tuple[FieldSchema, ...]) -> TopicSchema:
        return replace(self, fields=fields, _by_name={})

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "csc": self.csc,
            "indexed": self.indexed,
            "description": self.description,
            "source": self.source,
            "fields": [f.to_json() for f in self.fields],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TopicSchema:
        return cls(
            name=doc["name"],
            kind=TopicKind(doc["kind"]),
            csc=doc.get("csc"),
            indexed=bool(doc.get("indexed", False)),
            description=doc.get("description"),
            source=doc.get("source"),
            fields=tuple(FieldSchema.from_json(f) for f in doc["fields"]),
        )

    def digest(self) -> str:
        """A hash of the definition (not its source), to tell versions apart."""
        doc = self.to_json()
        doc.pop("source", None)
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
