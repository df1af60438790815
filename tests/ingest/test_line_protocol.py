"""InfluxDB 1.x line protocol: spec cases, error messages and properties."""

from __future__ import annotations

import dataclasses
import io
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from openefd.errors import LineProtocolError
from openefd.ingest._lp_point import make_point, parse_simple
from openefd.ingest._lp_scan import scan_line
from openefd.ingest._lp_values import (
    INT64_MAX,
    INT64_MIN,
    MAX_TIME_NS,
    MIN_TIME_NS,
    RESERVED_KEYS,
    UINT64_MAX,
    parse_timestamp,
)
from openefd.ingest.line_protocol import (
    FieldValue,
    LinePoint,
    UnsignedInt,
    format_line,
    iter_line_protocol,
    parse_line_protocol,
)

EFD_LINE = (
    "lsst.sal.MTMount.azimuth actualPosition=12.5,actualVelocity=-0.25,"
    'private_seqNum=123i,private_identity="MTMount" 1700000000123456789'
)


def one(text: str, **kwargs: Any) -> LinePoint:
    points = parse_line_protocol(text, **kwargs)
    assert len(points) == 1
    return points[0]


def field(value_text: str) -> FieldValue:
    return one(f"m x={value_text}").fields["x"]


def typed(value: object) -> tuple[str, object]:
    """A value with its type, NaN equal to NaN and -0.0 apart from 0.0."""
    if isinstance(value, float):
        if math.isnan(value):
            return ("float", "nan")
        return ("float", (value, math.copysign(1.0, value)))
    return (type(value).__name__, value)


def comparable(point: LinePoint) -> tuple[object, ...]:
    fields = tuple((k, typed(v)) for k, v in point.fields.items())
    return (point.measurement, point.tags, fields, point.timestamp, point.line_number)


def reason_of(text: str, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(LineProtocolError) as info:
        parse_line_protocol(text, **kwargs)
    return info.value.reason, info.value.line_number


# --- the common line ---------------------------------------------------------


def test_efd_line() -> None:
    point = one(EFD_LINE)
    assert point == LinePoint(
        measurement="lsst.sal.MTMount.azimuth",
        tags={},
        fields={
            "actualPosition": 12.5,
            "actualVelocity": -0.25,
            "private_seqNum": 123,
            "private_identity": "MTMount",
        },
        timestamp=1_700_000_000_123_456_789,
        line_number=1,
    )
    assert type(point.fields["private_seqNum"]) is int


def test_efd_line_takes_the_fast_path() -> None:
    point = parse_simple(EFD_LINE, 7, 1)
    assert point is not None
    assert comparable(point) == comparable(one(EFD_LINE, first_line_number=7))


def test_make_point_builds_the_same_frozen_point() -> None:
    names = [f.name for f in dataclasses.fields(LinePoint)]
    assert names == ["measurement", "tags", "fields", "timestamp", "line_number"]
    made = make_point("m", {"t": "1"}, {"f": 1.0}, 5, 3)
    assert made == LinePoint("m", {"t": "1"}, {"f": 1.0}, 5, 3)
    assert repr(made) == repr(LinePoint("m", {"t": "1"}, {"f": 1.0}, 5, 3))
    with pytest.raises(AttributeError):
        made.measurement = "n"  # type: ignore[misc]


# --- value types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1.0),
        ("1.0", 1.0),
        ("1.", 1.0),
        (".5", 0.5),
        ("-.5", -0.5),
        ("-1.5e-3", -0.0015),
        ("1.E+78", 1e78),
        ("1.e+78", 1e78),
        ("-1.234456e+78", -1.234456e78),
        ("1e5", 1e5),
        ("007.5", 7.5),
        ("1e-400", 0.0),
    ],
)
def test_floats(text: str, expected: float) -> None:
    value = field(text)
    assert type(value) is float
    assert value == expected


def test_negative_zero_keeps_its_sign() -> None:
    value = field("-0.0")
    assert isinstance(value, float)
    assert math.copysign(1.0, value) == -1.0


