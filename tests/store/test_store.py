"""The DuckDB store: every field type round-trips, writes are idempotent and atomic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from openefd.errors import ConfigurationError, RecordError, UnknownTopicError
from openefd.schema.model import FieldSchema, FieldType, TopicKind, TopicSchema, private_fields
from openefd.settings import Settings
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.sql import run_one

ALL_TYPES = TopicSchema(
    name="lsst.sal.Test.allTypes",
    kind=TopicKind.TELEMETRY,
    csc="Test",
    indexed=True,
    fields=(
        FieldSchema("b", FieldType.BOOLEAN),
        FieldSchema("u8", FieldType.BYTE),
        FieldSchema("i16", FieldType.SHORT),
        FieldSchema("i32", FieldType.INT),
        FieldSchema("l32", FieldType.LONG),
        FieldSchema("i64", FieldType.LONG_LONG),
        FieldSchema("u16", FieldType.UNSIGNED_SHORT),
        FieldSchema("u32", FieldType.UNSIGNED_INT),
        FieldSchema("ul32", FieldType.UNSIGNED_LONG),
        FieldSchema("f32", FieldType.FLOAT),
        FieldSchema("f64", FieldType.DOUBLE),
        FieldSchema("s", FieldType.STRING),
        FieldSchema("arr", FieldType.DOUBLE, 3),
        FieldSchema("iarr", FieldType.SHORT, 2),
        *private_fields(indexed=True),
    ),
)

EXTREMES = {
    "b": [True, False],
    "u8": [0, 255],
    "i16": [-(2**15), 2**15 - 1],
    "i32": [-(2**31), 2**31 - 1],
    "l32": [-(2**31), 2**31 - 1],
    "i64": [-(2**63), 2**63 - 1],
    "u16": [0, 2**16 - 1],
    "u32": [0, 2**32 - 1],
    "ul32": [0, 2**32 - 1],
    "f32": [1.5, float("nan")],
    "f64": [-1e300, float("inf")],
    "s": ["", 'ünïcödé "quoted" \\ , = '],
    "arr": [[1.0, 2.0, 3.0], [float("nan"), None, -0.0]],
    "iarr": [[1, -2], [3, 4]],
    "salIndex": [1, 2],
    "private_seqNum": [1, 2],
}


@pytest.fixture
def typed_store(tmp_path: Path) -> Store:
    st = Store(tmp_path / "s", settings=Settings(store=tmp_path / "s"))
    st.register_topics([ALL_TYPES])
    return st


def test_every_field_type_round_trips(typed_store: Store) -> None:
    table = pa.table({TIME_COLUMN: [10**18, 10**18 + 1], **EXTREMES})
    assert typed_store.insert(ALL_TYPES.name, table) == 2
    got = (
        typed_store.cursor()
        .sql(f'SELECT * FROM "{ALL_TYPES.name}" ORDER BY {TIME_COLUMN}')
        .to_arrow_table()
    )
    for name, values in EXTREMES.items():
        stored = got[name].to_pylist()
        for want, have in zip(values, stored, strict=True):
            if isinstance(want, float) and np.isnan(want):
                assert have is not None and np.isnan(have)
            elif name == "arr" and want[0] != want[0]:  # the NaN/None/-0.0 row
                assert np.isnan(have[0]) and have[1] is None and str(have[2]) == "-0.0"
            else:
                assert have == want, name
    typed_store.close()


def test_out_of_range_value_is_rejected_and_nothing_written(typed_store: Store) -> None:
    table = pa.table({TIME_COLUMN: [1, 2], "i16": [1, 2**15]})
    with pytest.raises(RecordError, match="i16"):
        typed_store.insert(ALL_TYPES.name, table)
    assert typed_store.topic_stats([ALL_TYPES.name])[0].rows == 0
    typed_store.close()


def test_rewrite_is_idempotent_and_key_includes_index_and_seqnum(typed_store: Store) -> None:
    base = {TIME_COLUMN: [5, 5, 5, 6], "salIndex": [1, 2, 1, 1], "private_seqNum": [1, 1, 2, 3]}
    assert typed_store.insert(ALL_TYPES.name, pa.table(base)) == 4
    assert typed_store.insert(ALL_TYPES.name, pa.table(base)) == 0
    dup_in_batch = {TIME_COLUMN: [7, 7], "salIndex": [1, 1], "private_seqNum": [9, 9]}
    assert typed_store.insert(ALL_TYPES.name, pa.table(dup_in_batch)) == 1
    # An older row arriving late (below the stored maximum) is still stored once.
    late = {TIME_COLUMN: [4, 5], "salIndex": [1, 1], "private_seqNum": [0, 1]}
    assert typed_store.insert(ALL_TYPES.name, pa.table(late)) == 1
    assert typed_store.topic_stats([ALL_TYPES.name])[0].rows == 6
    typed_store.close()


def test_transaction_rolls_back_everything(typed_store: Store) -> None:
    good = pa.table({TIME_COLUMN: [1], "i32": [1]})
    bad = pa.table({TIME_COLUMN: [2], "nope": [1]})
    with pytest.raises(RecordError, match="nope"), typed_store.transaction():
        typed_store.insert(ALL_TYPES.name, good)
        typed_store.insert(ALL_TYPES.name, bad)
    assert typed_store.topic_stats([ALL_TYPES.name])[0].rows == 0
    typed_store.close()


def test_unknown_topic(typed_store: Store) -> None:
    with pytest.raises(UnknownTopicError, match="lsst.sal.Nope.x"):
        typed_store.insert("lsst.sal.Nope.x", pa.table({TIME_COLUMN: [1]}))
    typed_store.close()


def test_store_reopens_with_registry_and_data(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with Store(path) as st:
        st.register_topics([ALL_TYPES])
        st.insert(ALL_TYPES.name, pa.table({TIME_COLUMN: [1], "f64": [2.5]}))
    with Store(path, read_only=True) as st:
        assert st.registry.current(ALL_TYPES.name) == ALL_TYPES
        stats = st.topic_stats([ALL_TYPES.name])[0]
        assert (stats.rows, stats.first_tai_ns, stats.last_tai_ns) == (1, 1, 1)


def test_bad_locations(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no openefd store"):
        Store(tmp_path / "missing", read_only=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="not a directory"):
        Store(tmp_path / "file")


def test_float_fields_are_float32_as_sal_sends_them(typed_store: Store) -> None:
    """A float32 value is kept exactly; a decimal float32 cannot hold is rounded to it."""
    sent = float(np.float32(12.34))
    typed_store.insert(ALL_TYPES.name, pa.table({TIME_COLUMN: [1, 2], "f32": [sent, 0.1]}))
    got = typed_store.cursor().sql(f'SELECT "f32"::DOUBLE FROM "{ALL_TYPES.name}"').fetchall()
    assert got == [(sent,), (float(np.float32(0.1)),)]
    typed_store.close()


def test_checkpoint_threshold_setting_reaches_duckdb(tmp_path: Path) -> None:
    settings = Settings(store=tmp_path / "s", duckdb_checkpoint_threshold="64MB")
    with Store(settings.store, settings=settings) as st:
        row = run_one(st.cursor(), "SELECT current_setting('checkpoint_threshold')")
    assert row is not None and str(row[0]) == "61.0 MiB"  # 64 MB as DuckDB shows it
