"""The data set both peers of the differential suite hold: the same rows in each.

A few simulated minutes of a night (:mod:`openefd.sim`, profile DEMO) ending
an hour before the suite starts — the seed notebook selects
``time > now() - 20h``, so the data must be recent: M1M3
``forceActuatorData`` at 50 Hz with its arrays (its first minute only: 812
values a row make InfluxDB's load the slowest step), the mount at 20 Hz, ESS
temperatures (salIndex-indexed, NaN channels), events with booleans,
integers and strings, commands. The simulator has no ``ATCamera`` events, and
today's ts_xml has neither ``ATCamera.wreb`` nor ``wrebPower``, so the
topics and fields the notebook selects (``temp1`` … ``ccdTemp0``,
``analog_I``, ``priority`` …) are made here, as the EFD of 2019 held them.

Rows are timed as the EFD times them: ``private_efdStamp`` (UTC s) to the
microsecond. InfluxDB keeps one point per measurement and timestamp (a
second row at the same time overwrites the first, field by field), openefd
keeps both; rows that would collide are left out of the data set so that
both peers hold exactly the same rows.

openefd gets the rows through its ``Writer`` (schema mode ``extend``: the
notebook topics are inferred from the data); InfluxDB gets the line protocol
the EFD's connector would write (:func:`bench.lp_fast.line_body`: no tags,
arrays flattened to ``name0 … nameN-1``, integers with ``i``, NaN left out of
the line), precision ns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from bench.influx import InfluxHttp
from bench.lp_fast import line_body

from openefd.ingest.writer import TopicBatch, Writer
from openefd.schema.model import TopicSchema
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.duckdb_store import Store
from openefd.timescales import seconds_to_ns

__all__ = ["SAL_XML", "CompatData", "build", "load_influx", "load_openefd"]

SAL_XML = Path(__file__).resolve().parents[3] / "shared" / "ts_xml" / "sal_interfaces"

TAI_MINUS_UTC_S = 37.0
M1M3_FORCES = "lsst.sal.MTM1M3.forceActuatorData"
M1M3_SECONDS = 60.0  # 812 values a row, ~33 kB of line protocol: one minute (3,000 rows) is plenty
LINES_PER_WRITE = 500
ATCAMERA = "lsst.sal.ATCamera"


@dataclass(frozen=True, slots=True)
class CompatData:
    """Per topic, the rows both peers hold (time order, no two at the same time)."""

    start_utc: dt.datetime
    end_utc: dt.datetime
    topics: list[TopicSchema]
    tables: dict[str, pa.Table]

    def utc_ns(self, topic: str) -> npt.NDArray[np.int64]:
        """Row times of ``topic``: ``private_efdStamp`` to the microsecond, UTC ns."""
        return utc_ns(self.tables[topic])

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())


def utc_ns(table: pa.Table) -> npt.NDArray[np.int64]:
    return seconds_to_ns(table["private_efdStamp"].to_numpy(zero_copy_only=False))


def _unique_times(table: pa.Table) -> pa.Table:
    """``table`` without the rows whose time repeats an earlier row's (InfluxDB would merge)."""
    _, first = np.unique(utc_ns(table), return_index=True)
    if len(first) == table.num_rows:
        return table
    return table.take(pa.array(np.sort(first)))


def _stamps(efd_s: npt.NDArray[np.float64], rng: np.random.Generator) -> dict[str, pa.Array]:
    snd = efd_s + TAI_MINUS_UTC_S
    rcv = snd + rng.uniform(0.0004, 0.0025, len(efd_s))
    return {
        "private_efdStamp": pa.array(efd_s),
        "private_kafkaStamp": pa.array(rcv + rng.uniform(0.001, 0.006, len(efd_s))),
        "private_identity": pa.array(["ATCamera"] * len(efd_s)),
        "private_origin": pa.array(np.full(len(efd_s), 4242, dtype=np.int64)),
        "private_rcvStamp": pa.array(rcv),
        "private_seqNum": pa.array(np.arange(1000, 1000 + len(efd_s), dtype=np.int64)),
        "private_sndStamp": pa.array(snd),
    }


