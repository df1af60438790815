"""The frames of the latency report, built from registry-shaped exposures and arrivals.

Pure functions (no store, no options object) used by :mod:`openefd.analysis.latency`,
which documents what each frame means. Times are TAI ns (nullable ``Int64``),
latencies seconds computed from integer nanosecond differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from openefd.analysis.distributions import describe
from openefd.timescales import NS_PER_S, tai_to_utc_ns

__all__ = [
    "IMAGE_COLUMNS",
    "SUMMARY_METRICS",
    "cadence_frame",
    "counts",
    "detector_filter",
    "detector_names",
    "detector_stats",
    "expected_detectors",
    "image_frame",
    "instruments",
    "late_resends",
    "missing_images",
    "orphan_images",
    "per_exposure_frame",
    "summary_frame",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
_IMAGE = ["exposure_id", "detector"]


def instruments(exposures: pd.DataFrame, arrivals: pd.DataFrame) -> list[str]:
    """The instruments named in either frame, sorted."""
    found = {str(i) for i in exposures["instrument"].dropna().unique()}
    found |= {str(i) for i in arrivals["instrument"].dropna().unique()}
    return sorted(found)


def _ns(values: pd.Series) -> tuple[I64, B]:
    """Integer ns and a known-mask from a nullable integer column."""
    known = np.asarray(values.notna(), dtype=bool)
    return values.to_numpy(dtype=np.int64, na_value=0), known


def _seconds(later: I64, earlier: I64, known: B) -> F64:
    """``later − earlier`` in seconds from exact ns differences; NaN where not ``known``."""
    out = (later - earlier).astype(np.float64) / NS_PER_S
    out[~known] = np.nan
    return out


def _utc(tai_ns: pd.Series) -> pd.Series:
    """Timezone-aware UTC datetimes for nullable TAI ns (NaT where unknown)."""
    ns, known = _ns(tai_ns)
    utc = tai_to_utc_ns(ns[known]) if known.any() else np.empty(0, dtype=np.int64)
    out = np.full(len(ns), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[known] = utc.view("datetime64[ns]")
    return pd.Series(pd.DatetimeIndex(out).tz_localize("UTC"), index=tai_ns.index)


def _labels(frame: pd.DataFrame) -> pd.Series:
    """The detector's full name where known, else its id."""
    ids = frame["detector"].astype("Int64").astype(str)
    return frame["detector_name"].astype(object).where(frame["detector_name"].notna(), ids)


def detector_names(arrivals: pd.DataFrame) -> dict[int, str]:
    """Detector id → full name, from the arrivals that carry one."""
    named = arrivals.loc[arrivals["detector_name"].notna(), ["detector", "detector_name"]]
    named = named.drop_duplicates("detector")
    return dict(
        zip(named["detector"].astype(int), named["detector_name"].astype(str), strict=True)
    )


def detector_filter(
    detectors: Sequence[int | str] | None, names: dict[int, str]
) -> list[int] | None:
    """Ids of ``detectors`` (ids, digit strings or full names; unknown names dropped)."""
    if detectors is None:
        return None
    by_name = {name: det for det, name in names.items()}
    wanted: list[int] = []
    for det in detectors:
        if isinstance(det, str) and not det.strip().isdigit():
            if det in by_name:
                wanted.append(by_name[det])
        else:
            wanted.append(int(det))
    return wanted


IMAGE_COLUMNS = [
    "exposure_id",
    "obs_id",
    "seq_num",
    "observation_type",
    "detector",
    "detector_name",
    "label",
    "object_key",
    "deliveries",
    "shutter_close_tai_ns",
    "s3_arrival_tai_ns",
    "notification_tai_ns",
    "ingest_tai_ns",
    "transfer_s",
    "ingest_s",
    "s3_to_ingest_s",
    "transfer_status",
    "ingest_status",
]


