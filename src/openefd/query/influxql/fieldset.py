"""The fields a topic holds values for: InfluxDB's field keys.

InfluxDB knows a field once a point carries it; a field of the topic's
schema that no row holds a value for (an array channel that is NaN in every
message, which writers leave out of the line) is not a field key there, and
``SELECT *`` has no column for it. openefd answers the same from the
topic's newest :data:`SAMPLE_ROWS` rows, so that the answer costs
milliseconds whatever the topic's size: a field with a value only in older
rows (one a later schema version dropped) is left out.
"""

from __future__ import annotations

from openefd.errors import LimitExceededError
from openefd.query.fields import ColumnRef, resolve_fields
from openefd.query.influxql.fetch import Fetch, fetch_rows
from openefd.schema.model import TopicSchema
from openefd.store.duckdb_store import Store

__all__ = ["SAMPLE_ROWS", "written_fields"]

SAMPLE_ROWS = 100


def written_fields(store: Store, layout: TopicSchema, lengths: dict[str, int]) -> list[ColumnRef]:
    """Every flat field with a value in the topic's newest rows, sorted by name."""
    refs = resolve_fields(layout, ["*"], lengths) if layout.fields else []
    if not refs:
        return []
    sample = Fetch(
        layout,
        refs,
        "TRUE",
        [],
        max_rows=SAMPLE_ROWS,
        too_many=LimitExceededError("unreachable: the sample is limited"),
        descending=True,
        limit=SAMPLE_ROWS,
    )
    _, values = fetch_rows(store, sample)
    return [
        ref
        for ref, v in zip(refs, values, strict=True)
        if len(v.data) and (v.nulls is None or not v.nulls.all())
    ]
