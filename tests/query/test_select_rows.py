"""Range selects read without an SQL sort, float fields read as stored: the same answers.

``select_rows`` hands out a select's rows before they become a DataFrame
(:class:`openefd.query.rows.Rows`); ``run_select`` is ``select_rows(...).frame()``.
Rows of a range come back unsorted from DuckDB and are put in time order in
numpy; float fields and elements are read as float32 and widened in numpy,
which must give exactly what DuckDB's ``CAST(... AS DOUBLE)`` gave.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openefd.client import EfdClientSync
from openefd.errors import TimeValueError, UnknownFieldError, UnknownTopicError
from openefd.ingest.writer import Writer
from openefd.query.rows import Rows
from openefd.query.select import RowSelect, run_select, select_rows
from openefd.settings import Settings
from openefd.store.duckdb_store import Store
from openefd.timeinput import tai_ns_to_index
from openefd.timescales import tai_to_utc_ns

M1M3 = "lsst.sal.MTM1M3.forceActuatorData"
ESS = "lsst.sal.ESS.temperature"
AZ = "lsst.sal.MTMount.azimuth"
U0 = 1714532400_000_000_000  # 2024-05-01T03:00:00Z, UTC ns
LEAP_NS = 37_000_000_000
ROWS = 240


def _lines(order: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Line protocol of M1M3 rows 20 ms apart, in ``order``; every fifth row lacks fy."""
    lines = []
    for i in order:
        fx, fy, x0, x11 = rng.normal(size=4) * 1000
        fields = f"fx={fx},xForce0={x0},xForce11={x11},private_seqNum={i}i"
        if i % 5:
            fields += f",fy={fy}"
        lines.append(f"{M1M3} {fields} {U0 + int(i) * 20_000_000}\n")
    return lines


@pytest.fixture(scope="module")
def m1m3(
    tmp_path_factory: pytest.TempPathFactory, template_store: Path
) -> Iterator[EfdClientSync]:
    """M1M3 rows written in three batches, each in random order; fy null in some rows."""
    path = tmp_path_factory.mktemp("select_rows") / "store"
    shutil.copytree(template_store, path)
    rng = np.random.default_rng(3)
    with EfdClientSync(path, settings=Settings(store=path, aggregation=False)) as efd:
        for part in np.array_split(rng.permutation(ROWS), 3):
            efd.write_line_protocol("".join(_lines(part, rng)))
        yield efd


FIELDS = ["fx", "fy", "xForce0", "xForce11", "private_seqNum"]


def _cast_in_sql(store: Store, fields: list[str], lo: int, hi: int) -> dict[str, np.ndarray]:
    """What DuckDB's CAST to DOUBLE and ORDER BY gave (the read before this change)."""
    sql = (
        "SELECT time_tai_ns, CAST(fx AS DOUBLE) AS fx, CAST(fy AS DOUBLE) AS fy, "
        'CAST("xForce"[1] AS DOUBLE) AS xForce0, CAST("xForce"[12] AS DOUBLE) AS xForce11, '
        f'CAST(private_seqNum AS BIGINT) AS private_seqNum FROM "{M1M3}" '
        "WHERE time_tai_ns >= ? AND time_tai_ns <= ? ORDER BY time_tai_ns"
    )
    out = store.cursor().execute(sql, [lo, hi]).fetchnumpy()
    return {name: out[name] for name in ["time_tai_ns", *fields]}


def test_rows_written_out_of_order_come_back_in_time_order(m1m3: EfdClientSync) -> None:
    lo, hi = U0 + LEAP_NS, U0 + LEAP_NS + ROWS * 20_000_000
    rows = select_rows(m1m3.store, RowSelect(M1M3, FIELDS, lo, hi, time_scale="tai"))
    assert len(rows) == ROWS
    assert rows.times_tai_ns.tolist() == [lo + i * 20_000_000 for i in range(ROWS)]
    assert np.asarray(rows.columns["private_seqNum"]).tolist() == list(range(ROWS))
    # float fields and elements travel as stored: float32, widened by frame()
    assert {name: rows.columns[name].dtype for name in FIELDS[:4]} == dict.fromkeys(
        FIELDS[:4], np.dtype(np.float32)
    )
    frame = rows.frame()
    assert list(frame.dtypes) == [np.float64] * 4 + [np.int64]
    pd.testing.assert_frame_equal(
        frame, run_select(m1m3.store, RowSelect(M1M3, FIELDS, lo, hi, time_scale="tai"))
    )


