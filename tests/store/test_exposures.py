"""The exposure registry: loading is idempotent, newer values replace, times convert at the edge,
queries select by night, time range (half-open), exposure and detector."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from openefd.errors import ConfigurationError, QueryError, RecordError, TimeValueError
from openefd.ingest.exposure_loader import load_exposure_files, load_exposures
from openefd.sim import NightSimulator, SimConfig
from openefd.store.duckdb_store import Store
from openefd.store.exposure_tables import ARRIVALS, EXPOSURES
from openefd.store.exposures import (
    exposures,
    exposures_overlapping,
    image_arrivals,
    observing_days,
    parse_day_obs,
)
from openefd.store.sql import run_one

DAY = 20240501
NS = 1_000_000_000


@pytest.fixture(scope="module")
def night(sal_xml_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A simulated hour's exposures and arrivals (frames as the simulator gives them)."""
    sim = NightSimulator(SimConfig(sal_xml_dir, "2024-05-01T23:30:00Z", hours=0.25, seed=1))
    return sim.exposures(), sim.arrivals()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "store") as st:
        yield st


def _rows(st: Store, table: str) -> int:
    row = run_one(st.cursor(), f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


def test_load_and_read_back(store: Store, night: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ex, arr = night
    result = load_exposures(store, ex, arr)
    assert (result.exposures.new, result.arrivals.new) == (len(ex), len(arr))
    got = exposures(store, day_obs=DAY)
    assert got["exposure_id"].tolist() == ex["id"].tolist()
    assert got["obs_id"].tolist() == ex["obs_id"].tolist()
    assert got["timespan_end_tai_ns"].tolist() == ex["timespan_end_tai_ns"].tolist()
    assert np.array_equal(got["exposure_time_s"], ex["exposure_time"])
    assert np.array_equal(got["zenith_angle_deg"], ex["zenith_angle"])
    assert got["tracking_ra_deg"].isna().tolist() == ex["tracking_ra"].isna().tolist()
    assert set(got["instrument"]) == {"LSSTCam"}

    rows = image_arrivals(store, day_obs=DAY)
    assert len(rows) == len(arr)
    expected = arr.sort_values(["exposure_id", "detector", "resend"], kind="stable")
    assert rows["s3_arrival_tai_ns"].tolist() == expected["s3_arrival_tai_ns"].tolist()
    assert rows["resend"].tolist() == expected["resend"].tolist()
    # A re-send is the same object delivered again: delivery 1, same key, later.
    resent = rows[rows["resend"]]
    assert len(resent) == int(arr["resend"].sum()) > 0
    assert (resent["delivery"] == 1).all()
    firsts = rows[~rows["resend"]].set_index(["exposure_id", "detector"])
    for row in resent.itertuples():
        first = firsts.loc[(row.exposure_id, row.detector)]
        assert first["object_key"] == row.object_key
        assert first["s3_arrival_tai_ns"] < row.s3_arrival_tai_ns
    assert (rows["day_obs"] == DAY).all()


def test_reloading_changes_nothing(store: Store, night: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ex, arr = night
    load_exposures(store, ex, arr)
    before = (exposures(store), image_arrivals(store))
    again = load_exposures(store, ex, arr)
    assert (again.exposures.new, again.exposures.changed) == (0, 0)
    assert (again.arrivals.new, again.arrivals.changed) == (0, 0)
    assert (again.exposures.unchanged, again.arrivals.unchanged) == (len(ex), len(arr))
    assert _rows(store, EXPOSURES.name) == len(ex)
    assert _rows(store, ARRIVALS.name) == len(arr)
    pd.testing.assert_frame_equal(exposures(store), before[0])
    pd.testing.assert_frame_equal(image_arrivals(store), before[1])


def test_newer_values_replace_and_missing_columns_keep(
    store: Store, night: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    ex, arr = night
    load_exposures(store, ex, arr)
    target = arr.iloc[10]
    # An ingest-only importer: key columns and the one time it knows.
    update = pd.DataFrame(
        {
            "instrument": ["LSSTCam"],
            "exposure_id": [int(target["exposure_id"])],
            "detector": [int(target["detector"])],
            "delivery": [0],
            "ingest_tai_ns": [int(target["ingest_tai_ns"]) + 5 * NS],
        }
    )
    result = load_exposures(store, arrivals=update)
    assert (result.arrivals.new, result.arrivals.changed) == (0, 1)
    row = image_arrivals(
        store, exposure_ids=[int(target["exposure_id"])], detectors=[int(target["detector"])]
    ).iloc[0]
    assert row["ingest_tai_ns"] == target["ingest_tai_ns"] + 5 * NS
    assert row["s3_arrival_tai_ns"] == target["s3_arrival_tai_ns"]
    assert row["object_key"] == target["object_key"]
    assert row["day_obs"] == DAY  # the exposure's, from the store
    # Exposures: a changed field replaces the stored one; the rest stay.
    changed = ex.iloc[[3]].assign(observation_reason="engineering")
    assert load_exposures(store, changed).exposures.changed == 1
    got = exposures(store, exposure_ids=[int(ex.iloc[3]["id"])]).iloc[0]
    assert got["observation_reason"] == "engineering"
    assert got["obs_id"] == ex.iloc[3]["obs_id"]
    assert _rows(store, EXPOSURES.name) == len(ex)


def test_repeated_key_in_one_batch_last_wins(store: Store) -> None:
    frame = pd.DataFrame(
        {
            "instrument": ["LATISS", "LATISS"],
            "exposure_id": [2024050100001, 2024050100001],
            "detector": [0, 0],
            "delivery": [0, 0],
            "s3_arrival_tai_ns": [1, 2],
        }
    )
    result = load_exposures(store, arrivals=frame)
    assert result.arrivals.new == 1
    assert image_arrivals(store)["s3_arrival_tai_ns"].tolist() == [2]


def test_utc_times_become_tai_leap_second_correct(store: Store) -> None:
    utc = pd.to_datetime(
        ["2016-12-31T23:59:59.5", "2017-01-01T00:00:00.5", "2024-05-01T23:30:00.0", None], utc=True
    )
    frame = pd.DataFrame(
        {
            "exposure_id": [2016123100001, 2016123100002, 2024050100001, 2024050100002],
            "detector": [0, 0, 0, 0],
            "s3_arrival_utc": utc,
        }
    )
    load_exposures(store, arrivals=frame, instrument="LSSTCam")
    got = image_arrivals(store)
    posix = utc.as_unit("ns").asi8
    assert got["s3_arrival_tai_ns"].iloc[0] == posix[0] + 36 * NS  # before the 2017 leap second
    assert got["s3_arrival_tai_ns"].iloc[1] == posix[1] + 37 * NS
    assert got["s3_arrival_tai_ns"].iloc[2] == posix[2] + 37 * NS
    assert got["s3_arrival_tai_ns"].isna().tolist() == [False, False, False, True]
    # No exposure record: day_obs follows the butler's id rule.
    assert got["day_obs"].tolist() == [20161231, 20161231, 20240501, 20240501]
    naive = frame.assign(s3_arrival_utc=utc.tz_localize(None))
    with pytest.raises(TimeValueError, match="timezone-aware"):
        load_exposures(store, arrivals=naive, instrument="LSSTCam")


def test_bad_input_is_rejected_and_nothing_written(
    store: Store, night: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    ex, arr = night
    with pytest.raises(RecordError, match="unknown columns"):
        load_exposures(store, ex, arr.assign(colour="red"))
    with pytest.raises(RecordError, match="exposure_id"):
        load_exposures(store, ex, arr.assign(exposure_id=pd.array([None] * len(arr), "Int64")))
    with pytest.raises(RecordError, match="instrument"):
        load_exposures(store, arrivals=arr)  # no instrument anywhere
    assert exposures(store).empty
    assert image_arrivals(store).empty


def test_time_ranges_are_half_open(store: Store, night: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ex, _ = night
    load_exposures(store, ex)
    science = ex[ex["observation_type"] == "science"].iloc[0]
    begin, end = int(science["timespan_begin_tai_ns"]), int(science["timespan_end_tai_ns"])

    def ids(lo: int, hi: int) -> set[int]:
        return set(exposures_overlapping(store, lo, hi)["exposure_id"].tolist())

    sid = int(science["id"])
    assert sid in ids(begin, begin + 1)
    assert sid in ids(end - 1, end)
    assert sid not in ids(end, end + NS)  # ends at `end`, excluded
    assert sid not in ids(begin - NS, begin)  # the range ends where it starts
    bias = ex[ex["observation_type"] == "bias"].iloc[0]
    t = int(bias["timespan_begin_tai_ns"])
    assert t == int(bias["timespan_end_tai_ns"])  # an empty timespan: the instant t
    assert int(bias["id"]) in ids(t, t + 1)
    assert int(bias["id"]) not in ids(t - NS, t)
    assert int(bias["id"]) not in ids(t + 1, t + NS)
    # The same rule through exposures(begin=, end=) with user times.
    from openefd.timeinput import tai_ns_to_astropy

    found = exposures(store, begin=tai_ns_to_astropy(end - 1), end=tai_ns_to_astropy(end))
    assert sid in set(found["exposure_id"].tolist())
    found = exposures(store, begin=tai_ns_to_astropy(end), end=tai_ns_to_astropy(end + NS))
    assert sid not in set(found["exposure_id"].tolist())


def test_filters(store: Store, night: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ex, arr = night
    load_exposures(store, ex, arr)
    science = exposures(store, day_obs="2024-05-01", observation_types=["science"])
    assert len(science) == int((ex["observation_type"] == "science").sum())
    first = int(ex["id"].iloc[0])
    rows = image_arrivals(store, exposure_ids=[first], detectors=["R22_S11", 0])
    assert rows["detector"].tolist() == [0, 94]
    assert rows["detector_name"].tolist() == ["R01_S00", "R22_S11"]
    assert not image_arrivals(store, first_delivery_only=True)["resend"].any()
    assert len(image_arrivals(store, first_delivery_only=True)) == len(arr) - arr["resend"].sum()
    assert exposures(store, day_obs=20240502).empty
    assert exposures(store, instrument="LATISS").empty
    days = observing_days(store)
    assert days.to_dict("records") == [
        {"instrument": "LSSTCam", "day_obs": DAY, "exposures": len(ex), "images": len(arr)}
    ]


def test_an_empty_store_answers_with_empty_frames(tmp_path: Path) -> None:
    Store(tmp_path / "s").close()
    with Store(tmp_path / "s", read_only=True) as st:
        assert exposures(st, day_obs=DAY).empty
        assert list(exposures(st).columns) == list(EXPOSURES.columns)
        assert list(image_arrivals(st).columns) == [*ARRIVALS.columns, "resend"]
        assert exposures_overlapping(st, 0, 10**19).empty
        assert observing_days(st).empty


def test_parse_day_obs() -> None:
    assert parse_day_obs(20240501) == parse_day_obs("2024-05-01") == DAY
    for bad in ("2024-13-01", "yesterday", "202405"):
        with pytest.raises(QueryError, match="day_obs"):
            parse_day_obs(bad)


def test_load_files_as_simulate_writes_them(
    store: Store, night: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    ex, arr = night
    images = tmp_path / "night" / "images"
    images.mkdir(parents=True)
    ex.to_parquet(images / "exposures.parquet")
    arr.to_parquet(images / "arrivals.parquet")
    result = load_exposure_files(store, [tmp_path / "night"])
    assert (result.exposures.new, result.arrivals.new) == (len(ex), len(arr))
    again = load_exposure_files(store, [images / "exposures.parquet", images / "arrivals.parquet"])
    assert (again.exposures.unchanged, again.arrivals.unchanged) == (len(ex), len(arr))
    (tmp_path / "other.parquet").write_bytes((images / "exposures.parquet").read_bytes())
    with pytest.raises(ConfigurationError, match="cannot tell"):
        load_exposure_files(store, [tmp_path / "other.parquet"])
    with pytest.raises(ConfigurationError, match="no such file"):
        load_exposure_files(store, [tmp_path / "missing"])


def test_exposure_times_given_in_utc(store: Store) -> None:
    begin = dt.datetime(2024, 5, 2, 1, 0, tzinfo=dt.UTC)
    frame = pd.DataFrame(
        {
            "instrument": ["LSSTCam"],
            "id": [2024050100007],
            "day_obs": [DAY],
            "timespan_begin_utc": pd.to_datetime([begin]),
            "timespan_end_utc": pd.to_datetime([begin + dt.timedelta(seconds=30)]),
        }
    )
    load_exposures(store, frame)
    got = exposures(store).iloc[0]
    posix = int(pd.Timestamp(begin).as_unit("ns").value)
    assert got["timespan_begin_tai_ns"] == posix + 37 * NS
    assert got["timespan_end_tai_ns"] - got["timespan_begin_tai_ns"] == 30 * NS
