"""S3 arrival times of a night: listing the prefix vs one HEAD per image (issue 6).

Run ``scripts/bench-s3`` (or ``.venv/bin/python -m bench.s3_listing``) from
the repo root; ``--quick`` for a smoke run. A full run appends a section to
``bench/RESULTS.md``.

The S3 endpoint (``--peer``) is Ceph's RGW (:mod:`bench.s3_ceph`: a
one-node cluster started here on 127.0.0.1), whose listing, like AWS S3's,
costs per page whatever the bucket's size; ``--peer moto`` runs moto's
server mode, the S3 peer of the tests, whose every page costs a pass over
the whole bucket. boto3 speaks real HTTP to either. The bucket holds the
simulator's night (first 1,000 exposures × 205 detectors, one small object
per image under ``LSSTCam/{day_obs}/{obs_id}/{obs_id}_{detector}.fits``),
filled first through the S3 API (moto: straight into its in-process
backend), not timed against the target. Then, same endpoint, same run:

(b) openefd's way: :func:`openefd.ingest.s3_arrivals.list_raw_objects` with
    the client of :func:`~openefd.ingest.s3_arrivals.s3_client`,
    ``ListObjectsV2`` paginated over the night's prefix, keys parsed;
(c) for context, the same per exposure prefix (one listing per exposure);
(a) the notebook's way: a default boto3 client, one ``head_object`` per
    image, keys known in advance.

Requests are counted on the client, with a botocore ``before-send`` hook
(each HTTP request boto3 sends, retries included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import posixpath
import shlex
import sys
import time
from typing import Any

import boto3
import pandas as pd

from bench.results import Metric, Run, append_results, git_commit, machine
from bench.s3_ceph import ACCESS_KEY, SECRET_KEY
from bench.s3_peers import BUCKET, FILL_THREADS, fill_api, fill_moto, s3_peer
from openefd.ingest.s3_arrivals import list_raw_objects, s3_client
from openefd.sim.arrivals import arrivals_frame
from openefd.sim.exposures import exposures_frame
from openefd.sim.plan import make_plan
from openefd.timeinput import to_tai_ns
from openefd.timescales import NS_PER_S

__all__ = ["main"]

START = "2024-05-01T23:30:00Z"
HOURS = 12.4
DAY_OBS = 20240501
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


class Counter:
    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, **_: Any) -> None:
        self.requests += 1


def _counted(client: Any) -> tuple[Any, Counter]:
    counter = Counter()
    client.meta.events.register("before-send.s3", counter)
    return client, counter


def run(args: argparse.Namespace) -> int:
    os.environ["AWS_ACCESS_KEY_ID"] = ACCESS_KEY
    os.environ["AWS_SECRET_ACCESS_KEY"] = SECRET_KEY
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]
    keys = _keys(args.exposures)
    prefix = f"LSSTCam/{DAY_OBS}/"
    exposures = sorted({posixpath.dirname(k) + "/" for k in keys})
    dataset = (
        f"{len(exposures):,} simulated exposures × 205 detectors of day_obs {DAY_OBS} "
        f"(openefd.sim, seed 1): {len(keys):,} objects in one bucket"
    )
    _say(f"data set: {dataset}")
    with s3_peer(args.peer) as (endpoint, peer):
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        t0 = time.perf_counter()
        if args.peer == "moto":
            fill_moto(keys)
        else:
            fill_api(endpoint, keys)
        fill_s = time.perf_counter() - t0
        _say(f"filled in {fill_s:.1f} s")

        lister, listed_counter = _counted(s3_client(endpoint))
        t0 = time.perf_counter()
        listing = list_raw_objects(lister, BUCKET, prefix)
        list_s = time.perf_counter() - t0
        list_requests = listed_counter.requests
        if len(listing.images) != len(keys):
            raise SystemExit(f"listing found {len(listing.images)} images, not {len(keys)}")
        _say(f"(b) listing the night: {list_requests:,} requests, {list_s:.2f} s")

        listed_counter.requests = 0
        t0 = time.perf_counter()
        per_exposure = sum(len(list_raw_objects(lister, BUCKET, p).images) for p in exposures)
        exp_s = time.perf_counter() - t0
        exp_requests = listed_counter.requests
        if per_exposure != len(keys):
            raise SystemExit(f"per-exposure listing found {per_exposure} images, not {len(keys)}")
        _say(f"(c) listing per exposure: {exp_requests:,} requests, {exp_s:.2f} s")

        header, head_counter = _counted(boto3.client("s3", endpoint_url=endpoint))
        t0 = time.perf_counter()
        heads = {k: header.head_object(Bucket=BUCKET, Key=k)["LastModified"] for k in keys}
        head_s = time.perf_counter() - t0
        head_requests = head_counter.requests
        _say(f"(a) HEAD per image: {head_requests:,} requests, {head_s:.2f} s")
    listed = pd.Series(
        listing.images["s3_arrival_utc"].to_numpy(), index=listing.images["object_key"]
    )
    alike = sum(listed[k].floor("s") == pd.Timestamp(heads[k]) for k in keys)
    sub_second = int((listed.dt.microsecond > 0).sum())
    fewer = head_requests / list_requests
    faster = head_s / list_s
    metrics = [
        Metric(
            f"requests to collect {len(keys):,} arrival times: HEAD per image (a) / listing (b)",
            f"{fewer:,.0f}× fewer",
            f"(a) {head_requests:,} requests, (b) {list_requests:,} (ListObjectsV2 pages of "
            "up to 1,000 keys); counted by a botocore before-send hook",
            f"≥ {FEWER_TARGET:g}× fewer",
            fewer >= FEWER_TARGET,
        ),
        Metric(
            "time to collect them, same endpoint, same run: (a) / (b)",
            f"{faster:,.0f}× faster",
            f"(a) {head_s:.1f} s ({head_s / head_requests * 1e3:.2f} ms a HEAD), "
            f"(b) {list_s:.2f} s ({list_s / list_requests * 1e3:.0f} ms a page) including "
            "parsing every key into exposure and detector",
            f"≥ {FASTER_TARGET:g}× faster",
            faster >= FASTER_TARGET,
        ),
        Metric(
            "(c) listing per exposure prefix instead (context)",
            f"{exp_s:.1f} s",
            f"{exp_requests:,} requests ({exp_s / exp_requests * 1e3:.0f} ms each): "
            f"{head_s / exp_s:.0f}× faster than (a), {exp_s / list_s:.1f}× slower than (b)",
        ),
        Metric(
            "arrival times alike",
            f"{alike:,} of {len(keys):,}",
            f"listed time truncated to the second = HEAD's Last-Modified; {sub_second:,} "
            "listed times carry milliseconds that HEAD drops",
        ),
        Metric(
            "filling the bucket (not timed against the target)",
            f"{fill_s:.0f} s",
            "in-process into moto's backend"
            if args.peer == "moto"
            else f"PUT through the S3 API, {FILL_THREADS} threads: {len(keys) / fill_s:,.0f}/s",
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
                f"Python {sys.version.split()[0]}, boto3 {boto3.__version__}; "
                f"S3 peer: {peer} on 127.0.0.1"
            ),
            command=shlex.join(["scripts/bench-s3", *sys.argv[1:]]),
            dataset=dataset,
            metrics=metrics,
            notes=[
                *_NOTES[args.peer],
                "(b) and (c) use openefd.ingest.s3_arrivals.s3_client, which keeps the "
                "listing's timestamps as text and parses the column at once; (a) a default "
                "boto3 client, as the notebook does.",
                "The peer runs on this machine: a remote endpoint adds a network round trip "
                "to each request, which widens the gap.",
                f"1-minute load average {load_before:.2f} before the run, "
                f"{os.getloadavg()[0]:.2f} after; the run took "
                f"{(dt.datetime.now(dt.UTC) - started).total_seconds() / 60:.1f} min.",
            ],
        )
        _say(f"results appended to {append_results(record)}")
    return 0


_NOTES = {
    "ceph": [
        "Ceph RGW reads a listing page from the bucket's sorted index (11 shards, "
        "omap), as AWS S3 does from its own: a page costs the same in a bucket of 20 k "
        "or 200 k objects (bench/README.md); RGW may return fewer than 1,000 keys a page.",
    ],
    "moto": [
        "moto filters and sorts the whole bucket for every page: the listing's cost "
        "grows with the bucket, which no real S3 does.",
    ],
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench-s3",
        description="Collect a night's S3 arrival times by listing vs one HEAD per image.",
    )
    parser.add_argument("--exposures", type=int, default=1000, help="exposures in the night")
    parser.add_argument(
        "--peer",
        choices=["ceph", "moto"],
        default="ceph",
        help="S3 endpoint: Ceph RGW (default) or moto's server mode",
    )
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
