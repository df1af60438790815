"""Validating incoming columns against a topic's layout.

Turns a table of user columns into the store's columns: known fields cast to
their type (with an error naming the row that does not fit), flattened array
elements (``zForce0 … zForce155``) packed back into one list column, unknown
fields rejected (``strict``) or given a type inferred from the data
(``extend``). Nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openefd.errors import RecordError
from openefd.schema.model import FieldSchema, FieldType, TopicSchema
from openefd.settings import SchemaMode
from openefd.store.columns import arrow_type, field_type_from_arrow

__all__ = ["Normalized", "normalize_columns"]

_ELEMENT_RE = re.compile(r"^(.+?)(\d+)$")


@dataclass(slots=True)
class Normalized:
    """Store-ready columns, and fields to add to the topic first (``extend`` mode)."""

    columns: dict[str, pa.Array | pa.ChunkedArray]
    new_fields: list[FieldSchema] = field(default_factory=list)


def where_sql(origins: Sequence[str] | None, row: int) -> str:
    return origins[row] if origins is not None else f"row {row}"


def _kind_ok(target: FieldType, source: pa.DataType) -> bool:
    if pa.types.is_null(source):
        return True
    if target is FieldType.STRING:
        return bool(pa.types.is_string(source) or pa.types.is_large_string(source))
    if target is FieldType.BOOLEAN:
        return bool(pa.types.is_boolean(source))
    return bool(pa.types.is_integer(source) or pa.types.is_floating(source))


def _first_bad_row(col: pa.ChunkedArray | pa.Array, dtype: pa.DataType) -> int:
    """Index of the first value that does not cast to ``dtype`` (bisection: few casts)."""
    lo, hi = 0, len(col)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            col.slice(lo, mid - lo).cast(dtype)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
        else:
            lo = mid
    return lo


def _cast(
    topic: str,
    spec: FieldSchema,
    col: pa.ChunkedArray | pa.Array,
    origins: Sequence[str] | None,
) -> pa.ChunkedArray | pa.Array:
    target = arrow_type(spec)
    source = col.type
    element_source = (
        source.value_type
        if pa.types.is_list(source)
        or pa.types.is_large_list(source)
        or pa.types.is_fixed_size_list(source)
        else source
    )
    if spec.is_array != (element_source is not source) and not pa.types.is_null(source):
        shape = "an array" if spec.is_array else "a scalar"
        raise RecordError(f"topic {topic!r}: field {spec.name!r} is {shape}; got {source}")
    if not _kind_ok(spec.type, element_source):
        row = next((i for i, v in enumerate(col.is_valid().to_pylist()) if v), 0)
        raise RecordError(
            f"topic {topic!r}, {where_sql(origins, row)}: field {spec.name!r} is "
            f"{spec.type.value}, got {element_source} value {col[row].as_py()!r}"
        )
    try:
        out = col.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        row = _first_bad_row(col, target)
        raise RecordError(
            f"topic {topic!r}, {where_sql(origins, row)}: value {col[row].as_py()!r} does not fit "
            f"field {spec.name!r} of type {spec.type.value}"
        ) from exc
    if spec.is_array and spec.count > 0:
        lengths = pc.list_value_length(out)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > spec.count:
            row = int(np.argmax(lengths.to_numpy(zero_copy_only=False) > spec.count))
            raise RecordError(
                f"topic {topic!r}, {where_sql(origins, row)}: field {spec.name!r} has "
                f"{longest} elements, more than its length {spec.count}"
            )
    return out


def _pack(
    topic: str,
    spec: FieldSchema,
    elements: dict[int, pa.ChunkedArray | pa.Array],
    n: int,
    origins: Sequence[str] | None,
) -> pa.Array:
    """One list column from flattened element columns; absent elements are null."""
    length = spec.count if spec.count > 0 else max(elements) + 1
    beyond = [i for i in elements if i >= length]
    if beyond:
        raise RecordError(
            f"topic {topic!r}: field {spec.name}{min(beyond)} is beyond the length "
            f"{length} of array {spec.name!r}"
        )
    elem = FieldSchema(spec.name, spec.type)
    cast = {i: _cast(topic, elem, c, origins) for i, c in elements.items()}
    columns = [cast[i] if i in cast else pa.nulls(n, type=arrow_type(elem)) for i in range(length)]
    if spec.type is FieldType.STRING:
        rows = [list(r) for r in zip(*(c.to_pylist() for c in columns), strict=True)]
        return pa.array(rows, type=arrow_type(spec))
    np_dtype = arrow_type(elem).to_pandas_dtype()
    matrix = np.zeros((n, length), dtype=np_dtype)
    mask = np.zeros((n, length), dtype=bool)
    for i, c in enumerate(columns):
        mask[:, i] = ~np.asarray(c.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        matrix[:, i] = np.asarray(
            c.fill_null(False if spec.type is FieldType.BOOLEAN else 0).to_numpy(
                zero_copy_only=False
            )
        )
    flat = pa.array(
        matrix.ravel(), mask=mask.ravel() if mask.any() else None, type=arrow_type(elem)
    )
    return pa.FixedSizeListArray.from_arrays(flat, length).cast(arrow_type(spec))


def _infer(topic: str, name: str, col: pa.ChunkedArray | pa.Array) -> FieldSchema:
    found = field_type_from_arrow(col.type)
    if found is None:
        if pa.types.is_null(col.type):
            return FieldSchema(name, FieldType.DOUBLE)
        raise RecordError(f"topic {topic!r}: field {name!r} has unsupported type {col.type}")
    ftype, is_array = found
    return FieldSchema(name, ftype, 0 if is_array else 1)


def normalize_columns(
    topic: str,
    columns: dict[str, pa.ChunkedArray | pa.Array],
    layout: TopicSchema | None,
    mode: SchemaMode,
    origins: Sequence[str] | None = None,
) -> Normalized:
    """Cast ``columns`` (user field names) to ``layout``; see the module docstring."""
    n = len(next(iter(columns.values()))) if columns else 0
    result = Normalized(columns={})
    elements: dict[str, dict[int, pa.ChunkedArray | pa.Array]] = {}
    unknown: list[str] = []
    for name, col in columns.items():
        spec = layout.field(name) if layout is not None else None
        if spec is not None:
            result.columns[name] = _cast(topic, spec, col, origins)
            continue
        match = _ELEMENT_RE.match(name)
        base = layout.field(match.group(1)) if (match and layout is not None) else None
        if match and base is not None and base.is_array:
            elements.setdefault(base.name, {})[int(match.group(2))] = col
            continue
        unknown.append(name)
    for base_name, parts in elements.items():
        if base_name in result.columns:
            raise RecordError(
                f"topic {topic!r}: field {base_name!r} given both whole and as elements"
            )
        assert layout is not None
        spec = layout.field(base_name)
        assert spec is not None
        result.columns[base_name] = _pack(topic, spec, parts, n, origins)
    if unknown and mode is SchemaMode.STRICT:
        name = unknown[0]
        row = next((i for i, v in enumerate(columns[name].is_valid().to_pylist()) if v), 0)
        raise RecordError(
            f"topic {topic!r}, {where_sql(origins, row)}: no field {name!r} in this topic"
            + (f" (nor {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else "")
            + "; schema mode is strict (use 'extend' to add fields from the data)"
        )
    for name in unknown:
        spec = _infer(topic, name, columns[name])
        result.new_fields.append(spec)
        result.columns[name] = _cast(topic, spec, columns[name], origins)
    return result
