"""The summaries benchmark's night: simulated, then loaded into openefd and into InfluxDB.

The night is :class:`openefd.sim.NightSimulator`'s (profile EFD, the plan of
a 12.4-hour night from 2024-05-01T23:30Z, one ``day_obs``): its first N
exposures, and the telemetry of the topics the benchmark configuration
summarises, from the start of the night to two minutes after the last
exposure ends. Only the fields the configuration reads are kept (plus
``salIndex``, which tells the instances apart): an unread field changes
neither system's answer, and both stores are columnar, but loading all of
them — M1M3's 812-value ``forceActuatorData`` rows above all — would take
InfluxDB most of an hour.

Every row's time is computed once, as openefd computes it
(:func:`~openefd.ingest.rowtime.row_times_tai_ns`: ``private_efdStamp``, UTC
seconds to the µs), and both systems get that very instant: openefd as
``time_tai_ns``, InfluxDB as its UTC nanoseconds in the line protocol
(:mod:`bench.lp_fast`: no tags, arrays flattened to ``name0 … nameN-1``,
``salIndex`` an integer field — the EFD's layout).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from bench.influx import InfluxHttp, InfluxServer
from bench.lp_fast import line_body
from openefd.analysis.summaries_config import SummaryConfig
from openefd.ingest.exposure_loader import load_exposures
from openefd.ingest.rowtime import row_times_tai_ns
from openefd.ingest.writer import TopicBatch, Writer
from openefd.schema.model import SAL_INDEX_FIELD, TopicSchema
from openefd.settings import SchemaMode, Settings
from openefd.sim import NightSimulator, Profile, SimConfig
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.timescales import NS_PER_S, tai_to_utc_ns

__all__ = [
    "DAY_OBS",
    "HOURS",
    "START",
    "InfluxLoadResult",
    "Night",
    "config_fields",
    "load_influx",
    "load_openefd",
    "simulate_night",
]

START = "2024-05-01T23:30:00Z"
HOURS = 12.4  # the plan of the whole night (one day_obs: it changes at 12:00 UTC)
DAY_OBS = 20240501
TAIL_S = 120  # telemetry kept after the last exposure ends
PIECE_S = 900  # telemetry generated 15 minutes at a time (M1M3 rows are large)
BODY_LINES = 5000  # lines per /write, as Telegraf and the Kafka connector batch
BODY_BYTES = 4 << 20  # … and at most this many bytes (1,200-value accelerometer lines)

Say = Callable[[str], None]


def config_fields(config: SummaryConfig) -> dict[str, list[str]]:
    """Per topic, the fields the configuration reads, in order of first use."""
    out: dict[str, list[str]] = {}
    for spec, column in config.all_columns():
        fields = out.setdefault(spec.topic, [])
        if column.field not in fields:
            fields.append(column.field)
    return out


@dataclass(slots=True)
class Night:
    """Exposures (as the simulator gives them) and, per topic, its kept rows.

    Tables have ``time_tai_ns`` (TAI ns, ascending) and the kept fields.
    """

    exposures: pd.DataFrame
    schemas: dict[str, TopicSchema]
    tables: dict[str, pa.Table]
    start_tai_ns: int
    end_tai_ns: int
    generate_s: float
    same_time_rows: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())

    @property
    def values(self) -> int:
        """Field values kept (array elements counted one by one; salIndex included)."""
        total = 0
        for table in self.tables.values():
            for name in table.column_names:
                if name == TIME_COLUMN:
                    continue
                col = table[name]
                if pa.types.is_list(col.type):
                    total += int(sum(len(c.values) for c in col.chunks))
                else:
                    total += table.num_rows
        return total

    @property
    def hours(self) -> float:
        return (self.end_tai_ns - self.start_tai_ns) / NS_PER_S / 3600


def _keep(table: pa.Table, schema: TopicSchema, fields: list[str]) -> pa.Table:
    times = row_times_tai_ns(table, utc_ns=None, origins=None, what=schema.name)
    names = list(fields)
    if schema.field(SAL_INDEX_FIELD) is not None and SAL_INDEX_FIELD not in names:
        names.append(SAL_INDEX_FIELD)
    columns = {TIME_COLUMN: pa.array(times, type=pa.int64())}
    columns.update({n: table[n] for n in names})
    return pa.table(columns)


def _pieces(start: int, end: int) -> Iterator[tuple[int, int]]:
    step = PIECE_S * NS_PER_S
    for t in range(start, end, step):
        yield t, min(t + step, end)


def simulate_night(
    schemas_dir: Path, config: SummaryConfig, n_exposures: int, seed: int, say: Say
) -> Night:
    """The first ``n_exposures`` of the simulated night and the configured topics' rows."""
    t0 = time.perf_counter()
    sim = NightSimulator(
        SimConfig(schemas_dir, START, hours=HOURS, seed=seed, profile=Profile.EFD)
    )
    exposures = sim.exposures()
    if len(exposures) < n_exposures:
        raise SystemExit(
            f"the simulated night holds {len(exposures)} exposures, not {n_exposures}"
        )
    exposures = exposures.head(n_exposures).reset_index(drop=True)
    start = sim.start_tai_ns
    end = int(exposures["timespan_end_tai_ns"].max()) + TAIL_S * NS_PER_S
    known = {t.name: t for t in sim.topics()}
    wanted = config_fields(config)
    if missing := sorted(set(wanted) - set(known)):
        raise SystemExit(f"the simulator (profile EFD) does not publish {missing}")
    tables: dict[str, pa.Table] = {}
    same_time: dict[str, int] = {}
    for topic, fields in wanted.items():
        schema = known[topic]
        parts = []
        for lo, hi in _pieces(start, end):
            part = sim.topic_table(topic, lo, hi)
            if part is not None:
                parts.append(_keep(part, schema, fields))
        table = pa.concat_tables(parts).combine_chunks()
        times = np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64)
        order = np.argsort(times, kind="stable")
        if not bool((order == np.arange(len(order))).all()):
            table = table.take(pa.array(order))
            times = times[order]
        # InfluxDB keeps one point per (measurement, tags, time): rows of two instances
        # at the same microsecond would merge there. Counted, to be reported.
        same_time[topic] = int((np.diff(times) == 0).sum())
        tables[topic] = table
        say(f"  {topic}: {table.num_rows:,} rows × {table.num_columns - 1} fields")
    return Night(
        exposures=exposures,
        schemas={t: known[t] for t in wanted},
        tables=tables,
        start_tai_ns=start,
        end_tai_ns=end,
        generate_s=time.perf_counter() - t0,
        same_time_rows=same_time,
    )


