"""S3 arrival times of a night: listing the prefix vs one HEAD per image (issue 6).

Run ``scripts/bench-s3`` (or ``.venv/bin/python -m bench.s3_listing``) from
the repo root; ``--quick`` for a smoke run. A full run appends a section to
``bench/RESULTS.md``.

The S3 endpoint is moto's server mode (``ThreadedMotoServer``) on
127.0.0.1, the S3 protocol peer of the tests: boto3 speaks real HTTP to it.
The bucket holds the simulator's night (first 1,000 exposures × 205
detectors, one small object per image under
``LSSTCam/{day_obs}/{obs_id}/{obs_id}_{detector}.fits``); the objects are
put into moto's backend in-process so that filling the bucket is not part
of the run. Then, same endpoint, same run, both ways of collecting every
image's arrival time:

(a) the notebook's way: one ``head_object`` per image, keys known in advance;
(b) openefd's: :func:`openefd.ingest.s3_arrivals.list_raw_objects`,
    ``ListObjectsV2`` paginated over the night's prefix, keys parsed.

Requests are counted on the client, with a botocore ``before-send`` hook
(each HTTP request boto3 sends, retries included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shlex
import sys
import time
from typing import Any

import boto3
import moto

from bench.results import Metric, Run, append_results, git_commit, machine
from openefd.ingest.s3_arrivals import list_raw_objects
from openefd.sim.arrivals import arrivals_frame
from openefd.sim.exposures import exposures_frame
from openefd.sim.plan import make_plan
from openefd.timeinput import to_tai_ns
from openefd.timescales import NS_PER_S

__all__ = ["main"]

START = "2024-05-01T23:30:00Z"
HOURS = 12.4
DAY_OBS = 20240501
BUCKET = "rubinobs-raw-lsstcam"
FEWER_TARGET = 50.0
FASTER_TARGET = 20.0


def _say(text: str) -> None:
    print(text, flush=True)


def _keys(n_exposures: int) -> list[str]:
    start = to_tai_ns(START)
    plan = make_plan(start, start + round(HOURS * 3600 * NS_PER_S), 1)
    exposures = exposures_frame(plan).head(n_exposures)
    arrivals = arrivals_frame(exposures, start, 1)
    return sorted(set(arrivals["object_key"]))


def _fill(keys: list[str]) -> None:
    """Put the objects straight into moto's in-process backend (not timed, not counted)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key in keys:
        backend.put_object(BUCKET, key, b"raw")


class Counter:
    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, **_: Any) -> None:
        self.requests += 1


def _client(endpoint: str) -> tuple[Any, Counter]:
    client = boto3.client("s3", endpoint_url=endpoint)
    counter = Counter()
    client.meta.events.register("before-send.s3", counter)
    return client, counter


def run(args: argparse.Namespace) -> int:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]
    keys = _keys(args.exposures)
    dataset = (
        f"{args.exposures:,} simulated exposures × 205 detectors of day_obs {DAY_OBS} "
        f"(openefd.sim, seed 1): {len(keys):,} objects in one bucket"
    )
    _say(f"data set: {dataset}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        setup, _ = _client(endpoint)
        setup.create_bucket(Bucket=BUCKET)
        _fill(keys)
        client, counter = _client(endpoint)

        t0 = time.perf_counter()
        listing = list_raw_objects(client, BUCKET, f"LSSTCam/{DAY_OBS}/")
        list_s = time.perf_counter() - t0
        list_requests = counter.requests
        if len(listing.images) != len(keys):
            raise SystemExit(f"listing found {len(listing.images)} images, not {len(keys)}")
        _say(f"(b) listing: {list_requests:,} requests, {list_s:.2f} s")

        counter.requests = 0
        t0 = time.perf_counter()
        heads = {key: client.head_object(Bucket=BUCKET, Key=key)["LastModified"] for key in keys}
        head_s = time.perf_counter() - t0
        head_requests = counter.requests
        _say(f"(a) HEAD per image: {head_requests:,} requests, {head_s:.2f} s")
        listed = dict(
            zip(listing.images["object_key"], listing.images["s3_arrival_utc"], strict=True)
        )
        alike = sum(listed[k] == heads[k] for k in keys)
    finally:
        server.stop()
    fewer = head_requests / list_requests
    faster = head_s / list_s
    metrics = [
        Metric(
            f"requests to collect {len(keys):,} arrival times: HEAD per image (a) / listing (b)",
            f"{fewer:,.0f}× fewer",
            f"(a) {head_requests:,} requests, (b) {list_requests:,} (ListObjectsV2, "
            "1,000 keys a page); counted by a botocore before-send hook",
            f"≥ {FEWER_TARGET:g}× fewer",
            fewer >= FEWER_TARGET,
        ),
        Metric(
            "time to collect them, same endpoint, same run: (a) / (b)",
            f"{faster:,.0f}× faster",
            f"(a) {head_s:.2f} s, (b) {list_s:.2f} s including parsing every key "
            f"into exposure and detector; times alike for {alike:,} of {len(keys):,} objects",
            f"≥ {FASTER_TARGET:g}× faster",
            faster >= FASTER_TARGET,
        ),
    ]
    for m in metrics:
        _say(f"{m.name}: {m.value} ({m.detail}) {m.verdict}")
    if args.record:
        record = Run(
            utc=started,
            commit=git_commit(),
            machine=machine(),
            software=(
                f"Python {sys.version.split()[0]}, boto3 {boto3.__version__}, "
                f"moto {moto.__version__} (ThreadedMotoServer on 127.0.0.1)"
            ),
            command=shlex.join(["scripts/bench-s3", *sys.argv[1:]]),
            dataset=dataset,
            metrics=metrics,
            notes=[
                "S3 endpoint: moto's server mode, one process with the client; a remote "
                "endpoint adds a network round trip per request, which widens the gap.",
                "moto (like AWS) lists LastModified in whole seconds, so (a) and (b) give "
                "the same times here; Ceph RGW lists milliseconds, HEAD never does.",
                f"1-minute load average {load_before:.2f} before the run, "
                f"{os.getloadavg()[0]:.2f} after.",
            ],
        )
        _say(f"results appended to {append_results(record)}")
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-s3",
        description="Collect a night's S3 arrival times by listing vs one HEAD per image.",
    )
    parser.add_argument("--exposures", type=int, default=1000, help="exposures in the night")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 20 exposures, not recorded"
    )
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="append to bench/RESULTS.md (default: yes, unless --quick)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.exposures = 20
    if args.record is None:
        args.record = not args.quick
    return args


def main(argv: list[str] | None = None) -> int:
    return run(_parse(argv))


if __name__ == "__main__":
    raise SystemExit(main())
