"""Loading exposures and image arrivals into the exposure registry.

Input is a DataFrame or Arrow table per kind, shaped as the butler and the
simulator (:mod:`openefd.sim.exposures`, :mod:`openefd.sim.arrivals`) give
them, or Parquet files of those (``openefd simulate``, ``openefd demo``).
Butler names are mapped to the registry's (``id`` → ``exposure_id``,
``exposure_time`` → ``exposure_time_s``, ``tracking_ra`` →
``tracking_ra_deg``, …; see :mod:`openefd.store.exposure_tables`).

Times are converted at this edge. For each time — ``timespan_begin``,
``timespan_end``, ``s3_arrival``, ``notification``, ``ingest`` — a column
``<time>_tai_ns`` (integer TAI ns) is taken as it is, and a column
``<time>_utc`` (timezone-aware datetimes, as S3's ``LastModified`` and the
butler's ``ingest_date`` are recorded) is converted to TAI, leap-second-
correct. Missing values (NaT, null) are stored as unknown. Naive datetimes
are rejected: their scale is unknown.

Arrivals:

- ``delivery`` numbers the deliveries of one image (0 the first). When the
  input has none, it is computed within the batch: first deliveries
  (``resend`` false, when there is such a column) before re-sends, each in
  order of S3 arrival. Load every delivery of an image in one batch, or give
  ``delivery``.
- ``instrument``: the column, else the ``instrument`` argument, else the one
  instrument of the exposures loaded with them.
- ``day_obs``: the column, else the exposure's (loaded with them or already
  stored), else ``exposure_id // 100000`` (the butler's rule for LSSTCam and
  LATISS: ``id = day_obs × 100000 + seq_num``).

Loading is idempotent (see :func:`openefd.store.exposure_tables.upsert`) and
both kinds are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from openefd.errors import ConfigurationError, RecordError, TimeValueError
from openefd.store.exposure_tables import ARRIVALS, EXPOSURES, UpsertCounts, upsert
from openefd.store.exposures import exposures as stored_exposures
from openefd.store.exposures import frame_from_arrow
from openefd.timescales import utc_to_tai_ns

if TYPE_CHECKING:
    from openefd.store.duckdb_store import Store

__all__ = [
    "LoadResult",
    "arrival_rows",
    "exposure_rows",
    "load_exposure_files",
    "load_exposures",
]

EXPOSURE_RENAMES = {
    "id": "exposure_id",
    "group_name": "group",
    "exposure_time": "exposure_time_s",
    "dark_time": "dark_time_s",
    "tracking_ra": "tracking_ra_deg",
    "tracking_dec": "tracking_dec_deg",
    "azimuth": "azimuth_deg",
    "zenith_angle": "zenith_angle_deg",
}
EXPOSURE_TIMES = ("timespan_begin", "timespan_end")
ARRIVAL_TIMES = ("s3_arrival", "notification", "ingest")
DAY_OBS_DIVISOR = 100_000


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one load did to each table."""

    exposures: UpsertCounts
    arrivals: UpsertCounts


def _frame(data: pd.DataFrame | pa.Table) -> pd.DataFrame:
    return frame_from_arrow(data) if isinstance(data, pa.Table) else data.reset_index(drop=True)


def _utc_to_tai(values: pd.Series, column: str) -> pd.Series:
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        raise TimeValueError(
            f"column {column!r} must hold timezone-aware datetimes (naive ones have no "
            "scale); localize them (tz_localize('UTC')) or give <time>_tai_ns"
        )
    stamps = pd.DatetimeIndex(values).tz_convert("UTC").as_unit("ns")
    unknown = np.asarray(stamps.isna(), dtype=bool)
    out = np.zeros(len(stamps), dtype=np.int64)
    out[~unknown] = utc_to_tai_ns(stamps.asi8[~unknown])
    return pd.Series(pd.arrays.IntegerArray(out, unknown), index=values.index)


