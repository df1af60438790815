"""1-second resolution, downsampling operators and as-of lookups through the client.

References are computed independently: numpy/pandas over the rows written
(or read back with a plain select), brute-force loops for as-of, and the
same query on a store that keeps no aggregates for the fast path.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time, TimeDelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openefd.client import EfdClientSync
from openefd.errors import QueryError
from openefd.ingest.writer import Writer
from openefd.schema.model import TopicSchema
from openefd.settings import SchemaMode, Settings
from openefd.store.agg_rows import agg_table
from openefd.store.duckdb_store import Store
from openefd.store.registry import quote_ident

NS = 1_000_000_000
LEAP_NS = 37 * NS  # TAI − UTC in 2024
U0 = pd.Timestamp("2024-05-01T03:00:00Z")
T0 = U0.value + LEAP_NS  # TAI ns of U0
AZ = "lsst.sal.MTMount.azimuth"
EL = "lsst.sal.MTMount.elevation"
FA = "lsst.sal.MTM1M3.forceActuatorData"
TEMP = "lsst.sal.ESS.temperature"
ERROR = "lsst.sal.MTMount.logevent_errorCode"
NODATA = "lsst.sal.MTMount.logevent_target"
TOPICS = (AZ, EL, FA, TEMP, ERROR, NODATA)
GAP = (20, 35)  # seconds after U0 without azimuth rows


def utc(seconds: float) -> pd.Timestamp:
    return U0 + pd.Timedelta(seconds=seconds)


def jittered(rng: np.random.Generator, seconds: np.ndarray, hz: int) -> np.ndarray:
    """TAI ns of ``hz`` samples in each of ``seconds`` (after U0), jittered, sorted, unique."""
    step = NS // hz
    base = T0 + np.repeat(seconds, hz) * NS + np.tile(np.arange(hz) * step, len(seconds))
    return base + rng.integers(0, step, len(base))


def make_data() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(2024)
    seconds = np.concatenate([np.arange(0, GAP[0]), np.arange(GAP[1], 45)])
    t = jittered(rng, seconds, 50)
    velocity = rng.normal(0.0, 1.0, len(t))
    velocity[rng.random(len(t)) < 0.1] = np.nan
    az = pd.DataFrame(
        {
            "time_tai_ns": t,
            "actualPosition": 180.0 + np.cumsum(rng.normal(0, 0.01, len(t))),
            "actualVelocity": velocity,
            "private_seqNum": np.arange(len(t)),
        }
    )
    t = jittered(rng, np.arange(12), 50)
    fa = pd.DataFrame(
        {
            "time_tai_ns": t,
            "xForce": list(rng.normal(0.0, 100.0, (len(t), 12))),
            "fz": rng.normal(5e5, 10.0, len(t)),
        }
    )
    temps = []
    for sal in (101, 102):
        t = jittered(rng, np.arange(20), 20)
        temps.append(
            pd.DataFrame(
                {
                    "time_tai_ns": t,
                    "salIndex": sal,
                    "temperatureItem": list(rng.normal(10.0 + sal, 0.5, (len(t), 16))),
                    "sensorName": f"sensor {sal}",
                }
            )
        )
    temp = pd.concat(temps).sort_values("time_tai_ns", ignore_index=True)
    # About 1 Hz (every fifth second has a second sample): no aggregate table.
    t = np.concatenate(
        [T0 + np.arange(40) * NS + 250_000_000, T0 + np.arange(0, 40, 5) * NS + 750_000_000]
    )
    t = np.sort(t)
    el = pd.DataFrame({"time_tai_ns": t, "actualPosition": rng.normal(60.0, 1.0, len(t))})
    codes = [3] * 20 + [4] * 2 + [3] * 5
    t = np.sort(T0 + 2 * NS + rng.integers(0, NS, len(codes)))
    t = np.concatenate([t, [T0 + 9 * NS + 1000]])
    error = pd.DataFrame(
        {
            "time_tai_ns": t,
            "errorCode": [*codes, 3],
            "errorReport": "axis fault",
            "traceback": "",
            "private_seqNum": np.arange(len(t)),
        }
    )
    return {AZ: az, FA: fa, TEMP: temp, EL: el, ERROR: error}


DATA = make_data()


def small_store(path: Path, topics: list[TopicSchema], **extra: object) -> Store:
    settings_ = Settings(store=path, schema_mode=SchemaMode.STRICT, aggregate_lag_s=0, **extra)
    store = Store(path, settings=settings_)
    store.register_topics([t for t in topics if t.name in TOPICS])
    return store


@dataclass
class Pair:
    """The same rows in a store that keeps aggregates and in one that does not."""

    agg: EfdClientSync
    raw: EfdClientSync


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, demo_topics: list[TopicSchema]
) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("aggregated")
    stores = [
        small_store(base / "agg", demo_topics),
        small_store(base / "raw", demo_topics, aggregation=False),
    ]
    for store in stores:
        for topic, frame in DATA.items():
            Writer(store).write(topic, frame)
    yield Pair(*(EfdClientSync.from_store(s) for s in stores))
    for store in stores:
        store.close()


@pytest.fixture(scope="module")
def efd(pair: Pair) -> EfdClientSync:
    return pair.agg


def raw_frame(efd: EfdClientSync, topic: str, fields: list[str], **kw: object) -> pd.DataFrame:
    return efd.select_time_series(topic, fields, utc(-60), utc(3600), **kw)


def per_second(
    frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, stats: list[str]
) -> pd.DataFrame:
    """Statistics of each second that overlaps [start, end], over all of its rows."""
    first, last = start.floor("s"), end.floor("s")
    rows = frame[(frame.index >= first) & (frame.index < last + pd.Timedelta(seconds=1))]
    grouped = rows.groupby(rows.index.floor("s"))
    out = {}
    for stat in stats:
        if stat == "std":
            values = grouped.agg(lambda s: np.std(s.dropna(), ddof=1) if s.count() > 1 else np.nan)
        else:
            values = grouped.agg(stat)
        for col in frame.columns:
            out[(col, stat)] = values[col]
    return pd.DataFrame(out)


# ------------------------------------------------------------- resolution="1s"


def test_one_statistic_keeps_the_field_names(efd: EfdClientSync) -> None:
    start, end = utc(3.5), utc(12)
    fields = ["actualPosition", "actualVelocity"]
    got = efd.select_time_series(AZ, fields, start, end, resolution="1s", stats="max")
    assert list(got.columns) == fields
    want = per_second(raw_frame(efd, AZ, fields), start, end, ["max"])
    assert got.index.equals(want.index) and len(got) == 10  # 03:00:03 … 03:00:12, whole
    assert str(got.index.tz) == "UTC"
    for f in fields:
        assert np.array_equal(got[f].to_numpy(), want[(f, "max")].to_numpy())


def test_several_statistics_give_field_stat_columns(efd: EfdClientSync) -> None:
    start, end = utc(0), utc(44)
    stats = ["mean", "min", "max", "median", "std", "count"]
    got = efd.select_time_series(AZ, ["actualVelocity"], start, end, resolution="1s", stats=stats)
    assert list(got.columns) == [f"actualVelocity_{s}" for s in stats]
    want = per_second(raw_frame(efd, AZ, ["actualVelocity"]), start, end, stats)
    assert got.index.equals(want.index)
    assert len(got) == 45 - (GAP[1] - GAP[0])  # no row for the seconds without data
    for s in stats:
        np.testing.assert_allclose(
            got[f"actualVelocity_{s}"].to_numpy(dtype=float),
            want[("actualVelocity", s)].to_numpy(dtype=float),
            rtol=1e-12,
        )
    assert (got["actualVelocity_count"] < 50).any()  # nulls are not counted


def test_array_elements_by_name(efd: EfdClientSync) -> None:
    start, end = utc(0), utc(11)
    got = efd.select_time_series(
        FA, ["xForce3", "xForce11", "fz"], start, end, resolution="1s", stats=["mean", "std"]
    )
    assert list(got.columns) == [
        "xForce3_mean",
        "xForce3_std",
        "xForce11_mean",
        "xForce11_std",
        "fz_mean",
        "fz_std",
    ]
    raw = raw_frame(efd, FA, ["xForce3", "xForce11", "fz"])
    want = per_second(raw, start, end, ["mean", "std"])
    assert len(got) == 12
    for col in ("xForce3", "xForce11", "fz"):
        for s in ("mean", "std"):
            np.testing.assert_allclose(got[f"{col}_{s}"], want[(col, s)], rtol=1e-9)
    whole = efd.select_time_series(FA, "xForce", start, end, resolution="1s")
    assert list(whole.columns) == [f"xForce{i}" for i in range(12)]
    np.testing.assert_allclose(whole["xForce3"], got["xForce3_mean"], rtol=1e-15)


def test_index_filter(efd: EfdClientSync) -> None:
    start, end = utc(0), utc(19)
    got = efd.select_time_series(
        TEMP, ["temperatureItem5", "salIndex"], start, end, index=102, resolution="1s"
    )
    assert set(got["salIndex"]) == {102} and len(got) == 20
    raw = raw_frame(efd, TEMP, ["temperatureItem5"], index=102)
    want = per_second(raw, start, end, ["mean"])
    np.testing.assert_allclose(got["temperatureItem5"], want[("temperatureItem5", "mean")])
    both = efd.select_time_series(TEMP, ["salIndex"], start, end, resolution="1s")
    assert len(both) == 40  # one row per second and salIndex


def test_event_topic_returns_repeats(efd: EfdClientSync) -> None:
    got = efd.select_time_series(
        ERROR, ["errorCode", "errorReport"], utc(0), utc(20), resolution="1s"
    )
    assert list(got.columns) == ["errorCode", "errorReport", "repeats"]
    assert got["errorCode"].tolist() == [3, 4, 3] and got["repeats"].tolist() == [25, 2, 1]
    events = DATA[ERROR]
    first = events[events["errorCode"] == 3]["time_tai_ns"].iloc[0]
    assert got.index[0] == pd.Timestamp(first - LEAP_NS, tz="UTC")  # the first message's time
    assert got["repeats"].sum() == len(events)


def test_slow_topic_is_computed_on_the_fly(efd: EfdClientSync) -> None:
    assert not efd.store.aggregates.has_table(EL)
    start, end = utc(0), utc(30)
    stats = ["mean", "median", "std", "count"]
    got = efd.select_time_series(EL, ["actualPosition"], start, end, resolution="1s", stats=stats)
    el = DATA[EL]
    second = (el["time_tai_ns"] - T0) // NS
    assert len(got) == 31
    for k, (when, row) in enumerate(got.iterrows()):
        assert when == utc(k)
        values = el["actualPosition"][second == k].to_numpy()
        assert row["actualPosition_count"] == len(values) == (2 if k % 5 == 0 else 1)
        assert row["actualPosition_mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert row["actualPosition_median"] == pytest.approx(np.median(values), rel=1e-12)
        if len(values) > 1:
            assert row["actualPosition_std"] == pytest.approx(np.std(values, ddof=1), rel=1e-9)
        else:
            assert np.isnan(row["actualPosition_std"])


def test_table_and_on_the_fly_agree_on_the_range(pair: Pair) -> None:
    """Seconds overlapping [start, end], whole, from the table or from raw rows."""
    start, end = utc(2.5), utc(9)
    args = (AZ, ["actualPosition"], start, end)
    from_table = pair.agg.select_time_series(*args, resolution="1s", stats="count")
    on_the_fly = pair.raw.select_time_series(*args, resolution="1s", stats="count")
    assert not pair.raw.store.aggregates.has_table(AZ)
    assert from_table.index.equals(on_the_fly.index)
    assert from_table["actualPosition"].tolist() == on_the_fly["actualPosition"].tolist()
    assert from_table["actualPosition"].tolist() == [50] * 8  # 03:00:02 … 03:00:09, whole


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resolution": "10s"}, "resolution '10s' is not kept; choose from 1s"),
        ({"resolution": "1s", "stats": "avg"}, "unknown statistic 'avg'; choose from mean"),
        ({"resolution": "1s", "stats": []}, "no statistics asked for"),
        ({"resolution": "1s", "downsample": "mean_10"}, "not both"),
        ({"downsample": "mean_x"}, "bin size N .* in 'mean_x' must be a whole number"),
        ({"downsample": "mean_10", "fill": "sideways"}, "unknown fill 'sideways'"),
    ],
)
def test_bad_requests_are_query_errors(
    efd: EfdClientSync, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        efd.select_time_series(AZ, ["actualPosition"], utc(0), utc(10), **kwargs)


@pytest.mark.parametrize(
    ("topic", "field", "why"),
    [
        (TEMP, "sensorName", "text"),
        (AZ, "private_origin", "a private field"),
        (EL, "private_identity", "text"),
    ],
)
def test_fields_without_statistics(efd: EfdClientSync, topic: str, field: str, why: str) -> None:
    with pytest.raises(QueryError, match=f"field '{field}' of {topic} is {why}"):
        efd.select_time_series(topic, [field], utc(0), utc(10), resolution="1s")


def test_text_field_downsampled_is_a_query_error(efd: EfdClientSync) -> None:
    with pytest.raises(QueryError, match="'sensorName' holds .* mean_10 needs numbers"):
        efd.select_time_series(TEMP, ["sensorName"], utc(0), utc(10), downsample="mean_10")


# ------------------------------------------------------------------ downsample


def test_mean_bins_are_aligned_to_utc(efd: EfdClientSync) -> None:
    start, end = utc(3.4), utc(44.2)
    got = efd.select_time_series(AZ, ["actualVelocity"], start, end, downsample="mean_10")
    raw = efd.select_time_series(AZ, ["actualVelocity"], start, end)
    want = raw.resample("10s", origin="epoch").mean().dropna(how="all")
    assert list(got.index) == [utc(0), utc(10), utc(30), utc(40)]  # 03:00:20 is empty
    assert (got.index.second % 10 == 0).all()
    np.testing.assert_allclose(got["actualVelocity"], want["actualVelocity"], rtol=1e-12)
    in_tai = efd.select_time_series(
        AZ, ["actualVelocity"], start, end, downsample="mean_10", time_scale="tai"
    )
    assert in_tai.index[0] == pd.Timestamp("2024-05-01T03:00:37")  # TAI of 03:00:00 UTC


@pytest.mark.parametrize("fill", ["null", "previous", "linear", 0.5])
def test_fill_modes(efd: EfdClientSync, fill: object) -> None:
    start, end = utc(0), utc(44)
    got = efd.select_time_series(
        AZ, ["actualPosition"], start, end, downsample="mean_5", fill=fill
    )
    raw = efd.select_time_series(AZ, ["actualPosition"], start, end)["actualPosition"]
    means = raw.resample("5s", origin="epoch").mean()
    assert list(got.index) == [utc(5 * k) for k in range(9)]
    empty = [utc(20), utc(25), utc(30)]
    assert means[empty].isna().all()
    full = got["actualPosition"].drop(index=empty)
    np.testing.assert_allclose(full, means.drop(index=empty), rtol=1e-12)
    filled = got["actualPosition"][empty].to_numpy()
    before, after = means[utc(15)], means[utc(35)]
    if fill == "null":
        assert np.isnan(filled).all()
    elif fill == "previous":
        assert (filled == before).all()
    elif fill == "linear":
        expect = [before + (after - before) * k / 4 for k in (1, 2, 3)]
        np.testing.assert_allclose(filled, expect, rtol=1e-12)
    else:
        assert (filled == 0.5).all()


def test_last_fill(efd: EfdClientSync) -> None:
    start, end = utc(2), utc(44.5)
    got = efd.select_time_series(AZ, ["actualVelocity"], start, end, downsample="lastFill_5")
    every = efd.select_time_series(AZ, ["actualVelocity"], utc(0), end)["actualVelocity"]
    last = every.resample("5s", origin="epoch").last().ffill()  # last non-null of each bin
    assert list(got.index) == [utc(5 * k) for k in range(9)]
    assert np.array_equal(got["actualVelocity"].to_numpy(), last.to_numpy())
    # The empty bins repeat the last value before the gap.
    before_gap = every[every.index < utc(GAP[0])].dropna().iloc[-1]
    assert (got["actualVelocity"][[utc(20), utc(25), utc(30)]] == before_gap).all()


def test_nth(efd: EfdClientSync) -> None:
    start, end = utc(1), utc(3)
    got = efd.select_time_series(AZ, ["actualPosition"], start, end, downsample="nth_3")
    raw = efd.select_time_series(AZ, ["actualPosition"], start, end)
    assert got.index.equals(raw.index[::3])
    assert np.array_equal(got["actualPosition"].to_numpy(), raw["actualPosition"].to_numpy()[::3])
    with pytest.raises(QueryError, match="cannot fill"):
        efd.select_time_series(AZ, ["actualPosition"], start, end, downsample="nth_3", fill="null")


FAST_CASES = [
    (AZ, ["actualPosition", "actualVelocity"], 0, 44, None),  # whole seconds, gap inside
    (AZ, ["actualVelocity"], 3.25, 17.5, None),  # partial seconds at both ends
    (FA, ["xForce3", "fz"], 1, 11, None),
    (TEMP, ["temperatureItem0", "temperatureItem15"], 0.5, 19, None),  # both sensors in a bin
    (TEMP, ["temperatureItem7"], 0, 19, 101),
]


@pytest.mark.parametrize("op", ["mean_1", "min_1", "max_1", "median_1", "count_1"])
@pytest.mark.parametrize(("topic", "fields", "start", "end", "index"), FAST_CASES)
def test_fast_path_equals_raw_path(
    pair: Pair,
    op: str,
    topic: str,
    fields: list[str],
    start: float,
    end: float,
    index: int | None,
) -> None:
    args = (topic, fields, utc(start), utc(end))
    fast = pair.agg.select_time_series(*args, index=index, downsample=op)
    slow = pair.raw.select_time_series(*args, index=index, downsample=op)
    assert pair.agg.store.aggregates.has_table(topic)
    assert not pair.raw.store.aggregates.has_table(topic)
    assert len(slow) >= 10
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-12)


def test_fast_path_reads_the_aggregates(tmp_path: Path, demo_topics: list[TopicSchema]) -> None:
    with small_store(tmp_path / "s", demo_topics) as store:
        Writer(store).write(AZ, DATA[AZ])
        efd = EfdClientSync.from_store(store)
        before = efd.select_time_series(
            AZ, ["actualPosition"], utc(0), utc(10), downsample="max_1"
        )
        store.cursor().sql(
            f'UPDATE {quote_ident(agg_table(AZ))} SET "actualPosition.max" = -1 '
            f"WHERE time_tai_ns = {T0 + 4 * NS}"
        )
        after = efd.select_time_series(AZ, ["actualPosition"], utc(0), utc(10), downsample="max_1")
        assert (
            before.loc[utc(4), "actualPosition"] > 0 and after.loc[utc(4), "actualPosition"] == -1
        )
        assert after.drop(index=utc(4)).equals(before.drop(index=utc(4)))


def test_aggregates_rewritten_out_of_order_come_back_in_time_order(
    tmp_path: Path, demo_topics: list[TopicSchema]
) -> None:
    """Late rows make the seconds they land in recomputed: their aggregate rows are written
    after later seconds' (out of time order in the table). Reads are still in time order,
    with each second's statistics of all its rows."""
    rows = DATA[AZ]
    late = rows["time_tai_ns"].between(T0 + 3 * NS, T0 + 6 * NS - 1)
    with small_store(tmp_path / "s", demo_topics) as store:
        Writer(store).write(AZ, rows[~late])
        with store.transaction():
            store.aggregates.refresh(include_open=True)
        Writer(store).write(AZ, rows[late])  # seconds 3–5 again, after 0–19 and 35–44
        with store.transaction():
            store.aggregates.refresh(include_open=True)
        stored = (
            store.cursor()
            .sql(f"SELECT time_tai_ns FROM {quote_ident(agg_table(AZ))}")
            .fetchnumpy()["time_tai_ns"]
        )
        assert not bool((stored[1:] >= stored[:-1]).all())  # the table is out of order
        got = EfdClientSync.from_store(store).select_time_series(
            AZ, ["actualPosition"], utc(0), utc(44.999), downsample="max_1", fill="none"
        )
    assert got.index.is_monotonic_increasing
    seconds = (rows["time_tai_ns"].to_numpy() - T0) // NS
    want = rows.groupby(seconds)["actualPosition"].max()
    assert got.index.tolist() == [utc(int(s)) for s in want.index]
    np.testing.assert_array_equal(got["actualPosition"].to_numpy(), want.to_numpy())