def image_frame(rows: pd.DataFrame, exposures: pd.DataFrame) -> pd.DataFrame:
    """First delivery of every image of ``exposures``, with latencies and statuses."""
    first = ~rows.duplicated(_IMAGE, keep="first")
    deliveries = rows.groupby(_IMAGE, sort=False).size().to_numpy()
    img = rows[first].reset_index(drop=True)
    by_id = exposures.set_index("exposure_id")
    ids = img["exposure_id"]
    close = by_id["timespan_end_tai_ns"].reindex(ids).reset_index(drop=True)
    close_ns, has_close = _ns(close)
    s3_ns, has_s3 = _ns(img["s3_arrival_tai_ns"])
    ingest_ns, has_ingest = _ns(img["ingest_tai_ns"])
    s3_early = has_close & has_s3 & (s3_ns < close_ns)
    s3_late = has_s3 & has_ingest & (s3_ns > ingest_ns)
    ingest_early = has_close & has_ingest & (ingest_ns < close_ns)
    transfer_status = np.select(
        [~has_close, ~has_s3, s3_early, s3_late],
        ["no_shutter_close", "no_s3_arrival", "before_shutter_close", "after_ingest"],
        "ok",
    )
    ingest_status = np.select(
        [~has_close, ~has_ingest, ingest_early],
        ["no_shutter_close", "no_ingest", "before_shutter_close"],
        "ok",
    )
    transfer_ok = transfer_status == "ok"
    ingest_ok = ingest_status == "ok"
    out = pd.DataFrame(
        {
            "exposure_id": ids.astype("Int64"),
            "obs_id": by_id["obs_id"].reindex(ids).to_numpy(),
            "seq_num": by_id["seq_num"].reindex(ids).to_numpy(),
            "observation_type": by_id["observation_type"].reindex(ids).to_numpy(),
            "detector": img["detector"].astype("Int64"),
            "detector_name": img["detector_name"],
            "label": _labels(img),
            "object_key": img["object_key"],
            "deliveries": deliveries.astype(np.int64),
            "shutter_close_tai_ns": close.astype("Int64"),
            "s3_arrival_tai_ns": img["s3_arrival_tai_ns"],
            "notification_tai_ns": img["notification_tai_ns"],
            "ingest_tai_ns": img["ingest_tai_ns"],
            "transfer_s": _seconds(s3_ns, close_ns, transfer_ok),
            "ingest_s": _seconds(ingest_ns, close_ns, ingest_ok),
            "s3_to_ingest_s": _seconds(ingest_ns, s3_ns, transfer_ok & ingest_ok),
            "transfer_status": pd.Categorical(transfer_status),
            "ingest_status": pd.Categorical(ingest_status),
        },
        columns=IMAGE_COLUMNS,
    )
    return out


def detector_stats(images: pd.DataFrame, margin_s: float) -> pd.DataFrame:
    """Per detector: images, median latencies, median excess over its exposures' medians."""
    columns = [
        "detector",
        "label",
        "images",
        "median_transfer_s",
        "median_ingest_s",
        "median_transfer_excess_s",
        "median_ingest_excess_s",
        "late_fraction",
        "slow",
    ]
    if images.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).astype(
            {"images": np.int64, "slow": bool}
        )
    by_exposure = images.groupby("exposure_id", sort=False)
    excess = pd.DataFrame(
        {
            "detector": images["detector"],
            "label": images["label"],
            "transfer_s": images["transfer_s"],
            "ingest_s": images["ingest_s"],
            "transfer_excess_s": images["transfer_s"]
            - by_exposure["transfer_s"].transform("median"),
            "ingest_excess_s": images["ingest_s"] - by_exposure["ingest_s"].transform("median"),
        }
    )
    excess["late"] = (excess["transfer_excess_s"] > margin_s).astype(np.float64)
    excess.loc[excess["transfer_excess_s"].isna(), "late"] = np.nan
    g = excess.groupby("detector", sort=True)
    table = pd.DataFrame(
        {
            "label": g["label"].first(),
            "images": g.size(),
            "median_transfer_s": g["transfer_s"].median(),
            "median_ingest_s": g["ingest_s"].median(),
            "median_transfer_excess_s": g["transfer_excess_s"].median(),
            "median_ingest_excess_s": g["ingest_excess_s"].median(),
            "late_fraction": g["late"].mean(),
        }
    )
    table["slow"] = (table["median_transfer_excess_s"] > margin_s) | (
        table["median_ingest_excess_s"] > margin_s
    )
    table = table.reset_index()
    table["detector"] = table["detector"].astype("Int64")
    return table[columns]


