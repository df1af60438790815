"""LiveWriter: rows visible on return, committed in batches, never shown twice."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from openefd.client import EfdClientSync
from openefd.errors import RecordError
from openefd.ingest.live import LiveWriter
from openefd.store.duckdb_store import Store

AZ = "lsst.sal.MTMount.azimuth"
T0 = pd.Timestamp("2024-05-01T03:00:00Z")


def rows(start: int, n: int) -> pd.DataFrame:
    idx = pd.date_range(T0 + pd.Timedelta(seconds=start), periods=n, freq="1s")
    return pd.DataFrame(
        {
            "actualPosition": np.arange(start, start + n, dtype=float),
            "private_seqNum": np.arange(start, start + n),
        },
        index=idx,
    )


def stored(store: Store) -> int:
    return store.topic_stats([AZ])[0].rows


def seq(efd: EfdClientSync) -> list[int]:
    frame = efd.select_time_series(AZ, "private_seqNum", T0, T0 + pd.Timedelta(hours=1))
    return frame["private_seqNum"].tolist()


def test_rows_visible_before_flush_and_once_after(store: Store) -> None:
    efd = EfdClientSync.from_store(store)
    with LiveWriter(store, flush_interval_s=3600) as live:
        assert live.write(AZ, rows(0, 5)) == 5
        assert stored(store) == 0
        assert seq(efd) == [0, 1, 2, 3, 4]  # a topic with no table yet, only pending rows
        assert efd.select_top_n(AZ, "private_seqNum", 2)["private_seqNum"].tolist() == [4, 3]
        assert live.flush() == 5
        live.write(AZ, rows(3, 4))  # 3, 4 repeat stored rows; 5, 6 are new
        assert seq(efd) == [0, 1, 2, 3, 4, 5, 6]
    assert stored(store) == 7
    assert seq(efd) == [0, 1, 2, 3, 4, 5, 6]


def test_query_between_commit_and_drop_shows_each_row_once(store: Store) -> None:
    efd = EfdClientSync.from_store(store)
    live = LiveWriter(store, flush_interval_s=3600)
    live.write(AZ, rows(0, 3))
    live.write(AZ, rows(1, 3))  # repeats inside the pending rows too
    pending = store.pending.snapshot(AZ)
    assert pending is not None
    store.insert(AZ, pending)  # as a flush does, before it drops the pending rows
    assert seq(efd) == [0, 1, 2, 3]
    live.close()
    assert seq(efd) == [0, 1, 2, 3]
    assert stored(store) == 4


def test_bad_rows_rejected_at_write(store: Store) -> None:
    with LiveWriter(store, flush_interval_s=3600) as live:
        with pytest.raises(RecordError, match="actualPosition"):
            live.write(AZ, rows(0, 2).assign(actualPosition="x"))
        assert store.pending.rows == 0


def test_background_thread_flushes(store: Store) -> None:
    with LiveWriter(store, flush_interval_s=0.05) as live:
        live.write(AZ, rows(0, 10))
        deadline = time.monotonic() + 10
        while stored(store) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stored(store) == 10
        assert live.flushes >= 1
        assert store.pending.rows == 0


def test_the_next_background_flush_counts_from_the_last_explicit_one(store: Store) -> None:
    """A caller's flush() restarts the interval: no near-empty flush right after it."""
    with LiveWriter(store, flush_interval_s=1.0) as live:
        live.write(AZ, rows(0, 5))
        time.sleep(0.7)
        live.flush()  # before the thread's first flush (due 1.0 s after the start)
        assert stored(store) == 5
        live.write(AZ, rows(5, 5))
        time.sleep(0.6)  # past the start's 1.0 s, not yet 1.0 s after the flush
        assert stored(store) == 5
        assert live.flushes == 1
        assert store.pending.rows == 5
        deadline = time.monotonic() + 10
        while stored(store) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stored(store) == 10  # the thread's flush, an interval after the explicit one
        assert live.flushes == 2


def test_flush_early_when_pending_rows_pile_up(store: Store) -> None:
    with LiveWriter(store, flush_interval_s=3600, max_pending_rows=20) as live:
        live.write(AZ, rows(0, 25))
        deadline = time.monotonic() + 10
        while stored(store) < 25 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stored(store) == 25


def test_arrow_input_and_many_topics_in_one_flush(store: Store) -> None:
    el = "lsst.sal.MTMount.elevation"
    with LiveWriter(store, flush_interval_s=3600) as live:
        for k in range(3):
            t = pa.table({"private_efdStamp": [1714532400.0 + k], "actualPosition": [float(k)]})
            live.write(AZ, t)
            live.write(el, t)
        assert live.flush() == 6
        assert live.flushes == 1