# ------------------------------------------------------------------------ as-of


def brute_force(
    frame: pd.DataFrame, fields: list[str], times: np.ndarray, max_age_ns: int | None = None
) -> tuple[np.ndarray, dict[str, list[object]]]:
    """For each T: the last row with time <= T (not older than max_age), by a plain loop."""
    t = frame["time_tai_ns"].to_numpy()
    samples = np.full(len(times), -1, dtype=np.int64)
    values: dict[str, list[object]] = {f: [] for f in fields}
    for i, when in enumerate(times):
        best = -1
        for j in range(len(t)):
            if t[j] <= when and (best < 0 or t[j] >= t[best]):
                best = j
        if best >= 0 and max_age_ns is not None and when - t[best] > max_age_ns:
            best = -1
        samples[i] = t[best] if best >= 0 else -1
        for f in fields:
            values[f].append(frame[f].iloc[best] if best >= 0 else None)
    return samples, values


def check_asof(got: pd.DataFrame, samples: np.ndarray, values: dict[str, list[object]]) -> None:
    missing = samples < 0
    assert got["sample_time"].isna().to_numpy().tolist() == missing.tolist()
    have = got["sample_time"][~missing]
    assert (
        have.dt.tz_convert(None).to_numpy().view(np.int64) + LEAP_NS == samples[~missing]
    ).all()
    for f, want in values.items():
        for g, w in zip(got[f], want, strict=True):
            if w is None or (isinstance(w, float) and np.isnan(w)):
                assert g is None or pd.isna(g)
            else:
                assert g == w


