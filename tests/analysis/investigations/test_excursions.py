"""Excursions: the simulator's planted temperature excursion found, the dome pointing east
against numpy over the raw rows, synthetic rows with known intervals (wrap-around at 0/360,
gaps, true at the first/last sample, never, always), the condition parser, the CLI."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from openefd.analysis.investigations.excursion_condition import (
    AngularRange,
    Threshold,
    parse_condition,
    parse_field,
    parse_field_condition,
)
from openefd.analysis.investigations.excursion_intervals import (
    BEGIN_REASONS,
    END_REASONS,
    find_intervals,
)
from openefd.analysis.investigations.excursions import (
    ExcursionReport,
    day_obs_span,
    excursions,
    excursions_where,
)
from openefd.cli.investigate_cmds import correlate
from openefd.cli.investigate_cmds import excursions as excursions_command
from openefd.errors import QueryError, TimeValueError, UnknownFieldError, UnknownTopicError
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.writer import TopicBatch, Writer
from openefd.query.select import RowSelect, run_select
from openefd.schema.sal_xml import load_sal_xml
from openefd.settings import SchemaMode
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.sim.anomalies import TEMPERATURE_CHANNEL, TEMPERATURE_SAL_INDEX
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures_overlapping
from openefd.timeinput import to_tai_ns

NS = 1_000_000_000
START = "2024-05-01T23:30:00Z"
TEMPERATURE = "lsst.sal.ESS.temperature"
DOME = "lsst.sal.MTDome.azimuth"
AZIMUTH = "lsst.sal.MTMount.azimuth"
SIM_TOPICS = (TEMPERATURE, DOME, AZIMUTH)


# --- the simulated night ------------------------------------------------------------------


@pytest.fixture(scope="module")
def exc_sim(sal_xml_dir: Path) -> NightSimulator:
    """54 simulated minutes: the temperature excursion is planted 20:00–30:00 after the start,
    the dome points east after 37 minutes."""
    return NightSimulator(SimConfig(sal_xml_dir, START, hours=0.9, seed=1, profile=Profile.DEMO))


@pytest.fixture(scope="module")
def exc_sim_store(
    exc_sim: NightSimulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("excursions") / "store"
    with Store(path) as st_:
        st_.register_topics([t for t in exc_sim.topics() if t.name in SIM_TOPICS])
        tables = {n: exc_sim.topic_table(n) for n in SIM_TOPICS}
        Writer(st_, SchemaMode.STRICT).write_batches(
            [TopicBatch(n, t) for n, t in tables.items() if t is not None]
        )
        load_exposures(st_, exc_sim.exposures(), exc_sim.arrivals())
    with Store(path, read_only=True) as st_:
        yield st_


def _planted(sim: NightSimulator) -> tuple[int, int]:
    (found,) = [a for a in sim.anomalies() if a.name == "temperature_excursion"]
    assert found.details["salIndex"] == TEMPERATURE_SAL_INDEX
    assert found.details["field"] == f"temperatureItem{TEMPERATURE_CHANNEL}"
    return found.start_tai_ns, found.end_tai_ns


def _registry_ids(frame: pd.DataFrame) -> list[int]:
    return sorted(int(i) for i in frame["exposure_id"])


@pytest.mark.parametrize("rise_c", [0.5, 3.0, 5.5])
def test_planted_temperature_excursion_is_found(
    exc_sim: NightSimulator, exc_sim_store: Store, rise_c: float
) -> None:
    a, b = _planted(exc_sim)
    before = run_select(
        exc_sim_store,
        RowSelect(TEMPERATURE, ["temperatureItem3"], a - 300 * NS, a, end_inclusive=False,
                  index=TEMPERATURE_SAL_INDEX, time_scale="tai"),
    )  # fmt: skip
    base = float(before["temperatureItem3"].median())
    limit = base + rise_c
    report = excursions_where(
        exc_sim_store,
        TEMPERATURE,
        f"temperatureItem[3] > {limit}",
        exc_sim.start_tai_ns,
        exc_sim.end_tai_ns,
        sal_index=TEMPERATURE_SAL_INDEX,
    )
    assert len(report.intervals) == 1
    got = report.intervals.iloc[0]
    # The planted excursion rises 6 °C over 20 s and falls over the last 60 s of the window.
    expect_begin = a + round(20 * NS * rise_c / 6)
    expect_end = b - round(60 * NS * rise_c / 6)
    assert abs(int(got["begin_tai_ns"]) - expect_begin) <= 2 * NS
    assert abs(int(got["end_tai_ns"]) - expect_end) <= 2 * NS
    assert a <= int(got["begin_tai_ns"]) < int(got["end_tai_ns"]) <= b
    assert (got["begin_reason"], got["end_reason"]) == ("condition", "condition")
    assert got["value_min"] > limit and got["value_max"] == pytest.approx(base + 6, abs=0.3)
    # The overlapping exposures are the registry's for the interval, each once.
    registry = exposures_overlapping(
        exc_sim_store, int(got["begin_tai_ns"]), int(got["end_tai_ns"])
    )
    assert report.exposure_ids == _registry_ids(registry)
    assert len(report.exposures) == len(registry) >= 5
    # …between those overlapping the plateau and those overlapping the planted window.
    plateau = exposures_overlapping(exc_sim_store, a + 22 * NS, b - 62 * NS)
    window = exposures_overlapping(exc_sim_store, a, b)
    assert set(_registry_ids(plateau)) <= set(report.exposure_ids) <= set(_registry_ids(window))
    # Overlap seconds against the exposures' own timespans.
    ex = report.exposures
    lo = np.maximum(ex["timespan_begin_tai_ns"].to_numpy(dtype=np.int64), got["begin_tai_ns"])
    hi = np.minimum(ex["timespan_end_tai_ns"].to_numpy(dtype=np.int64), got["end_tai_ns"])
    assert np.allclose(ex["overlap_s"], np.maximum(hi - lo, 0) / NS)


def test_one_second_means_find_the_same_excursion(
    exc_sim: NightSimulator, exc_sim_store: Store
) -> None:
    a, b = _planted(exc_sim)
    raw = excursions(exc_sim_store, TEMPERATURE, "temperatureItem3", "> 13",
                     exc_sim.start_tai_ns, exc_sim.end_tai_ns, sal_index=101)  # fmt: skip
    fast = excursions(exc_sim_store, TEMPERATURE, "temperatureItem3", "> 13",
                      exc_sim.start_tai_ns, exc_sim.end_tai_ns, sal_index=101,
                      resolution="1s")  # fmt: skip
    assert len(raw.intervals) == len(fast.intervals) == 1
    assert fast.resolution == "1s" and fast.samples["time_tai_ns"].to_numpy()[0] % NS == 0
    for col in ("begin_tai_ns", "end_tai_ns"):
        assert abs(int(raw.intervals[col].iloc[0]) - int(fast.intervals[col].iloc[0])) <= NS
    assert a < int(fast.intervals["begin_tai_ns"].iloc[0]) < b


def _reference_intervals(
    t: np.ndarray, holds: np.ndarray, max_gap_ns: int | None
) -> list[tuple[int, int, str, str]]:
    """The documented rule, one sample at a time."""
    out: list[tuple[int, int, str, str]] = []
    start: int | None = None
    why = ""
    for k in range(len(t)):
        gap_before = k > 0 and max_gap_ns is not None and t[k] - t[k - 1] > max_gap_ns
        if start is not None and gap_before:
            out.append((int(t[start]), int(t[k - 1]), why, "gap"))
            start = None
        if holds[k] and start is None:
            start = k
            why = "first_sample" if k == 0 else ("after_gap" if gap_before else "condition")
        elif not holds[k] and start is not None:
            out.append((int(t[start]), int(t[k]), why, "condition"))
            start = None
    if start is not None:
        out.append((int(t[start]), int(t[-1]), why, "last_sample"))
    return out


def _as_tuples(report: ExcursionReport) -> list[tuple[int, int, str, str]]:
    iv = report.intervals
    return list(
        zip(
            iv["begin_tai_ns"].astype(int),
            iv["end_tai_ns"].astype(int),
            iv["begin_reason"],
            iv["end_reason"],
            strict=True,
        )
    )


@pytest.mark.parametrize(
    ("condition", "center", "half"),
    [("within 90±45", 90.0, 45.0), ("within 350+-20", 350.0, 20.0), ("within 330..10", 350, 20)],
)
def test_dome_pointing_matches_numpy_over_the_raw_rows(
    exc_sim: NightSimulator, exc_sim_store: Store, condition: str, center: float, half: float
) -> None:
    lo, hi = exc_sim.start_tai_ns, exc_sim.end_tai_ns
    report = excursions(exc_sim_store, DOME, "positionActual", condition, lo, hi, max_gap_s=5.0)
    raw = run_select(
        exc_sim_store,
        RowSelect(DOME, ["positionActual"], lo, hi, end_inclusive=False, time_scale="tai"),
    )
    t = raw.index.asi8
    v = raw["positionActual"].to_numpy(dtype=np.float64)
    distance = np.abs(v - center) % 360.0
    holds = np.minimum(distance, 360.0 - distance) <= half
    assert 0 < holds.sum() < len(v)
    expected = _reference_intervals(t, holds, 5 * NS)
    assert _as_tuples(report) == expected and len(expected) >= 2
    assert report.intervals["samples"].sum() == holds.sum()
    assert report.samples["holds"].sum() == holds.sum()
    for row in report.intervals.itertuples():
        ids = report.exposures.loc[report.exposures["interval"] == row.interval, "exposure_id"]
        registry = exposures_overlapping(exc_sim_store, row.begin_tai_ns, row.end_tai_ns)
        assert sorted(ids) == _registry_ids(registry)
    png = report.png()
    assert png.startswith(b"\x89PNG")
    assert mpimg.imread(io.BytesIO(png)).shape[:2] == (460, 960)


def test_day_obs_covers_the_night(exc_sim: NightSimulator, exc_sim_store: Store) -> None:
    begin, end = day_obs_span(20240501)
    assert begin == to_tai_ns("2024-05-01T12:00:00Z") and end - begin == 86400 * NS
    by_day = excursions(
        exc_sim_store, DOME, "positionActual", "within 90±45", day_obs="2024-05-01"
    )
    by_range = excursions(
        exc_sim_store, DOME, "positionActual", "within 90±45", exc_sim.start_tai_ns, end
    )
    assert _as_tuples(by_day) == _as_tuples(by_range)
    assert by_day.max_gap_s == pytest.approx(2.5, abs=0.01)  # automatic: 10 × the 4 Hz spacing


# --- synthetic rows with known intervals ---------------------------------------------------

T0 = to_tai_ns("2024-05-02T01:00:00Z")
KS = np.r_[0:40, 50:80]  # 1 Hz samples with an 11 s gap after k = 39
ANGLES = {
    **dict.fromkeys(range(5), 355.0),  # true at the very first sample
    **dict.fromkeys(range(5, 10), 30.0),
    10: 359.5, 11: 0.0, 12: 0.5, 13: 9.9, 14: 10.0,  # across north, edge included
    **dict.fromkeys(range(15, 35), 180.0),
    **dict.fromkeys(range(35, 40), 2.0),  # true until the gap
    **dict.fromkeys(range(50, 55), 358.0),  # true after the gap
    **dict.fromkeys(range(55, 70), 90.0),
    **dict.fromkeys(range(70, 80), -5.0),  # true to the last sample, in another turn
}  # fmt: skip


def t(k: int) -> int:
    return T0 + k * NS


@pytest.fixture(scope="module")
def exc_synthetic(sal_xml_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """MTMount.azimuth angles as in ANGLES, two ESS sensors, and five exposures."""
    path = tmp_path_factory.mktemp("synthetic") / "store"
    with Store(path) as st_:
        st_.register_topics([t for c in ("MTMount", "ESS") for t in load_sal_xml(sal_xml_dir / c)])
        writer = Writer(st_, SchemaMode.STRICT)
        times = [t(int(k)) for k in KS]
        writer.write(
            AZIMUTH, pa.table({"time_tai_ns": times, "actualPosition": [ANGLES[k] for k in KS]})
        )
        ess_times = np.repeat([t(k) for k in range(10)], 2)
        items = [[float(k // 2 + 10 * (k % 2))] * 16 for k in range(20)]
        writer.write(
            TEMPERATURE,
            pa.table({"time_tai_ns": ess_times, "salIndex": [1, 2] * 10,
                      "temperatureItem": items, "sensorName": ["a", "b"] * 10}),
        )  # fmt: skip
        load_exposures(
            st_,
            pd.DataFrame(
                {
                    "instrument": "LSSTCam",
                    "exposure_id": [1, 2, 3, 4, 5],
                    "obs_id": ["e1", "e2", "e3", "e4", "e5"],
                    "day_obs": 20240501,
                    "observation_type": ["science", "bias", "science", "science", "dark"],
                    "timespan_begin_tai_ns": [t(2), t(37), t(39), t(60), t(15)],
                    "timespan_end_tai_ns": [t(12), t(37), t(45), t(72), t(20)],
                }
            ),
        )
    with Store(path, read_only=True) as st_:
        yield st_


def _synthetic(store: Store, condition: str, **options: object) -> ExcursionReport:
    return excursions_where(store, AZIMUTH, condition, t(0), t(80), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "condition", ["actualPosition within 0±10", "actualPosition within 350..10"]
)
def test_synthetic_wrap_gap_first_and_last_sample(exc_synthetic: Store, condition: str) -> None:
    report = _synthetic(exc_synthetic, condition, max_gap_s=5.0)
    assert _as_tuples(report) == [
        (t(0), t(5), "first_sample", "condition"),
        (t(10), t(15), "condition", "condition"),
        (t(35), t(39), "condition", "gap"),
        (t(50), t(55), "after_gap", "condition"),
        (t(70), t(79), "condition", "last_sample"),
    ]
    assert report.intervals["samples"].tolist() == [5, 5, 5, 5, 10]
    assert report.intervals["duration_s"].tolist() == [5.0, 5.0, 4.0, 5.0, 9.0]
    # The arc the values cover, wrapping at 360.
    assert report.intervals["value_min"].tolist() == pytest.approx([355, 359.5, 2, 358, 355])
    assert report.intervals["value_max"].tolist() == pytest.approx([355, 10, 2, 358, 355])
    ex = report.exposures
    assert list(zip(ex["interval"], ex["exposure_id"], strict=True)) == [
        (0, 1), (1, 1), (2, 2), (4, 4)
    ]  # fmt: skip
    assert ex["overlap_s"].tolist() == pytest.approx([3.0, 2.0, 0.0, 2.0])
    assert ex["overlap_fraction"].tolist() == pytest.approx([0.3, 0.2, 1.0, 2 / 12])
    assert report.exposure_ids == [1, 2, 4]  # 3 begins where interval 2 ends; 5 lies between


def test_synthetic_gap_rules_and_minimum_duration(exc_synthetic: Store) -> None:
    auto = _synthetic(exc_synthetic, "actualPosition within 0±10")
    assert auto.max_gap_s == 10.0 and len(auto.intervals) == 5  # the 11 s gap still breaks
    joined = _synthetic(exc_synthetic, "actualPosition within 0±10", max_gap_s=math.inf)
    assert _as_tuples(joined)[2] == (t(35), t(55), "condition", "condition")
    assert len(joined.intervals) == 4
    long = _synthetic(exc_synthetic, "actualPosition within 0±10", max_gap_s=5, min_duration_s=5)
    assert long.intervals["begin_tai_ns"].tolist() == [t(0), t(10), t(50), t(70)]
    assert long.intervals["interval"].tolist() == [0, 1, 2, 3]


def test_synthetic_never_and_always(exc_synthetic: Store) -> None:
    never = _synthetic(exc_synthetic, "actualPosition > 400")
    assert never.intervals.empty and never.exposures.empty and never.total_s == 0.0
    assert len(never.samples) == len(KS) and never.png().startswith(b"\x89PNG")
    always = _synthetic(exc_synthetic, "actualPosition >= -5", max_gap_s=math.inf)
    assert _as_tuples(always) == [(t(0), t(79), "first_sample", "last_sample")]
    assert always.exposure_ids == [1, 2, 3, 4, 5]
    split = _synthetic(exc_synthetic, "actualPosition >= -5", max_gap_s=5)
    assert _as_tuples(split) == [
        (t(0), t(39), "first_sample", "gap"), (t(50), t(79), "after_gap", "last_sample")
    ]  # fmt: skip
    # The range cuts the samples: a run still holding at the range end ends at its last sample.
    cut = excursions(exc_synthetic, AZIMUTH, "actualPosition", "> -10", t(0), t(13))
    assert _as_tuples(cut) == [(t(0), t(12), "first_sample", "last_sample")]


def test_thresholds_on_an_array_element_and_sal_index(exc_synthetic: Store) -> None:
    # salIndex 1 reads 0 … 9 over t(0) … t(9); salIndex 2 reads 10 … 19.
    one = excursions(exc_synthetic, TEMPERATURE, "temperatureItem[3]", ">= 7", t(0), t(80),
                     sal_index=1)  # fmt: skip
    assert _as_tuples(one) == [(t(7), t(9), "condition", "last_sample")]
    two = excursions(exc_synthetic, TEMPERATURE, "temperatureItem3", "< 12.5", t(0), t(80),
                     sal_index=2)  # fmt: skip
    assert _as_tuples(two) == [(t(0), t(3), "first_sample", "condition")]
    assert two.field == "temperatureItem3" and two.units == "deg_C"
    assert two.description == "lsst.sal.ESS.temperature[2] temperatureItem3 < 12.5"
    with pytest.raises(QueryError, match=r"several salIndex values in the range \(1, 2\)"):
        excursions(exc_synthetic, TEMPERATURE, "temperatureItem3", "> 1", t(0), t(80))


@pytest.mark.parametrize(
    ("topic", "field", "condition", "error", "message"),
    [
        ("lsst.sal.Nope.x", "a", "> 1", UnknownTopicError, "Nope"),
        (AZIMUTH, "actualPositon", "> 1", UnknownFieldError, "did you mean actualPosition"),
        (TEMPERATURE, "temperatureItem", "> 1", QueryError, "name one element"),
        (TEMPERATURE, "temperatureItem[16]", "> 1", QueryError, "has 16 elements"),
        (TEMPERATURE, "numChannels[1]", "> 1", QueryError, "not an array"),
        (TEMPERATURE, "sensorName", "> 1", QueryError, "holds text"),
        (AZIMUTH, "actualPosition", "== 1", QueryError, "cannot read the condition"),
        (AZIMUTH, "actualPosition > 1", "> 1", QueryError, "cannot read the field"),
        (TEMPERATURE, "temperatureItem[a]", "> 1", QueryError, "cannot read the field"),
        (AZIMUTH, "actualPosition", "within 90", QueryError, "CENTER±HALF"),
        (AZIMUTH, "actualPosition", "within 90±200", QueryError, r"outside \[0, 180\]"),
    ],
)
def test_bad_fields_and_conditions(
    exc_synthetic: Store, topic: str, field: str, condition: str, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        excursions(exc_synthetic, topic, field, condition, t(0), t(80), sal_index=None)


def test_bad_ranges_and_options(exc_synthetic: Store) -> None:
    run = excursions
    with pytest.raises(QueryError, match="begin must be before end"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", t(5), t(5))
    with pytest.raises(QueryError, match="give begin and end"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", t(5))
    with pytest.raises(QueryError, match="not both"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", t(0), t(5), day_obs=20240501)
    with pytest.raises(QueryError, match="no value of actualPosition"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", t(100), t(200))
    with pytest.raises(QueryError, match="day_obs"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", day_obs="May 1st")
    with pytest.raises(TimeValueError, match="before 1972"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", 1714606282, t(5))
    with pytest.raises(TimeValueError, match="ISO 8601"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", "yesterday", t(5))
    with pytest.raises(QueryError, match="no salIndex"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", t(0), t(80), sal_index=1)
    with pytest.raises(QueryError, match="angular condition needs the raw"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "within 0±5", t(0), t(80), resolution="1s")
    with pytest.raises(QueryError, match="resolution"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", t(0), t(80), resolution="1m")  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="min_duration_s"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", t(0), t(80), min_duration_s=-1)
    with pytest.raises(QueryError, match="a Threshold or an AngularRange"):
        run(exc_synthetic, AZIMUTH, "actualPosition", 5, t(0), t(80))  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="max_gap_s"):
        run(exc_synthetic, AZIMUTH, "actualPosition", "> 1", t(0), t(80), max_gap_s=float("nan"))


# --- the run-length rule and the condition language (pure) ---------------------------------


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.integers(1, 20), min_size=0, max_size=40),
    holds=st.lists(st.booleans(), min_size=41, max_size=41),
    max_gap=st.one_of(st.none(), st.integers(0, 15)),
    min_duration=st.integers(0, 30),
)
def test_run_lengths_follow_the_rule(
    steps: list[int], holds: list[bool], max_gap: int | None, min_duration: int
) -> None:
    times = np.cumsum([1000, *steps]).astype(np.int64)
    h = np.array(holds[: len(times)])
    found = find_intervals(times, h, max_gap_ns=max_gap, min_duration_ns=min_duration)
    expected = [r for r in _reference_intervals(times, h, max_gap) if r[1] - r[0] >= min_duration]
    got = zip(
        found.begin_tai_ns.tolist(),
        found.end_tai_ns.tolist(),
        [BEGIN_REASONS[i] for i in found.begin_reason],
        [END_REASONS[i] for i in found.end_reason],
        strict=True,
    )
    assert list(got) == expected
    assert int((found.last - found.first + 1).sum()) <= int(h.sum())


def test_run_lengths_reject_bad_input() -> None:
    with pytest.raises(QueryError, match="sorted"):
        find_intervals(np.array([2, 1]), np.array([True, True]))
    with pytest.raises(QueryError, match="one length"):
        find_intervals(np.array([1, 2]), np.array([True]))
    with pytest.raises(QueryError, match="largest gap"):
        find_intervals(np.array([1]), np.array([True]), max_gap_ns=-1)
    single = find_intervals(np.array([5]), np.array([True]))
    assert (single.begin_tai_ns.tolist(), single.end_tai_ns.tolist()) == ([5], [5])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("temperatureItem[3] > 25", ("temperatureItem", 3, Threshold(">", 25.0))),
        ("temperatureItem3>=25.5", ("temperatureItem3", None, Threshold(">=", 25.5))),
        ("  x <  -1e-3 ", ("x", None, Threshold("<", -0.001))),
        ("x<=+4°", ("x", None, Threshold("<=", 4.0))),
        ("position within 90±45", ("position", None, AngularRange(90.0, 45.0))),
        ("position WITHIN 350 +/- 20", ("position", None, AngularRange(350.0, 20.0))),
        ("position within -10+-20", ("position", None, AngularRange(350.0, 20.0))),
        ("position within 350°..10°", ("position", None, AngularRange(0.0, 10.0))),
        ("position within 45 .. 135", ("position", None, AngularRange(90.0, 45.0))),
        ("position within 0..360", ("position", None, AngularRange(180.0, 180.0))),
        ("position within 10..10", ("position", None, AngularRange(10.0, 0.0))),
    ],
)
def test_conditions_parse(text: str, expected: tuple[str, int | None, object]) -> None:
    got = parse_field_condition(text)
    assert (got.field, got.element, got.condition) == expected
    again = parse_field_condition(str(got))
    assert again == got


@pytest.mark.parametrize(
    "text",
    ["", "x", "x >", "> 5", "x > five", "x > 1e999", "x = 3", "x within", "x within 1±",
     "x within 1..", "3x > 1", "x[a] > 1", "x > 1 and y < 2", "x > nan", "x within inf±1"],
)  # fmt: skip
def test_malformed_conditions_say_what_was_expected(text: str) -> None:
    with pytest.raises(QueryError, match="cannot read|too large|outside|finite"):
        parse_field_condition(text)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=60), st.from_regex(r"[a-z]+(\[\d+\])? ?(>|<|within) .*")))
def test_any_text_parses_or_raises_our_error(text: str) -> None:
    try:
        got = parse_field_condition(text)
    except QueryError as exc:
        assert str(exc)
    else:
        assert parse_field_condition(str(got)) == got


@settings(max_examples=200, deadline=None)
@given(
    center=st.floats(-720, 720),
    half=st.floats(0, 180),
    values=st.lists(st.floats(-1000, 1000), min_size=1, max_size=20),
)
def test_angular_range_is_the_circular_distance(
    center: float, half: float, values: list[float]
) -> None:
    v = np.array(values)
    got = AngularRange(center, half).holds(v)
    d = np.abs(v - center) % 360.0
    distance = np.minimum(d, 360.0 - d)
    clear = np.abs(distance - half) > 1e-9  # away from the edge, float rounding aside
    assert np.array_equal(got[clear], (distance <= half)[clear])


def test_fields_parse() -> None:
    assert parse_field(" temperatureItem [ 3 ] ") == ("temperatureItem", 3)
    assert parse_field("positionActual") == ("positionActual", None)
    for bad in ("", "a b", "x[-1]", "x[1", "9x", "x[99999999]"):
        with pytest.raises(QueryError, match="cannot read the field|out of range"):
            parse_field(bad)


def test_condition_objects_check_themselves() -> None:
    with pytest.raises(QueryError, match="finite"):
        Threshold(">", math.inf)
    with pytest.raises(QueryError, match="unknown comparison"):
        Threshold("!=", 1.0)  # type: ignore[arg-type]
    assert AngularRange(-90, 10).center_deg == 270.0
    assert parse_condition("within 350..10") == AngularRange.between(350, 10)
    assert Threshold(">", 1).holds([np.nan, 2.0]).tolist() == [False, True]


# --- the command ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exc_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(correlate)
    app.command("excursions")(excursions_command)
    return app


def test_cli_prints_intervals_and_exposures_and_writes_files(
    exc_app: typer.Typer, exc_sim: NightSimulator, exc_sim_store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        exc_app,
        ["excursions", TEMPERATURE, "temperatureItem[3] > 13", "--store", str(exc_sim_store.path),
         "--day-obs", "20240501", "--sal-index", "101", "--min-duration", "60",
         "--out-dir", str(out)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "where lsst.sal.ESS.temperature[101] temperatureItem3 > 13" in result.output
    assert "1 interval(s)" in result.output
    intervals = pd.read_csv(out / "intervals.csv")
    overlapping = pd.read_csv(out / "exposures.csv")
    a, b = _planted(exc_sim)
    assert len(intervals) == 1 and a <= intervals["begin_tai_ns"].iloc[0] < b
    assert f"{overlapping['exposure_id'].nunique()} exposure(s) overlap" in result.output
    assert str(overlapping["exposure_id"].iloc[0]) in result.output
    assert (out / "excursions.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["temperatureItem[3] >> 13", "--day-obs", "20240501"], "cannot read the condition"),
        (["temperatureItem[3] > 13"], "give --day-obs, or both --begin and --end"),
        (["temperatureItem[3] > 13", "--day-obs", "20240501", "--begin", "2024-05-01T23:00:00"],
         "not both"),
        (["temperatureItem[3] > 13", "--day-obs", "20240501"], "choose one with sal_index"),
        (["temperatureItem[3] > 13", "--begin", "2024-05-02T00:00:00", "--end",
          "2024-05-01T00:00:00", "--sal-index", "101"], "begin must be before end"),
    ],
)  # fmt: skip
def test_cli_errors_are_one_clear_line(
    exc_app: typer.Typer, exc_sim_store: Store, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        exc_app,
        ["excursions", TEMPERATURE, *args, "--store", str(exc_sim_store.path)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
