"""What ``openefd demo`` shows after loading: the store's contents and example queries.

Each query is one a commissioning scientist asks first, answered through the
same ``EfdClientSync`` a notebook uses, timed as the median of repeated runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from openefd.cli.common import console
from openefd.client import EfdClientSync
from openefd.store.duckdb_store import Store
from openefd.timeinput import tai_ns_to_index

__all__ = ["find_excursion", "show_queries", "show_summary"]

RUNS = 15


def _median_ms(func: Callable[[], Any], runs: int = RUNS) -> tuple[Any, float]:
    result = func()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        func()
        times.append((time.perf_counter() - t0) * 1000)
    return result, statistics.median(times)


def show_summary(st: Store, extra: dict[str, int]) -> None:
    """Topics and rows loaded, and the time span in UTC and TAI."""
    stats = [s for s in st.topic_stats() if s.rows]
    if not stats:
        console.print("the store holds no rows")
        return
    rows = sum(s.rows for s in stats)
    lo = min(s.first_tai_ns or 0 for s in stats)
    hi = max(s.last_tai_ns or 0 for s in stats)
    first, last = tai_ns_to_index(np.array([lo, hi]))
    first_tai, last_tai = tai_ns_to_index(np.array([lo, hi]), "tai")
    console.print(
        f"{len(stats)} topics hold {rows:,} rows, from {first.isoformat()} to "
        f"{last.isoformat()} (UTC; TAI {first_tai.isoformat()} to "
        f"{last_tai.isoformat()})",
        highlight=False,
    )
    busiest = sorted(stats, key=lambda s: s.rows, reverse=True)[:5]
    console.print(
        "most rows: " + ", ".join(f"{s.topic} {s.rows:,}" for s in busiest), highlight=False
    )
    if extra:
        console.print(
            "beside the store: " + ", ".join(f"{n:,} {k}" for k, n in extra.items()),
            highlight=False,
        )


def show_queries(st: Store, exposures: pd.DataFrame, start_tai_ns: int, hours: float) -> None:
    """Example questions with their answers and timings."""
    from astropy.time import Time, TimeDelta

    science = exposures[exposures["observation_type"] == "science"]
    efd = EfdClientSync.from_store(st)
    table = Table(title=f"example queries (median of {RUNS} runs)")
    for col in ("question", "call", "answer", "ms"):
        table.add_column(col, overflow="fold")
    if len(science):
        exp = science.iloc[len(science) // 2]
        begin = Time(exp["timespan_begin_tai_ns"] / 1e9, format="unix_tai")
        end = Time(exp["timespan_end_tai_ns"] / 1e9, format="unix_tai")
        df, ms = _median_ms(
            lambda: efd.select_time_series(
                "lsst.sal.ESS.airFlow", ["speed", "direction"], begin, end
            )
        )
        answer = (
            f"{df['speed'].mean():.1f} m/s from {df['direction'].mean():.0f}°"
            if len(df)
            else "no wind data"
        )
        table.add_row(
            f"wind during {exp['obs_id']}?",
            "select_time_series('lsst.sal.ESS.airFlow', ['speed','direction'], begin, end)",
            answer,
            f"{ms:.2f}",
        )
    df, ms = _median_ms(
        lambda: efd.select_top_n(
            "lsst.sal.MTMount.azimuth", ["actualPosition", "demandPosition"], 1
        )
    )
    table.add_row(
        "where is the mount now?",
        "select_top_n('lsst.sal.MTMount.azimuth', [...], 1)",
        f"azimuth {df['actualPosition'].iloc[0]:.2f}° at {df.index[0]:%H:%M:%S} UTC",
        f"{ms:.2f}",
    )
    middle = Time((start_tai_ns + hours * 1800e9) / 1e9, format="unix_tai")
    window = TimeDelta(min(600.0, hours * 1800), format="sec")
    df, ms = _median_ms(
        lambda: efd.get("MTM1M3.forceActuatorData.zForce", middle, TimeDelta(1, format="sec"))
    )
    table.add_row(
        "M1M3 z forces for one second?",
        "get('MTM1M3.forceActuatorData.zForce', t, 1 s)",
        f"{df.shape[0]} samples × {df.shape[1]} actuators, mean {np.nanmean(df.to_numpy()):.1f} N",
        f"{ms:.2f}",
    )
    df, ms = _median_ms(
        lambda: efd.select_time_series(
            "lsst.sal.MTM1M3.forceActuatorData", ["zForce0", "zForce1", "zForce2"], middle, window
        )
    )
    table.add_row(
        f"3 fields of a 50 Hz topic over {window.to_value('min'):g} minutes?",
        "select_time_series('lsst.sal.MTM1M3.forceActuatorData', 3 fields, t, span)",
        f"{len(df):,} rows",
        f"{ms:.2f}",
    )
    start = Time(start_tai_ns / 1e9, format="unix_tai")
    span = TimeDelta(hours * 3600, format="sec")
    df, ms = _median_ms(
        lambda: efd.select_time_series(
            "lsst.sal.DIMM.logevent_dimmMeasurement", ["fwhm"], start, span
        )
    )
    answer = (
        f"{len(df)} measurements, median {df['fwhm'].median():.2f}″, worst {df['fwhm'].max():.2f}″"
        if len(df)
        else "no seeing data"
    )
    table.add_row(
        "seeing tonight?",
        "select_time_series('lsst.sal.DIMM.logevent_dimmMeasurement', 'fwhm', start, span)",
        answer,
        f"{ms:.2f}",
    )
    df, ms = _median_ms(
        lambda: efd.select_time_series(
            "lsst.sal.ESS.temperature", ["salIndex", "temperatureItem"], start, span
        )
    )
    table.add_row(
        "any temperature excursion?",
        "select_time_series('lsst.sal.ESS.temperature', ['salIndex', 'temperatureItem'], "
        "start, span)",
        find_excursion(df),
        f"{ms:.2f}",
    )
    console.print(table)
    console.print(
        f"Try: openefd info --store {st.path}; openefd topics --store {st.path}", highlight=False
    )


def find_excursion(df: pd.DataFrame) -> str:
    """The sensor that strays furthest from its own median over the span."""
    if df.empty:
        return "no temperatures"
    best: tuple[float, str, Any] = (0.0, "", None)
    for index, sensor in df.groupby("salIndex"):
        values = sensor.drop(columns="salIndex")
        deviation = (values - values.median()).abs()
        column = str(deviation.max().idxmax())
        size = float(deviation[column].max())
        if size > best[0]:
            best = (size, f"salIndex {index} {column}", deviation[column].idxmax())
    size, where, when = best
    return f"{size:.1f} °C off its median: {where} at {when:%H:%M} UTC"