def expected_detectors(
    given: Sequence[int] | None, images: pd.DataFrame, wanted: list[int] | None
) -> I64:
    """``given``, else every detector in ``images``; only those ``wanted`` (when given)."""
    if given is not None:
        expected = np.unique(np.asarray(given, dtype=np.int64))
    else:
        expected = np.unique(images["detector"].to_numpy(dtype=np.int64))
    if wanted is not None:
        expected = expected[np.isin(expected, np.asarray(wanted, dtype=np.int64))]
    return expected


def missing_images(
    images: pd.DataFrame, with_images: I64, expected: I64, names: dict[int, str]
) -> pd.DataFrame:
    """(exposure, detector) pairs expected but absent, for exposures with some image."""
    n_det = len(expected)
    grid_exp = np.repeat(with_images, n_det)
    grid_det = np.tile(expected, len(with_images))
    present = images[["exposure_id", "detector"]].to_numpy(dtype=np.int64)
    if len(grid_exp) and len(present):
        exp_idx = np.searchsorted(with_images, present[:, 0])
        det_idx = np.searchsorted(expected, present[:, 1])
        inside = (det_idx < n_det) & (expected[np.minimum(det_idx, n_det - 1)] == present[:, 1])
        taken = np.zeros(len(grid_exp), dtype=bool)
        taken[exp_idx[inside] * n_det + det_idx[inside]] = True
        grid_exp, grid_det = grid_exp[~taken], grid_det[~taken]
    return pd.DataFrame(
        {
            "exposure_id": pd.array(grid_exp, dtype="Int64"),
            "detector": pd.array(grid_det, dtype="Int64"),
            "label": [names.get(int(d), str(int(d))) for d in grid_det],
        }
    )


def late_resends(rows: pd.DataFrame, images: pd.DataFrame) -> pd.DataFrame:
    """Every delivery after an image's first, with how late it came."""
    later = rows[rows.duplicated(_IMAGE, keep="first")]
    first = images[[*_IMAGE, "obs_id", "label", "shutter_close_tai_ns", "s3_arrival_tai_ns"]]
    first = first.rename(columns={"s3_arrival_tai_ns": "first_s3_arrival_tai_ns"})
    merged = later[[*_IMAGE, "delivery", "object_key", "s3_arrival_tai_ns", "ingest_tai_ns"]]
    merged = merged.astype({"exposure_id": "Int64", "detector": "Int64"}).merge(
        first, on=_IMAGE, how="left"
    )
    close, has_close = _ns(merged["shutter_close_tai_ns"])
    s3, has_s3 = _ns(merged["s3_arrival_tai_ns"])
    s3_first, has_first = _ns(merged["first_s3_arrival_tai_ns"])
    merged["resend_latency_s"] = _seconds(s3, close, has_close & has_s3)
    merged["after_first_s"] = _seconds(s3, s3_first, has_first & has_s3)
    order = [
        "exposure_id",
        "obs_id",
        "detector",
        "label",
        "delivery",
        "object_key",
        "shutter_close_tai_ns",
        "first_s3_arrival_tai_ns",
        "s3_arrival_tai_ns",
        "ingest_tai_ns",
        "resend_latency_s",
        "after_first_s",
    ]
    return merged[order].reset_index(drop=True)


def orphan_images(orphans: pd.DataFrame) -> pd.DataFrame:
    """One row per image whose exposure has no record: first delivery, deliveries made."""
    first = ~orphans.duplicated(_IMAGE, keep="first")
    deliveries = orphans.groupby(_IMAGE, sort=False).size().to_numpy()
    img = orphans[first].reset_index(drop=True)
    return pd.DataFrame(
        {
            "exposure_id": img["exposure_id"].astype("Int64"),
            "detector": img["detector"].astype("Int64"),
            "label": _labels(img),
            "object_key": img["object_key"],
            "deliveries": deliveries.astype(np.int64),
            "s3_arrival_tai_ns": img["s3_arrival_tai_ns"],
            "ingest_tai_ns": img["ingest_tai_ns"],
        }
    )


