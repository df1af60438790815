"""Arrow tables of simulated rows, typed as :class:`~openefd.ingest.writer.Writer` takes them.

One column per field of the topic's definition, in its order: float and
double fields as float64 (``float`` values rounded to float32 first, as SAL
sends them), integers as int64, booleans as bool, strings as string; arrays
as ``list<…>`` columns of exactly ``count`` elements. Rows of
several publishers (salIndex values) are merged in time order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from openefd.schema.model import FieldSchema, FieldType, TopicSchema
from openefd.sim.generic import Column
from openefd.sim.streams import Batch

__all__ = ["arrow_column", "build_table"]

_NUMPY: dict[str, type[np.generic]] = {"float": np.float64, "int": np.int64, "bool": np.bool_}
_ARROW = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}


def _kind(f: FieldSchema) -> str:
    if f.type.is_float:
        return "float"
    if f.type is FieldType.BOOLEAN:
        return "bool"
    return "int"


def arrow_column(f: FieldSchema, values: Column) -> pa.Array:
    """An Arrow column for field ``f`` from a 1-D (scalar) or 2-D (array) numpy column."""
    if f.type is FieldType.STRING:
        return pa.array(np.asarray(values, dtype=object), type=pa.string())
    kind = _kind(f)
    if f.type is FieldType.FLOAT:  # SAL sends a float32; the EFD keeps it as a double
        values = np.asarray(values, dtype=np.float32)
    if f.count == 1:
        return pa.array(np.ascontiguousarray(values, dtype=_NUMPY[kind]), type=_ARROW[kind])
    flat = np.ascontiguousarray(values, dtype=_NUMPY[kind]).reshape(-1)
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=_ARROW[kind]), f.count)
    return fixed.cast(pa.list_(_ARROW[kind]))


def _merge(batches: list[Batch]) -> tuple[npt.NDArray[np.intp] | None, dict[str, Column]]:
    if len(batches) == 1:
        return None, batches[0].columns
    t = np.concatenate([b.t_ns for b in batches])
    order = np.argsort(t, kind="stable")
    names = batches[0].columns.keys()
    return order, {n: np.concatenate([np.asarray(b.columns[n]) for b in batches]) for n in names}


def build_table(topic: TopicSchema, batches: list[Batch]) -> pa.Table:
    """One table of ``topic`` from the batches of its publishers, rows in time order."""
    order, columns = _merge(batches)
    arrays = []
    for f in topic.fields:
        values = columns[f.name]
        if order is not None:
            values = np.asarray(values)[order]
        arrays.append(arrow_column(f, values))
    return pa.Table.from_arrays(arrays, names=topic.field_names)
