"""execute(): statements in turn, errors per statement, limits, timeout, injection attempts."""

from __future__ import annotations

import string
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.query.influxql.conftest import (
    AZ,
    LEAP_NS,
    NOW,
    STATE,
    TEMP,
    U0,
    Efd,
    make_frames,
    write_frames,
)

from openefd.errors import InfluxQLError
from openefd.query.fields import ColumnRef
from openefd.query.influxql import QueryLimits, execute, parse
from openefd.query.influxql.conditions import condition_sql
from openefd.query.influxql.limits import Watchdog
from openefd.query.influxql.selection import lookup_field
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

QAZ = f'"{AZ}"'


def row_counts(store: Store) -> dict[str, int]:
    return {s.topic: s.rows for s in store.topic_stats()}


def test_statements_run_in_turn_and_errors_stay_in_their_statement(efd: Efd) -> None:
    results = efd.run(
        f'SELECT last(summaryState) FROM "{STATE}"; SELECT a FROM "other".."m"; '
        f'SELECT mean(location) FROM "{TEMP}"; SHOW DATABASES',
    )
    assert [r.statement_id for r in results] == [0, 1, 2, 3]
    assert results[0].error is None and results[0].series[0].values[1].tolist() == [4]
    assert results[1].error == "database not found: other" and results[1].series == []
    assert results[2].error is not None and "string field" in results[2].error
    assert results[3].error is None and results[3].series[0].name == "databases"


def test_a_parse_error_anywhere_runs_nothing(efd: Efd) -> None:
    with pytest.raises(InfluxQLError, match="at line 2, char 8"):
        efd.run(f'SELECT last(summaryState) FROM "{STATE}";\nSELECT FROM x')


@pytest.mark.parametrize(
    ("text", "database", "error"),
    [
        (f"SELECT * FROM {QAZ}", None, "database name required"),
        (f"SELECT * FROM {QAZ}", "foo", "database not found: foo"),
        (f'SELECT * FROM "efd"."forever".{QAZ}', "efd", "retention policy not found: forever"),
    ],
)
def test_database_and_retention_policy(
    efd: Efd, text: str, database: str | None, error: str
) -> None:
    (result,) = efd.run(text, database=database)
    assert result.error == error


def test_database_from_the_measurement_wins(efd: Efd) -> None:
    (result,) = efd.run(f'SELECT last(summaryState) FROM efd.."{STATE}"', database=None)
    assert result.error is None and len(result.series) == 1
    (result,) = efd.run(f'SELECT last(summaryState) FROM "efd"."autogen"."{STATE}"', database="x")
    assert result.error is None and len(result.series) == 1


def test_point_limit_names_the_limit(efd: Efd) -> None:
    (result,) = efd.run(f"SELECT actualPosition FROM {QAZ}", limits=QueryLimits(max_points=100))
    assert result.series == [] and result.error is not None
    assert "max-select-point limit exceeded" in result.error and "100 values" in result.error
    assert "OPENEFD_QUERY_MAX_POINTS" in result.error and "narrow the time range" in result.error
    (ok,) = efd.run(
        f"SELECT actualPosition FROM {QAZ} LIMIT 50", limits=QueryLimits(max_points=100)
    )
    assert ok.error is None and ok.series[0].row_count == 50


def test_point_budget_is_shared_by_the_statements(efd: Efd) -> None:
    text = f"SELECT actualPosition FROM {QAZ} LIMIT 30"
    first, second = efd.run(f"{text}; {text}", limits=QueryLimits(max_points=100))
    assert first.error is None and first.series[0].row_count == 30
    assert second.error is not None and "max-select-point" in second.error


def test_series_limit(efd: Efd) -> None:
    (result,) = efd.run("SELECT * FROM /MTMount/ LIMIT 1", limits=QueryLimits(max_series=1))
    assert result.error is not None and "max-select-series limit exceeded" in result.error
    assert "OPENEFD_QUERY_MAX_SERIES" in result.error


def test_filled_buckets_are_bounded_by_the_point_limit(efd: Efd) -> None:
    (result,) = efd.run(
        f"SELECT mean(actualPosition) FROM {QAZ} WHERE time > now() - 1h GROUP BY time(1s)",
        limits=QueryLimits(max_points=1000),
    )
    assert result.error is not None and "more than the 500 that fit" in result.error
    assert "buckets" in result.error and "fill(none)" in result.error