def test_asof_many_times_equals_brute_force(efd: EfdClientSync) -> None:
    rng = np.random.default_rng(3)
    asked = np.sort(T0 + rng.integers(-5 * NS, 50 * NS, 60))
    asked = np.concatenate([asked, DATA[AZ]["time_tai_ns"].to_numpy()[[0, 7, -1]]])  # exact hits
    rng.shuffle(asked)
    fields = ["actualPosition", "actualVelocity", "private_seqNum"]
    index = pd.DatetimeIndex(asked - LEAP_NS).tz_localize("UTC")
    got = efd.select_asof(AZ, fields, index)
    assert got.index.equals(index)  # one row per time, in the order asked
    check_asof(got, *brute_force(DATA[AZ], fields, asked))
    assert got["sample_time"].isna().sum() == (asked < DATA[AZ]["time_tai_ns"].min()).sum() > 0


def test_asof_accepts_astropy_arrays_strings_and_one_time(efd: EfdClientSync) -> None:
    when = [utc(1.5), utc(25), utc(44.9)]
    by_index = efd.select_asof(AZ, "actualPosition", pd.DatetimeIndex(when))
    by_time = efd.select_asof(
        AZ, "actualPosition", Time([w.tz_convert(None).isoformat() for w in when], scale="utc")
    )
    texts = [w.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for w in when]
    by_text = efd.select_asof(AZ, "actualPosition", texts)
    for other in (by_time, by_text):
        assert (abs(other.index - by_index.index) < pd.Timedelta(microseconds=1)).all()
        assert other["actualPosition"].tolist() == by_index["actualPosition"].tolist()
    one = efd.select_asof(AZ, ["actualPosition"], texts[1])
    assert len(one) == 1 and one["actualPosition"].iloc[0] == by_index["actualPosition"].iloc[1]
    # In the gap the value is the last one before it.
    az = DATA[AZ]
    before = az["time_tai_ns"] < T0 + GAP[0] * NS
    last_time = int(az["time_tai_ns"][before].iloc[-1])
    assert one["sample_time"].iloc[0] == pd.Timestamp(last_time - LEAP_NS, tz="UTC")
    assert one["actualPosition"].iloc[0] == az["actualPosition"][before].iloc[-1]


