"""Writing data of any accepted shape into a store, all-or-nothing per call.

Accepted: pandas DataFrame, Arrow table, a list of dicts (records), a dict of
columns, and parsed line protocol. Each call validates every row before
anything is written and writes inside one transaction, so a rejected batch
leaves the store as it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from openefd.errors import RecordError, UnknownTopicError
from openefd.ingest.normalize import normalize_columns
from openefd.ingest.rowtime import TIME_FIELD, row_times_tai_ns, utc_ns_from_arrow
from openefd.schema.model import TopicSchema, kind_from_topic_name
from openefd.settings import SchemaMode
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store

__all__ = ["TopicBatch", "WriteResult", "Writer", "column_from_values", "table_from_data"]

TableData: TypeAlias = (
    pd.DataFrame | pa.Table | Sequence[dict[str, Any]] | dict[str, Sequence[Any]]
)


@dataclass(slots=True)
class TopicBatch:
    """Rows of one topic: user columns, optional explicit UTC ns and row labels."""

    topic: str
    table: pa.Table
    utc_ns: npt.NDArray[np.int64] | None = None
    origins: Sequence[str] | None = None


@dataclass(slots=True)
class WriteResult:
    """Rows received and newly stored, per topic (re-sent rows are not stored twice)."""

    received: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)

    @property
    def rows_received(self) -> int:
        return sum(self.received.values())

    @property
    def rows_written(self) -> int:
        return sum(self.written.values())

    def add(self, other: WriteResult) -> None:
        self.received.update(other.received)
        self.written.update(other.written)


def column_from_values(
    name: str, values: list[Any], origins: Sequence[str], topic: str
) -> pa.Array:
    """An Arrow column for ``values``; a type conflict names the first row that differs."""
    try:
        return pa.array(values)
    except OverflowError:
        present = [v for v in values if v is not None]
        if all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64 for v in present):
            return pa.array(values, type=pa.uint64())  # unsigned values beyond int64
        raise RecordError(
            f"topic {topic!r}: field {name!r} holds an integer out of range "
            "(64-bit signed or unsigned)"
        ) from None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        first = next((v for v in values if v is not None), None)
        kind = type(first)
        for i, v in enumerate(values):
            if (
                v is not None
                and type(v) is not kind
                and not (
                    isinstance(v, int | float)
                    and isinstance(first, int | float)
                    and not isinstance(v, bool)
                    and not isinstance(first, bool)
                )
            ):
                raise RecordError(
                    f"{origins[i]}: field {name!r} of {topic!r} is {type(v).__name__} here "
                    f"but {kind.__name__} on earlier lines (field type conflict)"
                ) from None
        raise RecordError(f"topic {topic!r}: field {name!r} holds values of mixed types") from None


def _table_from_records(records: Sequence[dict[str, Any]], what: str) -> pa.Table:
    """Columns from the union of all records' keys (Arrow would use the first's only)."""
    names: dict[str, None] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise RecordError(
                f"{what}, row {i}: expected a dict of field values, got {type(record).__name__}"
            )
        names.update(dict.fromkeys(record))
    origins = [f"row {i}" for i in range(len(records))]
    return pa.table(
        {
            name: column_from_values(name, [r.get(name) for r in records], origins, what)
            for name in names
        }
    )


def table_from_data(data: TableData, what: str) -> tuple[pa.Table, npt.NDArray[np.int64] | None]:
    """An Arrow table and explicit UTC ns (from a DataFrame's DatetimeIndex) for ``data``."""
    utc: npt.NDArray[np.int64] | None = None
    try:
        if isinstance(data, pd.DataFrame):
            if isinstance(data.index, pd.DatetimeIndex):
                if data.index.tz is None:
                    raise RecordError(
                        f"{what}: the DataFrame's DatetimeIndex is naive; localize it "
                        "(df.tz_localize('UTC')) so its time scale is known"
                    )
                utc = np.asarray(data.index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
            table = pa.Table.from_pandas(data, preserve_index=False)
        elif isinstance(data, pa.Table):
            table = data
        elif isinstance(data, dict):
            table = pa.table(dict(data))
        else:
            table = _table_from_records(data, what)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(f"{what}: cannot read the data as a table: {exc}") from exc
    if TIME_FIELD in table.column_names:
        if utc is not None:
            raise RecordError(f"{what}: give the time either as index or as 'time' column")
        utc = utc_ns_from_arrow(table[TIME_FIELD], f"{what}, column 'time'")
        table = table.drop_columns([TIME_FIELD])
    return table, utc


def _csc_of(topic: str) -> str | None:
    parts = topic.split(".")
    return parts[2] if len(parts) == 4 and parts[:2] == ["lsst", "sal"] else None


class Writer:
    """Validates and writes batches into ``store`` (schema mode from settings by default)."""

    def __init__(self, store: Store, mode: SchemaMode | None = None) -> None:
        self.store = store
        self.mode = mode or store.settings.schema_mode

    def write(self, topic: str, data: TableData) -> WriteResult:
        """Write rows of one topic; see :mod:`openefd.ingest.rowtime` for the time rules."""
        table, utc = table_from_data(data, f"topic {topic!r}")
        return self.write_batches([TopicBatch(topic, table, utc)])

    def write_batches(self, batches: Iterable[TopicBatch]) -> WriteResult:
        """Write all batches in one transaction: all are stored or none."""
        result = WriteResult()
        with self.store.transaction():
            for batch in batches:
                result.add(self._write_one(batch))
        return result

    def _write_one(self, batch: TopicBatch) -> WriteResult:
        result = WriteResult()
        table = self.prepare(batch)
        if table is None:
            return result
        result.received[batch.topic] += table.num_rows
        result.written[batch.topic] += self.store.insert(batch.topic, table)
        return result

    def prepare(self, batch: TopicBatch) -> pa.Table | None:
        """Validate ``batch``: its rows as store columns with ``time_tai_ns`` (None if empty).

        In schema mode ``extend`` it adds new fields to the registry (in a
        transaction of its own, or the caller's).
        """
        topic = batch.topic
        if batch.table.num_rows == 0:
            return None
        layout = self.store.registry.layout(topic)
        if layout is None and self.mode is SchemaMode.STRICT:
            raise UnknownTopicError(
                f"unknown topic {topic!r}: not in the store's registry (schema mode strict); "
                "register it with 'openefd init --schemas PATH' or use schema mode 'extend'"
            )
        what = f"topic {topic!r}"
        tai = row_times_tai_ns(batch.table, utc_ns=batch.utc_ns, origins=batch.origins, what=what)
        user = {c: batch.table[c] for c in batch.table.column_names if c != TIME_COLUMN}
        norm = normalize_columns(topic, user, layout, self.mode, batch.origins)
        if norm.new_fields:
            self._extend(topic, layout, norm.new_fields)
        return pa.table({TIME_COLUMN: pa.array(tai, type=pa.int64()), **norm.columns})

    def _extend(self, topic: str, layout: TopicSchema | None, new_fields: list[Any]) -> None:
        current = self.store.registry.current(topic)
        if current is None:
            schema = TopicSchema(
                name=topic,
                kind=kind_from_topic_name(topic),
                fields=tuple(new_fields),
                csc=_csc_of(topic),
                source="inferred from data",
            )
        else:
            schema = current.with_fields((*current.fields, *new_fields))
        with self.store.transaction():
            self.store.registry.register(schema)
