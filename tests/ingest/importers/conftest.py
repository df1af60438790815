"""Real sources for the importers: a butler repository, an S3 endpoint, a simulated night.

- ``night``: 4 exposures of a simulated night (all 205 detectors), with
  the simulator's arrival and ingest times: the truth planted below.
- ``butler_repo``: a real butler repository made with ``Butler.makeRepo``
  (SQLite registry, in tmp_path) holding the night's instrument, detector,
  day_obs, group, physical_filter and exposure records and one ``raw``
  dataset per image. Datasets are registered with ``insertDatasets`` (no
  files: the importer reads the registry only), which stamps
  ``ingest_date`` with the time of the call; the fixture then sets each
  dataset's ``ingest_date`` to the simulator's ingest time with one UPDATE
  of the registry's ``dataset`` table, in the column's own encoding
  (integer TAI ns in this daf_butler's schema 2.0.0).
- ``s3``: moto's server mode (``ThreadedMotoServer``) on 127.0.0.1 as the
  S3 protocol peer: boto3 talks real HTTP to it. An S3 server cannot be
  told when an object arrived, so ``raw_bucket`` sets each object's
  ``last_modified`` in moto's in-process backend to the simulator's S3
  arrival time after putting it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from openefd.sim.arrivals import arrivals_frame
from openefd.sim.detectors import lsstcam_detectors
from openefd.sim.exposures import exposures_frame
from openefd.sim.plan import make_plan
from openefd.store.duckdb_store import Store
from openefd.timeinput import to_tai_ns
from openefd.timescales import tai_to_utc_ns

START = "2024-05-01T23:30:00Z"
DAY_OBS = 20240501
RAW_RUN = "LSSTCam/raw/all"
BUCKET = "rubinobs-raw-lsstcam"
N_EXPOSURES = 4


@dataclass(frozen=True)
class Night:
    exposures: pd.DataFrame
    arrivals: pd.DataFrame  # first deliveries only: one row per image

    @property
    def images(self) -> int:
        return len(self.arrivals)


@pytest.fixture(scope="session")
def night() -> Night:
    start = to_tai_ns(START)
    plan = make_plan(start, start + 3600 * 1_000_000_000, 1)
    exposures = exposures_frame(plan).head(N_EXPOSURES).reset_index(drop=True)
    arrivals = arrivals_frame(exposures, start, 1)
    arrivals = arrivals[~arrivals["resend"]].reset_index(drop=True)
    return Night(exposures, arrivals)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "store") as st:
        yield st


# --- butler ---------------------------------------------------------------------------


def _tai(ns: int) -> Any:
    from lsst.daf.butler.time_utils import TimeConverter

    return TimeConverter().nsec_to_astropy(int(ns))


def fill_butler(butler: Any, night: Night) -> None:
    """Dimension records and raw datasets of ``night`` (see the module docstring)."""
    from lsst.daf.butler import DatasetType, Timespan

    reg = butler.registry
    ex = night.exposures
    reg.insertDimensionData(
        "instrument",
        {
            "name": "LSSTCam",
            "class_name": "lsst.obs.lsst.LsstCam",
            "detector_max": 1000,
            "exposure_max": 6_050_123_199_999,
            "visit_max": 6_050_123_199_999,
            "visit_system": 2,
        },
    )
    reg.insertDimensionData(
        "detector",
        *[
            {
                "instrument": "LSSTCam",
                "id": d.id,
                "full_name": d.name,
                "raft": d.raft,
                "name_in_raft": d.sensor,
                "purpose": d.purpose.upper(),
            }
            for d in lsstcam_detectors()
        ],
    )
    for name, band in sorted(set(zip(ex["physical_filter"], ex["band"], strict=True))):
        reg.syncDimensionData(
            "physical_filter", {"instrument": "LSSTCam", "name": name, "band": band}
        )
    for day in sorted(set(ex["day_obs"])):
        reg.syncDimensionData("day_obs", {"instrument": "LSSTCam", "id": int(day)})
    for group in sorted(set(ex["group"])):
        reg.syncDimensionData("group", {"instrument": "LSSTCam", "name": group})
    records = []
    for r in ex.itertuples():
        records.append(
            {
                "instrument": "LSSTCam",
                "id": int(r.id),
                "obs_id": r.obs_id,
                "day_obs": int(r.day_obs),
                "seq_num": int(r.seq_num),
                "group": r.group,
                "physical_filter": r.physical_filter,
                "observation_type": r.observation_type,
                "observation_reason": r.observation_reason,
                "science_program": r.science_program,
                "exposure_time": float(r.exposure_time),
                "dark_time": float(r.dark_time),
                "timespan": Timespan(_tai(r.timespan_begin_tai_ns), _tai(r.timespan_end_tai_ns)),
                "can_see_sky": bool(r.can_see_sky),
                "tracking_ra": None if pd.isna(r.tracking_ra) else float(r.tracking_ra),
                "tracking_dec": None if pd.isna(r.tracking_dec) else float(r.tracking_dec),
                "azimuth": float(r.azimuth),
                "zenith_angle": float(r.zenith_angle),
            }
        )
    reg.insertDimensionData("exposure", *records)
    reg.registerDatasetType(
        DatasetType(
            "raw", ["instrument", "exposure", "detector"], "Exposure", universe=butler.dimensions
        )
    )
    reg.registerRun(RAW_RUN)
    arr = night.arrivals
    refs = reg.insertDatasets(
        "raw",
        [
            {"instrument": "LSSTCam", "exposure": int(e), "detector": int(d)}
            for e, d in zip(arr["exposure_id"], arr["detector"], strict=True)
        ],
        run=RAW_RUN,
    )
    _set_ingest_dates(butler, [ref.id for ref in refs], [int(t) for t in arr["ingest_tai_ns"]])


def _set_ingest_dates(butler: Any, ids: list[Any], tai_ns: list[int]) -> None:
    """Plant ``ingest_date`` through the registry's own table and column type (TAI ns in 2.0.0)."""
    import sqlalchemy

    engine = butler._registry._db._engine
    table = butler._registry._managers.datasets._static.dataset
    with engine.begin() as con:
        con.execute(
            table.update().where(table.c.id == sqlalchemy.bindparam("ref_id")),
            [{"ref_id": i, "ingest_date": _tai(t)} for i, t in zip(ids, tai_ns, strict=True)],
        )


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin); run "
            "scripts/setup-compat, which installs the Debian package postgresql"
        )
    return found[-1].parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL server (Debian's binaries) on 127.0.0.1, for butler registries.

    PostgreSQL refuses to run as root: the cluster belongs to the user
    ``postgres`` (made by the Debian package) or ``nobody`` when tests run as root.
    """
    import getpass
    import os
    import shutil
    import socket
    import subprocess
    import tempfile

    bindir = _postgres_bin()
    # Outside pytest's root-only temporary folders: the server's user must reach it.
    home = Path(tempfile.mkdtemp(prefix="openefd-test-pg-"))
    home.chmod(0o777)
    data = home / "data"
    as_user: list[str] = []
    user = getpass.getuser()
    if os.geteuid() == 0:
        user = "postgres" if shutil.which("runuser") and _has_user("postgres") else "nobody"
        as_user = ["runuser", "-u", user, "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", user],
        check=True,
        capture_output=True,
    )
    log = data.parent / "pg.log"
    opts = f"-h 127.0.0.1 -p {port} -k {data.parent} -F"
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(log),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    # The butler's PostgreSQL registry needs btree_gist (Debian ships it with the server).
    subprocess.run(
        [
            *as_user,
            str(bindir / "psql") if (bindir / "psql").exists() else "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            "postgres",
            "-c",
            "CREATE EXTENSION IF NOT EXISTS btree_gist",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def butler_repo(request: pytest.FixtureRequest, tmp_path: Path, night: Night) -> str:
    """A butler repository with the night's records: SQLite registry, or PostgreSQL."""
    from lsst.daf.butler import Butler, Config

    root = str(tmp_path / "repo")
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        namespace = f"repo_{abs(hash(str(tmp_path))) % 10**9}"
        Butler.makeRepo(root, config=Config({"registry": {"db": url, "namespace": namespace}}))
    else:
        Butler.makeRepo(root)
    butler = Butler.from_config(root, writeable=True)
    try:
        fill_butler(butler, night)
    finally:
        butler.close()
    return root


# --- S3 -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a real HTTP peer for boto3), for the whole session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint)


def set_last_modified(bucket: str, times: dict[str, dt.datetime]) -> None:
    """Set objects' ``LastModified`` in moto's in-process backend (an S3 server can't)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    keys = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].keys
    for key, when in times.items():
        keys[key].last_modified = when.astimezone(dt.UTC).replace(tzinfo=None)


def utc_datetime(tai_ns: int) -> dt.datetime:
    utc = int(tai_to_utc_ns(tai_ns))
    return pd.Timestamp(utc, unit="ns", tz="UTC").to_pydatetime(warn=False)


@pytest.fixture(scope="session")
def raw_bucket(s3_client: Any, night: Night) -> Iterator[str]:
    """The night's raw objects (a few bytes each) with the simulator's S3 arrival times."""
    s3_client.create_bucket(Bucket=BUCKET)
    times: dict[str, dt.datetime] = {}
    for key, size, t in zip(
        night.arrivals["object_key"],
        night.arrivals["size_bytes"],
        night.arrivals["s3_arrival_tai_ns"],
        strict=True,
    ):
        s3_client.put_object(Bucket=BUCKET, Key=key, Body=str(size).encode())
        times[key] = utc_datetime(int(t))
    s3_client.put_object(Bucket=BUCKET, Key=f"LSSTCam/{DAY_OBS}/README.json", Body=b"{}")
    set_last_modified(BUCKET, times)
    try:
        yield BUCKET
    finally:
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for obj in page.get("Contents", ()):
                s3_client.delete_object(Bucket=BUCKET, Key=obj["Key"])
        s3_client.delete_bucket(Bucket=BUCKET)
