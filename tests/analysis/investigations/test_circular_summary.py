"""``circular_mean``: the per-exposure summary of wind direction, against a numpy reference."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from openefd.analysis.summaries import summarize_exposures
from openefd.analysis.summaries_config import Plain, load_config, parse_config
from openefd.analysis.summaries_functions import Windows, circular_windows, reduce_windows
from openefd.errors import ConfigurationError
from openefd.ingest.writer import TopicBatch, Writer
from openefd.query.select import RowSelect, run_select
from openefd.schema.sal_xml import load_sal_xml
from openefd.settings import SchemaMode
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.timeinput import to_tai_ns

NS = 1_000_000_000
WIND = "lsst.sal.ESS.airFlow"
T0 = to_tai_ns("2024-05-01T23:30:00Z")


def _reference(angles: np.ndarray) -> tuple[float, float]:
    """numpy: the mean of the unit vectors as complex numbers → (direction in [0, 360), R)."""
    ok = angles[~np.isnan(angles)]
    if len(ok) == 0:
        return math.nan, math.nan
    z = np.mean(np.exp(1j * np.radians(ok)))
    return float(np.angle(z, deg=True) % 360.0), float(abs(z))


def _distance(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _one(angles: list[float]) -> float:
    values = np.asarray(angles, dtype=np.float64)
    return float(reduce_windows("circular_mean", values, Windows([0], [len(values)]))[0])


@pytest.mark.parametrize(
    ("angles", "expected"),
    [
        ([350.0, 10.0], 0.0),
        ([355.0, 5.0, 15.0], 5.0),
        ([359.0, 1.0], 0.0),
        ([0.0, 90.0], 45.0),
        ([270.0, 0.0], 315.0),
        ([180.0, 190.0], 185.0),
        ([10.0], 10.0),
        ([math.nan, 20.0, math.nan], 20.0),
        ([-10.0, 370.0], 0.0),  # angles outside [0, 360) are the same directions
    ],
)
def test_known_means_wrap_at_north(angles: list[float], expected: float) -> None:
    got = _one(angles)
    assert 0.0 <= got < 360.0
    assert _distance(got, expected) < 1e-9
    assert _distance(got, _reference(np.asarray(angles))[0]) < 1e-9


def test_plain_mean_and_median_get_north_wrong() -> None:
    values = np.array([350.0, 10.0, 350.0, 10.0])
    window = Windows([0], [4])
    assert reduce_windows("mean", values, window)[0] == 180.0  # south: the wrong answer
    assert reduce_windows("median", values, window)[0] == 180.0
    assert _distance(reduce_windows("circular_mean", values, window)[0], 0.0) < 1e-9


@pytest.mark.parametrize("angles", [[90.0, 270.0], [0.0, 120.0, 240.0], [], [math.nan]])
def test_no_mean_direction_is_nan(angles: list[float]) -> None:
    assert math.isnan(_one(angles))


def test_resultant_length_and_array_fields() -> None:
    values = np.array([[350.0, 80.0], [10.0, 100.0], [math.nan, 90.0]])
    mean, r = circular_windows(values, Windows([0, 2, 1], [3, 2, 2]))
    assert mean.shape == (3, 2)
    assert _distance(mean[0, 0], 0.0) < 1e-9 and mean[0, 1] == pytest.approx(90.0)
    assert r[0, 0] == pytest.approx(math.cos(math.radians(10.0)))
    assert r[0, 1] == pytest.approx((1 + 2 * math.cos(math.radians(10.0))) / 3)
    assert np.isnan(mean[1]).all() and np.isnan(r[1]).all()  # an empty window
    assert mean[2, 0] == pytest.approx(10.0) and r[2, 0] == pytest.approx(1.0)


@settings(max_examples=80, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.integers(0, 30),
        elements=st.one_of(st.floats(0.0, 359.999), st.floats(-720.0, 720.0), st.just(np.nan)),
    ),
    bounds=st.lists(st.tuples(st.integers(0, 35), st.integers(0, 35)), min_size=1, max_size=5),
)
def test_matches_numpy_over_every_window(
    values: np.ndarray, bounds: list[tuple[int, int]]
) -> None:
    n = len(values)
    lo = np.array([min(a, b, n) for a, b in bounds])
    hi = np.array([min(max(a, b), n) for a, b in bounds])
    mean, resultant = circular_windows(values, Windows(lo, hi))
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        expected, r = _reference(values[a:b])
        if math.isnan(r):
            assert math.isnan(mean[i]) and math.isnan(resultant[i])
            continue
        assert resultant[i] == pytest.approx(r, abs=1e-9)
        if r > 1e-6:  # well defined: the same direction
            assert 0.0 <= mean[i] < 360.0
            assert _distance(mean[i], expected) < 1e-6
        elif r < 1e-12:  # the vectors cancel: no direction
            assert math.isnan(mean[i])


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(np.float64, st.integers(1, 20), elements=st.floats(0.0, 359.999)),
    turn=st.floats(-360.0, 360.0),
)
def test_turning_every_angle_turns_the_mean(values: np.ndarray, turn: float) -> None:
    window = Windows([0], [len(values)])
    mean, r = circular_windows(values, window)
    turned, r_turned = circular_windows(np.mod(values + turn, 360.0), window)
    assert r_turned[0] == pytest.approx(r[0], abs=1e-9)
    if r[0] > 1e-6:
        assert _distance(turned[0], mean[0] + turn) < 1e-6


# -- in the summaries configuration and machinery ---------------------------------------


def test_configuration_accepts_circular_mean_without_parameters() -> None:
    config = parse_config(
        "version: 1\ntopics:\n  - topic: lsst.sal.ESS.airFlow\n    columns:\n"
        "      - {name: dir, field: direction, function: circular_mean}\n"
    )
    assert isinstance(config.topics[0].columns[0].function, Plain)
    with pytest.raises(ConfigurationError, match=r"line 5, topics\[0\]\.columns\[0\]\.function"):
        parse_config(
            "version: 1\ntopics:\n  - topic: lsst.sal.ESS.airFlow\n    columns:\n"
            "      - {name: dir, field: direction, function: {name: circular_mean, ddof: 1}}\n"
        )


def test_default_configuration_averages_wind_direction_circularly() -> None:
    columns = {c.name: c for _, c in load_config().all_columns()}
    assert columns["wind_direction_mean"].function.name == "circular_mean"
    assert columns["wind_direction_mean"].field == "direction"
    direction_functions = {c.function.name for c in columns.values() if c.field == "direction"}
    assert "median" not in direction_functions and "mean" not in direction_functions


@pytest.fixture(scope="module")
def circular_store(sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Planted minutes straddling north, and 12 simulated minutes from 03:00 (both ESS:301)."""
    path = tmp_path_factory.mktemp("circular") / "store"
    seconds = np.arange(600)
    planted = pa.table(
        {
            "time_tai_ns": pa.array(T0 + seconds * NS, pa.int64()),
            "salIndex": np.full(600, 301),
            # minute 0–4: 350°/10° alternating; minute 5–9: 80°/100°
            "direction": np.where(
                seconds < 300,
                np.where(seconds % 2 == 0, 350.0, 10.0),
                np.where(seconds % 2 == 0, 80.0, 100.0),
            ),
            "speed": np.full(600, 4.0),
        }
    )
    sim = NightSimulator(
        SimConfig(sal_xml_dir, "2024-05-02T03:00:00Z", hours=0.2, seed=3, profile=Profile.DEMO)
    )
    simulated = sim.topic_table(WIND)
    assert simulated is not None
    with Store(path) as store:
        store.register_topics(load_sal_xml(sal_xml_dir / "ESS"))
        Writer(store, SchemaMode.STRICT).write_batches(
            [TopicBatch(WIND, planted), TopicBatch(WIND, simulated)]
        )
    with Store(path, read_only=True) as store:
        yield store