@pytest.mark.parametrize("time_scale", ["utc", "tai"])
def test_widened_floats_equal_what_the_cast_in_sql_gave(
    m1m3: EfdClientSync, time_scale: str
) -> None:
    lo, hi = U0 + LEAP_NS + 13 * 20_000_000, U0 + LEAP_NS + 200 * 20_000_000
    frame = run_select(m1m3.store, RowSelect(M1M3, FIELDS, lo, hi, time_scale=time_scale))
    want = _cast_in_sql(m1m3.store, FIELDS, lo, hi)
    assert len(frame) == 188
    times = want.pop("time_tai_ns")
    expected = pd.DataFrame(want, index=tai_ns_to_index(times, time_scale), copy=False)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    nulls = frame["fy"].isna()
    assert nulls.sum() == 38 and (frame["private_seqNum"][nulls] % 5 == 0).all()
    if time_scale == "utc":
        assert frame.index[0] == pd.Timestamp(U0 + 13 * 20_000_000, tz="UTC")


def test_a_topic_never_written_has_no_rows_and_the_asked_dtypes(store: Store) -> None:
    rows = select_rows(store, RowSelect(ESS, ["location", "numChannels", "temperatureItem3"]))
    assert len(rows) == 0
    frame = rows.frame()
    expected = pd.DataFrame(
        {
            "location": pd.Series([], dtype=object),
            "numChannels": pd.Series([], dtype=np.int64),
            "temperatureItem3": pd.Series([], dtype=np.float64),
        },
        index=tai_ns_to_index(np.empty(0, dtype=np.int64), "utc"),
    )
    pd.testing.assert_frame_equal(frame, expected)
    assert list(frame.dtypes) == [object, np.int64, np.float64]


def test_errors_are_the_selects_errors(m1m3: EfdClientSync) -> None:
    with pytest.raises(UnknownTopicError):
        select_rows(m1m3.store, RowSelect("lsst.sal.Nope.x", ["fx"], 0, 1))
    with pytest.raises(UnknownFieldError, match="did you mean fx"):
        select_rows(m1m3.store, RowSelect(M1M3, ["fxx"], 0, 1))
    rows = select_rows(m1m3.store, RowSelect(M1M3, ["fx"], U0, U0 + 10**12, time_scale="gps"))
    with pytest.raises(TimeValueError, match="unknown time scale 'gps'"):
        rows.frame()  # the scale is checked when the index is made, as before


def test_frame_keeps_rows_that_are_not_plain(m1m3: EfdClientSync) -> None:
    masked = np.ma.masked_array([1.5, 2.5], mask=[False, True], dtype=np.float32)
    rows = Rows(
        np.array([U0, U0 + 1], dtype=np.int64),
        {"f": masked, "s": np.array(["a", None], dtype=object)},
        "utc",
    )
    frame = rows.frame()
    assert frame["f"].dtype == np.float64 and frame["f"].isna().tolist() == [False, True]
    assert frame["s"].tolist()[0] == "a"
    assert frame.index.asi8.tolist() == tai_to_utc_ns(rows.times_tai_ns).tolist()


_REGION = itertools.count(1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    offsets_ms=st.lists(st.integers(0, 5_000), min_size=1, max_size=40, unique=True),
    batches=st.integers(1, 4),
    window=st.tuples(st.integers(-100, 5_100), st.integers(0, 5_200)),
)
def test_any_write_order_reads_back_as_a_sorted_filter(
    m1m3: EfdClientSync, offsets_ms: list[int], batches: int, window: tuple[int, int]
) -> None:
    base = U0 + next(_REGION) * 10**12  # a region of its own: other examples stay outside
    times = base + np.array(offsets_ms, dtype=np.int64) * 1_000_000
    values = np.arange(len(times), dtype=np.float32) / 4  # exact in float32
    writer = Writer(m1m3.store)
    # the latest rows first, each batch in the order drawn
    for part in reversed(np.array_split(np.argsort(times), batches)):
        writer.write(
            M1M3, pd.DataFrame({"time_tai_ns": times[part] + LEAP_NS, "fz": values[part]})
        )
    lo = base + LEAP_NS + window[0] * 1_000_000
    hi = lo + window[1] * 1_000_000
    frame = run_select(m1m3.store, RowSelect(M1M3, ["fz"], lo, hi))
    inside = (times + LEAP_NS >= lo) & (times + LEAP_NS <= hi)
    order = np.argsort(times[inside])
    assert frame.index.asi8.tolist() == times[inside][order].tolist()
    assert frame["fz"].tolist() == values[inside][order].astype(np.float64).tolist()
