"""S3 peers of the S3 benchmark (:mod:`bench.s3_listing`): start one, fill its bucket.

``ceph`` is a one-node Ceph cluster with its RGW (:mod:`bench.s3_ceph`),
filled by PUTs through the S3 API; ``moto`` is moto's server mode in this
process, filled straight into its in-process backend.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Iterator

import boto3
import botocore.config
import moto

from bench.s3_ceph import CephS3, ceph_version

__all__ = ["BUCKET", "FILL_THREADS", "fill_api", "fill_moto", "s3_peer"]

BUCKET = "rubinobs-raw-lsstcam"
FILL_THREADS = 16


def _say(text: str) -> None:
    print(text, flush=True)


def fill_api(endpoint: str, keys: list[str]) -> None:
    """PUT every object through the S3 API, FILL_THREADS at a time."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=botocore.config.Config(
            max_pool_connections=2 * FILL_THREADS, retries={"max_attempts": 10}
        ),
    )
    put = client.put_object
    done = 0
    with concurrent.futures.ThreadPoolExecutor(FILL_THREADS) as pool:
        for n in range(0, len(keys), 20_000):
            chunk = keys[n : n + 20_000]
            for _ in pool.map(lambda k: put(Bucket=BUCKET, Key=k, Body=b"raw"), chunk):
                pass
            done += len(chunk)
            _say(f"  filled {done:,} of {len(keys):,}")


def fill_moto(keys: list[str]) -> None:
    """Put the objects straight into moto's in-process backend."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key in keys:
        backend.put_object(BUCKET, key, b"raw")


@contextlib.contextmanager
def s3_peer(name: str) -> Iterator[tuple[str, str]]:
    """Start the S3 peer; yields its endpoint and a description of it."""
    if name == "moto":
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}", f"moto {moto.__version__} (ThreadedMotoServer)"
        finally:
            server.stop()
        return
    ceph = CephS3()
    try:
        t0 = time.perf_counter()
        endpoint = ceph.start()
        _say(f"Ceph RGW up at {endpoint} in {time.perf_counter() - t0:.1f} s")
        yield endpoint, f"{ceph_version()} RGW (beast; one memstore OSD, one monitor)"
    finally:
        ceph.stop()
