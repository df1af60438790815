"""The InfluxQL parser: constructs to trees, InfluxDB-style errors, fuzzing, round trips."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openefd.errors import InfluxQLError
from openefd.query.influxql import ast as a
from openefd.query.influxql import format_statement, parse
from openefd.query.influxql.grammar import KEYWORDS
from openefd.query.influxql.literals import parse_duration, parse_time_string

H = 3_600_000_000_000
M = 60_000_000_000
S = 1_000_000_000
TOPIC = "lsst.sal.MTM1M3.forceActuatorData"


def one(text: str) -> a.Statement:
    (statement,) = parse(text)
    return statement


def select(text: str) -> a.SelectStatement:
    statement = one(text)
    assert isinstance(statement, a.SelectStatement)
    return statement


def test_efd_client_query() -> None:
    s = select(
        f'SELECT "xForce0", "fz" FROM "efd"."autogen"."{TOPIC}" '
        "WHERE time >= '2024-05-01T03:00:00.000Z' AND time <= '2024-05-01T03:10:00.000Z' "
        'AND "salIndex" = 2'
    )
    assert s.fields == (a.Field(a.VarRef("xForce0")), a.Field(a.VarRef("fz")))
    assert s.sources == (a.Measurement(TOPIC, None, "efd", "autogen"),)
    time = a.VarRef("time")
    assert s.condition == a.BinaryExpr(
        "AND",
        a.BinaryExpr(
            "AND",
            a.BinaryExpr(">=", time, a.StringLiteral("2024-05-01T03:00:00.000Z")),
            a.BinaryExpr("<=", time, a.StringLiteral("2024-05-01T03:10:00.000Z")),
        ),
        a.BinaryExpr("=", a.VarRef("salIndex"), a.IntegerLiteral(2)),
    )
    assert (s.dimensions, s.fill, s.descending, s.limit, s.offset) == (
        (),
        a.FillOption(),
        False,
        0,
        0,
    )


def test_aggregates_group_by_fill_order_limit() -> None:
    s = select(
        'select MEAN("a") as "m", max(b), percentile(c, 95.5), count(*), min(/^x/) '
        "from m where time > now() - 20h group by time(10m, -1m), * fill(previous) "
        "order by time desc limit 10 offset 2 slimit 3 soffset 1"
    )
    assert [f.expr for f in s.fields] == [
        a.Call("mean", (a.VarRef("a"),)),
        a.Call("max", (a.VarRef("b"),)),
        a.Call("percentile", (a.VarRef("c"), a.NumberLiteral(95.5))),
        a.Call("count", (a.Wildcard(),)),
        a.Call("min", (a.RegexLiteral("^x"),)),
    ]
    assert s.fields[0].alias == "m"
    assert s.condition == a.BinaryExpr(
        ">", a.VarRef("time"), a.BinaryExpr("-", a.Call("now"), a.DurationLiteral(20 * H))
    )
    assert s.dimensions == (a.TimeDimension(10 * M, 9 * M), a.WildcardDimension())
    assert s.time_dimension == a.TimeDimension(10 * M, 9 * M)
    assert s.fill == a.FillOption("previous")
    assert (s.descending, s.limit, s.offset, s.slimit, s.soffset) == (True, 10, 2, 3, 1)


@pytest.mark.parametrize(
    ("text", "fill"),
    [
        ("fill(null)", a.FillOption("null")),
        ("fill(none)", a.FillOption("none")),
        ("FILL(Linear)", a.FillOption("linear")),
        ("fill(0)", a.FillOption("number", 0)),
        ("fill(-2.5)", a.FillOption("number", -2.5)),
    ],
)
def test_fill(text: str, fill: a.FillOption) -> None:
    assert select(f"SELECT mean(x) FROM m GROUP BY time(1s) {text}").fill == fill


@pytest.mark.parametrize(
    ("source", "measurement"),
    [
        ("m", a.Measurement("m")),
        ('"lsst.sal.ESS.temperature"', a.Measurement("lsst.sal.ESS.temperature")),
        ('"autogen"."m"', a.Measurement("m", retention_policy="autogen")),
        ("efd..m", a.Measurement("m", database="efd")),
        ('"efd"."autogen".m', a.Measurement("m", None, "efd", "autogen")),
        ("/MTM1M3/", a.Measurement(None, a.RegexLiteral("MTM1M3"))),
        ("efd.autogen./a\\/b/", a.Measurement(None, a.RegexLiteral("a/b"), "efd", "autogen")),
        ('"we\\"ird"', a.Measurement('we"ird')),
    ],
)
def test_sources(source: str, measurement: a.Measurement) -> None:
    assert select(f"SELECT x FROM {source}").sources == (measurement,)


@pytest.mark.parametrize(
    ("literal", "expr"),
    [
        ("'2020-01-01 00:00:00.123'", a.StringLiteral("2020-01-01 00:00:00.123")),
        ("1577836800s", a.DurationLiteral(1577836800 * S)),
        ("1577836800000000000", a.IntegerLiteral(1577836800000000000)),
        ("-5", a.IntegerLiteral(-5)),
        ("1.5", a.NumberLiteral(1.5)),
        ("true", a.BooleanLiteral(True)),
        ("FALSE", a.BooleanLiteral(False)),
        ("'it\\'s'", a.StringLiteral("it's")),
        ("1h30m", a.DurationLiteral(90 * M)),
    ],
)
def test_literals(literal: str, expr: a.Expr) -> None:
    condition = select(f"SELECT x FROM m WHERE y = {literal}").condition
    assert condition == a.BinaryExpr("=", a.VarRef("y"), expr)


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">=", "=~", "!~"])
def test_comparison_operators(op: str) -> None:
    rhs = "/x/" if "~" in op else "1"
    condition = select(f"SELECT x FROM m WHERE a {op} {rhs}").condition
    assert isinstance(condition, a.BinaryExpr) and condition.op == op


def test_precedence_and_parentheses() -> None:
    c = select("SELECT x FROM m WHERE a = 1 OR b <> 'x' AND (c =~ /y/ OR d = true)").condition
    assert c == a.BinaryExpr(
        "OR",
        a.BinaryExpr("=", a.VarRef("a"), a.IntegerLiteral(1)),
        a.BinaryExpr(
            "AND",
            a.BinaryExpr("!=", a.VarRef("b"), a.StringLiteral("x")),
            a.BinaryExpr(
                "OR",
                a.BinaryExpr("=~", a.VarRef("c"), a.RegexLiteral("y")),
                a.BinaryExpr("=", a.VarRef("d"), a.BooleanLiteral(True)),
            ),
        ),
    )


def test_identifiers_keywords_casts_comments() -> None:
    s = select(
        'SELECT "select"::field, "a b", _x1 AS "from" -- a comment\n'
        "FROM /* block */ m ORDER BY time ASC"
    )
    assert s.fields == (
        a.Field(a.VarRef("select", "field")),
        a.Field(a.VarRef("a b")),
        a.Field(a.VarRef("_x1"), "from"),
    )
    assert s.descending is False


def test_several_statements() -> None:
    statements = parse("SELECT a FROM m; ;SHOW DATABASES;\nSHOW MEASUREMENTS;")
    assert [type(s) for s in statements] == [
        a.SelectStatement,
        a.ShowDatabases,
        a.ShowMeasurements,
    ]


@pytest.mark.parametrize(
    ("text", "statement"),
    [
        ("SHOW DATABASES", a.ShowDatabases()),
        ("show retention policies on efd", a.ShowRetentionPolicies("efd")),
        ("SHOW RETENTION POLICIES", a.ShowRetentionPolicies()),
        (
            "SHOW MEASUREMENTS WITH MEASUREMENT =~ /MTM1M3/ LIMIT 3 OFFSET 1",
            a.ShowMeasurements(None, "=~", a.RegexLiteral("MTM1M3"), None, 3, 1),
        ),
        (
            'SHOW MEASUREMENTS ON "efd" WITH MEASUREMENT = "lsst.sal.ESS.temperature"',
            a.ShowMeasurements("efd", "=", "lsst.sal.ESS.temperature"),
        ),
        (
            f'SHOW FIELD KEYS FROM "efd"."autogen"."{TOPIC}"',
            a.ShowFieldKeys(None, (a.Measurement(TOPIC, None, "efd", "autogen"),)),
        ),
        ("SHOW TAG KEYS ON efd", a.ShowTagKeys("efd")),
        (
            'SHOW TAG VALUES FROM m WITH KEY IN ("a", b)',
            a.ShowTagValues("IN", ("a", "b"), sources=(a.Measurement("m"),)),
        ),
        ("SHOW TAG VALUES WITH KEY =~ /x/", a.ShowTagValues("=~", (a.RegexLiteral("x"),))),
        ("SHOW SERIES FROM m LIMIT 2", a.ShowSeries(sources=(a.Measurement("m"),), limit=2)),
    ],
)
def test_show(text: str, statement: a.Statement) -> None:
    assert one(text) == statement


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("SELECT * FORM m", "found FORM, expected AS, FROM, ',' at line 1, char 10", 9),
        ("SELEC * FROM m", "found SELEC, expected SELECT, SHOW, ';', EOF at line 1, char 1", 0),
        ("", "found EOF, expected SELECT, SHOW at line 1, char 1", 0),
        ("SELECT", "found EOF, expected identifier, string", 6),
        ('SELECT "a"; DROP TABLE x --', "found ;, expected AS, FROM, ',' at line 1, char 11", 10),
        ("SELECT a\nFROM m WHERE", "found EOF, expected identifier", 21),
        ("SELECT a FROM m WHERE b = 'x", "found unterminated string 'x, expected closing '", 26),
        ("SELECT a FROM m GROUP BY time(1m) fil(none)", "found fil, expected fill", 34),
        ("SELECT a FROM m LIMIT 9223372036854775808", "unable to parse integer", 22),
        ("SELECT a FROM m WHERE b = 'a\\qb'", "bad escape \\q at line 1, char 27", 26),
        ("SELECT a FROM /(/", "invalid regex /(/", 14),
        ("SELECT a FROM m ORDER BY a", "only ORDER BY time supported at this time", -1),
        ("SELECT a FROM m GROUP BY time(0s)", "time dimension must have a positive duration", -1),
        ("SELECT a FROM m GROUP BY time(1m), time(1h)", "multiple time dimensions", -1),
        ("SELECT a FROM m GROUP BY time(x)", "time dimension must have duration argument", -1),
        ("SELECT a FROM m fill(sideways)", "found sideways, expected null, none, previous", 21),
        ("SELECT a::bogus FROM m", "found bogus, expected boolean, field", 10),
        ("SELECT a FROM a.b.c.d", "found ., expected", 19),
        ("SELECT a FROM m # x", "found #, which is not a valid InfluxQL token", 16),
    ],
)
def test_errors(text: str, message: str, position: int) -> None:
    with pytest.raises(InfluxQLError) as info:
        parse(text)
    assert message in str(info.value)
    assert info.value.position == position
    if info.value.position >= 0 and "line" in str(info.value):
        line = text[: info.value.position].count("\n") + 1
        assert f"at line {line}, char" in str(info.value)


def test_durations_and_time_strings() -> None:
    assert parse_duration("1w2d3h4m5s6ms7u8ns") == (
        ((((7 + 2) * 24 + 3) * 60 + 4) * 60 + 5) * S + 6_000_000 + 7_000 + 8
    )
    assert parse_duration("5µ") == 5_000
    assert parse_time_string("2020-01-01T00:00:00Z") == 1577836800 * S
    assert parse_time_string("2020-01-01 00:00:00.123") == 1577836800 * S + 123_000_000
    assert parse_time_string("2020-01-01T02:00:00.000000001+02:00") == 1577836800 * S + 1
    assert parse_time_string("2020-01-01") == 1577836800 * S
    bad = (
        "2020-13-01T00:00:00Z",
        "2020-02-30",
        "yesterday",
        "2020-01-01T25:00:00Z",
        "2020-01-01T00:00:00",  # a T needs a zone
        "2020-01-01 00:00:00Z",  # a space has none
        " 2020-01-01",
        "2020-01-01Z",
    )
    for text in bad:
        with pytest.raises(ValueError, match="invalid timestamp string"):
            parse_time_string(text)


# -- fuzzing -------------------------------------------------------------------

VALID = [
    'SELECT mean("a") AS m, max(b) FROM "efd"."autogen"."x.y" WHERE time > now() - 1h '
    "AND (c = 'z' OR d =~ /e/) GROUP BY time(1m) fill(previous) ORDER BY time DESC LIMIT 5",
    "SHOW FIELD KEYS FROM efd..m; SHOW MEASUREMENTS WITH MEASUREMENT =~ /a/",
    "SELECT * FROM /x/ WHERE time >= '2020-01-01T00:00:00Z' AND time < 1577836800s",
]
ALPHABET = st.sampled_from(list("SELECTFROMWHEREselectfrom *,;()'\"/=<>!~-+.:0123456789ahms\n\\"))


@given(st.text(max_size=200))
@settings(max_examples=400)
def test_any_text_raises_only_influxql_errors(text: str) -> None:
    try:
        statements = parse(text)
    except InfluxQLError as exc:
        assert exc.position >= -1
    else:
        assert statements


@given(st.sampled_from(VALID), st.data())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_queries_raise_only_influxql_errors(text: str, data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = data.draw(st.text(ALPHABET, min_size=1, max_size=3))
        if action == "insert":
            text = text[:i] + ch + text[i:]
        elif action == "delete":
            text = text[:i] + text[i + 1 :]
        else:
            text = text[:i] + ch + text[i + len(ch) :]
    try:
        statements = parse(text)
    except InfluxQLError as exc:
        assert -1 <= exc.position <= len(text)
    else:
        assert statements


def test_deep_nesting_is_an_error_or_a_tree() -> None:
    for depth in (50, 5000):
        text = "SELECT a FROM m WHERE " + "(" * depth + "b = 1" + ")" * depth
        try:
            s = select(text)
        except InfluxQLError:
            continue
        assert s.condition == a.BinaryExpr("=", a.VarRef("b"), a.IntegerLiteral(1))


# -- round trip: render a tree, parse it back ------------------------------------

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8)
plain = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: n.upper() not in KEYWORDS
)
regexes = st.sampled_from(["x", "^lsst\\.sal", "a/b", "[0-9]+$", "(?i)force"]).map(a.RegexLiteral)
literals = st.one_of(
    st.text(max_size=10).map(a.StringLiteral),
    st.integers(-(2**62), 2**62).map(a.IntegerLiteral),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(abs).map(a.NumberLiteral),
    st.integers(0, 2**40).map(a.DurationLiteral),
    st.booleans().map(a.BooleanLiteral),
)
var_refs = st.builds(a.VarRef, names, st.sampled_from([None, "field", "float"]))
comparisons = st.one_of(
    st.builds(
        a.BinaryExpr, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), var_refs, literals
    ),
    st.builds(a.BinaryExpr, st.sampled_from(["=~", "!~"]), var_refs, regexes),
    st.builds(
        a.BinaryExpr,
        st.sampled_from([">", "<="]),
        st.just(a.VarRef("time")),
        st.builds(
            a.BinaryExpr,
            st.just("-"),
            st.just(a.Call("now")),
            st.integers(1, 10**12).map(a.DurationLiteral),
        ),
    ),
)
conditions = st.recursive(
    comparisons,
    lambda inner: st.builds(a.BinaryExpr, st.sampled_from(["AND", "OR"]), inner, inner),
    max_leaves=6,
)
calls = st.one_of(
    st.builds(
        lambda f, arg: a.Call(f, (arg,)),
        plain,
        st.one_of(var_refs, st.just(a.Wildcard()), regexes),
    ),
    st.builds(
        lambda arg, p: a.Call("percentile", (arg, a.IntegerLiteral(p))),
        var_refs,
        st.integers(0, 100),
    ),
)
fields = st.builds(
    a.Field, st.one_of(var_refs, calls, st.just(a.Wildcard()), regexes), st.none() | names
)
sources = st.one_of(
    st.builds(a.Measurement, names),
    st.builds(lambda r: a.Measurement(None, r), regexes),
    st.builds(lambda n, d, rp: a.Measurement(n, None, d, rp), names, names, st.none() | names),
)
dimensions = st.one_of(
    st.builds(
        lambda i, o: a.TimeDimension(i, o % i), st.integers(1, 10**13), st.integers(0, 10**13)
    ),
    st.builds(a.TagDimension, names.filter(lambda n: n.lower() != "time")),
    st.just(a.WildcardDimension()),
    st.builds(a.RegexDimension, st.sampled_from(["x", "^h"])),
)
fills = st.one_of(
    st.sampled_from(["null", "none", "previous", "linear"]).map(a.FillOption),
    st.integers(-100, 100).map(lambda v: a.FillOption("number", v)),
)
selects = st.builds(
    a.SelectStatement,
    fields=st.lists(fields, min_size=1, max_size=4).map(tuple),
    sources=st.lists(sources, min_size=1, max_size=2).map(tuple),
    condition=st.none() | conditions,
    dimensions=st.lists(dimensions, max_size=2)
    .filter(lambda ds: sum(isinstance(d, a.TimeDimension) for d in ds) <= 1)
    .map(tuple),
    fill=fills,
    descending=st.booleans(),
    limit=st.integers(0, 1000),
    offset=st.integers(0, 1000),
    slimit=st.integers(0, 5),
    soffset=st.integers(0, 5),
)
shows = st.one_of(
    st.just(a.ShowDatabases()),
    st.builds(a.ShowRetentionPolicies, st.none() | names),
    st.builds(
        a.ShowMeasurements,
        st.none() | names,
        st.sampled_from(["=~", "!~"]),
        regexes,
        st.none(),
        st.integers(0, 9),
        st.integers(0, 9),
    ),
    st.builds(a.ShowFieldKeys, st.none() | names, st.lists(sources, max_size=2).map(tuple)),
    st.builds(a.ShowSeries, st.none() | names, st.lists(sources, max_size=2).map(tuple)),
)


@given(st.one_of(selects, shows))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_rendered_statements_parse_back(statement: a.Statement) -> None:
    text = format_statement(statement)
    assert parse(text) == [statement], text