def _extremes(images: pd.DataFrame, metric: str, index: pd.Index) -> pd.DataFrame:
    """Fastest and slowest image per exposure (ties: lowest detector id) and the median."""
    name = metric.removesuffix("_s")
    valid = images.loc[images[metric].notna(), ["exposure_id", "detector", "label", metric]]
    lo = valid.sort_values(["exposure_id", metric, "detector"], kind="stable")
    hi = valid.sort_values(
        ["exposure_id", metric, "detector"], ascending=[True, False, True], kind="stable"
    )
    lo = lo.drop_duplicates("exposure_id").set_index("exposure_id")
    hi = hi.drop_duplicates("exposure_id").set_index("exposure_id")
    median = valid.groupby("exposure_id")[metric].median()
    return pd.DataFrame(
        {
            f"{name}_min_s": lo[metric].reindex(index).to_numpy(dtype=np.float64),
            f"{name}_min_detector": lo["label"].reindex(index).to_numpy(dtype=object),
            f"{name}_median_s": median.reindex(index).to_numpy(dtype=np.float64),
            f"{name}_max_s": hi[metric].reindex(index).to_numpy(dtype=np.float64),
            f"{name}_max_detector": hi["label"].reindex(index).to_numpy(dtype=object),
        }
    )


def per_exposure_frame(
    exposures: pd.DataFrame,
    images: pd.DataFrame,
    missing: pd.DataFrame,
    resends: pd.DataFrame,
) -> pd.DataFrame:
    """One row per exposure: what it is, its images, and its fastest/median/slowest image."""
    ids = pd.Index(exposures["exposure_id"].astype("Int64"), name="exposure_id")
    counts = pd.DataFrame(
        {
            "images": images.groupby("exposure_id").size().reindex(ids, fill_value=0),
            "missing_images": missing.groupby("exposure_id").size().reindex(ids, fill_value=0),
            "resends": resends.groupby("exposure_id").size().reindex(ids, fill_value=0),
        }
    ).astype(np.int64)
    base = pd.DataFrame(
        {
            "exposure_id": ids,
            "obs_id": exposures["obs_id"].to_numpy(),
            "seq_num": exposures["seq_num"].astype("Int64").to_numpy(),
            "observation_type": exposures["observation_type"].to_numpy(),
            "exposure_time_s": exposures["exposure_time_s"].to_numpy(dtype=np.float64),
            "shutter_close_tai_ns": exposures["timespan_end_tai_ns"].astype("Int64").to_numpy(),
            "shutter_close_utc": _utc(exposures["timespan_end_tai_ns"]).to_numpy(),
            "images": counts["images"].to_numpy(),
            "missing_images": counts["missing_images"].to_numpy(),
            "resends": counts["resends"].to_numpy(),
        }
    )
    parts = [base, _extremes(images, "transfer_s", ids), _extremes(images, "ingest_s", ids)]
    return pd.concat(parts, axis=1)


def cadence_frame(exposures: pd.DataFrame, target_s: float) -> pd.DataFrame:
    """Shutter open to shutter open, and dead time, of consecutive exposures."""
    timed = exposures[
        exposures["timespan_begin_tai_ns"].notna() & exposures["timespan_end_tai_ns"].notna()
    ].sort_values("timespan_begin_tai_ns", kind="stable")
    begin, _ = _ns(timed["timespan_begin_tai_ns"])
    end, _ = _ns(timed["timespan_end_tai_ns"])
    ids = timed["exposure_id"].to_numpy(dtype=np.int64)
    interval = np.diff(begin).astype(np.float64) / NS_PER_S
    current = timed.iloc[1:]
    return pd.DataFrame(
        {
            "exposure_id": pd.array(ids[1:], dtype="Int64"),
            "previous_exposure_id": pd.array(ids[:-1], dtype="Int64"),
            "observation_type": current["observation_type"].to_numpy(),
            "shutter_open_tai_ns": pd.array(begin[1:], dtype="Int64"),
            "shutter_open_utc": _utc(current["timespan_begin_tai_ns"]).to_numpy(),
            "interval_s": interval,
            "dead_time_s": (begin[1:] - end[:-1]).astype(np.float64) / NS_PER_S,
            "within_target": interval <= target_s,
        }
    )