def _times(frame: pd.DataFrame, bases: Iterable[str]) -> pd.DataFrame:
    """``<time>_utc`` columns replaced by ``<time>_tai_ns``."""
    for base in bases:
        utc, tai = f"{base}_utc", f"{base}_tai_ns"
        if utc not in frame.columns:
            continue
        if tai in frame.columns:
            raise RecordError(f"give {tai!r} or {utc!r}, not both")
        frame = frame.drop(columns=[utc]).assign(**{tai: _utc_to_tai(frame[utc], utc)})
    return frame


def _table(
    frame: pd.DataFrame, columns: dict[str, tuple[str, pa.DataType]], what: str
) -> pa.Table:
    unknown = [c for c in frame.columns if c not in columns]
    if unknown:
        raise RecordError(f"{what}: unknown columns {unknown}; the registry holds {list(columns)}")
    arrays = {}
    for name in frame.columns:
        try:
            arrays[name] = pa.array(frame[name], type=columns[name][1], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise RecordError(
                f"{what}: column {name!r} does not fit type {columns[name][1]}: {exc}"
            ) from exc
    return pa.table(arrays)


def exposure_rows(data: pd.DataFrame | pa.Table, *, instrument: str | None = None) -> pa.Table:
    """Exposures (butler or registry column names) as rows of the registry table."""
    frame = _times(_frame(data).rename(columns=EXPOSURE_RENAMES), EXPOSURE_TIMES)
    if "instrument" not in frame.columns:
        if instrument is None:
            raise RecordError("exposures have no instrument column: give instrument=")
        frame = frame.assign(instrument=instrument)
    return _table(frame, EXPOSURES.columns, "exposures")


def arrival_rows(
    data: pd.DataFrame | pa.Table,
    *,
    instrument: str | None = None,
    day_obs_of: pd.DataFrame | None = None,
) -> pa.Table:
    """Image arrivals as rows of the registry table (see the module for the rules).

    ``day_obs_of`` (columns instrument, exposure_id, day_obs) gives the
    day_obs of exposures known elsewhere; the others follow the butler's id rule.
    """
    frame = _times(_frame(data).rename(columns={"exposure": "exposure_id"}), ARRIVAL_TIMES)
    if "instrument" not in frame.columns:
        if instrument is None:
            raise RecordError("image arrivals have no instrument column: give instrument=")
        frame = frame.assign(instrument=instrument)
    for key in ("exposure_id", "detector"):
        if key not in frame.columns or frame[key].isna().any():
            raise RecordError(f"image arrivals: every row needs {key!r}")
    if "delivery" not in frame.columns:
        frame = _number_deliveries(frame)
    frame = frame.drop(columns=["resend"], errors="ignore")
    if "day_obs" not in frame.columns:
        ids = frame["exposure_id"].to_numpy(dtype=np.int64)
        day = ids // DAY_OBS_DIVISOR
        if day_obs_of is not None and len(day_obs_of):
            keys = pd.DataFrame({"instrument": frame["instrument"].to_numpy(), "exposure_id": ids})
            looked = keys.merge(day_obs_of, how="left", on=["instrument", "exposure_id"])
            found = looked["day_obs"]
            day = np.where(found.isna(), day, found.fillna(0).to_numpy(dtype=np.int64))
        frame = frame.assign(day_obs=day)
    return _table(frame, ARRIVALS.columns, "arrivals")


def _number_deliveries(frame: pd.DataFrame) -> pd.DataFrame:
    """``delivery`` 0, 1, … per image: first deliveries, then re-sends, by arrival."""
    order = ["instrument", "exposure_id", "detector"]
    if "resend" in frame.columns:
        frame = frame.assign(_resend=frame["resend"].fillna(False).astype(bool))
        order.append("_resend")
    order += [c for c in ("s3_arrival_tai_ns", "ingest_tai_ns") if c in frame.columns]
    frame = frame.sort_values(order, kind="stable", na_position="last")
    frame["delivery"] = frame.groupby(["instrument", "exposure_id", "detector"]).cumcount()
    return frame.drop(columns=["_resend"], errors="ignore").sort_index()


def load_exposures(
    store: Store,
    exposures: pd.DataFrame | pa.Table | None = None,
    arrivals: pd.DataFrame | pa.Table | None = None,
    *,
    instrument: str | None = None,
) -> LoadResult:
    """Store exposures and/or image arrivals (one transaction); what changed."""
    exposure_table = (
        exposure_rows(exposures, instrument=instrument) if exposures is not None else None
    )
    arrival_table = None
    if arrivals is not None:
        known: list[pd.DataFrame] = []
        inst = instrument
        if exposure_table is not None and exposure_table.num_rows:
            names = set(exposure_table["instrument"].to_pylist())
            inst = inst or (names.pop() if len(names) == 1 else None)
            if "day_obs" in exposure_table.column_names:
                known.append(_day_obs_frame(exposure_table))
        frame = _frame(arrivals)
        if "day_obs" not in frame.columns and "exposure_id" in frame.columns and not frame.empty:
            ids = pd.unique(frame["exposure_id"].dropna().to_numpy(dtype=np.int64))
            stored = stored_exposures(store, exposure_ids=[int(i) for i in ids])
            known.append(_day_obs_frame(pa.Table.from_pandas(stored, preserve_index=False)))
        lookup = (
            pd.concat(known, ignore_index=True).drop_duplicates(
                ["instrument", "exposure_id"], keep="first"
            )
            if known
            else None
        )
        arrival_table = arrival_rows(frame, instrument=inst, day_obs_of=lookup)
    with store.transaction():
        done_exposures = (
            upsert(store, EXPOSURES, exposure_table)
            if exposure_table is not None
            else UpsertCounts()
        )
        done_arrivals = (
            upsert(store, ARRIVALS, arrival_table) if arrival_table is not None else UpsertCounts()
        )
    return LoadResult(done_exposures, done_arrivals)


def _day_obs_frame(table: pa.Table) -> pd.DataFrame:
    """instrument, exposure_id, day_obs (int64) of the rows that have a day_obs."""
    frame = table.select(["instrument", "exposure_id", "day_obs"]).to_pandas()
    frame = frame.dropna(subset=["exposure_id", "day_obs"])
    typed: pd.DataFrame = frame.astype(
        {"instrument": object, "exposure_id": np.int64, "day_obs": np.int64}
    )
    return typed


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return frame_from_arrow(pq.read_table(path))
    except (OSError, pa.ArrowInvalid) as exc:
        raise ConfigurationError(f"cannot read {path} as Parquet: {exc}") from exc


def load_exposure_files(
    store: Store, paths: Iterable[Path | str], *, instrument: str | None = None
) -> LoadResult:
    """Load Parquet files of exposures and arrivals, or folders holding them.

    A file is exposures or arrivals by its name (``exposures.parquet``,
    ``arrivals.parquet``, any name containing one of those words); a folder
    contributes its ``exposures.parquet`` and ``arrivals.parquet``, or those
    of its ``images/`` sub-folder (as ``openefd simulate --out`` writes them).
    """
    found: dict[str, list[Path]] = {"exposures": [], "arrivals": []}
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            folder = path / "images" if (path / "images").is_dir() else path
            files = [folder / f"{kind}.parquet" for kind in found]
            present = [f for f in files if f.is_file()]
            if not present:
                raise ConfigurationError(
                    f"{path} holds no exposures.parquet or arrivals.parquet "
                    "(nor an images/ folder with them)"
                )
        elif path.is_file():
            present = [path]
        else:
            raise ConfigurationError(f"no such file or folder: {path}")
        for file in present:
            kinds = [k for k in found if k in file.name]
            if len(kinds) != 1:
                raise ConfigurationError(
                    f"{file}: cannot tell exposures from arrivals by its name; "
                    "name it exposures.parquet or arrivals.parquet"
                )
            found[kinds[0]].append(file)
    exposures = _concat([_read_parquet(p) for p in found["exposures"]])
    arrivals = _concat([_read_parquet(p) for p in found["arrivals"]])
    return load_exposures(store, exposures, arrivals, instrument=instrument)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    if not frames:
        return None
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
