"""Raw SELECTs against pandas over the rows written: fields, WHERE, order, limits, nulls."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from tests.query.influxql.conftest import AZ, FA, LEAP_NS, NODATA, NS, STATE, TEMP, U0, Efd

from openefd.query.influxql import Series

QAZ = f'"efd"."autogen"."{AZ}"'
QTEMP = f'"{TEMP}"'


def iso(utc_ns: int) -> str:
    return pd.Timestamp(utc_ns, tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def only_series(efd: Efd, text: str, **kwargs: Any) -> Series:
    result = efd.one(text, **kwargs)
    (series,) = result.series
    return series


def column(series: Series, name: str) -> list[Any]:
    values = series.values[series.columns.index(name)]
    return list(np.asarray(values).tolist())


def nullable(values: pd.Series) -> list[Any]:
    """pandas values as the executor gives them: None for null, Python scalars."""
    return [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in values]


def test_time_range_select_matches_pandas(efd: Efd) -> None:
    az = efd.frames[AZ]
    lo, hi = int(az["utc"].iloc[100]), int(az["utc"].iloc[900])
    s = only_series(
        efd,
        f'SELECT "actualPosition", "actualVelocity" FROM {QAZ} '
        f"WHERE time >= '{iso(lo)}' AND time < '{iso(hi)}'",
    )
    want = az[(az["utc"] >= lo) & (az["utc"] < hi)]
    assert s.name == AZ and s.tags is None and s.time_column
    assert s.columns == ["time", "actualPosition", "actualVelocity"]
    assert s.values[0].dtype == np.int64
    assert s.values[0].tolist() == want["utc"].tolist()  # UTC out, though stored in TAI
    np.testing.assert_array_equal(s.values[1], want["actualPosition"].to_numpy())
    assert s.values[1].dtype == np.float64


@pytest.mark.parametrize(
    "bound",
    [
        "'{iso}'",
        "'{space}'",
        "{ns}",
        "{s}s",
        "{ms}ms",
        "now() - {ago}s",
        "'{iso}' - 0s",
    ],
)
def test_time_literal_forms(efd: Efd, bound: str) -> None:
    az = efd.frames[AZ]
    t = int(az["utc"].iloc[1500]) // NS * NS  # whole seconds: every form can say it
    now = t + 7 * NS
    text = bound.format(
        iso=iso(t),
        space=pd.Timestamp(t, tz="UTC").strftime("%Y-%m-%d %H:%M:%S"),
        ns=t,
        s=t // NS,
        ms=t // 1_000_000,
        ago=7,
    )
    s = only_series(efd, f"SELECT actualPosition FROM {QAZ} WHERE time > {text}", now=now)
    assert s.values[0].tolist() == az["utc"][az["utc"] > t].tolist()


def test_time_comparisons_under_or_and_reversed(efd: Efd) -> None:
    az = efd.frames[AZ]
    a, b = int(az["utc"].iloc[10]), int(az["utc"].iloc[1990])
    s = only_series(efd, f"SELECT actualPosition FROM {QAZ} WHERE {a} >= time OR time = {b}")
    assert s.values[0].tolist() == az["utc"][(az["utc"] <= a) | (az["utc"] == b)].tolist()


def test_field_conditions(efd: Efd) -> None:
    temp = efd.frames[TEMP]
    s = only_series(
        efd,
        f"SELECT numChannels, location FROM {QTEMP} "
        "WHERE (\"salIndex\" = 2 OR salIndex <> 3) AND numChannels >= 4 AND location != 'dome'",
    )
    want = temp[
        ((temp["salIndex"] == 2) | (temp["salIndex"] != 3))
        & (temp["numChannels"] >= 4).fillna(False)
        & temp["location"].notna()
        & (temp["location"] != "dome")
    ]
    assert column(s, "time") == want["utc"].tolist()
    assert column(s, "location") == want["location"].tolist()
    assert column(s, "numChannels") == want["numChannels"].astype(int).tolist()


def test_regex_conditions_and_strings_with_quotes(efd: Efd) -> None:
    temp = efd.frames[TEMP]
    s = only_series(efd, f"SELECT location FROM {QTEMP} WHERE location =~ /^it's/")
    assert set(column(s, "location")) == {'it\'s "here"'}
    s = only_series(efd, f"SELECT location FROM {QTEMP} WHERE location = 'it\\'s \"here\"'")
    assert len(column(s, "location")) == int((temp["location"] == 'it\'s "here"').sum())
    s = only_series(efd, f"SELECT location FROM {QTEMP} WHERE location !~ /dome/")
    assert len(s.values[0]) == int((temp["location"].notna() & (temp["location"] != "dome")).sum())


def test_comparisons_of_other_types_match_nothing(efd: Efd) -> None:
    for condition in ("location = 1", "numChannels = 'x'", "nosuch = 1", "numChannels =~ /1/"):
        (result,) = efd.run(f"SELECT numChannels FROM {QTEMP} WHERE {condition}")
        assert result.error is None and result.series == [], condition
    s = only_series(efd, f"SELECT numChannels FROM {QTEMP} WHERE 1 = 1 AND salIndex = 1")
    temp = efd.frames[TEMP]
    assert len(s.values[0]) == int(((temp["salIndex"] == 1) & temp["numChannels"].notna()).sum())


def test_nulls_and_all_null_rows(efd: Efd) -> None:
    temp = efd.frames[TEMP]
    s = only_series(efd, f"SELECT numChannels, location FROM {QTEMP}")
    keep = temp["numChannels"].notna() | temp["location"].notna()
    assert column(s, "time") == temp["utc"][keep].tolist()  # rows with no value are left out
    assert s.values[1].dtype == object  # ints with nulls: Python ints and None
    assert column(s, "numChannels") == nullable(temp["numChannels"][keep])
    assert column(s, "location") == nullable(temp["location"][keep])


def test_unknown_fields(efd: Efd) -> None:
    s = only_series(efd, f'SELECT fz, nosuch FROM "{FA}" LIMIT 3')
    assert s.columns == ["time", "fz", "nosuch"] and column(s, "nosuch") == [None] * 3
    (result,) = efd.run(f'SELECT nosuch, zForce FROM "{FA}"')  # no such flat field
    assert result.error is None and result.series == []


def test_wildcard_regex_and_array_elements(efd: Efd) -> None:
    fa = efd.frames[FA]
    s = only_series(efd, f'SELECT * FROM "{FA}" LIMIT 2')
    names = s.columns[1:]
    assert names == sorted(names) and "zForce155" in names and "zForce" not in names
    assert "xForce0" not in names and "fx" not in names  # never written: no field key
    assert column(s, "zForce155") == [row[155] for row in fa["zForce"][:2]]
    s = only_series(efd, f'SELECT /^zForce1[0-9]$/, "zForce3" FROM "{FA}"')
    assert s.columns == ["time", *sorted(f"zForce1{i}" for i in range(10)), "zForce3"]
    assert column(s, "zForce17") == [row[17] for row in fa["zForce"]]
    assert column(s, "zForce3") == [row[3] for row in fa["zForce"]]


def test_never_written_fields(efd: Efd) -> None:
    """Asked by name, a field without values gives no rows, as an unknown one does."""
    (result,) = efd.run(f'SELECT "temperatureItem13" FROM {QTEMP}')
    assert result.error is None and result.series == []
    s = only_series(efd, f"SELECT * FROM {QTEMP} LIMIT 1")
    assert "temperatureItem11" in s.columns and "temperatureItem12" not in s.columns
    s = only_series(efd, f"SELECT temperatureItem11, temperatureItem12 FROM {QTEMP} LIMIT 1")
    assert column(s, "temperatureItem12") == [None]  # NaN reads as null
    (result,) = efd.run(f'SELECT "temperatureItem13" FROM {QTEMP} LIMIT 3')
    assert result.error is None and result.series == []


def test_column_names_aliases_and_repeats(efd: Efd) -> None:
    s = only_series(efd, f'SELECT fz, fz, fz AS z, time, fz::field FROM "{FA}" LIMIT 1')
    assert s.columns == ["time", "fz", "fz_1", "z", "fz_2"]


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (5, 3), (0, 7), (3000, 0), (10, 2500)])
def test_order_desc_limit_offset(efd: Efd, limit: int, offset: int) -> None:
    az = efd.frames[AZ]
    text = f"SELECT actualVelocity FROM {QAZ} ORDER BY time DESC"
    text += (f" LIMIT {limit}" if limit else "") + (f" OFFSET {offset}" if offset else "")
    want = az["utc"][::-1].iloc[offset : offset + limit if limit else None]
    results = efd.run(text)
    if not len(want):
        assert results[0].series == []
        return
    (s,) = results[0].series
    assert s.values[0].tolist() == want.tolist()
    asc = only_series(efd, f"SELECT actualVelocity FROM {QAZ} ORDER BY time ASC LIMIT 3")
    assert asc.values[0].tolist() == az["utc"][:3].tolist()


def test_desc_limit_with_an_upper_bound_and_a_field_condition(efd: Efd) -> None:
    temp = efd.frames[TEMP]
    cut = int(temp["utc"].iloc[200])
    s = only_series(
        efd,
        f"SELECT salIndex FROM {QTEMP} WHERE time < {cut} AND salIndex = 1 "
        "ORDER BY time DESC LIMIT 4",
    )
    want = temp[(temp["utc"] < cut) & (temp["salIndex"] == 1)]["utc"][::-1][:4]
    assert s.values[0].tolist() == want.tolist()


def test_several_measurements_and_regex_sources(efd: Efd) -> None:
    result = efd.one(f'SELECT summaryState, fz FROM "{STATE}", "{FA}", "{NODATA}", "nosuch"')
    assert [s.name for s in result.series] == sorted([STATE, FA])
    result = efd.one("SELECT * FROM /MTMount/ LIMIT 1")
    assert [s.name for s in result.series] == [AZ, STATE]
    result = efd.one("SELECT * FROM /MTMount/ LIMIT 1 SLIMIT 1 SOFFSET 1")
    assert [s.name for s in result.series] == [STATE]


def test_group_by_tags_gives_empty_tag_values(efd: Efd) -> None:
    s = only_series(efd, f'SELECT summaryState FROM "{STATE}" GROUP BY "host", *')
    assert s.tags == {"host": ""}


def test_no_data(efd: Efd) -> None:
    for text in (
        f'SELECT * FROM "{NODATA}"',
        "SELECT * FROM nosuch",
        f"SELECT actualPosition FROM {QAZ} WHERE time > now() + 10h",
        f"SELECT actualPosition FROM {QAZ} WHERE time > 5 AND time < 3",
    ):
        (result,) = efd.run(text)
        assert result.error is None and result.series == [], text


def test_pending_rows_are_read(fresh: Efd) -> None:
    """Rows the live writer accepted but has not committed are answered too."""
    store = fresh.store
    tai = U0 + 5000 * NS + LEAP_NS
    store.pending.add(
        STATE, store.conform(STATE, pa.table({"time_tai_ns": [tai], "summaryState": [7]}))
    )
    s = only_series(fresh, f'SELECT summaryState FROM "{STATE}" ORDER BY time DESC LIMIT 1')
    assert s.values[0].tolist() == [U0 + 5000 * NS] and column(s, "summaryState") == [7]
    store.pending.add(
        NODATA, store.conform(NODATA, pa.table({"time_tai_ns": [tai], "demandPosition": [1.5]}))
    )
    s = only_series(fresh, f'SELECT demandPosition FROM "{NODATA}"')
    assert column(s, "demandPosition") == [1.5]
    names = fresh.one("SHOW MEASUREMENTS").series[0].values[0].tolist()
    assert NODATA in names