def test_summaries_of_planted_exposures(circular_store: Store) -> None:
    config = parse_config(
        "version: 1\ntopics:\n  - topic: lsst.sal.ESS.airFlow\n    sal_index: 301\n"
        "    columns:\n"
        "      - {name: dir_mean, field: direction, function: circular_mean}\n"
        "      - {name: dir_plain, field: direction, function: mean}\n"
    )
    frame = pd.DataFrame(
        {
            "exposure_id": [1, 2, 3, 4],
            # straddling north; about east; half and half (240 + 60 s); no data
            "timespan_begin_tai_ns": [T0 + 30 * NS, T0 + 400 * NS, T0 + 240 * NS, T0 - 99 * NS],
            "timespan_end_tai_ns": [T0 + 60 * NS, T0 + 430 * NS, T0 + 360 * NS, T0 - 9 * NS],
        }
    )
    wide = summarize_exposures(circular_store, frame, config).wide.set_index("exposure_id")
    assert _distance(wide.loc[1, "dir_mean"], 0.0) < 1e-9
    assert wide.loc[1, "dir_plain"] == 180.0
    assert wide.loc[2, "dir_mean"] == pytest.approx(90.0)
    assert wide.loc[3, "dir_mean"] == pytest.approx(45.0)  # 60 s about north, 60 about east
    assert math.isnan(wide.loc[4, "dir_mean"])


def test_default_summary_matches_numpy_over_simulated_windows(circular_store: Store) -> None:
    """The shipped wind_direction_mean (ESS:301, windows padded by 5 s) on simulated wind."""
    start = to_tai_ns("2024-05-02T03:00:00Z")
    begin = start + np.arange(10, 700, 37) * NS
    end = begin + 30 * NS
    frame = pd.DataFrame(
        {"exposure_id": np.arange(len(begin)), "timespan_begin_tai_ns": begin,
         "timespan_end_tai_ns": end}
    )  # fmt: skip
    spec = next(t for t in load_config().topics if t.topic == WIND)
    config = load_config().model_copy(update={"topics": [spec]})
    wide = summarize_exposures(circular_store, frame, config).wide
    for i, (b, e) in enumerate(zip(begin, end, strict=True)):
        req = RowSelect(WIND, ["direction"], int(b) - 5 * NS, int(e) + 5 * NS,
                        end_inclusive=False, index=301, time_scale="tai")  # fmt: skip
        rows = run_select(circular_store, req)["direction"].to_numpy(dtype=np.float64)
        assert len(rows) >= 39
        expected, _ = _reference(rows)
        assert _distance(wide["wind_direction_mean"].iloc[i], expected) < 1e-9