@pytest.mark.parametrize("text", ["NaN", "nan", "NAN", "-nan", "+NaN"])
def test_nan_extension(text: str) -> None:
    value = field(text)
    assert isinstance(value, float)
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Inf", math.inf),
        ("inf", math.inf),
        ("+Inf", math.inf),
        ("Infinity", math.inf),
        ("-Inf", -math.inf),
        ("-inf", -math.inf),
    ],
)
def test_inf_extension(text: str, expected: float) -> None:
    assert field(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1i", 1),
        ("-12i", -12),
        ("0i", 0),
        ("-0i", 0),
        ("007i", 7),
        (f"{INT64_MAX}i", INT64_MAX),
        (f"{INT64_MIN}i", INT64_MIN),
    ],
)
def test_integers(text: str, expected: int) -> None:
    value = field(text)
    assert type(value) is int
    assert value == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("12u", 12), ("0u", 0), (f"{UINT64_MAX}u", UINT64_MAX)]
)
def test_unsigned_integers(text: str, expected: int) -> None:
    value = field(text)
    assert type(value) is UnsignedInt
    assert value == expected
    assert repr(value) == f"UnsignedInt({expected})"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t", True),
        ("T", True),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("f", False),
        ("F", False),
        ("false", False),
        ("False", False),
        ("FALSE", False),
    ],
)
def test_booleans(text: str, expected: bool) -> None:
    value = field(text)
    assert type(value) is bool
    assert value is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('""', ""),
        ('"hello"', "hello"),
        ('"a b,c=d"', "a b,c=d"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"ends with \\"', "ends with \\"),
        (r'"literal \n and \t"', r"literal \n and \t"),
        (r'"one \ two"', "one \\ two"),
        (r'"\\\""', '\\"'),
        ('"true"', "true"),
        ('"1i"', "1i"),
        ('"é ⚡ 🚀"', "é ⚡ 🚀"),
        ('"# not a comment"', "# not a comment"),
    ],
)
def test_strings(text: str, expected: str) -> None:
    assert field(text) == expected


def test_several_fields_and_the_last_of_a_repeated_key_wins() -> None:
    point = one('m a=1,b=2i,c="x",d=t,a=3 5')
    assert point.fields == {"a": 3.0, "b": 2, "c": "x", "d": True}
    assert list(point.fields) == ["a", "b", "c", "d"]


# --- escaping ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "measurement", "tags", "fields"),
    [
        (r"my\ meas,t=1 f=1", "my meas", {"t": "1"}, {"f": 1.0}),
        (r"my\,meas f=1", "my,meas", {}, {"f": 1.0}),
        ("a=b f=1", "a=b", {}, {"f": 1.0}),
        (r"a\=b f=1", r"a\=b", {}, {"f": 1.0}),
        (r"m,tag\ key=tag\,value\=x f=1", "m", {"tag key": "tag,value=x"}, {"f": 1.0}),
        (r"m,k\=1=v f=1", "m", {"k=1": "v"}, {"f": 1.0}),
        (r"m field\ key\,x\=y=1", "m", {}, {"field key,x=y": 1.0}),
        (r"m field_k\ey=1", "m", {}, {r"field_k\ey": 1.0}),
        (r"m\\ x=1 f=1", "m\\ x=1", {}, {"f": 1.0}),
        (r"a\\,t=v f=1", "a\\,t=v", {}, {"f": 1.0}),
        ('"m",t="v" "f"=1', '"m"', {"t": '"v"'}, {'"f"': 1.0}),
        ("m,t='v' f='x'", None, None, None),
        ("m⚡,t🚀=é f=1", "m⚡", {"t🚀": "é"}, {"f": 1.0}),
        ("m,b=2,a=1 f=1", "m", {"b": "2", "a": "1"}, {"f": 1.0}),
    ],
)
def test_escapes(
    text: str,
    measurement: str | None,
    tags: dict[str, str] | None,
    fields: dict[str, float] | None,
) -> None:
    if measurement is None:  # single quotes are no quotes: 'x' is not a value
        assert reason_of(text)[0].startswith("invalid field value \"'x'\"")
        return
    point = one(text)
    assert (point.measurement, point.tags, point.fields) == (measurement, tags, fields)


def test_influxdb_reference_special_characters_example() -> None:
    text = (
        r"measurement\ with\ quo⚡️es\ and\ emoji,tag\ key\ with\ sp🚀ces=tag\,value\,with"
        r'"commas" field_k\ey="string field value, only \" need be esc🍭ped"'
    )
    point = one(text)
    assert point.measurement == "measurement with quo⚡️es and emoji"
    assert point.tags == {"tag key with sp🚀ces": 'tag,value,with"commas"'}
    assert point.fields == {r"field_k\ey": 'string field value, only " need be esc🍭ped'}


