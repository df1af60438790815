"""A simulated span loads through the Writer into a real store and reads back with the client."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from astropy.time import Time

from openefd.client import EfdClientSync
from openefd.ingest.writer import TopicBatch, Writer
from openefd.settings import SchemaMode, Settings
from openefd.sim import NightSimulator, SimConfig
from openefd.store.duckdb_store import Store

AZIMUTH = "lsst.sal.MTMount.azimuth"
TEMPERATURE = "lsst.sal.ESS.temperature"


def test_simulated_span_loads_and_reads_back(sal_xml_dir: Path, tmp_path: Path) -> None:
    sim = NightSimulator(SimConfig(sal_xml_dir, "2024-05-01T23:59:30Z", hours=1 / 60, seed=3))
    settings = Settings(store=tmp_path / "store", schema_mode=SchemaMode.STRICT)
    rows: dict[str, int] = {}
    last: dict[str, pa.Table] = {}
    with Store(settings.store, settings=settings) as store:
        store.register_topics(sim.topics())
        writer = Writer(store)
        for chunk in sim.chunks(seconds=60.0):
            result = writer.write_batches([TopicBatch(n, t) for n, t in chunk.tables.items()])
            assert result.rows_written == result.rows_received == chunk.rows
            for name, table in chunk.tables.items():
                rows[name] = rows.get(name, 0) + table.num_rows
                last[name] = table
    with EfdClientSync(settings.store, settings=settings, read_only=True) as efd:
        assert efd.get_topics() == sorted(rows)
        latest = efd.select_top_n(AZIMUTH, ["actualPosition", "private_seqNum"], 1)
        az = last[AZIMUTH]
        assert latest["actualPosition"].iloc[0] == az["actualPosition"][-1].as_py()
        assert latest["private_seqNum"].iloc[0] == az["private_seqNum"][-1].as_py()
        utc_s = az["private_efdStamp"][-1].as_py()
        assert abs(latest.index[0].timestamp() - utc_s) < 1e-6

        # The run crosses UTC midnight; ask for the half minute after it, one sensor.
        start, end = Time("2024-05-02T00:00:00", scale="utc"), Time("2024-05-02T00:00:29.999")
        got = efd.select_time_series(
            TEMPERATURE, ["temperatureItem", "salIndex"], start, end, index=101
        )
        assert len(got) == 30 and set(got["salIndex"]) == {101}
        sent = last[TEMPERATURE].to_pandas()
        sent = sent[(sent["salIndex"] == 101) & (sent["private_efdStamp"] >= start.unix)]
        sent_items = np.stack(sent["temperatureItem"].to_numpy())
        got_items = got[[f"temperatureItem{i}" for i in range(16)]].to_numpy()
        assert np.array_equal(got_items, sent_items)
        assert 5.0 < got_items.mean() < 15.0
        index = pd.to_datetime(sent["private_efdStamp"].to_numpy() * 1e9, utc=True)
        assert (abs(got.index - index) < pd.Timedelta(microseconds=1)).all()
