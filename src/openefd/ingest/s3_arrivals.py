"""Importing a night's S3 arrival times by listing the bucket, not one HEAD per image.

:func:`list_raw_objects` pages through ``ListObjectsV2`` under the night's
prefix (``prefix_template``, default ``{instrument}/{day_obs}/``): one
request per 1,000 objects, where the latency notebook sends one ``HEAD``
per image (205 per LSSTCam exposure). Each listed object gives its key (the
image it holds: :mod:`openefd.ingest.raw_keys`), its size and its
``LastModified``, the time the object was last written, in UTC.

Precision: the listing's ``LastModified`` is written in XML with
milliseconds (``2024-05-02T00:01:02.345Z``), the ``Last-Modified`` header of
a ``HEAD`` in HTTP-date form with whole seconds, so the notebook's arrival
times were up to 1 s early. Listing is the better measurement as well as
the faster one.

:func:`import_s3_arrivals` stores each image's time as ``s3_arrival``
(converted to TAI at this edge, leap-second-correct), with ``object_key``
and ``size_bytes``, as the image's first delivery (``delivery`` 0): S3
keeps one object per key, so a re-send that overwrote the object leaves
the time of the re-send; the latency report flags such images
(``after_ingest``) when the butler's ingest is earlier. Other columns of
stored rows (the butler's ingest time) are kept; importing again changes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from openefd.errors import ConfigurationError
from openefd.ingest.exposure_loader import LoadResult, load_exposures
from openefd.ingest.raw_keys import parse_raw_key
from openefd.store.exposure_tables import UpsertCounts
from openefd.store.exposures import parse_day_obs

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = [
    "DEFAULT_PREFIX_TEMPLATE",
    "RawListing",
    "import_s3_arrivals",
    "list_raw_objects",
    "s3_client",
]

DEFAULT_PREFIX_TEMPLATE = "{instrument}/{day_obs}/"
ProgressCallback = Callable[[int], None]
"""Called after each page of the listing with the number of objects listed so far."""


@dataclass(slots=True)
class RawListing:
    """A night's raw objects: one row per image (columns as the arrivals loader takes them)."""

    images: pd.DataFrame
    listed: int = 0
    requests: int = 0
    skipped_keys: list[str] = field(default_factory=list)


def _keep_text(value: str) -> str:
    return value


def s3_client(endpoint_url: str | None = None, *, profile: str | None = None) -> Any:
    """A boto3 S3 client (credentials as boto3 finds them: environment, profile, …).

    Its responses keep timestamps as the text the server sent (ISO 8601 in
    listings): botocore parses each one with dateutil, about half of the
    client's time for a listing page of 1,000 objects, where
    :func:`list_raw_objects` parses the whole column at once.
    """
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_keep_text)
    return boto3.session.Session(botocore_session=core, profile_name=profile).client(
        "s3", endpoint_url=endpoint_url
    )


def _pages(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    import botocore.exceptions

    where = f"s3://{bucket}/{prefix}"
    try:
        yield from client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    except botocore.exceptions.NoCredentialsError as exc:
        raise ConfigurationError(
            f"no S3 credentials to list {where}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile of ~/.aws/credentials)"
        ) from exc
    except botocore.exceptions.EndpointConnectionError as exc:
        raise ConfigurationError(f"cannot reach the S3 endpoint to list {where}: {exc}") from exc
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise ConfigurationError(
                f"bucket {bucket!r} not found at the S3 endpoint: check the name "
                "and --endpoint-url"
            ) from exc
        if code in {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            raise ConfigurationError(
                f"S3 refused to list {where} ({code}): check the credentials and their rights"
            ) from exc
        raise ConfigurationError(f"listing {where} failed: {exc}") from exc


def list_raw_objects(
    client: Any, bucket: str, prefix: str, *, progress: ProgressCallback | None = None
) -> RawListing:
    """Every raw image under ``prefix``: ListObjectsV2, paginated (1,000 keys a page).

    One prefix for the night, not one per exposure: S3 and Ceph RGW read a
    page from the bucket's sorted index at a cost per page, so 1,000-key
    pages take the fewest requests and the least time (``bench/README.md``).
    """
    rows: list[tuple[Any, ...]] = []
    skipped: list[str] = []
    listed = requests = 0
    for page in _pages(client, bucket, prefix):
        requests += 1
        for obj in page.get("Contents", ()):
            listed += 1
            key = obj["Key"]
            raw = parse_raw_key(key)
            if raw is None:
                skipped.append(key)
                continue
            rows.append(
                (
                    raw.instrument,
                    raw.exposure_id,
                    raw.detector,
                    raw.detector_name,
                    raw.day_obs,
                    key,
                    int(obj["Size"]),
                    obj["LastModified"],
                )
            )
        if progress is not None:
            progress(listed)
    columns = [
        "instrument",
        "exposure_id",
        "detector",
        "detector_name",
        "day_obs",
        "object_key",
        "size_bytes",
        "s3_arrival_utc",
    ]
    images = pd.DataFrame.from_records(rows, columns=columns)
    # datetimes from a default boto3 client, ISO 8601 text from s3_client's
    images["s3_arrival_utc"] = pd.to_datetime(images["s3_arrival_utc"], utc=True, format="ISO8601")
    return RawListing(images, listed, requests, skipped)


def import_s3_arrivals(
    store: Store,
    bucket: str,
    *,
    day_obs: int | str,
    instrument: str = "LSSTCam",
    prefix_template: str = DEFAULT_PREFIX_TEMPLATE,
    client: Any = None,
    endpoint_url: str | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """List the night's raw objects and store their arrival times (see the module).

    ``prefix_template`` may use ``{instrument}`` and ``{day_obs}`` (YYYYMMDD);
    ``client`` is a boto3 S3 client, else one is made for ``endpoint_url``.
    Images of other instruments under the prefix are left out.
    """
    day = parse_day_obs(day_obs)
    try:
        prefix = prefix_template.format(instrument=instrument, day_obs=day)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigurationError(
            f"prefix template {prefix_template!r} cannot be filled: it may use "
            "{instrument} and {day_obs} only"
        ) from exc
    listing = list_raw_objects(
        client if client is not None else s3_client(endpoint_url),
        bucket,
        prefix,
        progress=progress,
    )
    images = listing.images
    images = images[images["instrument"] == instrument].assign(delivery=0)
    if images.empty:
        return LoadResult(UpsertCounts(), UpsertCounts())
    return load_exposures(store, arrivals=images, instrument=instrument)
