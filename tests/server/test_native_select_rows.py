"""``POST /api/v1/topics/{topic}/select`` answered from the query's rows, without a DataFrame.

A plain range select (no aggregates, no downsampling, no old-style CSC index)
is read with ``select_rows`` and written as Arrow straight from its arrays;
the HTTP client builds the DataFrame once. Every variant must give exactly
the in-process client's DataFrame or error, and numbers must travel as plain
columns (float fields as float32).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from astropy.time import Time
from tests.server.conftest import Served

from openefd.client import EfdClientSync, wire
from openefd.errors import OpenEfdError

M1M3 = "lsst.sal.MTM1M3.forceActuatorData"
ESS = "lsst.sal.ESS.temperature"
U0 = 1714532400_000_000_000  # 2024-05-01T03:00:00Z
START = Time("2024-05-01T03:00:00", scale="utc")
END = Time("2024-05-01T03:00:05", scale="utc")
API = wire.API_PREFIX


@pytest.fixture(scope="module")
def with_rows(served: Served) -> Served:
    """M1M3 rows 20 ms apart in three batches, the latest first (fy missing in every
    fourth row); ESS rows of two salIndex values with strings."""
    rng = np.random.default_rng(5)
    with EfdClientSync(served.url) as efd:
        for part in reversed(np.array_split(np.arange(200), 3)):
            lines = []
            for i in rng.permutation(part):
                fx, fy, x0 = rng.normal(size=3) * 100
                fy_text = f",fy={fy}" if i % 4 else ""
                lines.append(
                    f"{M1M3} fx={fx}{fy_text},xForce0={x0},private_seqNum={i}i "
                    f"{U0 + int(i) * 20_000_000}\n"
                )
            efd.write_line_protocol("".join(lines))
        efd.write_line_protocol(
            "".join(
                f'{ESS} salIndex={1 + i % 2}i,location="{"dome" if i % 3 else "mirror"}",'
                f"numChannels={i}i,temperatureItem0={i}.25 {U0 + i * 10**9}\n"
                for i in range(5)
            )
        )
    return served


CASES: list[tuple[str, list[str] | str, dict[str, Any]]] = [
    (M1M3, ["fx", "fy", "fz"], {}),
    (M1M3, ["fx", "xForce0", "private_seqNum"], {"time_scale": "tai"}),
    (M1M3, ["fx", "fx"], {}),
    (M1M3, "fy", {}),
    (ESS, ["temperatureItem0", "numChannels"], {"index": 2}),
    (ESS, ["location", "temperatureItem0"], {}),
    (ESS, "*", {"time_scale": "tai"}),
    (ESS, ["location"], {"index": 1, "use_old_csc_indexing": True}),
    (M1M3, ["fx"], {"resolution": "1s"}),
    (M1M3, ["fx"], {"downsample": "mean_1"}),
    ("lsst.sal.MTMount.elevation", ["actualPosition"], {}),  # never written
]


@pytest.mark.parametrize(("topic", "fields", "options"), CASES)
def test_http_answers_are_the_in_process_answers(
    with_rows: Served, topic: str, fields: list[str] | str, options: dict[str, Any]
) -> None:
    local = EfdClientSync.from_store(with_rows.store)
    with EfdClientSync(with_rows.url) as remote:
        try:
            want = local.select_time_series(topic, fields, START, END, **options)
        except OpenEfdError as err:
            with pytest.raises(type(err)) as got_err:
                remote.select_time_series(topic, fields, START, END, **options)
            assert str(got_err.value) == str(err)
            return
        got = remote.select_time_series(topic, fields, START, END, **options)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes) == list(want.dtypes)
    assert got.index.name == want.index.name


def test_m1m3_rows_come_back_sorted_with_nulls(with_rows: Served) -> None:
    with EfdClientSync(with_rows.url) as efd:
        got = efd.select_time_series(M1M3, ["fy", "private_seqNum"], START, END)
    assert got["private_seqNum"].tolist() == list(range(200))
    assert got.index.is_monotonic_increasing and len(got) == 200
    assert got["fy"].isna().tolist() == [i % 4 == 0 for i in range(200)]


@pytest.mark.parametrize(
    "options",
    [{"time_scale": "gps"}, {"resolution": "7s"}, {"resolution": "1s", "downsample": "mean_1"}],
)
def test_errors_are_the_in_process_errors(with_rows: Served, options: dict[str, Any]) -> None:
    local = EfdClientSync.from_store(with_rows.store)
    with pytest.raises(OpenEfdError) as want:
        local.select_time_series(M1M3, ["fx"], START, END, **options)
    with EfdClientSync(with_rows.url) as remote, pytest.raises(type(want.value)) as got:
        remote.select_time_series(M1M3, ["fx"], START, END, **options)
    assert str(got.value) == str(want.value)


def _select(served: Served, body: dict[str, Any], **params: str) -> Any:
    return served.client.post(f"{API}/topics/{M1M3}/select", json=body, params=params)


def test_floats_travel_as_float32_columns(with_rows: Served) -> None:
    body = {"fields": ["fx", "xForce0", "private_seqNum"], "start": U0 + 37 * 10**9}
    answer = _select(with_rows, {**body, "end": U0 + 38 * 10**9})
    assert answer.status_code == 200 and answer.headers["content-type"] == wire.ARROW_STREAM
    table = pa.ipc.open_stream(answer.content).read_all()
    assert table.num_rows == 51 and table.num_columns == 4  # both ends included
    assert [table.schema.field(i).type for i in range(3)] == [
        pa.float32(),
        pa.float32(),
        pa.int64(),
    ]
    meta = table.schema.metadata[b"openefd.plain_frame"]
    assert meta == b'{"index_name":null,"float64":["fx","xForce0"]}'


def test_json_and_format_errors_as_before(with_rows: Served) -> None:
    body = {"fields": ["fx", "fy"], "start": U0 + 37 * 10**9, "end": U0 + 37 * 10**9 + 40_000_000}
    answer = _select(with_rows, body, format="json").json()
    assert answer["columns"] == ["fx", "fy"] and answer["index_name"] is None
    assert answer["index"] == [
        "2024-05-01T03:00:00.000000000Z",
        "2024-05-01T03:00:00.020000000Z",
        "2024-05-01T03:00:00.040000000Z",
    ]
    assert answer["data"][0][1] is None and answer["data"][1][1] is not None  # fy null in row 0
    bad = _select(with_rows, body, format="xml")
    assert bad.status_code == 400 and bad.json()["type"] == "QueryError"
