"""The EFD-scale query benchmark: the same four questions to openefd and to InfluxDB.

Each question goes through each system's normal path and ends in a pandas
DataFrame indexed by UTC time:

- openefd: :class:`~openefd.client.EfdClientSync` (``select_time_series``,
  ``select_top_n``, ``select_time_series(downsample="mean_1")``,
  ``select_asof``) on the store;
- InfluxDB: the InfluxQL that ``lsst-efd-client`` sends (time strings from
  astropy ``Time.isot`` as it makes them), POSTed to ``/query`` with
  ``epoch=ns``, the JSON parsed and turned into a DataFrame as ``aioinflux``
  does — that parsing is part of InfluxDB's time, as building the DataFrame
  is part of openefd's.

Every call's answer is checked (rows, columns, times), and one answer of
each question is compared between the two systems.

Each system's timed calls start with influxd idle (:meth:`InfluxServer.wait_idle`
over half a second): on two cores, the work InfluxDB goes on doing after its
warm-up calls (Go's garbage collection, cache snapshots) would otherwise land
on whichever calls come next. The CPU influxd used during openefd's timed
calls is reported with each question.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from astropy.time import Time

from bench.dataset import FAST_HZ, FAST_PERIOD_NS, FAST_TOPIC, START_UTC_NS, DatasetShape
from bench.influx import InfluxHttp, InfluxServer
from openefd.client import EfdClientSync
from openefd.timescales import NS_PER_S

__all__ = ["QUESTIONS", "QueryPair", "Timing", "run_queries"]

WINDOW_S = 600
WINDOW_ROWS = WINDOW_S * FAST_HZ
WINDOW_FIELDS = ["f000", "f001", "f002"]
DOWNSAMPLE_S = 3600
ASOF_TIMES = 1000
ASOF_INFLUX_ROUNDS = 3  # each round is ASOF_TIMES queries: seconds of InfluxDB time
DB = "efd"
SETTLE_S = 0.5  # influxd idle (< 5 % of a core) over this long before each timed block
SETTLE_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Timing:
    """Milliseconds of repeated calls."""

    ms: np.ndarray

    @property
    def median(self) -> float:
        return float(np.median(self.ms))

    def detail(self) -> str:
        p90 = float(np.percentile(self.ms, 90))
        return f"p90 {p90:.1f}, min {self.ms.min():.1f}, max {self.ms.max():.1f} ms"


@dataclass(frozen=True, slots=True)
class QueryPair:
    """One question, timed on both systems over the same arguments."""

    key: str
    name: str
    openefd: Timing
    influx: Timing
    calls: int
    note: str

    @property
    def ratio(self) -> float:
        """openefd's median over InfluxDB's (below 1: openefd is faster)."""
        return self.openefd.median / self.influx.median


QUESTIONS = {
    "window": "select_time_series, 3 fields × 10 min of the 50 Hz topic (30,000 rows)",
    "full": "select_time_series, 1 field × the whole data set of the 50 Hz topic",
    "latest": "select_top_n(…, 1), latest row of the 50 Hz topic",
    "downsample": "1 s mean of one 50 Hz field over 1 h (3,600 rows)",
    "asof": f"values at {ASOF_TIMES:,} times: one as-of call vs {ASOF_TIMES:,} single lookups",
}


def _timed(calls: list[Callable[[], pd.DataFrame]]) -> Timing:
    ms = np.empty(len(calls))
    for i, call in enumerate(calls):
        t0 = time.perf_counter()
        call()
        ms[i] = (time.perf_counter() - t0) * 1e3
    return Timing(ms)


def _astropy_utc(utc_ns: int) -> Time:
    return Time(utc_ns // NS_PER_S, (utc_ns % NS_PER_S) / NS_PER_S, format="unix", scale="utc")


def _influx_range(topic: str, fields: list[str], start: Time, end: Time) -> str:
    """``build_time_range_query`` of lsst-efd-client (fields quoted)."""
    cols = ", ".join(f'"{f}"' for f in fields)
    return (
        f'SELECT {cols} FROM "{DB}"."autogen"."{topic}" '
        f"WHERE time >= '{start.utc.isot}Z' AND time <= '{end.utc.isot}Z'"
    )


def _check(frame: pd.DataFrame, rows: int, columns: list[str], what: str) -> pd.DataFrame:
    if len(frame) != rows or list(frame.columns) != columns:
        raise SystemExit(
            f"{what} returned {len(frame)} rows, columns {list(frame.columns)}; "
            f"expected {rows}, {columns}"
        )
    return frame


def _same(a: pd.DataFrame, b: pd.DataFrame, what: str, exact: bool = True) -> None:
    """The two systems' answers agree (times exactly; values exactly or to 1e-12)."""
    if not a.index.equals(b.index):
        raise SystemExit(f"{what}: openefd and InfluxDB return different times")
    for col in a.columns:
        x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
        same = np.array_equal(x, y) if exact else np.allclose(x, y, rtol=1e-12, atol=0)
        if not same:
            raise SystemExit(f"{what}: openefd and InfluxDB differ in {col!r}")