def test_asof_before_any_data(efd: EfdClientSync) -> None:
    got = efd.select_asof(AZ, ["actualPosition", "private_seqNum"], [utc(-10), utc(0.5)])
    assert np.isnan(got["actualPosition"].iloc[0]) and pd.isna(got["private_seqNum"].iloc[0])
    assert got["sample_time"].isna().tolist() == [True, False]
    assert (
        got["private_seqNum"].iloc[1]
        == DATA[AZ]["private_seqNum"][DATA[AZ]["time_tai_ns"] <= T0 + NS // 2].max()
    )
    with pytest.raises(QueryError, match="at or before 2024-05-01T02:59:50.*no earlier row"):
        efd.select_asof(AZ, "actualPosition", utc(-10))


def test_asof_max_age(efd: EfdClientSync) -> None:
    az = DATA[AZ]
    last_before_gap = int(az[az["time_tai_ns"] < T0 + GAP[0] * NS]["time_tai_ns"].max())
    times = [utc(10), utc(GAP[0] + 2), utc(GAP[0] + 10), utc(GAP[1] + 1)]
    got = efd.select_asof(AZ, ["actualPosition"], times, max_age=TimeDelta(5, format="sec"))
    assert got["sample_time"].isna().tolist() == [False, False, True, False]
    assert np.isnan(got["actualPosition"].iloc[2])
    asked = np.array([t.value + LEAP_NS for t in times])
    check_asof(got, *brute_force(az, ["actualPosition"], asked, max_age_ns=5 * NS))
    with pytest.raises(QueryError, match="no data since 2024-05-01T03:00:19") as info:
        efd.select_asof(AZ, "actualPosition", utc(GAP[0] + 10), max_age=pd.Timedelta(seconds=5))
    assert pd.Timestamp(last_before_gap - LEAP_NS, tz="UTC").isoformat() in str(info.value)
    assert "within max_age 5 s" in str(info.value)
    with pytest.raises(QueryError, match="max_age must be ≥ 0"):
        efd.select_asof(AZ, "actualPosition", [utc(1)], max_age=pd.Timedelta(seconds=-1))


def test_asof_index_filter_and_arrays(efd: EfdClientSync) -> None:
    temp = DATA[TEMP]
    rng = np.random.default_rng(4)
    asked = T0 + rng.integers(-NS, 21 * NS, 25)
    times = pd.DatetimeIndex(asked - LEAP_NS).tz_localize("UTC")
    for sal in (101, 102):
        got = efd.select_asof(TEMP, ["temperatureItem", "salIndex"], times, index=sal)
        assert list(got.columns) == [
            *(f"temperatureItem{i}" for i in range(16)),
            "salIndex",
            "sample_time",
        ]
        mine = temp[temp["salIndex"] == sal].reset_index(drop=True)
        for i in (0, 9, 15):
            mine[f"temperatureItem{i}"] = [v[i] for v in mine["temperatureItem"]]
        fields = ["salIndex", "temperatureItem0", "temperatureItem9", "temperatureItem15"]
        samples, values = brute_force(mine, fields, asked)
        values = {
            f: [None if v is None else np.float32(v).item() if f != "salIndex" else v for v in vs]
            for f, vs in values.items()
        }
        check_asof(got, samples, values)
        assert set(got["salIndex"].dropna()) == {sal}
    one = efd.select_asof(TEMP, "temperatureItem4", utc(10.5), index=101)
    assert list(one.columns) == ["temperatureItem4", "sample_time"]


def test_asof_on_a_topic_without_rows(efd: EfdClientSync) -> None:
    got = efd.select_asof(NODATA, ["azimuth", "trackId"], [utc(1), utc(2)])
    assert list(got.columns) == ["azimuth", "trackId", "sample_time"]
    assert len(got) == 2 and got.isna().all().all()
    with pytest.raises(QueryError, match=f"no data for {NODATA} at or before .*no earlier row"):
        efd.select_asof(NODATA, "azimuth", utc(1))


def test_asof_in_tai(efd: EfdClientSync) -> None:
    when = [utc(1.5), utc(44.9)]
    in_utc = efd.select_asof(AZ, "actualPosition", when)
    in_tai = efd.select_asof(AZ, "actualPosition", when, time_scale="tai")
    shift = pd.Timedelta(seconds=37)
    assert (in_tai.index == in_utc.index.tz_convert(None) + shift).all()
    tai_samples = in_tai["sample_time"].to_numpy()
    assert (tai_samples == (in_utc["sample_time"].dt.tz_convert(None) + shift).to_numpy()).all()
    assert in_tai["actualPosition"].tolist() == in_utc["actualPosition"].tolist()


@st.composite
def asof_cases(draw: st.DrawFn) -> tuple[list[int], list[float], list[int], int | None]:
    times = draw(st.lists(st.integers(0, 10_000), min_size=0, max_size=30, unique=True))
    values = draw(
        st.lists(
            st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))),
            min_size=len(times),
            max_size=len(times),
        )
    )
    asked = draw(st.lists(st.integers(-100, 10_100), min_size=1, max_size=20))
    max_age = draw(st.one_of(st.none(), st.integers(0, 3000)))
    return sorted(times), values, asked, max_age


