"""``/query`` over HTTP answers the reference encoder's bytes, whole and chunked.

The server sends a vectorised answer straight from Arrow's memory (a view,
not a copy into ``bytes``); what arrives, and its ``Content-Length``, must be
exactly what the row-by-row encoder writes for the same results.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.server.conftest import Served

from openefd.ingest.writer import Writer
from openefd.query.influxql import QueryLimits, StatementResult, execute
from openefd.server.influx_json import chunk_documents, encode_results
from openefd.server.influx_time import epoch_divisor

FA = "lsst.sal.MTM1M3.forceActuatorData"
T0 = 1714532400_000_000_000  # 2024-05-01T03:00:00Z
LEAP_NS = 37_000_000_000
ROWS = 3000
QUERY = (
    f'SELECT "fx", "fy", "fz" FROM "efd"."autogen"."{FA}" '
    "WHERE time >= '2024-05-01T03:00:00.000Z' AND time <= '2024-05-01T03:01:00.000Z'"
)


@pytest.fixture(scope="module")
def forces(served: Served) -> Served:
    """50 Hz SAL floats (float32) with whole values and a NaN among them."""
    rng = np.random.default_rng(11)
    columns = {name: rng.normal(0, 500, ROWS).astype(np.float32) for name in ("fx", "fy", "fz")}
    columns["fy"][::7] = np.round(columns["fy"][::7])
    columns["fz"][3] = np.nan
    times = T0 + LEAP_NS + np.arange(ROWS, dtype=np.int64) * 20_000_000
    Writer(served.store).write(FA, {"time_tai_ns": times, **columns})
    return served


def reference(served: Served) -> list[StatementResult]:
    results = execute(
        served.store, QUERY, database="efd", settings=served.settings, limits=QueryLimits()
    )
    assert results[0].error is None and results[0].series[0].row_count == ROWS
    return results


@pytest.mark.parametrize("epoch", ["ns", "ms", None])
def test_whole_answer_is_the_reference_bytes(forces: Served, epoch: str | None) -> None:
    form = {"q": QUERY, "db": "efd", "chunked": "false", **({"epoch": epoch} if epoch else {})}
    response = forces.client.post("/query", data=form)
    assert response.status_code == 200
    divisor = epoch_divisor(epoch) if epoch else None
    expected = encode_results(reference(forces), divisor=divisor, vectorised=False)
    assert response.content == expected
    assert response.headers["content-length"] == str(len(expected))


def test_chunked_answer_is_the_reference_bytes(forces: Served) -> None:
    form = {"q": QUERY, "db": "efd", "chunked": "true", "chunk_size": "1000", "epoch": "ns"}
    response = forces.client.post("/query", data=form)
    assert response.status_code == 200
    chunks = chunk_documents(reference(forces), divisor=1, chunk_size=1000, vectorised=False)
    assert response.content == b"".join(chunks)
    assert response.content.count(b"\n") == 3
