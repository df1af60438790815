"""Topic definitions change between releases; stored data stays readable and writable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from openefd.errors import SchemaConflictError
from openefd.schema.model import FieldSchema, FieldType, TopicKind, TopicSchema
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store

V1 = TopicSchema(
    name="lsst.sal.Test.scalars",
    kind=TopicKind.TELEMETRY,
    fields=(
        FieldSchema("keep", FieldType.FLOAT, units="deg"),
        FieldSchema("oldName", FieldType.INT),
        FieldSchema("grow", FieldType.DOUBLE, 2),
        FieldSchema("small", FieldType.SHORT),
    ),
)
V2 = replace(
    V1,
    fields=(
        FieldSchema("keep", FieldType.DOUBLE, units="deg"),  # widened float → double
        FieldSchema("newName", FieldType.INT),  # renamed: old column stays
        FieldSchema("grow", FieldType.DOUBLE, 4),  # array resized
        FieldSchema("small", FieldType.LONG_LONG),  # widened short → long long
        FieldSchema("added", FieldType.STRING),
    ),
    _by_name={},
)


def rows(st: Store) -> list[dict[str, object]]:
    return (
        st.cursor()
        .sql(f'SELECT * FROM "{V1.name}" ORDER BY {TIME_COLUMN}')
        .to_arrow_table()
        .to_pylist()
    )


def test_new_definition_keeps_old_data_readable_and_writable(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as st:
        assert st.register_topics([V1])["created"] == 1
        st.insert(
            V1.name,
            pa.table(
                {
                    TIME_COLUMN: [1],
                    "keep": [1.5],
                    "oldName": [7],
                    "grow": [[1.0, 2.0]],
                    "small": [3],
                }
            ),
        )
        assert st.register_topics([V2])["updated"] == 1
        assert st.register_topics([V2])["unchanged"] == 1
        # Written under the new definition ...
        st.insert(
            V1.name,
            pa.table(
                {
                    TIME_COLUMN: [2],
                    "keep": [0.1],
                    "newName": [8],
                    "grow": [[1.0, 2.0, 3.0, 4.0]],
                    "small": [2**40],
                    "added": ["x"],
                }
            ),
        )
        # ... and still under the old one.
        st.insert(V1.name, pa.table({TIME_COLUMN: [3], "oldName": [9], "grow": [[5.0, 6.0]]}))
        got = rows(st)
        assert [r["oldName"] for r in got] == [7, None, 9]
        assert [r["newName"] for r in got] == [None, 8, None]
        assert [r["grow"] for r in got] == [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0], [5.0, 6.0]]
        assert got[1]["small"] == 2**40 and got[1]["keep"] == 0.1
        assert st.registry.current(V1.name) == V2
        layout = st.registry.layout(V1.name)
        assert layout is not None
        assert {f.name for f in layout.fields} == {
            "keep",
            "oldName",
            "newName",
            "grow",
            "small",
            "added",
        }
        assert [t.digest() for t in st.registry.history(V1.name)] == [V1.digest(), V2.digest()]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (FieldSchema("x", FieldType.DOUBLE), FieldSchema("x", FieldType.STRING)),
        (FieldSchema("x", FieldType.DOUBLE), FieldSchema("x", FieldType.DOUBLE, 3)),
        (FieldSchema("x", FieldType.BOOLEAN), FieldSchema("x", FieldType.INT)),
    ],
)
def test_incompatible_change_is_refused_and_nothing_changes(
    tmp_path: Path, old: FieldSchema, new: FieldSchema
) -> None:
    a = TopicSchema("lsst.sal.Test.t", TopicKind.TELEMETRY, (old,))
    b = TopicSchema("lsst.sal.Test.t", TopicKind.TELEMETRY, (new,))
    with Store(tmp_path / "s") as st:
        st.register_topics([a])
        with pytest.raises(SchemaConflictError, match="'x'"):
            st.register_topics([b])
        assert st.registry.current(a.name) == a
        assert st.registry.version(a.name) == 1
