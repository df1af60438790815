"""The newest row kept in memory answers latest-row queries exactly as SQL would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openefd.client import EfdClientSync
from openefd.errors import RecordError
from openefd.ingest.writer import Writer
from openefd.query import select
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

TOPIC = "lsst.sal.MTMount.azimuth"
T0 = pd.Timestamp("2024-05-01T03:00:00Z")


def _rows(start_s: float, n: int, offset: float = 0.0) -> pd.DataFrame:
    index = T0 + pd.to_timedelta(start_s + np.arange(n) * 0.05, unit="s")
    return pd.DataFrame(
        {
            "actualPosition": np.arange(n) + offset,
            "actualVelocity": np.where(np.arange(n) % 2 == 0, np.nan, 1.5),
            "private_seqNum": np.arange(n) + int(offset),
        },
        index=index,
    )


def _by_sql(client: EfdClientSync, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(select, "_newest_in_memory", lambda store, req: None)
        return client.select_top_n(TOPIC, "*", 1)


def test_latest_row_follows_writes_and_ignores_late_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = EfdClientSync.from_store(store)
    writer = Writer(store)
    writer.write(TOPIC, _rows(0, 100))
    first = client.select_top_n(TOPIC, "*", 1)
    pd.testing.assert_frame_equal(first, _by_sql(client, monkeypatch))
    assert first["actualPosition"].iloc[0] == 99
    writer.write(TOPIC, _rows(-10, 5, offset=1000))  # late rows: older than the newest
    pd.testing.assert_frame_equal(client.select_top_n(TOPIC, "*", 1), first)
    writer.write(TOPIC, _rows(20, 3, offset=2000))
    newest = client.select_top_n(TOPIC, "*", 1)
    assert newest["actualPosition"].iloc[0] == 2002
    pd.testing.assert_frame_equal(newest, _by_sql(client, monkeypatch))


def test_rolled_back_write_does_not_change_the_latest_row(store: Store) -> None:
    client = EfdClientSync.from_store(store)
    writer = Writer(store)
    writer.write(TOPIC, _rows(0, 10))
    before = client.select_top_n(TOPIC, "*", 1)
    bad = _rows(30, 2)
    bad["noSuchField"] = 1.0
    with pytest.raises(RecordError), store.transaction():
        writer.write(TOPIC, _rows(40, 2))  # newer rows, then a failure: all rolled back
        writer.write(TOPIC, bad)
    pd.testing.assert_frame_equal(client.select_top_n(TOPIC, "*", 1), before)


def test_reopened_store_reads_the_latest_row_from_the_file(
    store_path: Path, strict_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(store_path, settings=strict_settings) as st:
        Writer(st).write(TOPIC, _rows(0, 50))
    with EfdClientSync(store_path, settings=strict_settings, read_only=True) as client:
        got = client.select_top_n(TOPIC, ["actualPosition", "actualVelocity"], 1)
        assert got["actualPosition"].iloc[0] == 49
        assert got["actualVelocity"].iloc[0] == 1.5
        pd.testing.assert_frame_equal(
            got.reindex(columns=["actualPosition", "actualVelocity"]),
            _by_sql(client, monkeypatch)[got.columns],
        )