# --- lines, comments, whitespace ---------------------------------------------


def test_comments_blank_lines_and_line_numbers() -> None:
    text = "# header\n\nm f=1 1\n   \n  # indented comment\n\tm f=2 2\nm f=3 3\n"
    points = parse_line_protocol(text)
    assert [(p.fields["f"], p.line_number) for p in points] == [(1.0, 3), (2.0, 6), (3.0, 7)]


def test_crlf_line_endings() -> None:
    points = parse_line_protocol('m f=1 1\r\n# c\r\n\r\nm s="x" 2\r\nm g=t\r\n')
    assert [(p.fields, p.timestamp, p.line_number) for p in points] == [
        ({"f": 1.0}, 1, 1),
        ({"s": "x"}, 2, 4),
        ({"g": True}, None, 5),
    ]


def test_whitespace_influxdb_tolerates() -> None:
    assert one("  m f=1").fields == {"f": 1.0}
    assert one("m   f=1   5   ").timestamp == 5
    assert one("m f=1   ").timestamp is None


def test_first_line_number() -> None:
    points = parse_line_protocol("m f=1\n\nm f=2", first_line_number=100)
    assert [p.line_number for p in points] == [100, 102]


def test_empty_text() -> None:
    assert parse_line_protocol("") == []
    assert parse_line_protocol("\n\n# only comments\n") == []


def test_string_with_raw_line_breaks_continues_on_the_next_line() -> None:
    text = (
        'm f=1 1\nlog,csc=MTMount message="Traceback:\n  File \\"x.py\\"\n\nend",level=40i 2'
        "\nm f=3 3"
    )
    points = parse_line_protocol(text)
    assert [p.line_number for p in points] == [1, 2, 6]
    assert points[1].fields == {"message": 'Traceback:\n  File "x.py"\n\nend', "level": 40}
    assert points[1].timestamp == 2


def test_raw_line_break_inside_string_keeps_crlf_inside() -> None:
    point = one('m s="a\r\nb" 7\r\n')
    assert point.fields == {"s": "a\r\nb"}


# --- precision ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("precision", "factor"),
    [
        ("ns", 1),
        ("n", 1),
        ("u", 1_000),
        ("us", 1_000),
        ("ms", 10**6),
        ("s", 10**9),
        ("m", 60 * 10**9),
        ("h", 3600 * 10**9),
    ],
)
def test_precision_scales_to_nanoseconds(precision: str, factor: int) -> None:
    points = parse_line_protocol("m f=1 17\nm f=1 -3\nm f=1", precision=precision)
    assert [p.timestamp for p in points] == [17 * factor, -3 * factor, None]


@pytest.mark.parametrize("precision", ["", "sec", "S", "µs", "d"])
def test_invalid_precision_is_a_value_error(precision: str) -> None:
    with pytest.raises(ValueError, match="invalid precision"):
        parse_line_protocol("m f=1", precision=precision)
    with pytest.raises(ValueError, match="invalid precision"):
        iter_line_protocol([], precision=precision)


def test_timestamp_range_is_influxdbs() -> None:
    assert one(f"m f=1 {MAX_TIME_NS}").timestamp == MAX_TIME_NS
    assert one(f"m f=1 {MIN_TIME_NS}").timestamp == MIN_TIME_NS
    for stamp in (MAX_TIME_NS + 1, MIN_TIME_NS - 1, 10**30):
        assert reason_of(f"m f=1 {stamp}")[0].startswith(f"timestamp out of range: '{stamp}'")
    assert reason_of("m f=1 2562048", precision="h")[0].startswith("timestamp out of range")
    assert one("m f=1 2562047", precision="h").timestamp == 2562047 * 3600 * 10**9


