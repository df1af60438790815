"""Writing DataFrames, Arrow tables and records: validation, times, atomicity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openefd.errors import RecordError, UnknownTopicError
from openefd.ingest.writer import Writer
from openefd.settings import SchemaMode
from openefd.store.duckdb_store import Store

AZ = "lsst.sal.MTMount.azimuth"
ESS = "lsst.sal.ESS.temperature"
T0 = pd.Timestamp("2024-05-01T03:00:00Z")


def count(store: Store, topic: str) -> int:
    return store.topic_stats([topic])[0].rows


def frame(n: int = 5) -> pd.DataFrame:
    idx = pd.date_range(T0, periods=n, freq="100ms")
    return pd.DataFrame(
        {"actualPosition": np.arange(n, dtype=float), "private_seqNum": range(n)}, index=idx
    )


def test_dataframe_with_utc_index(store: Store) -> None:
    result = Writer(store).write(AZ, frame())
    assert (result.rows_received, result.rows_written) == (5, 5)
    assert Writer(store).write(AZ, frame()).rows_written == 0
    first = store.cursor().sql(f'SELECT min(time_tai_ns) FROM "{AZ}"').fetchall()[0][0]
    assert first == T0.value + 37 * 10**9  # UTC → TAI


def test_time_from_private_stamps(store: Store) -> None:
    records = [
        {"actualPosition": 1.0, "private_efdStamp": 1714532400.5, "private_seqNum": 1},
        {"actualPosition": 2.0, "private_sndStamp": 1714532437.75, "private_seqNum": 2},
    ]
    Writer(store).write(AZ, records)
    times = [
        r[0] for r in store.cursor().sql(f'SELECT time_tai_ns FROM "{AZ}" ORDER BY 1').fetchall()
    ]
    assert times == [1714532437_500_000_000, 1714532437_750_000_000]


def test_arrow_table_and_column_dict(store: Store) -> None:
    table = pa.table({"time_tai_ns": [10**18, 10**18 + 1], "actualPosition": [1.0, 2.0]})
    assert Writer(store).write(AZ, table).rows_written == 2
    cols = {"time": pd.to_datetime(["2024-01-01T00:00:00Z"]), "actualPosition": [3.0]}
    assert Writer(store).write(AZ, cols).rows_written == 1


def test_flattened_array_fields_are_packed(store: Store) -> None:
    row = {f"temperatureItem{i}": float(i) for i in range(16)} | {
        "salIndex": 1,
        "private_sndStamp": 1714532437.0,
    }
    del row["temperatureItem7"]
    Writer(store).write(ESS, [row])
    got = store.cursor().sql(f'SELECT "temperatureItem" FROM "{ESS}"').fetchall()[0][0]
    assert got[:3] == [0.0, 1.0, 2.0] and got[7] is None and len(got) == 16


def test_nan_is_a_valid_float(store: Store) -> None:
    df = frame(2)
    df["actualPosition"] = [np.nan, 1.0]
    assert Writer(store).write(AZ, df).rows_written == 2


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ([{"actualPosition": 1.0}], RecordError, "row 0: no time"),
        (
            [{"actualPosition": "high", "private_sndStamp": 1.7e9}],
            RecordError,
            "'actualPosition' is double",
        ),
        ([{"private_seqNum": 1.5, "private_sndStamp": 1.7e9}], RecordError, "does not fit"),
        ([{"bogus": 1.0, "private_sndStamp": 1.7e9}], RecordError, "row 0: no field 'bogus'"),
        ([{"private_efdStamp": float("nan")}], RecordError, "no time"),
        (
            {"time": [dt.datetime(2024, 1, 1)], "actualPosition": [1.0]},
            RecordError,
            "no time zone",
        ),
    ],
)
def test_bad_rows_are_rejected_with_reason(
    store: Store, data: object, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        Writer(store).write(AZ, data)  # type: ignore[arg-type]
    assert count(store, AZ) == 0


def test_naive_index_rejected(store: Store) -> None:
    with pytest.raises(RecordError, match="naive"):
        Writer(store).write(AZ, frame().tz_localize(None))


def test_unknown_topic_strict_and_extend(store: Store) -> None:
    with pytest.raises(UnknownTopicError, match="lsst.sal.Nope.x"):
        Writer(store).write("lsst.sal.Nope.x", frame())
    Writer(store, SchemaMode.EXTEND).write("lsst.sal.Nope.x", frame())
    layout = store.registry.layout("lsst.sal.Nope.x")
    assert layout is not None and layout.csc == "Nope"
    assert [(f.name, f.type.value) for f in layout.fields] == [
        ("actualPosition", "double"),
        ("private_seqNum", "long long"),
    ]
    # extend adds a field to a known SAL topic, and keeps checking known ones
    df = frame().assign(extraField=True)
    Writer(store, SchemaMode.EXTEND).write(AZ, df)
    current = store.registry.current(AZ)
    assert current is not None and current.field("extraField") is not None
    with pytest.raises(RecordError, match="actualPosition"):
        Writer(store, SchemaMode.EXTEND).write(AZ, frame().assign(actualPosition="x"))


def test_failed_batch_leaves_earlier_topics_unwritten(store: Store) -> None:
    from openefd.ingest.writer import TopicBatch, table_from_data

    good, utc = table_from_data(frame(), "good")
    bad, _ = table_from_data(frame().assign(actualPosition="x"), "bad")
    with pytest.raises(RecordError):
        Writer(store).write_batches(
            [TopicBatch(AZ, good, utc), TopicBatch("lsst.sal.MTMount.elevation", bad, utc)]
        )
    assert count(store, AZ) == 0


values = st.one_of(
    st.none(), st.floats(), st.integers(-(2**70), 2**70), st.text(max_size=5), st.booleans()
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"actualPosition": values, "private_seqNum": values, "private_sndStamp": values}
        ),
        min_size=1,
        max_size=4,
    )
)
def test_arbitrary_rows_are_stored_whole_or_rejected_cleanly(
    tmp_path: Path, store: Store, rows: list[dict[str, object]]
) -> None:
    before = count(store, AZ)
    try:
        result = Writer(store).write(AZ, rows)
    except RecordError:
        assert count(store, AZ) == before
    else:
        assert count(store, AZ) == before + result.rows_written


def test_mixed_types_in_records_name_the_row(store: Store) -> None:
    rows = [
        {"actualPosition": 1.0, "private_sndStamp": 1.7e9},
        {"actualPosition": "x", "private_sndStamp": 1.7e9 + 1},
    ]
    with pytest.raises(RecordError, match="row 1: field 'actualPosition'"):
        Writer(store).write(AZ, rows)
