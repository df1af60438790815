"""The simulator's tables: deterministic, shaped as ts_xml defines them, stamped as SAL does."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from openefd.errors import ConfigurationError, SchemaError
from openefd.schema.model import FieldType, TopicSchema
from openefd.schema.sal_xml import load_sal_xml
from openefd.sim import NightSimulator, Profile, SimChunk, SimConfig

START = "2024-05-01T23:30:00Z"
FORCES = "lsst.sal.MTM1M3.forceActuatorData"
AZIMUTH = "lsst.sal.MTMount.azimuth"
NS = 1_000_000_000


def concat(chunks: list[SimChunk]) -> dict[str, pa.Table]:
    parts: dict[str, list[pa.Table]] = defaultdict(list)
    for chunk in chunks:
        for name, table in chunk.tables.items():
            parts[name].append(table)
    return {name: pa.concat_tables(tables) for name, tables in sorted(parts.items())}


def same(a: pa.Table, b: pa.Table) -> bool:
    """Equal tables, NaN equal to NaN (unused ESS channels are NaN)."""
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a[name].combine_chunks(), b[name].combine_chunks()
        if pa.types.is_list(x.type):
            if not pc.list_value_length(x).equals(pc.list_value_length(y)):
                return False
            x, y = pc.list_flatten(x), pc.list_flatten(y)
        if pa.types.is_floating(x.type):
            if not np.array_equal(x.to_numpy(), y.to_numpy(), equal_nan=True):
                return False
        elif not x.equals(y):
            return False
    return True


@pytest.fixture(scope="module")
def demo(sal_xml_dir: Path) -> NightSimulator:
    return NightSimulator(SimConfig(sal_xml_dir, START, hours=3 / 60, seed=1))


@pytest.fixture(scope="module")
def demo_chunks(demo: NightSimulator) -> list[SimChunk]:
    return list(demo.chunks(seconds=60.0))


@pytest.fixture(scope="module")
def definitions(sal_xml_dir: Path) -> dict[str, TopicSchema]:
    return {t.name: t for t in load_sal_xml(sal_xml_dir)}


def test_same_seed_gives_the_same_rows_whatever_the_chunking(
    sal_xml_dir: Path, demo_chunks: list[SimChunk]
) -> None:
    again = NightSimulator(SimConfig(sal_xml_dir, START, hours=3 / 60, seed=1))
    first, second = concat(demo_chunks), concat(list(again.chunks(seconds=23.0)))
    assert first.keys() == second.keys()
    for name in first:
        assert same(first[name], second[name]), name
    assert len(demo_chunks) == 3
    assert again.exposures().equals(NightSimulator(again.config).exposures())


def test_another_seed_gives_other_rows(sal_xml_dir: Path, demo_chunks: list[SimChunk]) -> None:
    other = NightSimulator(SimConfig(sal_xml_dir, START, hours=3 / 60, seed=2))
    first, second = concat(demo_chunks), concat(list(other.chunks(seconds=60.0)))
    assert not same(first[FORCES], second[FORCES])
    assert not first[AZIMUTH]["actualPosition"].equals(second[AZIMUTH]["actualPosition"])


def check_against_definitions(
    sim: NightSimulator, chunks: list[SimChunk], definitions: dict[str, TopicSchema]
) -> None:
    declared = {t.name: t for t in sim.topics()}
    for name, topic in declared.items():
        assert topic == definitions[name], name  # names, types, counts, units, descriptions
    expected_type = {"float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}
    for name, table in concat(chunks).items():
        assert name in declared, name
        topic = definitions[name]
        assert table.column_names == topic.field_names, name
        for f in topic.fields:
            column = table[f.name]
            kind = (
                "float"
                if f.type.is_float
                else {FieldType.BOOLEAN: "bool", FieldType.STRING: "str"}.get(f.type, "int")
            )
            element = column.type.value_type if f.count != 1 else column.type
            assert element == expected_type.get(kind, pa.int64()), (name, f.name)
            if f.count != 1:
                assert pa.types.is_list(column.type), (name, f.name)
                lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
                assert (lengths == f.count).all(), (name, f.name)
            assert column.null_count == 0, (name, f.name)


def test_tables_have_exactly_the_fields_of_their_definitions(
    demo: NightSimulator, demo_chunks: list[SimChunk], definitions: dict[str, TopicSchema]
) -> None:
    check_against_definitions(demo, demo_chunks, definitions)
    forces = definitions[FORCES]
    assert sum(f.count for f in forces.fields if not f.private) == 812
    assert {f.units for f in forces.fields if f.name.endswith("Force")} == {"N"}


def test_efd_profile_tables_have_the_fields_of_their_definitions(
    sal_xml_dir: Path, definitions: dict[str, TopicSchema]
) -> None:
    sim = NightSimulator(SimConfig(sal_xml_dir, START, hours=0.5 / 60, profile=Profile.EFD))
    chunks = list(sim.chunks(seconds=60.0))
    check_against_definitions(sim, chunks, definitions)
    assert len(chunks[0].tables) > 300


def test_rates(demo: NightSimulator, demo_chunks: list[SimChunk]) -> None:
    for chunk in demo_chunks:
        assert chunk.end_tai_ns - chunk.start_tai_ns == 60 * NS
        assert chunk.tables[FORCES].num_rows == 3000
        assert chunk.tables[AZIMUTH].num_rows == 1200
        heartbeats: dict[str, int] = defaultdict(int)
        for name, table in chunk.tables.items():
            if name.endswith(".logevent_heartbeat"):
                for identity in table["private_identity"].to_pylist():
                    heartbeats[identity] += 1
        assert heartbeats == dict.fromkeys(demo.cscs(), 60)
    assert len(demo.cscs()) == 12
    assert "ESS:101" in demo.cscs()


def test_private_stamps_as_sal_sets_them(demo_chunks: list[SimChunk]) -> None:
    for chunk in demo_chunks:
        for name, table in chunk.tables.items():
            snd = table["private_sndStamp"].to_numpy()
            assert np.abs(snd - table["private_efdStamp"].to_numpy() - 37.0).max() < 1e-5
            rcv = table["private_rcvStamp"].to_numpy()
            kafka = table["private_kafkaStamp"].to_numpy()
            assert ((rcv > snd) & (rcv < snd + 0.003) & (kafka > rcv)).all(), name
            assert (snd >= chunk.start_tai_ns / NS - 1e-6).all(), name
            assert (snd < chunk.end_tai_ns / NS + 1e-6).all(), name
            assert (np.diff(snd) >= 0).all(), name
            csc = name.split(".")[2]
            identities = set(table["private_identity"].to_pylist())
            if ".command_" not in name:
                assert {i.split(":")[0] for i in identities} == {csc}, name
            if "salIndex" in table.column_names and ".command_" not in name:
                expected = {f"{csc}:{i}" for i in table["salIndex"].to_pylist()}
                assert identities == expected, name


def test_seq_num_increases_per_topic_and_index_across_chunks(
    demo_chunks: list[SimChunk],
) -> None:
    last: dict[tuple[str, int], int] = {}
    acks: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for chunk in demo_chunks:
        for name, table in chunk.tables.items():
            seq = table["private_seqNum"].to_numpy()
            if name.endswith(".ackcmd"):
                acks[name] += list(zip(seq.tolist(), table["ack"].to_pylist(), strict=True))
                continue
            index = (
                table["salIndex"].to_numpy()
                if "salIndex" in table.column_names
                else np.zeros(len(seq), dtype=np.int64)
            )
            for i in np.unique(index):
                mine = seq[index == i]
                assert (np.diff(mine) > 0).all(), name
                assert mine[0] > last.get((name, int(i)), -1), name
                last[(name, int(i))] = int(mine[-1])
    assert "lsst.sal.MTCamera.ackcmd" in acks
    for name, rows in acks.items():  # ackcmd repeats the command's seqNum: 301 then 303
        by_seq: dict[int, list[int]] = defaultdict(list)
        for seq_num, ack in rows:
            by_seq[seq_num].append(ack)
        assert all(v in ([301, 303], [301]) for v in by_seq.values()), name


def test_topic_table_and_stream_give_the_same_rows(
    demo: NightSimulator, demo_chunks: list[SimChunk]
) -> None:
    whole = concat(demo_chunks)
    table = demo.topic_table("lsst.sal.ESS.temperature")
    assert table is not None and same(table, whole["lsst.sal.ESS.temperature"])
    assert demo.topic_table("lsst.sal.Nowhere.nothing") is None
    streamed = list(demo.stream(speed=1e9, seconds=60.0))
    assert [c.start_tai_ns for c in streamed] == [c.start_tai_ns for c in demo_chunks]
    assert same(concat(streamed)[FORCES], whole[FORCES])


def test_bad_configurations_are_refused(sal_xml_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="hours must be positive"):
        SimConfig(sal_xml_dir, START, hours=0)
    with pytest.raises(SchemaError, match="not a ts_xml sal_interfaces folder"):
        NightSimulator(SimConfig(tmp_path, START, hours=0.01))
