"""Loading line protocol, CSV and Parquet files: each file all or nothing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from openefd.errors import IngestError, LineProtocolError, RecordError
from openefd.ingest.files import file_kind, load_file
from openefd.ingest.line_protocol import format_line
from openefd.ingest.writer import Writer
from openefd.store.duckdb_store import Store

AZ = "lsst.sal.MTMount.azimuth"
T0_NS = 1714532400_000_000_000  # 2024-05-01T03:00:00 UTC


def az_lines(n: int, start: int = 0) -> list[str]:
    return [
        format_line(
            AZ,
            {"actualPosition": 0.5 * i, "private_seqNum": i, "private_identity": "MTMount"},
            timestamp=T0_NS + i * 50_000_000,
        )
        for i in range(start, start + n)
    ]


def rows(store: Store, topic: str = AZ) -> int:
    return store.topic_stats([topic])[0].rows


def test_line_protocol_file_round_trip(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "az.lp"
    path.write_text("\n".join(["# header", *az_lines(100)]) + "\n")
    result = load_file(Writer(store), path)
    assert (result.rows_received, result.rows_written) == (100, 100)
    got = (
        store.cursor()
        .sql(f'SELECT "actualPosition", "private_seqNum", time_tai_ns FROM "{AZ}" ORDER BY 3')
        .fetchall()
    )
    assert got[7] == (3.5, 7, T0_NS + 7 * 50_000_000 + 37 * 10**9)
    assert load_file(Writer(store), path).rows_written == 0  # replay is safe


def test_malformed_line_names_line_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    lines = az_lines(10)
    lines[6] = lines[6].replace("actualPosition=", "actualPosition")
    path = tmp_path / "bad.lp"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LineProtocolError) as info:
        load_file(Writer(store), path)
    assert info.value.line_number == 7 and str(path) in str(info.value)
    assert rows(store) == 0


def test_bad_line_in_a_later_chunk_rolls_back_earlier_chunks(store: Store, tmp_path: Path) -> None:
    store.settings = store.settings.model_copy(update={"batch_rows": 10})
    lines = az_lines(50)
    lines[45] = lines[45].replace("private_seqNum=45i", "private_seqNum=4.5")
    path = tmp_path / "late.lp"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError, match=rf"{path.name}:46"):
        load_file(Writer(store), path)
    assert rows(store) == 0


def test_unknown_field_rejected_in_strict_mode(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "x.lp"
    path.write_text(format_line(AZ, {"notAField": 1.0}, timestamp=T0_NS) + "\n")
    with pytest.raises(RecordError, match=r"x.lp:1: no field 'notAField'"):
        load_file(Writer(store), path)


def test_line_without_time_uses_efd_stamp_or_fails(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "t.lp"
    path.write_text(
        format_line(AZ, {"actualPosition": 1.0, "private_efdStamp": 1714532400.5})
        + "\n"
        + format_line(AZ, {"actualPosition": 2.0})
        + "\n"
    )
    with pytest.raises(RecordError, match=r"t.lp:2: no time"):
        load_file(Writer(store), path)
    path.write_text(format_line(AZ, {"actualPosition": 1.0, "private_efdStamp": 1714532400.5}))
    assert load_file(Writer(store), path).rows_written == 1


def test_gzip_csv_and_parquet(store: Store, tmp_path: Path) -> None:
    gz = tmp_path / "az.lp.gz"
    with gzip.open(gz, "wt") as handle:
        handle.write("\n".join(az_lines(5)) + "\n")
    assert load_file(Writer(store), gz).rows_written == 5
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2024-05-01T04:00:00Z", periods=3, freq="1s"),
            "actualPosition": [1.0, 2.0, 3.0],
        }
    )
    csv = tmp_path / f"{AZ}.csv"
    frame.to_csv(csv, index=False)
    assert load_file(Writer(store), csv).rows_written == 3
    parquet = tmp_path / "anything.parquet"
    frame.assign(time=frame["time"] + pd.Timedelta(hours=1)).to_parquet(parquet)
    assert load_file(Writer(store), parquet, topic=AZ).rows_written == 3
    assert rows(store) == 11


def test_csv_bad_value_names_its_line(store: Store, tmp_path: Path) -> None:
    csv = tmp_path / f"{AZ}.csv"
    csv.write_text("time,private_seqNum\n2024-05-01T04:00:00Z,1\n2024-05-01T04:00:01Z,2.5\n")
    with pytest.raises(RecordError, match=r"line 3"):
        load_file(Writer(store), csv)
    assert rows(store) == 0


def test_file_kinds_and_missing_files(tmp_path: Path) -> None:
    assert file_kind(Path("a.lp.gz")) == "line"
    assert file_kind(Path("x.y.PARQUET")) == "parquet"
    with pytest.raises(IngestError, match="unknown file type"):
        file_kind(Path("data.json"))
    with pytest.raises(IngestError, match="no such file"):
        load_file(None, tmp_path / "missing.lp")  # type: ignore[arg-type]


def test_non_utf8_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bin.lp"
    path.write_bytes(b"lsst.sal.MTMount.azimuth actualPosition=1 1\n\xff\xfe\n")
    with pytest.raises(IngestError, match="UTF-8"):
        load_file(Writer(store), path)
    assert rows(store) == 0


def test_parquet_gz_is_refused_clearly() -> None:
    with pytest.raises(IngestError, match="Parquet is compressed inside"):
        file_kind(Path("x.parquet.gz"))


def test_repeated_rows_with_a_text_key_are_stored_once(tmp_path: Path) -> None:
    """salIndex sent as a tag becomes a text field in extend mode; repeats still dedupe."""
    from openefd.settings import Settings

    path = tmp_path / "tags.lp"
    line = format_line("lsst.sal.New.topic", {"x": 1.0}, tags={"salIndex": "1"}, timestamp=T0_NS)
    path.write_text(f"{line}\n{line}\n")
    with Store(tmp_path / "s", settings=Settings(store=tmp_path / "s")) as st:
        assert load_file(Writer(st), path).rows_written == 1