def test_repeated_table_shape_takes_the_plan_and_matches_the_full_path(store: Store) -> None:
    efd = EfdClientSync.from_store(store)

    def second(k: int, seq: int = 0) -> pa.Table:
        return pa.table(
            {
                "private_efdStamp": [1714532400.0 + k, 1714532400.5 + k],
                "actualPosition": [float(k), k + 0.5],
                "private_seqNum": [seq or 2 * k, seq or 2 * k + 1],
            }
        )

    with LiveWriter(store, flush_interval_s=3600) as live:
        live.write(AZ, second(0))  # full path, learns the plan
        assert live._plans.apply(AZ, second(1)) is not None
        live.write(AZ, second(1))
        with pytest.raises(RecordError, match="private_seqNum"):
            live.write(AZ, second(2, seq=2**40))  # too big for SAL long: full path explains
        got = efd.select_time_series(
            AZ, ["actualPosition", "private_seqNum"], T0, T0 + pd.Timedelta(seconds=5)
        )
        assert got["actualPosition"].tolist() == [0.0, 0.5, 1.0, 1.5]
        assert got.index[1] == T0 + pd.Timedelta(milliseconds=500)
    assert stored(store) == 4


def test_deferred_rows_are_cast_together_and_equal_the_full_path(store: Store) -> None:
    from openefd.ingest.plans import DeferredRows

    efd = EfdClientSync.from_store(store)

    def second(k: int) -> pa.Table:  # int64 in: the store keeps SAL long as int32
        return pa.table(
            {
                "private_efdStamp": [1714532400.0 + k],
                "actualPosition": [k + 0.1],
                "private_seqNum": [k],
            }
        )

    with LiveWriter(store, flush_interval_s=3600) as live:
        live.write(AZ, second(0))  # full path, learns the plan
        for k in range(1, 4):
            live.write(AZ, second(k))
        waiting = store.pending.peek_all()[AZ]
        assert [type(e) for e in waiting[1:]] == [DeferredRows] * 3  # not cast yet
        before = efd.select_time_series(
            AZ, ["actualPosition", "private_seqNum"], T0, T0 + pd.Timedelta(seconds=10)
        )
        live.flush()
    after = efd.select_time_series(
        AZ, ["actualPosition", "private_seqNum"], T0, T0 + pd.Timedelta(seconds=10)
    )
    pd.testing.assert_frame_equal(before, after)
    assert after["private_seqNum"].tolist() == [0, 1, 2, 3]
    assert after["actualPosition"].tolist() == [k + 0.1 for k in range(4)]  # SAL double


def test_planned_batches_across_a_leap_second_get_the_full_paths_tai(store: Store) -> None:
    """The plan converts a batch with one offset; a batch straddling 2017-01-01 may not."""
    from openefd.timescales import utc_to_tai_ns

    leap = 1483228800.0  # 2017-01-01T00:00:00 UTC: TAI − UTC goes from 36 s to 37 s

    def batch(first: float) -> pa.Table:
        stamps = [first + 0.25 * k for k in range(4)]
        return pa.table({"private_efdStamp": stamps, "actualPosition": stamps})

    batches = [batch(leap - 10.0), batch(leap - 0.5), batch(leap + 5.0)]  # the 2nd straddles
    with LiveWriter(store, flush_interval_s=3600) as live:
        for b in batches:
            live.write(AZ, b)
        assert all(live._plans.apply(AZ, b) is not None for b in batches[1:])
    stamps = np.concatenate([b["private_efdStamp"].to_numpy() for b in batches])
    want = utc_to_tai_ns(np.round(stamps * 1e6).astype(np.int64) * 1000)
    got = store._con.sql(f'SELECT time_tai_ns FROM "{AZ}" ORDER BY 1').fetchall()
    assert [g for (g,) in got] == want.tolist()
    assert want[7] - want[4] == 1_750_000_000  # 0.75 s apart in UTC, and the leap second


def test_extend_mode_new_field_after_first_flush(store: Store) -> None:
    from openefd.settings import SchemaMode

    with LiveWriter(store, flush_interval_s=3600, mode=SchemaMode.EXTEND) as live:
        live.write(AZ, rows(0, 2))
        live.flush()
        live.write(AZ, rows(2, 2).assign(brandNewField=1.5))
        live.flush()
    efd = EfdClientSync.from_store(store)
    got = efd.select_time_series(AZ, ["brandNewField"], T0, T0 + pd.Timedelta(seconds=10))
    assert got["brandNewField"].tolist()[2:] == [1.5, 1.5]
    assert np.isnan(got["brandNewField"].iloc[0])
