"""The calls the differential suite sends through the released clients to both peers.

Each :class:`Call` makes the driver's JSON (see ``efdclient_driver.py``) from
the data set's start time, so the ids are known when pytest collects and the
times when the data exist. Windows are relative to ``start``, the first
instant of the data (a whole minute, UTC): M1M3 ``forceActuatorData`` holds
[start, start + 60 s), everything else [start, start + 180 s).

InfluxDB 1.6.7 is the reference: where its answer is odd, the comment next
to the call says which behaviour the suite holds openefd to and why, and
whether a newer 1.x answers the same. The one difference from 1.8+ that the
clients reach is ``/health`` (added in 1.8), which the driver works around
(see ``efdclient_driver.py``); no other is known to touch these calls (the
time-literal rules and the error texts quoted here are unchanged in the
influxql package of later 1.x).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CALLS", "Call", "CallContext"]

Json = dict[str, Any]

AZ = "lsst.sal.MTMount.azimuth"
EL = "lsst.sal.MTMount.elevation"
IN_POSITION = "lsst.sal.MTMount.logevent_azimuthInPosition"
FORCES = "lsst.sal.MTM1M3.forceActuatorData"
M1M3_STATE = "lsst.sal.MTM1M3.logevent_summaryState"
ESS_T = "lsst.sal.ESS.temperature"
ESS_P = "lsst.sal.ESS.pressure"
DIMM = "lsst.sal.DIMM.logevent_dimmMeasurement"
TAKE = "lsst.sal.MTCamera.command_takeImages"
OODS = "lsst.sal.MTOODS.logevent_imageInOODS"
WRITTEN = "lsst.sal.CompatTest.logevent_written"
NOTEBOOK_SPAN = "time > now() - 20h"


@dataclass(frozen=True, slots=True)
class CallContext:
    """Where the data are: ``start`` is the first instant (UTC, a whole minute)."""

    start: dt.datetime

    def at(self, offset_s: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=offset_s)

    def time(self, offset_s: float, fmt: str = "isot", scale: str = "utc") -> Json:
        """An astropy ``Time`` ``offset_s`` after the start, as the driver decodes it."""
        when = self.at(offset_s)
        if scale == "tai":
            when += dt.timedelta(seconds=37)  # TAI − UTC since 2017
        text = when.strftime("%Y-%m-%dT%H:%M:%S.%f")
        if fmt == "iso":
            text = text.replace("T", " ")
        return {"$time": text, "scale": scale, "format": fmt}

    def rfc(self, offset_s: float) -> str:
        """An RFC 3339 literal for InfluxQL: ``'2026-…T…Z'``."""
        return "'" + self.at(offset_s).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "'"

    def span(self, a_s: float, b_s: float) -> str:
        """``time >= a AND time < b``."""
        return f"time >= {self.rfc(a_s)} AND time < {self.rfc(b_s)}"


@dataclass(frozen=True, slots=True)
class Call:
    """One call: its id (the test's) and how to make the driver's JSON for it."""

    id: str
    make: Callable[[CallContext], Json]

    def job(self, ctx: CallContext) -> Json:
        return {"id": self.id, **self.make(ctx)}


def efd(method: str, *args: Any, **kwargs: Any) -> Callable[[CallContext], Json]:
    """An ``EfdClient`` method; callables among the arguments get the context."""

    def make(ctx: CallContext) -> Json:
        return {
            "kind": "efd",
            "method": method,
            "args": [a(ctx) if callable(a) else a for a in args],
            "kwargs": {k: v(ctx) if callable(v) else v for k, v in kwargs.items()},
        }

    return make


def raw(
    query: str | Callable[[CallContext], str], *, rtol: float | None = None, **opts: Any
) -> Callable[[CallContext], Json]:
    """A raw ``aioinflux`` query (``epoch``, ``chunked``, ``chunk_size``, ``db``, ``mentions``)."""

    def make(ctx: CallContext) -> Json:
        q = query(ctx) if callable(query) else query
        out: Json = {"kind": "raw", "query": q, **opts}
        if rtol is not None:
            out["rtol"] = rtol
        return out

    return make


def err(make: Callable[[CallContext], Json], *mentions: str) -> Callable[[CallContext], Json]:
    """The same call, whose error messages must both mention ``mentions``."""
    return lambda ctx: {**make(ctx), "mentions": list(mentions)}


def t(offset_s: float, fmt: str = "isot", scale: str = "utc") -> Callable[[CallContext], Json]:
    return lambda ctx: ctx.time(offset_s, fmt, scale)


def dt_s(seconds: float) -> Json:
    return {"$timedelta_s": seconds}


def notebook(fields: str, topic: str) -> str:
    """A query of the seed notebook (002), verbatim."""
    return f'SELECT {fields} FROM "efd"."autogen"."{topic}" WHERE {NOTEBOOK_SPAN}'


def kind(name: str, **fields: Any) -> Callable[[CallContext], Json]:
    """A call of another kind (``ping``, ``write``); callables among the fields get the context."""
    return lambda ctx: {
        "kind": name,
        **{k: v(ctx) if callable(v) else v for k, v in fields.items()},
    }


def written_lines(ctx: CallContext) -> str:
    """Two points of a new topic, a minute into the data: every field type."""
    ns = int(ctx.at(60).timestamp()) * 10**9
    return (
        f'{WRITTEN} value=1.5,count=3i,label="a \\"quoted\\" word",flag=true {ns}\n'
        f"{WRITTEN} value=2,count=-4i,flag=false {ns + 250_000_000}"
    )


def written_point(ctx: CallContext) -> Json:
    """One point as aioinflux's mapping form (measurement, time in ns, fields)."""
    return {
        "measurement": WRITTEN,
        "time": int(ctx.at(61).timestamp()) * 10**9,
        "fields": {"value": 0.25, "count": 7, "label": "mapped", "flag": True},
    }


CALLS: list[Call] = [
    # --- EfdClient: discovery ---------------------------------------------------
    Call("get_topics", efd("get_topics")),
    Call("get_fields-scalar-topic", efd("get_fields", AZ)),
    # Arrays flattened to name0 … nameN-1, in InfluxDB's byte order (xForce0, xForce1, xForce10…).
    Call("get_fields-array-topic", efd("get_fields", FORCES)),
    Call("get_fields-indexed-topic", efd("get_fields", ESS_T)),
    # ESS:301's pressure has one channel of eight: items 1-7 are NaN in every row, left out
    # of every line (no InfluxDB 1.x can store NaN, so writers leave such fields out), so
    # InfluxDB has never heard of pressureItem1 … 7: no field key, no column in SELECT *.
    Call("get_fields-never-written-elements", efd("get_fields", ESS_P)),
    # No such topic: InfluxDB answers no series, the client indexes an empty frame: KeyError.
    Call("get_fields-unknown-topic", efd("get_fields", "lsst.sal.Nope.nothing")),
    # --- EfdClient: select_time_series --------------------------------------------
    Call("sts-one-field", efd("select_time_series", AZ, "actualPosition", t(10), t(40))),
    Call(
        "sts-several-fields",
        efd(
            "select_time_series",
            AZ,
            ["actualPosition", "actualVelocity", "demandPosition", "actualAcceleration"],
            t(10),
            t(40),
        ),
    ),
    # Whole-number floats (demandPosition 0.0, an acceleration of -0.0): InfluxDB writes
    # them as 0 in JSON, and pandas makes such a column int64; openefd must write the
    # same JSON numbers for the same dtypes.
    Call("sts-whole-floats", efd("select_time_series", AZ, ["demandPosition"], t(0), t(5))),
    Call("sts-timedelta", efd("select_time_series", EL, "actualPosition", t(60), dt_s(30))),
    Call(
        "sts-window",
        efd(
            "select_time_series",
            ESS_T,
            ["temperatureItem0", "salIndex"],
            t(90),
            dt_s(20),
            is_window=True,
        ),
    ),
    Call(
        "sts-tai-start",
        efd("select_time_series", EL, "actualPosition", t(20, scale="tai"), t(25, scale="tai")),
    ),
    # A NaN channel: left out of InfluxDB's line, so InfluxDB answers null for every row:
    # an object column of None in pandas.
    Call(
        "sts-index-nan-channel",
        efd(
            "select_time_series",
            ESS_T,
            ["temperatureItem0", "temperatureItem7", "sensorName", "numChannels", "salIndex"],
            t(30),
            t(60),
            index=301,
        ),
    ),
    Call(
        "sts-index",
        efd(
            "select_time_series", ESS_T, ["temperatureItem3", "location"], t(0), t(180), index=101
        ),
    ),
    Call(
        "sts-array-elements",
        efd(
            "select_time_series",
            FORCES,
            ["xForce0", "xForce11", "zForce155", "primaryCylinderForce3", "fz"],
            t(5),
            t(15),
        ),
    ),
    Call("sts-booleans", efd("select_time_series", IN_POSITION, "inPosition", t(0), t(180))),
    Call(
        "sts-strings-ints-booleans",
        efd(
            "select_time_series",
            TAKE,
            ["numImages", "expTime", "shutter", "keyValueMap", "obsNote", "private_identity"],
            t(0),
            t(180),
        ),
    ),
    Call("sts-all-fields", efd("select_time_series", M1M3_STATE, "*", t(0), t(180))),
    Call(
        "sts-private-stamps",
        efd(
            "select_time_series",
            OODS,
            ["private_sndStamp", "private_seqNum", "obsid"],
            t(0),
            t(180),
        ),
    ),
    Call("sts-empty-window", efd("select_time_series", AZ, "actualPosition", t(-600), t(-300))),
    Call("sts-unknown-field", efd("select_time_series", AZ, "noSuchField", t(0), t(10))),
    Call(
        "sts-unknown-topic", efd("select_time_series", "lsst.sal.Nope.nothing", "x", t(0), t(10))
    ),
    # Legacy TAI index: the client reinterprets the index as TAI and converts it to UTC.
    Call(
        "sts-convert-influx-index",
        efd("select_time_series", EL, "actualPosition", t(20), t(22), convert_influx_index=True),
    ),
    # --- EfdClient: select_top_n ----------------------------------------------------
    Call("top_n-one", efd("select_top_n", FORCES, "fz", 1)),
    Call("top_n-several", efd("select_top_n", AZ, ["actualPosition", "actualVelocity"], 10)),
    Call("top_n-event", efd("select_top_n", M1M3_STATE, ["summaryState", "private_identity"], 3)),
    Call("top_n-time_cut", efd("select_top_n", AZ, "actualPosition", 5, time_cut=t(30))),
    Call(
        "top_n-index", efd("select_top_n", ESS_T, ["temperatureItem2", "salIndex"], 4, index=102)
    ),
    Call(
        "top_n-time_cut-index",
        efd("select_top_n", ESS_T, "temperatureItem0", 3, time_cut=t(100), index=1),
    ),
    # The client writes time_cut with str(Time): an astropy Time in format 'iso' gives
    # '2026-11-22 06:40:30.000Z', which every InfluxDB 1.x refuses ("invalid timestamp
    # string": a space-separated literal must carry no zone, see time-literal-* below),
    # so the call raises InfluxDBError against the EFD; openefd is held to the same.
    Call(
        "top_n-time_cut-iso-format",
        err(efd("select_top_n", AZ, "actualPosition", 5, time_cut=t(30, fmt="iso")), "timestamp"),
    ),
    # --- EfdClient: select_packed_time_series ---------------------------------------
    Call(
        "packed-one-base",
        efd(
            "select_packed_time_series",
            FORCES,
            "xForce",
            t(10),
            t(11),
            ref_timestamp_col="timestamp",
        ),
    ),
    Call(
        "packed-two-bases",
        efd(
            "select_packed_time_series",
            FORCES,
            ["primaryCylinderForce", "zForce"],
            t(20),
            dt_s(1),
            ref_timestamp_col="timestamp",
        ),
    ),
    # 156 primary and 112 secondary cylinders: the client refuses (ValueError) once it has
    # the field list, on both peers alike.
    Call(
        "packed-unequal-lengths",
        efd(
            "select_packed_time_series",
            FORCES,
            ["primaryCylinderForce", "secondaryCylinderForce"],
            t(20),
            dt_s(1),
            ref_timestamp_col="timestamp",
        ),
    ),
    # --- the seed notebook (002), verbatim --------------------------------------------
    Call(
        "notebook-wreb",
        raw(
            notebook(
                '"temp1", "temp2", "temp3", "temp4", "temp5", "temp6", "ccdTemp0"',
                "lsst.sal.ATCamera.wreb",
            )
        ),
    ),
    Call(
        "notebook-takeImages",
        raw(notebook('"expTime", "numImages"', "lsst.sal.ATCamera.command_takeImages")),
    ),
    Call("notebook-wrebPower", raw(notebook('"analog_I"', "lsst.sal.ATCamera.wrebPower"))),
    Call(
        "notebook-endShutterClose",
        raw(notebook('"priority"', "lsst.sal.ATCamera.logevent_endShutterClose")),
    ),
    Call(
        "notebook-endShutterOpen",
        raw(notebook('"priority"', "lsst.sal.ATCamera.logevent_endShutterOpen")),
    ),
    Call(
        "notebook-startReadout",
        raw(
            notebook(
                '"priority", "private_sndStamp", "private_rcvStamp"',
                "lsst.sal.ATCamera.logevent_startReadout",
            )
        ),
    ),
    Call(
        "notebook-endReadout",
        raw(
            notebook(
                '"priority", "private_sndStamp", "private_rcvStamp"',
                "lsst.sal.ATCamera.logevent_endReadout",
            )
        ),
    ),
    Call(
        "notebook-startIntegration",
        raw(
            notebook(
                '"priority", "private_sndStamp", "private_rcvStamp"',
                "lsst.sal.ATCamera.logevent_startIntegration",
            )
        ),
    ),
    # --- raw aioinflux: schema exploration --------------------------------------------
    Call("show-measurements", raw("SHOW MEASUREMENTS")),
    Call("show-field-keys-from", raw(f'SHOW FIELD KEYS FROM "efd"."autogen"."{ESS_T}"')),
    # Every measurement's keys: one series per measurement, a dict of frames in aioinflux.
    Call("show-field-keys-all", raw("SHOW FIELD KEYS")),
    Call("show-databases", raw("SHOW DATABASES")),
    # --- raw aioinflux: aggregates ----------------------------------------------------
    # Every GROUP BY time query has both bounds: without an upper bound InfluxDB fills
    # buckets up to now(), which moves between the two peers' answers.
    Call(
        "agg-group-by-time",
        raw(
            lambda c: (
                'SELECT mean("actualPosition"), max("actualPosition"), min("actualVelocity"), '
                f'count("actualPosition") FROM "{AZ}" WHERE {c.span(0, 60)} GROUP BY time(10s)'
            ),
            rtol=1e-12,
        ),
    ),
    Call(
        "agg-fill-null",
        raw(
            lambda c: (
                f'SELECT mean("fwhm") FROM "{DIMM}" WHERE {c.span(0, 180)} '
                "GROUP BY time(30s) fill(null)"
            ),
            rtol=1e-12,
        ),
    ),
    Call(
        "agg-fill-none",
        raw(
            lambda c: (
                f'SELECT mean("fwhm") FROM "{DIMM}" WHERE {c.span(0, 180)} '
                "GROUP BY time(30s) fill(none)"
            ),
            rtol=1e-12,
        ),
    ),
    Call(
        "agg-fill-previous",
        raw(
            lambda c: (
                f'SELECT last("temperatureItem0") FROM "{ESS_T}" WHERE {c.span(0, 20)} '
                "AND salIndex = 301 GROUP BY time(500ms) fill(previous)"
            )
        ),
    ),
    Call(
        "agg-fill-zero",
        raw(
            lambda c: (
                f'SELECT count("temperatureItem0") FROM "{ESS_T}" WHERE {c.span(0, 20)} '
                "AND salIndex = 301 GROUP BY time(500ms) fill(0)"
            )
        ),
    ),
    Call(
        "agg-fill-linear",
        raw(
            lambda c: (
                f'SELECT mean("temperatureItem0") FROM "{ESS_T}" WHERE {c.span(0, 20)} '
                "AND salIndex = 301 GROUP BY time(500ms) fill(linear)"
            ),
            rtol=1e-12,
        ),
    ),
    # No GROUP BY time: the row is stamped with the lower time bound …
    Call(
        "agg-whole-range",
        raw(
            lambda c: (
                'SELECT count("fz"), mean("fz"), stddev("fz"), first("fz"), last("fz") '
                f'FROM "{FORCES}" WHERE {c.span(0, 60)}'
            ),
            rtol=1e-12,
        ),
    ),
    # … or with 0 when there is none, and aioinflux then drops the time index.
    Call("agg-no-time-bound", raw(f'SELECT count("fz") FROM "{FORCES}"')),
    # --- raw aioinflux: ordering, limits, conditions ---------------------------------------
    Call(
        "order-desc-limit",
        raw(
            lambda c: (
                f'SELECT "actualPosition" FROM "{AZ}" WHERE {c.span(0, 60)} '
                "ORDER BY time DESC LIMIT 5"
            )
        ),
    ),
    Call(
        "limit-offset",
        raw(
            lambda c: f'SELECT "actualPosition" FROM "{AZ}" WHERE {c.span(0, 60)} LIMIT 4 OFFSET 3'
        ),
    ),
    Call(
        "where-string-field",
        raw(
            lambda c: (
                f'SELECT "temperatureItem1" FROM "{ESS_T}" WHERE {c.span(0, 10)} '
                "AND \"private_identity\" = 'ESS:102'"
            )
        ),
    ),
    # Time literals InfluxQL 1.x reads (1.6.7 and later alike): RFC 3339 with a zone,
    # 'YYYY-MM-DD HH:MM:SS[.f]' without one, a bare date; a 'T' without a zone, or a
    # space with 'Z', is "invalid timestamp string".
    Call(
        "time-literal-space-no-zone",
        raw(
            lambda c: (
                f'SELECT "fz" FROM "{FORCES}" WHERE time >= '
                f"'{c.at(1):%Y-%m-%d %H:%M:%S}.000' AND time < '{c.at(1.1):%Y-%m-%d %H:%M:%S}.100'"
            )
        ),
    ),
    Call(
        "time-literal-date-only",
        raw(lambda c: f'SELECT count("fz") FROM "{FORCES}" WHERE time >= \'{c.at(0):%Y-%m-%d}\''),
    ),
    Call(
        "time-literal-t-no-zone",
        raw(
            lambda c: (
                f'SELECT "fz" FROM "{FORCES}" WHERE time >= \'{c.at(1):%Y-%m-%dT%H:%M:%S}.000\''
            ),
            mentions=["time"],
        ),
    ),
    Call(
        "where-epoch-literals",
        raw(
            lambda ctx: (
                f'SELECT "fz" FROM "{FORCES}" WHERE time >= {int(ctx.at(1).timestamp()) * 10**9} '
                f"AND time < {int(ctx.at(2).timestamp()) * 1000}ms"
            )
        ),
    ),
    Call("select-star", raw(lambda c: f'SELECT * FROM "{DIMM}" WHERE {c.span(0, 180)}')),
    Call(
        "multi-statement",
        raw(
            lambda c: (
                f'SELECT "inPosition" FROM "{IN_POSITION}" WHERE {c.span(0, 180)}; '
                f'SELECT "summaryState" FROM "{M1M3_STATE}" WHERE {c.span(0, 180)}'
            )
        ),
    ),
    Call(
        "two-measurements",
        raw(
            lambda c: (
                f'SELECT "private_seqNum" FROM "{IN_POSITION}", "{M1M3_STATE}" '
                f"WHERE {c.span(0, 180)}"
            )
        ),
    ),
    # --- raw aioinflux: chunked ---------------------------------------------------------
    Call(
        "chunked-size",
        raw(
            lambda c: f'SELECT "xForce0", "fz" FROM "{FORCES}" WHERE {c.span(0, 60)}',
            chunked=True,
            chunk_size=700,
        ),
    ),
    Call(
        "chunked-default-size",
        raw(lambda c: f'SELECT "fz" FROM "{FORCES}" WHERE {c.span(0, 60)}', chunked=True),
    ),
    Call(
        "chunked-two-measurements",
        raw(
            lambda c: (
                f'SELECT "private_seqNum" FROM "{IN_POSITION}", "{M1M3_STATE}" '
                f"WHERE {c.span(0, 180)}"
            ),
            chunked=True,
            chunk_size=2,
        ),
    ),
    # --- raw aioinflux: epoch ------------------------------------------------------------
    # aioinflux reads integer times as ns whatever the epoch: the index is then far off,
    # but identically so on both peers.
    Call(
        "epoch-ms",
        raw(lambda c: f'SELECT "fz" FROM "{FORCES}" WHERE {c.span(1, 1.1)}', epoch="ms"),
    ),
    Call(
        "epoch-s", raw(lambda c: f'SELECT "fz" FROM "{FORCES}" WHERE {c.span(1, 1.1)}', epoch="s")
    ),
    Call(
        "epoch-u", raw(lambda c: f'SELECT "fz" FROM "{FORCES}" WHERE {c.span(1, 1.1)}', epoch="u")
    ),
    # --- raw aioinflux: errors and nothing-found ----------------------------------------------
    # InfluxDB: HTTP 400 {"error": "error parsing query: found x, expected FROM at line 1,
    # char 14"}; aioinflux raises InfluxDBError. openefd's wording may differ; it must
    # name what it found.
    Call("error-parse", raw("SELECT FROMM x", mentions=["parsing"])),
    Call("error-unknown-function", raw(f'SELECT foo("fz") FROM "{FORCES}"', mentions=["foo"])),
    Call(
        "error-mixed-aggregate",
        raw(f'SELECT mean("fz"), "fx" FROM "{FORCES}"', mentions=["aggregate"]),
    ),
    Call(
        "error-unknown-database", raw(f'SELECT "fz" FROM "{FORCES}"', db="nodb", mentions=["nodb"])
    ),
    # Unknown measurement or field: no series; aioinflux returns an empty dict.
    Call("unknown-measurement", raw('SELECT "x" FROM "lsst.sal.Nope.nothing"')),
    # A field in the topic's schema that never held a value (see get_fields above).
    Call(
        "never-written-field",
        raw(lambda c: f'SELECT "pressureItem7" FROM "{ESS_P}" WHERE {c.span(0, 10)}'),
    ),
    Call(
        "select-star-never-written", raw(lambda c: f'SELECT * FROM "{ESS_P}" WHERE {c.span(0, 3)}')
    ),
    Call("unknown-field", raw(f'SELECT "noSuchField" FROM "{FORCES}"')),
    # --- raw aioinflux: ping and write (last: they add a topic) ---------------------------
    Call("ping", kind("ping")),
    Call("write-line-protocol", kind("write", data=written_lines)),
    Call("write-mapping", kind("write", data=written_point)),
    # InfluxDB: HTTP 400 'unable to parse …'; aioinflux raises InfluxDBWriteError.
    Call("write-bad-line", err(kind("write", data=f"{WRITTEN} value= 1"), "parse")),
    Call("write-read-back", raw(f'SELECT * FROM "{WRITTEN}"')),
    Call("write-field-keys", raw(f'SHOW FIELD KEYS FROM "{WRITTEN}"')),
]

SCHEMA_TOPICS = [AZ, ESS_T, FORCES, TAKE]