@pytest.fixture
def big(strict_settings: Settings, store_path: Path) -> Iterator[Efd]:
    """A store with 500 000 azimuth rows more (no 1 s aggregates: they are not needed)."""
    settings = strict_settings.model_copy(update={"aggregation": False})
    with Store(store_path, settings=settings) as store:
        frames = make_frames()
        write_frames(store, frames)
        rows = 500_000
        times = U0 + LEAP_NS - np.arange(1, rows + 1, dtype=np.int64) * 20_000_000
        values = np.random.default_rng(0).normal(size=rows)
        table = pa.table(
            {"time_tai_ns": times, "actualPosition": values, "actualVelocity": values}
        )
        with store.transaction():
            store.insert(AZ, store.conform(AZ, table))
        yield Efd(store, settings, frames)


def test_timeout_cancels_and_the_store_stays_usable(big: Efd) -> None:
    heavy = f"SELECT percentile(actualPosition, 50), median(actualVelocity) FROM {QAZ}"
    started = time.perf_counter()
    results = big.run(f"{heavy}; SHOW DATABASES", limits=QueryLimits(timeout_s=0.01))
    assert time.perf_counter() - started < 5
    errors = [r.error or "" for r in results]
    assert all(e.startswith("query timeout: the query ran longer than 0.01 s") for e in errors)
    assert "OPENEFD_QUERY_TIMEOUT_S" in errors[0] and all(r.series == [] for r in results)
    (again,) = big.run(f'SELECT last(summaryState) FROM "{STATE}"')  # same thread and cursor
    assert again.error is None and again.series[0].values[1].tolist() == [4]
    (full,) = big.run(heavy)
    assert full.error is None and full.series[0].row_count == 1


def test_watchdog_interrupts_duckdb_and_never_fires_after_close(store: Store) -> None:
    cursor = store.cursor()
    with Watchdog(cursor, 0.05) as dog, pytest.raises(duckdb.InterruptException):
        cursor.execute("SELECT count(*) FROM range(10000000000000) a").fetchall()
    assert dog.expired
    quiet = Watchdog(cursor, 0.01)
    quiet.close()
    time.sleep(0.05)
    assert not quiet.expired
    assert cursor.execute("SELECT 42").fetchall() == [(42,)]


# -- injection attempts -------------------------------------------------------------

