"""Vectorised InfluxDB line protocol from Arrow tables, for feeding InfluxDB fast.

One line per row: ``<topic> <field>=<value>,… <utc ns>``, as the EFD's Kafka
connector writes SAL topics — no tags, every SAL field a field, arrays
flattened to ``name0 … nameN-1``, integers with the ``i`` suffix, booleans
``true``/``false``, strings double-quoted with ``\\`` and ``"`` escaped.
Floats are written as float64 in their shortest round-trip form (Arrow's
cast, exact), so InfluxDB stores the very values openefd stores (``float``
fields are DOUBLE there). NaN and infinite values, and nulls, are left out
of their line (InfluxDB 1.x rejects them); a row with no field left is
dropped.

Everything is built with ``pyarrow.compute`` kernels: a ``name=value``
string column per field, joined per row; the lines of a table end up
contiguous in one Arrow buffer, which :class:`LineBody` cuts into request
bodies without copying.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openefd.store.columns import TIME_COLUMN

__all__ = ["LineBody", "field_strings", "line_body"]


def _escape_key(name: str) -> str:
    return name.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_measurement(name: str) -> str:
    return name.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def _values(col: pa.Array) -> pa.Array | None:
    """``col``'s values as line-protocol text (null where left out), or None if unsupported."""
    t = col.type
    if pa.types.is_floating(t):
        as64 = col.cast(pa.float64())
        finite = pc.is_finite(as64)
        text = as64.cast(pa.string())
        return text if finite.false_count == 0 else pc.if_else(finite, text, None)
    if pa.types.is_integer(t):
        return pc.binary_join_element_wise(col.cast(pa.string()), "i", "")
    if pa.types.is_boolean(t):
        return col.cast(pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = col.cast(pa.string())
        text = pc.replace_substring(text, "\\", "\\\\")
        text = pc.replace_substring(text, '"', '\\"')
        return pc.binary_join_element_wise('"', text, '"', "")
    return None


def _array_field(key: str, col: pa.Array) -> pa.Array:
    """``key0=v,key1=v,…,`` per row of a list column (null where no element has a value).

    All elements of all rows are formatted in one pass, then joined per row
    through a list array over the same offsets.
    """
    if not pa.types.is_list(col.type):
        col = col.cast(pa.list_(col.type.value_type))
    n = len(col)
    lengths = np.asarray(
        pc.fill_null(pc.list_value_length(col), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    starts = np.asarray(col.offsets.to_numpy(), dtype=np.int64)[:-1]
    ends = np.cumsum(lengths)
    pos = np.arange(int(ends[-1]) if n else 0) - np.repeat(ends - lengths, lengths)
    values = col.values.take(pa.array(np.repeat(starts, lengths) + pos))
    text = _values(values)
    if text is None:
        raise TypeError(f"field {key!r}: no line protocol for arrays of {values.type}")
    names = pa.array([f"{key}{i}=" for i in range(int(lengths.max()) if n else 0)])
    pieces = pc.binary_join_element_wise(names.take(pa.array(pos)), text, ",", "")
    counts = lengths
    if pieces.null_count:
        valid = np.asarray(pieces.is_valid().to_numpy(zero_copy_only=False))
        counts = np.bincount(np.repeat(np.arange(n), lengths)[valid], minlength=n)
        pieces = pieces.filter(pa.array(valid))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, pieces), "")
    if (counts == 0).any():
        joined = pc.if_else(pa.array(counts > 0), joined, None)
    return joined


def field_strings(table: pa.Table) -> list[pa.Array]:
    """A ``name=value,`` string column for every field of ``table`` (arrays flattened).

    Null where the row has no value. ``time_tai_ns`` is the row time, not a
    field, and is skipped.
    """
    out: list[pa.Array] = []
    for name in table.column_names:
        if name == TIME_COLUMN:
            continue
        col = table[name].combine_chunks()
        key = _escape_key(name)
        if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type):
            out.append(_array_field(key, col))
            continue
        text = _values(col)
        if text is None:
            raise TypeError(f"field {name!r}: no line protocol for type {col.type}")
        out.append(pc.binary_join_element_wise(key + "=", text, ",", ""))
    return out


@dataclass(frozen=True, slots=True)
class LineBody:
    """Lines of text, contiguous: ``data[offsets[i]:offsets[i + 1]]`` is line ``i`` with its LF."""

    data: memoryview
    offsets: np.ndarray

    @property
    def lines(self) -> int:
        return len(self.offsets) - 1

    @property
    def nbytes(self) -> int:
        return int(self.offsets[-1] - self.offsets[0])

    def bytes(self) -> bytes:
        return bytes(self.data[int(self.offsets[0]) : int(self.offsets[-1])])

    def batches(self, lines: int) -> Iterator[memoryview]:
        """Bodies of at most ``lines`` lines each, without copying."""
        for first in range(0, self.lines, lines):
            last = min(first + lines, self.lines)
            yield self.data[int(self.offsets[first]) : int(self.offsets[last])]


def line_body(topic: str, table: pa.Table, utc_ns: np.ndarray) -> LineBody:
    """The line protocol of ``table``'s rows, timestamped with ``utc_ns`` (UTC ns)."""
    fields = field_strings(table)
    if not fields or table.num_rows == 0:
        return LineBody(memoryview(b""), np.zeros(1, dtype=np.int64))
    # Concatenated with nulls as "" (Arrow 26's null_handling="skip" drops rows whose
    # values are all null instead of giving them a null), then the last comma cut.
    joined = pc.binary_join_element_wise(*fields, "", null_handling="replace")
    joined = pc.utf8_slice_codeunits(
        pc.if_else(pc.equal(pc.binary_length(joined), 0), None, joined), 0, -1
    )
    stamps = pa.array(np.asarray(utc_ns, dtype=np.int64)).cast(pa.string())
    lines = pc.binary_join_element_wise(
        _escape_measurement(topic) + " ", joined, " ", stamps, "\n", ""
    )
    if lines.null_count:
        lines = lines.drop_null()
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = lines.buffers()[2]
    return LineBody(memoryview(data) if data is not None else memoryview(b""), offsets)
