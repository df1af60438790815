"""Topic definitions: the schema model and its loaders (SAL XML, Avro)."""

from openefd.schema.avro import load_avro, to_avro
from openefd.schema.loader import load_schemas
from openefd.schema.model import (
    PRIVATE_FIELDS,
    SAL_INDEX_FIELD,
    FieldSchema,
    FieldType,
    TopicKind,
    TopicSchema,
    kind_from_topic_name,
    private_fields,
)
from openefd.schema.sal_xml import SubsystemInfo, list_subsystems, load_sal_xml
from openefd.schema.units import parse_units

__all__ = [
    "PRIVATE_FIELDS",
    "SAL_INDEX_FIELD",
    "FieldSchema",
    "FieldType",
    "SubsystemInfo",
    "TopicKind",
    "TopicSchema",
    "kind_from_topic_name",
    "list_subsystems",
    "load_avro",
    "load_sal_xml",
    "load_schemas",
    "parse_units",
    "private_fields",
    "to_avro",
]