# --- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("m", "missing field set"),
        ("m,t=1", "missing field set"),
        ("m ", "missing field set"),
        (",t=1 f=1", "missing measurement"),
        ("m,=1 f=1", "missing tag key"),
        ("m, f=1", "missing tag key"),
        ("m,t f=1", "missing tag value for tag key 't'"),
        ("m,t= f=1", "missing tag value for tag key 't'"),
        ("m,t=a=b f=1", "invalid tag value for tag key 't': unescaped '='"),
        ("m,t=1,t=2 f=1", "duplicate tag key 't'"),
        ("m,time=1 f=1", "tag key 'time' is reserved"),
        ("m,_measurement=x f=1", "tag key '_measurement' is reserved"),
        ("m time=1", "field key 'time' is reserved"),
        ("m _field=1", "field key '_field' is reserved"),
        ("m =1", "missing field key"),
        ("m f=1,", "missing field key"),
        ("m f=1,,g=2", "missing field key"),
        ("m f", "invalid field 'f': expected f=value"),
        ("m f=1,g", "invalid field 'g': expected g=value"),
        ("m f=", "missing value for field 'f'"),
        ("m f=,g=1", "missing value for field 'f'"),
        ("m x=abc", "invalid field value 'abc' for field 'x'"),
        ("m x=1.5i", "invalid integer '1.5i' for field 'x'"),
        ("m x=1i2", "invalid field value '1i2' for field 'x'"),
        ("m x=9223372036854775808i", "integer out of range: '9223372036854775808i'"),
        ("m x=-9223372036854775809i", "integer out of range: '-9223372036854775809i'"),
        ("m x=18446744073709551616u", "integer out of range: '18446744073709551616u'"),
        ("m x=-1u", "invalid unsigned integer '-1u' for field 'x'"),
        ("m x=1.5u", "invalid unsigned integer '1.5u' for field 'x'"),
        ("m x=1e400", "float out of range: '1e400' for field 'x'"),
        ("m x=+1", "invalid field value '+1' for field 'x'"),
        ("m x=1_000", "invalid field value '1_000' for field 'x'"),
        ("m x=1.2.3", "invalid field value '1.2.3' for field 'x'"),
        ("m x=١٢", "invalid field value '١٢' for field 'x'"),
        ("m x=tru", "invalid field value 'tru' for field 'x'"),
        ("m x=yes", "invalid field value 'yes' for field 'x'"),
        ("m x=infinite", "invalid field value 'infinite' for field 'x'"),
        ("m x=-", "invalid field value '-' for field 'x'"),
        ("m x=1\t", "invalid field value '1\\t' for field 'x'"),
        ('m name="abc', "unterminated string in field 'name'"),
        ('m name="abc\\"', "unterminated string in field 'name'"),
        ('m s="a"b', "unexpected 'b' after the closing quote of field 's'"),
        ("m f=1 12a", "invalid timestamp '12a'"),
        ("m f=1 1.5", "invalid timestamp '1.5'"),
        ("m f=1 +5", "invalid timestamp '+5'"),
        ("m f=1 -", "invalid timestamp '-'"),
        ("m f=1 ١٢", "invalid timestamp '١٢'"),
        ('m f=1 "1"', "invalid timestamp '\"1\"'"),
        ("m f=1 1 2", "unexpected text after the timestamp: '2'"),
        ("m f=1\t5", "invalid field value '1\\t5' for field 'f'"),
    ],
)
def test_error_messages(text: str, reason: str) -> None:
    message, line_number = reason_of(text, source="export.lp")
    assert message.startswith(reason)
    assert line_number == 1


def test_error_names_source_and_line() -> None:
    text = "m f=1 1\nm f=2 2\nm f=abc 3\nm f=4 4\nm f=5 5\n"
    with pytest.raises(LineProtocolError) as info:
        parse_line_protocol(text, source="day.lp")
    assert info.value.line_number == 3
    assert info.value.source == "day.lp"
    assert str(info.value).startswith("day.lp:3: invalid field value 'abc' for field 'f'")


def test_error_in_a_point_over_several_lines_names_its_first_line() -> None:
    text = 'm f=1\nm s="one\ntwo"x\nm f=2'
    message, line_number = reason_of(text)
    assert line_number == 2
    assert message.startswith("unexpected 'x' after the closing quote of field 's'")
    assert "lines 2-3" in message


def test_unterminated_string_at_the_end_names_its_first_line() -> None:
    assert reason_of('m f=1\nm s="one\ntwo\n\nm f=2\n') == ("unterminated string in field 's'", 2)


