"""The S3 importer against moto's S3 server on 127.0.0.1 (the S3 protocol peer; see conftest)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openefd.errors import ConfigurationError
from openefd.ingest.raw_keys import parse_raw_key
from openefd.ingest.s3_arrivals import import_s3_arrivals, list_raw_objects
from openefd.store.duckdb_store import Store
from openefd.store.exposures import image_arrivals
from openefd.timescales import tai_to_utc_ns, utc_to_tai_ns

from .conftest import DAY_OBS, Night


def test_parse_raw_key() -> None:
    key = "LSSTCam/20240501/MC_O_20240501_000123/MC_O_20240501_000123_R22_S11.fits"
    raw = parse_raw_key(key)
    assert raw is not None
    assert (raw.instrument, raw.day_obs, raw.obs_id) == (
        "LSSTCam",
        20240501,
        "MC_O_20240501_000123",
    )
    assert (raw.exposure_id, raw.detector, raw.detector_name) == (2024050100123, 94, "R22_S11")
    corner = parse_raw_key(key.replace("R22_S11", "R44_SW1"))
    assert corner is not None and corner.detector == 204


@pytest.mark.parametrize(
    "key",
    [
        "LSSTCam/20240501/README.json",
        "LSSTCam/20240501/MC_O_20240501_000123/MC_O_20240501_000123_R22_S11.json",
        "LSSTCam/20240501/MC_O_20240501_000123/MC_O_20240501_000124_R22_S11.fits",
        "LSSTCam/20240501/MC_O_20240501_000123/MC_O_20240501_000123_R00_S11.fits",
    ],
)
def test_other_keys_are_not_images(key: str) -> None:
    assert parse_raw_key(key) is None


@given(st.integers(1, 999_999), st.sampled_from(["R01_S00", "R22_S11", "R40_SG1"]))
def test_key_round_trip(seq: int, det: str) -> None:
    obs = f"MC_O_20241231_{seq:06d}"
    raw = parse_raw_key(f"LSSTCam/20241231/{obs}/{obs}_{det}.fits")
    assert raw is not None and raw.exposure_id == 20241231 * 100_000 + seq
    assert raw.detector_name == det


def _whole_second_utc_tai(tai_ns: Any) -> np.ndarray:
    utc = np.asarray(tai_to_utc_ns(np.asarray(tai_ns, dtype=np.int64)))
    return np.asarray(utc_to_tai_ns(utc - utc % 1_000_000_000))


def test_import_arrivals(store: Store, night: Night, raw_bucket: str, s3_client: Any) -> None:
    seen: list[int] = []
    done = import_s3_arrivals(
        store, raw_bucket, day_obs=DAY_OBS, client=s3_client, progress=seen.append
    )
    assert done.arrivals.new == night.images
    assert seen and seen[-1] == night.images + 1  # the README.json is listed, then left out
    got = image_arrivals(store, day_obs=DAY_OBS)
    want = night.arrivals.sort_values(["exposure_id", "detector"]).reset_index(drop=True)
    assert got["object_key"].tolist() == want["object_key"].tolist()
    assert got["delivery"].tolist() == [0] * night.images
    # moto (like AWS) lists LastModified in whole seconds: the planted time, truncated.
    expected = _whole_second_utc_tai(want["s3_arrival_tai_ns"])
    np.testing.assert_array_equal(got["s3_arrival_tai_ns"].to_numpy(dtype=np.int64), expected)
    assert got["ingest_tai_ns"].isna().all()
    again = import_s3_arrivals(store, raw_bucket, day_obs=DAY_OBS, client=s3_client)
    assert (again.arrivals.new, again.arrivals.changed) == (0, 0)
    assert again.arrivals.unchanged == night.images


def test_listing_paginates(night: Night, raw_bucket: str, s3_client: Any) -> None:
    listing = list_raw_objects(s3_client, raw_bucket, f"LSSTCam/{DAY_OBS}/")
    assert listing.listed == night.images + 1
    assert listing.requests == -(-listing.listed // 1000)
    assert listing.skipped_keys == [f"LSSTCam/{DAY_OBS}/README.json"]


def test_listing_and_head_times(night: Night, raw_bucket: str, s3_client: Any) -> None:
    """Against moto both carry whole seconds; the listing's XML can carry milliseconds."""
    key = night.arrivals["object_key"].iloc[0]
    listed = s3_client.list_objects_v2(Bucket=raw_bucket, Prefix=key)["Contents"][0]
    head = s3_client.head_object(Bucket=raw_bucket, Key=key)
    assert listed["LastModified"] == head["LastModified"]
    assert head["LastModified"].microsecond == 0


def test_listing_keeps_milliseconds() -> None:
    """A ListObjectsV2 body with milliseconds (as Ceph RGW writes it) keeps them."""
    import botocore.session
    from botocore.parsers import RestXMLParser

    model = botocore.session.get_session().get_service_model("s3")
    shape = model.operation_model("ListObjectsV2").output_shape
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'
        b"<Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
        b"<IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
        b"<LastModified>2024-05-02T00:01:02.345Z</LastModified><Size>1</Size></Contents>"
        b"</ListBucketResult>"
    )
    parsed = RestXMLParser().parse({"body": body, "headers": {}, "status_code": 200}, shape)
    when = parsed["Contents"][0]["LastModified"]
    assert when == dt.datetime(2024, 5, 2, 0, 1, 2, 345000, tzinfo=dt.UTC)


def test_missing_bucket(store: Store, s3_client: Any) -> None:
    with pytest.raises(ConfigurationError, match="bucket 'no-such-bucket' not found"):
        import_s3_arrivals(store, "no-such-bucket", day_obs=DAY_OBS, client=s3_client)


def test_no_credentials(store: Store, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from botocore.config import Config

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.session.Session().client(
        "s3", endpoint_url=s3_endpoint, config=Config(retries={"max_attempts": 1})
    )
    with pytest.raises(ConfigurationError, match="no S3 credentials"):
        import_s3_arrivals(store, "rubinobs-raw-lsstcam", day_obs=DAY_OBS, client=client)


def test_bad_prefix_template(store: Store, s3_client: Any) -> None:
    with pytest.raises(ConfigurationError, match="prefix template"):
        import_s3_arrivals(
            store, "b", day_obs=DAY_OBS, client=s3_client, prefix_template="{night}/"
        )