def load_openefd(store_dir: Path, night: Night) -> float:
    """Write the night into a new store (one transaction, then a checkpoint); seconds."""
    t0 = time.perf_counter()
    settings = Settings(store=store_dir, schema_mode=SchemaMode.STRICT)
    with Store(store_dir, settings=settings) as store:
        store.register_topics(night.schemas.values())
        writer = Writer(store, SchemaMode.STRICT)
        with store.transaction():
            for topic, table in night.tables.items():
                written = writer.write_batches([TopicBatch(topic, table)])
                if written.rows_written != table.num_rows:
                    raise SystemExit(f"{topic}: openefd stored {written.rows_written} rows")
        load_exposures(store, night.exposures)
        store.cursor().execute("CHECKPOINT").fetchall()
    return time.perf_counter() - t0


@dataclass(slots=True)
class InfluxLoadResult:
    """Seconds making line protocol, in ``/write``, and waiting for compactions after."""

    lp_s: float = 0.0
    write_s: float = 0.0
    settle_s: float = 0.0
    lines: int = 0
    body_bytes: int = 0
    requests: int = 0
    size_bytes: int = 0
    writers: int = 1

    @property
    def total_s(self) -> float:
        return self.lp_s + self.write_s


def _write_all(client: InfluxHttp, bodies: list[memoryview]) -> None:
    for body in bodies:
        client.write(body)


def load_influx(server: InfluxServer, night: Night, writers: int, say: Say) -> InfluxLoadResult:
    """Write the night into ``server``'s ``efd`` database over ``writers`` connections."""
    result = InfluxLoadResult(writers=writers)
    clients = [server.client() for _ in range(writers)]
    try:
        clients[0].create_database()
        with ThreadPoolExecutor(max_workers=writers) as pool:
            for topic, table in night.tables.items():
                t0 = time.perf_counter()
                utc = tai_to_utc_ns(np.asarray(table[TIME_COLUMN].to_numpy(), dtype=np.int64))
                body = line_body(topic, table, utc)
                if body.lines != table.num_rows:
                    raise SystemExit(f"{topic}: {table.num_rows - body.lines} rows without values")
                per_line = max(1, body.nbytes // max(body.lines, 1))
                lines = max(1, min(BODY_LINES, BODY_BYTES // per_line))
                bodies = list(body.batches(lines))
                result.lp_s += time.perf_counter() - t0
                t0 = time.perf_counter()
                groups = [bodies[i::writers] for i in range(writers)]
                futures = [
                    pool.submit(_write_all, c, g) for c, g in zip(clients, groups, strict=True)
                ]
                for f in futures:
                    f.result()
                result.write_s += time.perf_counter() - t0
                result.lines += body.lines
                result.body_bytes += body.nbytes
                result.requests += len(bodies)
                del body, bodies, groups
                say(f"  InfluxDB: {topic} ({result.write_s:.0f} s in /write so far)")
    finally:
        for c in clients:
            c.close()
    result.settle_s = server.wait_idle()
    result.size_bytes = server.size_bytes()
    return result