@pytest.fixture(scope="module")
def az_template(tmp_path_factory: pytest.TempPathFactory, demo_topics: list[TopicSchema]) -> Path:
    path = tmp_path_factory.mktemp("asof") / "store"
    with Store(path) as store:
        store.register_topics([t for t in demo_topics if t.name == AZ])
    return path


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=asof_cases())
def test_asof_equals_brute_force_on_random_data(
    az_template: Path, case: tuple[list[int], list[float], list[int], int | None]
) -> None:
    times, values, asked_ms, max_age_ms = case
    frame = pd.DataFrame(
        {
            "time_tai_ns": T0 + np.array(times, dtype=np.int64) * 1_000_000,
            "actualPosition": np.array(values, dtype=float),
        }
    )
    asked = T0 + np.array(asked_ms, dtype=np.int64) * 1_000_000
    max_age = None if max_age_ms is None else pd.Timedelta(milliseconds=max_age_ms)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store"
        shutil.copytree(az_template, path)
        with Store(path, settings=Settings(store=path, aggregation=False)) as store:
            if len(frame):
                Writer(store).write(AZ, frame)
            efd = EfdClientSync.from_store(store)
            got = efd.select_asof(
                AZ,
                ["actualPosition"],
                pd.DatetimeIndex(asked - LEAP_NS).tz_localize("UTC"),
                max_age=max_age,
            )
    age_ns = None if max_age_ms is None else max_age_ms * 1_000_000
    check_asof(got, *brute_force(frame, ["actualPosition"], asked, age_ns))