def _notebook_topics(start_s: float, span_s: float, seed: int) -> dict[str, pa.Table]:
    """The ATCamera topics of the seed notebook (002), as the 2019 EFD held them."""
    rng = np.random.default_rng(seed)
    out: dict[str, pa.Table] = {}
    # Housekeeping every 5 s (µs jitter keeps the times apart from the events').
    tele = start_s + np.arange(2.0, span_s, 5.0) + rng.uniform(0, 0.01, int((span_s - 2) // 5) + 1)
    tele = tele[tele < start_s + span_s]
    wreb = {f"temp{i}": pa.array(20.0 + i + rng.normal(0, 0.05, len(tele))) for i in range(1, 7)}
    # A float field whose values are all whole numbers: InfluxDB writes 1.0 as 1 in
    # JSON, so pandas (in aioinflux) types the column int64.
    wreb["ccdTemp0"] = pa.array(np.full(len(tele), -100.0))
    out[f"{ATCAMERA}.wreb"] = pa.table({**wreb, **_stamps(tele, rng)})
    power = {"analog_I": pa.array(0.25 + rng.normal(0, 0.002, len(tele)))}
    out[f"{ATCAMERA}.wrebPower"] = pa.table({**power, **_stamps(tele + 0.5, rng)})
    # An exposure every 20 s: command, integration, shutter, readout.
    t0 = start_s + np.arange(10.0, span_s - 40.0, 20.0)
    exp_time = np.resize(np.array([0.0, 2.5, 15.0, 1.0]), len(t0))
    take = {
        "expTime": pa.array(exp_time),
        "numImages": pa.array(np.ones(len(t0), dtype=np.int64)),
        "shutter": pa.array(exp_time > 0),
        "keyValueMap": pa.array(
            [f"imageType: {'BIAS' if e == 0 else 'OBJECT'}" for e in exp_time]
        ),
    }
    out[f"{ATCAMERA}.command_takeImages"] = pa.table({**take, **_stamps(t0, rng)})
    names = [f"AT_O_20191105_{i:06d}" for i in range(1, len(t0) + 1)]
    events = {
        "logevent_startIntegration": t0 + 0.105,
        "logevent_endShutterOpen": t0 + 0.31,
        "logevent_endShutterClose": t0 + 0.31 + exp_time + 0.2,
        "logevent_startReadout": t0 + 0.31 + exp_time + 0.25,
        "logevent_endReadout": t0 + 0.31 + exp_time + 2.25,
    }
    for name, when in events.items():
        efd = when + rng.uniform(0, 0.001, len(when))
        cols = {
            "imageName": pa.array(names),
            "imageIndex": pa.array(np.ones(len(t0), dtype=np.int64)),
            "priority": pa.array(np.ones(len(t0), dtype=np.int64)),
        }
        out[f"{ATCAMERA}.{name}"] = pa.table({**cols, **_stamps(efd, rng)})
    return out


def build(schemas: Path, now: dt.datetime, minutes: float = 3.0, seed: int = 7) -> CompatData:
    """``minutes`` of a simulated night that ends an hour before ``now`` (UTC)."""
    end = now.astimezone(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    start = end - dt.timedelta(minutes=minutes)
    sim = NightSimulator(
        SimConfig(
            schemas=schemas, start_utc=start, hours=minutes / 60, seed=seed, profile=Profile.DEMO
        )
    )
    parts: dict[str, list[pa.Table]] = {}
    for chunk in sim.chunks(seconds=60.0):
        for topic, table in chunk.tables.items():
            parts.setdefault(topic, []).append(table)
    tables = {t: pa.concat_tables(p) for t, p in parts.items()}
    forces = tables[M1M3_FORCES]
    first_minute = utc_ns(forces) < int((start.timestamp() + M1M3_SECONDS) * 1e9)
    tables[M1M3_FORCES] = forces.filter(pa.array(first_minute))
    tables.update(_notebook_topics(start.timestamp(), minutes * 60.0, seed))
    tables = {t: _unique_times(tab) for t, tab in sorted(tables.items())}
    return CompatData(start_utc=start, end_utc=end, topics=list(sim.topics()), tables=tables)


def load_openefd(data: CompatData, store: Store) -> int:
    """Register the simulator's topics and write every row; rows written."""
    store.register_topics(data.topics)
    result = Writer(store).write_batches(TopicBatch(t, tab) for t, tab in data.tables.items())
    return result.rows_written


def load_influx(data: CompatData, client: InfluxHttp) -> int:
    """Create the database ``efd`` and write every row as line protocol; lines written."""
    client.create_database()
    lines = 0
    for topic, table in data.tables.items():
        body = line_body(topic, table, data.utc_ns(topic))
        if body.lines != table.num_rows:
            raise AssertionError(f"{topic}: {table.num_rows - body.lines} rows without a value")
        for part in body.batches(LINES_PER_WRITE):
            client.write(part)
        lines += body.lines
    return lines