def test_line_too_long() -> None:
    line = 'm s="' + "x" * (2_000_000 - 6) + '"'
    assert reason_of("m f=1\n" + line) == (
        "line too long: 2000000 bytes > max_line_bytes 1048576",
        2,
    )
    assert len(parse_line_protocol(line, max_line_bytes=2_000_000)) == 1


def test_line_length_counts_utf8_bytes() -> None:
    assert reason_of('m s="ééé"', max_line_bytes=10) == (
        "line too long: 12 bytes > max_line_bytes 10",
        1,
    )
    assert one('m s="ééé"', max_line_bytes=12).fields == {"s": "ééé"}


def test_a_string_left_open_runs_into_the_line_limit() -> None:
    text = 'm s="never closed\n' + "m f=1\n" * 100
    message, line_number = reason_of(text, max_line_bytes=200)
    assert line_number == 1
    assert message == (
        "line too long: 203 bytes > max_line_bytes 200 "
        "(a double-quoted string opened on line 1 is still open on line 32)"
    )


def test_bad_max_line_bytes() -> None:
    with pytest.raises(ValueError, match="max_line_bytes"):
        parse_line_protocol("m f=1", max_line_bytes=0)


# --- streaming ---------------------------------------------------------------


def test_iter_in_chunks_with_line_numbers() -> None:
    text = "".join(f"m f={i} {i}\n" if i % 3 else "# comment\n" for i in range(10))
    chunks = list(iter_line_protocol(io.StringIO(text, newline="\n"), chunk_size=2))
    assert [len(c) for c in chunks] == [2, 2, 2]
    assert [p.line_number for c in chunks for p in c] == [2, 3, 5, 6, 8, 9]


def test_iter_accepts_lines_without_terminators_and_multi_line_items() -> None:
    items = ["m f=1", "m f=2\r\n", 'm s="a\nb"\nm f=3\n', "m f=4"]
    points = [p for c in iter_line_protocol(items, chunk_size=10) for p in c]
    assert [(p.fields, p.line_number) for p in points] == [
        ({"f": 1.0}, 1),
        ({"f": 2.0}, 2),
        ({"s": "a\nb"}, 3),
        ({"f": 3.0}, 5),
        ({"f": 4.0}, 6),
    ]


def test_iter_string_across_chunk_boundary() -> None:
    lines = ["m f=1\n", 'm s="a\n', "b\n", 'c" 5\n', "m f=2\n"]
    points = [p for c in iter_line_protocol(lines, chunk_size=1) for p in c]
    assert [(p.fields, p.line_number) for p in points] == [
        ({"f": 1.0}, 1),
        ({"s": "a\nb\nc"}, 2),
        ({"f": 2.0}, 5),
    ]


def test_iter_error_line_number_and_empty_input() -> None:
    with pytest.raises(LineProtocolError) as info:
        for _ in iter_line_protocol(["m f=1\n"] * 5 + ["m f=x\n"], chunk_size=2, source="f.lp"):
            pass
    assert (info.value.source, info.value.line_number) == ("f.lp", 6)
    assert list(iter_line_protocol([])) == []


def test_iter_checks_arguments_at_the_call() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        iter_line_protocol([], chunk_size=0)


# --- writer ------------------------------------------------------------------


def test_format_line_types_and_order() -> None:
    line = format_line(
        "lsst.sal.MTMount.azimuth",
        {
            "pos": 12.5,
            "n": -3,
            "u": UnsignedInt(7),
            "ok": True,
            "no": False,
            "id": "MTMount",
            "nan": math.nan,
            "inf": math.inf,
            "ninf": -math.inf,
            "tiny": 1e-300,
        },
        {"z": "1", "a": "2"},
        1_700_000_000_123_456_789,
    )
    assert line == (
        "lsst.sal.MTMount.azimuth,a=2,z=1 pos=12.5,n=-3i,u=7u,ok=true,no=false,"
        'id="MTMount",nan=NaN,inf=Inf,ninf=-Inf,tiny=1e-300 1700000000123456789'
    )