SUMMARY_METRICS = {
    "transfer_s": "per image: shutter close → S3 arrival",
    "ingest_s": "per image: shutter close → butler ingest",
    "s3_to_ingest_s": "per image: S3 arrival → butler ingest",
    "exposure_transfer_min_s": "per exposure: fastest image to S3",
    "exposure_transfer_max_s": "per exposure: slowest image to S3 (whole exposure in S3)",
    "exposure_ingest_min_s": "per exposure: fastest image ingested",
    "exposure_ingest_max_s": "per exposure: slowest image ingested (whole exposure ingested)",
    "cadence_interval_s": "between exposures: shutter open → next shutter open",
}


def summary_frame(
    images: pd.DataFrame,
    per_exposure: pd.DataFrame,
    cadence: pd.DataFrame,
    *,
    percentiles: Sequence[float],
    transfer_target_s: float,
    cadence_target_s: float,
    cap_s: float,
) -> pd.DataFrame:
    """One row per metric of :data:`SUMMARY_METRICS`: :func:`describe` of its values."""
    latency_targets: dict[str, float | None] = {
        "within_transfer_target": transfer_target_s,
        "within_cadence_target": cadence_target_s,
    }
    cadence_targets: dict[str, float | None] = {
        "within_transfer_target": None,
        "within_cadence_target": cadence_target_s,
    }
    sources: dict[str, tuple[Any, dict[str, float | None]]] = {
        "transfer_s": (images["transfer_s"], latency_targets),
        "ingest_s": (images["ingest_s"], latency_targets),
        "s3_to_ingest_s": (images["s3_to_ingest_s"], latency_targets),
        "exposure_transfer_min_s": (per_exposure["transfer_min_s"], latency_targets),
        "exposure_transfer_max_s": (per_exposure["transfer_max_s"], latency_targets),
        "exposure_ingest_min_s": (per_exposure["ingest_min_s"], latency_targets),
        "exposure_ingest_max_s": (per_exposure["ingest_max_s"], latency_targets),
        "cadence_interval_s": (cadence["interval_s"], cadence_targets),
    }
    rows = {
        name: describe(values, percentiles, targets, cap_s)
        for name, (values, targets) in sources.items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    table["count"] = table["count"].astype(np.int64)
    table["over_cap"] = table["over_cap"].astype(np.int64)
    table.insert(0, "description", [SUMMARY_METRICS[m] for m in table.index])
    return table


def counts(
    exposures: pd.DataFrame,
    images: pd.DataFrame,
    rows: pd.DataFrame,
    with_images: I64,
    expected: I64,
    missing: pd.DataFrame,
    resends: pd.DataFrame,
    orphans: pd.DataFrame,
    cap_s: float,
) -> dict[str, int]:
    """Counts of everything selected, found, missing and left out of the statistics."""
    transfer = images["transfer_status"].value_counts()
    ingest = images["ingest_status"].value_counts()

    def status(counts: pd.Series, key: str) -> int:
        return int(counts.get(key, 0))

    n_with = int(np.isin(exposures["exposure_id"].to_numpy(dtype=np.int64), with_images).sum())
    return {
        "exposures": len(exposures),
        "exposures_with_images": n_with,
        "exposures_without_images": len(exposures) - n_with,
        "exposures_without_shutter_close": int(exposures["timespan_end_tai_ns"].isna().sum()),
        "expected_detectors": len(expected),
        "images_expected": n_with * len(expected),
        "images": len(images),
        "missing_images": len(missing),
        "deliveries": len(rows),
        "resends": len(resends),
        "transfer_measured": status(transfer, "ok"),
        "ingest_measured": status(ingest, "ok"),
        "images_without_shutter_close": status(transfer, "no_shutter_close"),
        "images_without_s3_arrival": status(transfer, "no_s3_arrival"),
        "images_without_ingest": status(ingest, "no_ingest"),
        "s3_arrival_before_shutter_close": status(transfer, "before_shutter_close"),
        "s3_arrival_after_ingest": status(transfer, "after_ingest"),
        "ingest_before_shutter_close": status(ingest, "before_shutter_close"),
        "transfer_over_cap": int((images["transfer_s"] > cap_s).sum()),
        "ingest_over_cap": int((images["ingest_s"] > cap_s).sum()),
        "images_without_exposure": len(orphans),
        "exposure_ids_without_record": int(orphans["exposure_id"].nunique()),
    }
