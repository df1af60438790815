"""Per-exposure summaries kept in the store: saved after computing, read back by night.

:func:`save_summaries` stores what :func:`~openefd.analysis.summaries.summarize_exposures`
computed (replacing each exposure's earlier summaries as a whole);
:func:`stored_summaries` reads them back in the same two forms, without
touching telemetry. The automatic upkeep
(:mod:`openefd.analysis.summary_upkeep`) and ``openefd summarize --save``
write them; ``openefd summarize --stored`` and the Python API read them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from openefd.analysis.summaries import ExposureSummaries
from openefd.analysis.summaries_config import SummaryConfig
from openefd.errors import QueryError
from openefd.store.duckdb_store import Store
from openefd.store.exposures import exposures as registry_exposures
from openefd.store.summary_tables import read_summaries, replace_summaries, summary_tables_exist

__all__ = ["SUMMARISED_COLUMN", "config_digest", "save_summaries", "stored_summaries"]

SUMMARISED_COLUMN = "summarised_tai_ns"
_ID_COLUMNS = ("instrument", "exposure_id", "obs_id", "day_obs")


def config_digest(config: SummaryConfig) -> str:
    """A short digest naming a configuration (same configuration, same digest)."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


def save_summaries(
    store: Store,
    exposures: pd.DataFrame,
    result: ExposureSummaries,
    config: SummaryConfig,
    *,
    computed_tai_ns: int,
) -> int:
    """Store ``result`` (computed for ``exposures``, which has ``instrument``); exposures saved."""
    digest = config_digest(config)
    meta = result.columns
    columns = pa.Table.from_pandas(
        meta.astype({"elements": "int32", "flatten": "bool"}).rename(columns={"column": "name"}),
        preserve_index=False,
    )
    long = result.long
    element = long["element"].to_numpy(dtype=np.int64, na_value=-1).astype(np.int32)
    instruments = exposures["instrument"].astype(str).to_numpy()
    ids = exposures["exposure_id"].to_numpy(dtype=np.int64)
    if len(np.unique(ids)) != len(ids):
        raise QueryError(
            "save the summaries of one instrument at a time: exposure ids repeat in the frame"
        )
    for instrument in sorted(set(instruments)):
        mine = ids[instruments == instrument]
        rows = long["exposure_id"].isin(mine).to_numpy()
        values = pa.table(
            {
                "exposure_id": pa.array(long["exposure_id"].to_numpy()[rows], pa.int64()),
                "name": _names(long["column"], rows),
                "element": pa.array(element[rows], pa.int32()),
                "value": pa.array(long["value"].to_numpy(dtype=np.float64)[rows], pa.float64()),
            }
        )
        replace_summaries(
            store,
            instrument,
            mine,
            values,
            columns,
            config_digest=digest,
            computed_tai_ns=computed_tai_ns,
        )
    return len(ids)


def _names(column: pd.Series, rows: np.ndarray[Any, Any]) -> pa.Array:
    """The ``column`` names of the chosen rows as Arrow strings (categorical or plain)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = pa.array([str(c) for c in column.cat.categories], pa.string())
        codes = column.cat.codes.to_numpy()[rows]
        return names.take(pa.array(codes, mask=codes < 0))  # code -1: a missing name
    return pa.array(column.to_numpy()[rows], pa.string())


def stored_summaries(
    store: Store,
    *,
    day_obs: int | str | None = None,
    begin: Any = None,
    end: Any = None,
    instrument: str | None = None,
    exposure_ids: Iterable[int] | None = None,
) -> ExposureSummaries:
    """The stored summaries of the registry's exposures matching the filters.

    ``wide`` has the id columns, ``summarised_tai_ns`` (when each exposure was
    last summarised, TAI ns; ``<NA>`` for exposures never summarised, whose
    values are NaN) and one column per scalar summary and flattened element.
    Exposures summarised under different configurations get the union of
    their columns.
    """
    frame = registry_exposures(
        store,
        instrument=instrument,
        day_obs=day_obs,
        begin=begin,
        end=end,
        exposure_ids=exposure_ids,
    )
    con = store.cursor()
    pairs = pa.table(
        {
            "instrument": pa.array(frame["instrument"].astype(str).to_list(), pa.string()),
            "exposure_id": pa.array(frame["exposure_id"].to_numpy(dtype=np.int64), pa.int64()),
        }
    )
    if summary_tables_exist(con):
        values, runs, columns = read_summaries(con, pairs)
    else:
        values, runs, columns = pa.table({}), pa.table({}), pa.table({})
    return _assemble(frame, values.to_pandas(), runs.to_pandas(), columns.to_pandas())


def _assemble(
    frame: pd.DataFrame, values: pd.DataFrame, runs: pd.DataFrame, columns: pd.DataFrame
) -> ExposureSummaries:
    keys = ["instrument", "exposure_id"]
    meta = (
        columns.drop_duplicates("name", keep="first")
        .drop(columns=["config_digest", "position"])
        .rename(columns={"name": "column"})
        .reset_index(drop=True)
        if len(columns)
        else pd.DataFrame(columns=["column", "elements", "flatten"])
    )
    wide = frame[[c for c in _ID_COLUMNS if c in frame.columns]].copy()
    if len(runs):
        when = frame[keys].merge(runs, on=keys, how="left")["computed_tai_ns"]
        wide[SUMMARISED_COLUMN] = pd.Series(when.to_numpy(), dtype="Int64", index=wide.index)
    else:
        wide[SUMMARISED_COLUMN] = pd.Series(pd.NA, dtype="Int64", index=wide.index)
    labels: list[str] = []
    for name, elements, flatten in zip(
        meta["column"].tolist(), meta["elements"].tolist(), meta["flatten"].tolist(), strict=True
    ):
        if int(elements) == 0:
            labels.append(str(name))
        elif bool(flatten):
            labels += [f"{name}{i}" for i in range(int(elements))]
    if len(values):
        label = np.where(
            values["element"].to_numpy() < 0,
            values["name"].to_numpy(dtype=object),
            values["name"].to_numpy(dtype=object) + values["element"].astype(str).to_numpy(),
        )
        table = values.assign(label=label).pivot(index=keys, columns="label", values="value")
        table = table.reindex(columns=labels)
        table = table.reindex(pd.MultiIndex.from_frame(frame[keys].astype({"instrument": str})))
        for name in labels:
            wide[name] = table[name].to_numpy(dtype=np.float64)
    else:
        for name in labels:
            wide[name] = np.full(len(frame), np.nan)
    element = values["element"].to_numpy(dtype=np.int64) if len(values) else np.empty(0, int)
    long_element = pd.array(element, dtype="Int64")
    long_element[element < 0] = pd.NA
    long = pd.DataFrame(
        {
            "exposure_id": values["exposure_id"].to_numpy(dtype=np.int64)
            if len(values)
            else np.empty(0, np.int64),
            "column": values["name"].to_numpy(dtype=object) if len(values) else [],
            "element": long_element,
            "value": values["value"].to_numpy(dtype=np.float64) if len(values) else [],
        }
    )
    return ExposureSummaries(wide, long, meta)