def test_format_line_escapes() -> None:
    line = format_line("a b,c=d", {"f k,=": 'say "hi" \\o/'}, {"t k,=": "v a,l=ue"})
    assert line == r'a\ b\,c=d,t\ k\,\==v\ a\,l\=ue f\ k\,\=="say \"hi\" \\o/"'
    point = one(line)
    assert point.measurement == "a b,c=d"
    assert point.tags == {"t k,=": "v a,l=ue"}
    assert point.fields == {"f k,=": 'say "hi" \\o/'}


def test_format_line_float_round_trips_exactly() -> None:
    for value in (0.1, 1 / 3, 5e-324, 1.7976931348623157e308, -0.0, 1e16, 123456789.0):
        parsed = field(format_line("m", {"x": value}).split(" ", 1)[1][2:])
        assert typed(parsed) == typed(value)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("", {"f": 1}), ValueError, "measurement must not be empty"),
        (("#m", {"f": 1}), ValueError, "cannot start with '#'"),
        (("\tm", {"f": 1}), ValueError, "cannot start with"),
        (("m\\", {"f": 1}), ValueError, "ends with a backslash"),
        (("m\nx", {"f": 1}), ValueError, "newline"),
        (("m", {}), ValueError, "at least one field"),
        (("m", {"": 1}), ValueError, "field key must not be empty"),
        (("m", {"time": 1}), ValueError, "reserved"),
        (("m", {"f": 1}, {"_field": "x"}), ValueError, "reserved"),
        (("m", {"f": 1}, {"t": ""}), ValueError, "value of tag 't' must not be empty"),
        (("m", {"f": 1}, {"t": "a\\"}), ValueError, "ends with a backslash"),
        (("m", {"f": 2**63}), ValueError, "outside int64"),
        (("m", {"f": None}), TypeError, "cannot write a NoneType"),
        (("m", {"f": b"x"}), TypeError, "cannot write a bytes"),
        (("m", {"f": 1}, None, MAX_TIME_NS + 1), ValueError, "outside InfluxDB"),
        (("m", {"f": 1}, None, True), TypeError, "timestamp must be an int"),
        ((1, {"f": 1}), TypeError, "measurement must be a str"),
    ],
)
def test_format_line_refuses_what_line_protocol_cannot_carry(
    args: tuple[Any, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        format_line(*args)


def test_unsigned_int_range() -> None:
    assert UnsignedInt(UINT64_MAX) == UINT64_MAX
    with pytest.raises(ValueError, match="outside"):
        UnsignedInt(-1)
    with pytest.raises(ValueError, match="outside"):
        UnsignedInt(2**64)


# --- properties --------------------------------------------------------------

_CHARS = st.characters(codec="utf-8", exclude_characters="\n")
_NAMES = st.text(_CHARS, min_size=1, max_size=12).filter(lambda s: not s.endswith("\\"))
_KEYS = _NAMES.filter(lambda s: s not in RESERVED_KEYS)
_MEASUREMENTS = _NAMES.filter(lambda s: s[0] not in "#\t")
_VALUES: st.SearchStrategy[FieldValue] = st.one_of(
    st.floats(),
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(0, UINT64_MAX).map(UnsignedInt),
    st.booleans(),
    st.text(st.characters(codec="utf-8"), max_size=20),
)
_TIMESTAMPS = st.none() | st.integers(MIN_TIME_NS, MAX_TIME_NS)
_POINTS = st.tuples(
    _MEASUREMENTS,
    st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=5),
    st.dictionaries(_KEYS, _NAMES, max_size=4),
    _TIMESTAMPS,
)


def _formatted(point: tuple[str, dict[str, FieldValue], dict[str, str], int | None]) -> str:
    measurement, fields, tags, timestamp = point
    return format_line(measurement, fields, tags, timestamp)


@settings(max_examples=300, deadline=None)
@given(_POINTS)
@example(("m", {"s": 'a "q" \\ \\\\" b\r\n\n#x'}, {" t": "=,"}, None))
@example(("\\ x,\\y", {"f\\=": math.nan, "g": -0.0}, {"k\\,": "\\ v"}, MIN_TIME_NS))
def test_round_trip(point: tuple[str, dict[str, FieldValue], dict[str, str], int | None]) -> None:
    measurement, fields, tags, timestamp = point
    parsed = one(_formatted(point))
    expected = LinePoint(measurement, tags, fields, timestamp, 1)
    assert comparable(parsed) == comparable(expected)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_line_protocol_errors(text: str) -> None:
    try:
        points = parse_line_protocol(text)
    except LineProtocolError as exc:
        assert exc.reason
        assert 1 <= exc.line_number <= text.count("\n") + 1
    else:
        assert all(p.fields for p in points)


_LP_ALPHABET = st.sampled_from(list('m,= "\\\n\r\t#tTfFiuIeE0123456789.-+_xéN'))


@settings(max_examples=300, deadline=None)
@given(st.text(_LP_ALPHABET, max_size=40))
def test_line_protocol_like_text_raises_only_line_protocol_errors(text: str) -> None:
    try:
        points = parse_line_protocol(text)
    except LineProtocolError as exc:
        assert exc.reason
    else:
        assert all(p.fields and p.measurement for p in points)


_TRICKY_VALUES = [
    "1",
    "1.5",
    "-0.25",
    "1e5",
    "1e+5",
    "1E-5",
    "1.",
    ".5",
    "-",
    ".",
    "e5",
    "1e",
    "1.2.3",
    "1i",
    "-1i",
    "1.5i",
    "i",
    "1u",
    "-1u",
    "u",
    "t",
    "true",
    "TRUE",
    "False",
    "tru",
    "nan",
    "-Inf",
    "infinity",
    "+1",
    "1_0",
    "1e400",
    "9223372036854775808i",
    '"x"',
    '""',
    '"a',
    'a"',
    '"a"b',
    '"',
    '"a""b"',
    "12a",
    "=",
]
_TOKENS = st.text(st.sampled_from(list('mk"tTfFiu0123456789.-+eE_N=')), max_size=5)
_NAME_TOKENS = st.sampled_from(["m", "k", "f", "x_1", "T"]) | _TOKENS
_VALUE_TEXTS = st.sampled_from(_TRICKY_VALUES) | _TOKENS
_STAMPS = st.sampled_from(["", "0", "-5", "17", "1.5", '"1"', "-", "+5", "9223372036854775807"])


@st.composite
def _simple_lines(draw: st.DrawFn) -> str:
    """ASCII lines without backslashes, built like line protocol, often broken."""
    key = draw(_NAME_TOKENS)
    for _ in range(draw(st.integers(0, 2))):
        key += f",{draw(_NAME_TOKENS)}={draw(_NAME_TOKENS)}"
    pairs = [f"{draw(_NAME_TOKENS)}={draw(_VALUE_TEXTS)}" for _ in range(draw(st.integers(1, 3)))]
    line = f"{key}{draw(st.sampled_from([' ', ' ', '  ', ',']))}{','.join(pairs)}"
    stamp = draw(_STAMPS | _TOKENS)
    return line if not stamp else f"{line}{draw(st.sampled_from([' ', '  ']))}{stamp}"


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_simple_lines().filter(lambda s: s[:1] not in ("", " ", "\t", "#")))
@example('m s="a,b" 5')
@example('m s="a b"')
@example('m s="a"b')
@example('m f=1 t="x"')
@example("m f=1 -9223372036854775808")
@example("m f=1 1.5")
@example("m f=1 --5")
@example("m =1,f=2")
def test_fast_path_agrees_with_the_scanner(line: str) -> None:
    fast = parse_simple(line, 1, 1)  # never raises: errors come from the scanner
    if fast is None:
        return
    scanned = scan_line(line)
    assert scanned is not None
    measurement, tags, fields, stamp = scanned
    timestamp = None if stamp is None else parse_timestamp(stamp, 1)
    assert comparable(fast) == comparable(make_point(measurement, tags, fields, timestamp, 1))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(_POINTS.map(_formatted), st.sampled_from(["", "# comment", "  ", "\t# c"])),
        max_size=12,
    ),
    st.sampled_from(["\n", "\r\n"]),
    st.integers(1, 5),
)
def test_chunked_iteration_matches_whole_text(lines: list[str], newline: str, chunk: int) -> None:
    text = newline.join(lines) + newline
    whole = parse_line_protocol(text)
    chunks = list(iter_line_protocol(io.StringIO(text, newline="\n"), chunk_size=chunk))
    assert all(len(c) == chunk for c in chunks[:-1])
    assert all(0 < len(c) <= chunk for c in chunks)
    assert [comparable(p) for c in chunks for p in c] == [comparable(p) for p in whole]