INJECTIONS = [
    f'SELECT * FROM "{TEMP}\\"; DROP TABLE \\"{TEMP}"',
    f'SELECT "location\\"; DROP TABLE x; --" FROM "{TEMP}"',
    f'SELECT location FROM "{TEMP}" WHERE location = \'\\\'; DROP TABLE "{TEMP}"; --\'',
    f'SELECT location FROM "{TEMP}" WHERE location =~ /\'\\); DROP TABLE x; --/',
    f'SELECT location FROM "{TEMP}" WHERE "location\\" OR 1=1 --" = \'x\'',
    f'SHOW FIELD KEYS FROM "{TEMP}\'; DROP TABLE x; --"',
    f'SELECT mean("numChannels\\"); DROP TABLE x; --") FROM "{TEMP}"',
    f"SELECT location FROM \"{TEMP}\" WHERE time > '2024-01-01''; DROP TABLE x'",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_attempts_are_names_or_values(fresh: Efd, text: str) -> None:
    before = row_counts(fresh.store)
    try:
        results = fresh.run(text)
    except InfluxQLError:
        results = []
    for r in results:
        assert r.series == [] or all(s.name in before for s in r.series)
        assert r.error is None or "DROP" not in r.error.upper() or "found" in r.error
    assert row_counts(fresh.store) == before
    (check,) = fresh.run(f'SELECT count(salIndex) FROM "{TEMP}"')
    assert check.series[0].values[1].tolist() == [len(fresh.frames[TEMP])]


def test_user_text_reaches_sql_only_as_parameters(efd: Efd) -> None:
    layout = efd.store.layout(TEMP)
    evil = "x'; DROP TABLE t; --"
    (stmt,) = parse(
        f"SELECT location FROM m WHERE location = '{evil.replace(chr(39), chr(92) + chr(39))}' "
        f"OR \"{evil}\" = 1 OR location =~ /{evil}/ OR time > '2024-05-01T00:00:00Z'"
    )
    assert stmt.condition is not None  # type: ignore[union-attr]

    def lookup(name: str) -> ColumnRef | None:
        return lookup_field(layout, name, {})

    sql, params = condition_sql(stmt.condition, lookup, NOW)  # type: ignore[union-attr]
    assert "DROP" not in sql and evil not in sql
    assert params.count(evil) == 2 and sql.count("?") == len(params)


# -- execute never fails in any other way -------------------------------------------

WORDS = st.sampled_from(
    [
        "actualPosition",
        "actualTorque",
        "location",
        "numChannels",
        "salIndex",
        "temperatureItem3",
        "private_identity",
        "time",
        "nosuch",
        'a"b',
        "*",
    ]
)
FUNCS = st.sampled_from(
    ["mean", "median", "min", "max", "stddev", "count", "sum", "first", "last", "spread"]
)
VALUES = st.one_of(
    st.integers(-5, 5).map(str),
    st.sampled_from(["'dome'", "true", "1.5", "now() - 1h", "'2024-05-01T03:10:00Z'", "/do/"]),
)


def quoted(name: str) -> str:
    return name if name == "*" else '"' + name.replace('"', '\\"') + '"'


@st.composite
def queries(draw: st.DrawFn) -> str:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        word = quoted(draw(WORDS))
        if draw(st.booleans()):
            word = f"{draw(FUNCS)}({word})"
        items.append(word)
    source = draw(st.sampled_from([QAZ, f'"{TEMP}"', "/MTMount/", '"nosuch"']))
    text = f"SELECT {', '.join(items)} FROM {source}"
    conditions = [
        f"{quoted(draw(WORDS))} {draw(st.sampled_from(['=', '!=', '>', '<=', '=~']))} "
        f"{draw(VALUES)}"
        for _ in range(draw(st.integers(0, 2)))
    ]
    if conditions:
        text += " WHERE " + f" {draw(st.sampled_from(['AND', 'OR']))} ".join(conditions)
    if draw(st.booleans()):
        text += f" GROUP BY time({draw(st.sampled_from(['1s', '5m', '1h']))})"
        text += draw(st.sampled_from(["", " fill(none)", " fill(previous)", " fill(0)"]))
    if draw(st.booleans()):
        text += " ORDER BY time DESC"
    if draw(st.booleans()):
        text += f" LIMIT {draw(st.integers(1, 5))}"
    return text


@given(queries())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_queries_answer_or_report_an_error(efd: Efd, text: str) -> None:
    try:
        (result,) = efd.run(text, limits=QueryLimits(max_points=200_000))
    except InfluxQLError:
        return
    if result.error is not None:
        assert result.series == [] and result.error.strip()
        return
    for s in result.series:
        assert s.columns[0] == "time" and len(s.columns) == len(s.values)
        assert len({len(v) for v in s.values}) == 1
        assert s.values[0].dtype == np.int64
        for v in s.values[1:]:
            assert np.asarray(v).dtype.kind in "fiubO"


@given(st.text(string.printable, max_size=80))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_text_never_breaks_execute(efd: Efd, text: str) -> None:
    try:
        results = efd.run(text)
    except InfluxQLError:
        return
    assert all(r.error is None or isinstance(r.error, str) for r in results)


def test_now_defaults_to_the_clock(efd: Efd) -> None:
    text = f"SELECT count(actualPosition) FROM {QAZ} WHERE time > now() - 3650d"
    (result,) = execute(
        efd.store, text, database="efd", settings=efd.settings, limits=QueryLimits()
    )
    assert result.error is None and result.series[0].values[1].tolist() == [len(efd.frames[AZ])]
    (result,) = execute(
        efd.store,
        f"SELECT count(actualPosition) FROM {QAZ} WHERE time > now() - 1s",
        database="efd",
        settings=efd.settings,
        limits=QueryLimits(),
    )
    assert result.error is None and result.series == []  # the rows are from May 2024
