"""Fixtures shared by the test suite: real SAL definitions, real DuckDB stores."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from openefd.client import EfdClientSync
from openefd.schema.model import TopicSchema
from openefd.schema.sal_xml import load_sal_xml
from openefd.settings import SchemaMode, Settings
from openefd.store.duckdb_store import Store

SAL_XML = Path(__file__).resolve().parents[2] / "shared" / "ts_xml" / "sal_interfaces"
DEMO_CSCS = ("MTMount", "ESS", "MTM1M3")


@pytest.fixture(scope="session")
def sal_xml_dir() -> Path:
    assert (SAL_XML / "SALSubsystems.xml").is_file(), f"ts_xml not found at {SAL_XML}"
    return SAL_XML


@pytest.fixture(scope="session")
def demo_topics(sal_xml_dir: Path) -> list[TopicSchema]:
    """Definitions of MTMount, ESS and MTM1M3 (with generics)."""
    return [t for csc in DEMO_CSCS for t in load_sal_xml(sal_xml_dir / csc)]


@pytest.fixture
def strict_settings(tmp_path: Path) -> Settings:
    return Settings(store=tmp_path / "store", schema_mode=SchemaMode.STRICT)


@pytest.fixture(scope="session")
def template_store(
    tmp_path_factory: pytest.TempPathFactory, demo_topics: list[TopicSchema]
) -> Path:
    """A store with the demo CSCs registered, made once and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "store"
    with Store(path) as st:
        st.register_topics(demo_topics)
    return path


@pytest.fixture
def store_path(strict_settings: Settings, template_store: Path) -> Path:
    """A closed store directory (a fresh copy) with the demo CSCs registered."""
    shutil.copytree(template_store, strict_settings.store)
    return strict_settings.store


@pytest.fixture
def store(strict_settings: Settings, store_path: Path) -> Iterator[Store]:
    """A real DuckDB store (strict schema mode) with the demo CSCs registered."""
    with Store(store_path, settings=strict_settings) as st:
        yield st


@pytest.fixture
def client(store_path: Path, strict_settings: Settings) -> Iterator[EfdClientSync]:
    with EfdClientSync(store_path, settings=strict_settings) as c:
        yield c