def _window_starts(shape: DatasetShape, count: int, seed: int) -> list[int]:
    """UTC ns starts of 10-minute windows holding exactly 30,000 rows (as bench.core)."""
    rng = np.random.default_rng(seed)
    last = shape.fast_rows - WINDOW_ROWS - 1
    if last < 0:
        raise SystemExit(f"the data set is shorter than the {WINDOW_S} s query window")
    first = rng.integers(0, last, size=count, endpoint=True)
    return [int(START_UTC_NS + i * FAST_PERIOD_NS + FAST_PERIOD_NS // 2) for i in first]


def _hour_starts(shape: DatasetShape, count: int, seed: int) -> list[int]:
    """UTC ns starts, on whole seconds, of 1-hour windows inside the data set."""
    rng = np.random.default_rng(seed)
    last = shape.seconds - DOWNSAMPLE_S
    if last < 0:
        raise SystemExit("the data set is shorter than the 1 h downsampling window")
    return [int(START_UTC_NS + s * NS_PER_S) for s in rng.integers(0, last, count, endpoint=True)]


class _Questions:
    """The calls of each question on each system, checking every answer."""

    def __init__(self, client: EfdClientSync, influx: InfluxHttp, shape: DatasetShape) -> None:
        self.client = client
        self.influx = influx
        self.shape = shape

    # -- window ------------------------------------------------------------
    def window(self, start_ns: int) -> tuple[Callable[[], pd.DataFrame], ...]:
        def efd() -> pd.DataFrame:
            start, end = _astropy_utc(start_ns), _astropy_utc(start_ns + WINDOW_S * NS_PER_S)
            frame = self.client.select_time_series(FAST_TOPIC, WINDOW_FIELDS, start, end)
            return _check(frame, WINDOW_ROWS, WINDOW_FIELDS, "openefd window")

        def influx() -> pd.DataFrame:
            start, end = _astropy_utc(start_ns), _astropy_utc(start_ns + WINDOW_S * NS_PER_S)
            frame = self.influx.query(_influx_range(FAST_TOPIC, WINDOW_FIELDS, start, end))
            return _check(frame, WINDOW_ROWS, WINDOW_FIELDS, "InfluxDB window")

        return efd, influx

    # -- full --------------------------------------------------------------
    def full(self) -> tuple[Callable[[], pd.DataFrame], ...]:
        # A second either side of the data set: every row of the 50 Hz topic.
        begin = START_UTC_NS - NS_PER_S
        end = START_UTC_NS + (self.shape.seconds + 1) * NS_PER_S
        rows = self.shape.fast_rows

        def efd() -> pd.DataFrame:
            frame = self.client.select_time_series(
                FAST_TOPIC, "f000", _astropy_utc(begin), _astropy_utc(end)
            )
            return _check(frame, rows, ["f000"], "openefd full")

        def influx() -> pd.DataFrame:
            q = _influx_range(FAST_TOPIC, ["f000"], _astropy_utc(begin), _astropy_utc(end))
            return _check(self.influx.query(q), rows, ["f000"], "InfluxDB full")

        return efd, influx

    # -- latest ------------------------------------------------------------
    def latest(self) -> tuple[Callable[[], pd.DataFrame], ...]:
        q = f'SELECT "f000" FROM "{DB}"."autogen"."{FAST_TOPIC}" GROUP BY * ORDER BY DESC LIMIT 1'

        def efd() -> pd.DataFrame:
            return _check(
                self.client.select_top_n(FAST_TOPIC, "f000", 1), 1, ["f000"], "openefd latest"
            )

        def influx() -> pd.DataFrame:
            return _check(self.influx.query(q), 1, ["f000"], "InfluxDB latest")

        return efd, influx

    # -- downsample --------------------------------------------------------
    def downsample(self, start_ns: int) -> tuple[Callable[[], pd.DataFrame], ...]:
        end_ns = start_ns + DOWNSAMPLE_S * NS_PER_S

        def efd() -> pd.DataFrame:
            # [start, end − 1 ns] as exact timestamps: the bins start … end − 1 s, all whole.
            frame = self.client.select_time_series(
                FAST_TOPIC,
                ["f000"],
                pd.Timestamp(start_ns, tz="UTC"),
                pd.Timestamp(end_ns - 1, tz="UTC"),
                downsample="mean_1",
                fill="null",  # as GROUP BY time() fills by default
            )
            return _check(frame, DOWNSAMPLE_S, ["f000"], "openefd downsample")

        def influx() -> pd.DataFrame:
            start, end = _astropy_utc(start_ns), _astropy_utc(end_ns)
            q = (
                f'SELECT mean("f000") AS "f000" FROM "{DB}"."autogen"."{FAST_TOPIC}" '
                f"WHERE time >= '{start.utc.isot}Z' AND time < '{end.utc.isot}Z' "
                "GROUP BY time(1s)"
            )
            return _check(self.influx.query(q), DOWNSAMPLE_S, ["f000"], "InfluxDB downsample")

        return efd, influx

    # -- as-of -------------------------------------------------------------
    def asof(self, seed: int) -> tuple[Callable[[], pd.DataFrame], ...]:
        """Values at ASOF_TIMES random times: one vector call vs one InfluxDB query each."""
        rng = np.random.default_rng(seed)
        span = self.shape.seconds * NS_PER_S
        utc = np.sort(START_UTC_NS + rng.integers(NS_PER_S, span, ASOF_TIMES))
        index = pd.DatetimeIndex(utc.astype("datetime64[ns]")).tz_localize("UTC")

        def efd() -> pd.DataFrame:
            frame = self.client.select_asof(FAST_TOPIC, ["f000"], index)
            if frame["sample_time"].isna().any():
                raise SystemExit("openefd as-of: a time without a value")
            return _check(frame, ASOF_TIMES, ["f000", "sample_time"], "openefd as-of")

        def influx() -> pd.DataFrame:
            values, samples = [], []
            for t in utc:
                q = (
                    f'SELECT "f000" FROM "{DB}"."autogen"."{FAST_TOPIC}" '
                    f"WHERE time <= '{pd.Timestamp(int(t)).isoformat()}Z' "
                    "ORDER BY time DESC LIMIT 1"
                )
                one = _check(self.influx.query(q), 1, ["f000"], "InfluxDB as-of")
                values.append(one["f000"].iloc[0])
                samples.append(one.index[0])
            return pd.DataFrame({"f000": values, "sample_time": samples}, index=index)

        return efd, influx


def _pair(
    key: str,
    efd_calls: list[Callable[[], pd.DataFrame]],
    influx_calls: list[Callable[[], pd.DataFrame]],
    warmup: int,
    note: str,
    say: Callable[[str], None],
    server: InfluxServer,
) -> QueryPair:
    # Warm-up, alternating: caches, buffer pools, lazy imports, InfluxDB's TSM index.
    for i in range(warmup):
        efd_calls[i % len(efd_calls)]()
        influx_calls[i % len(influx_calls)]()
    server.wait_idle(window_s=SETTLE_S, timeout_s=SETTLE_TIMEOUT_S)
    cpu0 = server.cpu_s()
    efd = _timed(list(efd_calls))
    influx_cpu = server.cpu_s() - cpu0
    server.wait_idle(window_s=SETTLE_S, timeout_s=SETTLE_TIMEOUT_S)
    influx = _timed(list(influx_calls))
    note = "; ".join(
        p for p in (note, f"influxd used {influx_cpu:.2f} s of CPU during openefd's calls") if p
    )
    pair = QueryPair(key, QUESTIONS[key], efd, influx, len(efd_calls), note)
    say(
        f"  {key}: openefd {efd.median:.2f} ms, InfluxDB {influx.median:.2f} ms "
        f"(ratio {pair.ratio:.3f}, {len(efd_calls)} calls each; influxd CPU during "
        f"openefd's calls {influx_cpu:.2f} s)"
    )
    return pair


def run_queries(
    client: EfdClientSync,
    influx: InfluxHttp,
    server: InfluxServer,
    shape: DatasetShape,
    repeat: int,
    warmup: int,
    say: Callable[[str], None],
) -> list[QueryPair]:
    """Time every question ``repeat`` times per system after ``warmup`` calls each."""
    qs = _Questions(client, influx, shape)

    # The same answer from both systems first: same data, same question.
    start = _window_starts(shape, 1, 99)[0]
    efd, infl = qs.window(start)
    _same(efd(), infl(), "window")
    efd, infl = qs.latest()
    _same(efd(), infl(), "latest")
    efd, infl = qs.downsample(_hour_starts(shape, 1, 99)[0])
    _same(efd(), infl(), "downsample", exact=False)  # sums in another order
    efd, infl = qs.asof(99)
    a, b = efd(), infl()
    _same(a[["f000"]], b[["f000"]], "asof")
    if not (a["sample_time"] == b["sample_time"]).all():
        raise SystemExit("asof: openefd and InfluxDB pick different rows")
    say("both systems return the same rows and values")

    out = []
    windows = [qs.window(s) for s in _window_starts(shape, repeat, 1)]
    out.append(
        _pair(
            "window",
            [w[0] for w in windows],
            [w[1] for w in windows],
            warmup,
            "10-minute windows at random offsets, times from astropy Time (UTC)",
            say,
            server,
        )
    )
    efd, infl = qs.full()
    _same(efd(), infl(), "full")
    out.append(
        _pair(
            "full",
            [efd] * repeat,
            [infl] * repeat,
            max(1, warmup // 4),
            f"{shape.fast_rows:,} rows",
            say,
            server,
        )
    )
    efd, infl = qs.latest()
    out.append(_pair("latest", [efd] * repeat, [infl] * repeat, warmup, "", say, server))
    hours = [qs.downsample(s) for s in _hour_starts(shape, repeat, 2)]
    out.append(
        _pair(
            "downsample",
            [h[0] for h in hours],
            [h[1] for h in hours],
            warmup,
            "openefd: select_time_series(…, downsample='mean_1', fill='null') reads the 1 s "
            "aggregates kept at load; InfluxDB: mean() … GROUP BY time(1s)",
            say,
            server,
        )
    )
    rounds = [qs.asof(100 + i) for i in range(max(repeat // 5, ASOF_INFLUX_ROUNDS))]
    out.append(
        _pair(
            "asof",
            [r[0] for r in rounds],
            [r[1] for r in rounds[:ASOF_INFLUX_ROUNDS]],
            1,
            f"openefd: one select_asof with {ASOF_TIMES:,} times (DuckDB ASOF JOIN); InfluxDB: "
            f"{ASOF_TIMES:,} queries SELECT … WHERE time <= T ORDER BY time DESC LIMIT 1, "
            f"{ASOF_INFLUX_ROUNDS} rounds; random times over the data set",
            say,
            server,
        )
    )
    return out
