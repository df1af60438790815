"""Generic correlation: every per-exposure summary column against every other, ranked
(DMTN-082 §4: "plot everything against everything").

Input is the one-row-per-exposure form of :func:`openefd.analysis.summaries.summarize`
(or any DataFrame of numbers, one row per exposure); :func:`correlate_store`
summarises a night or a time range first. The identifying columns
(``instrument``, ``exposure_id``, ``obs_id``, ``day_obs``) and text are not
correlated.

The rules:

- **Values.** NaN and ±inf are missing. A pair of columns is compared on the
  exposures where both have a value; ``n`` is how many.
- **Dropped columns.** A column with fewer than two values, or whose values
  are all equal (constant), says nothing: it is left out and listed in
  ``dropped`` with the reason.
- **Pairs.** Each unordered pair once (no column against itself). A pair
  with fewer than ``min_pairs`` shared values (default 10), or constant on
  the shared rows, is not ranked: a handful of points correlates by chance.
- **Same field.** ``x_topic``/``x_sal_index``/``x_field`` (and ``y_…``) say
  where each side comes from; ``field`` names an array element as the EFD
  flattens it (``temperatureItem3``). A pair of two summaries of the same
  field (``mount_azimuth_start`` vs ``mount_azimuth_end``) is marked
  ``same_field`` and left out unless ``exclude_same_field=False``: such
  pairs correlate by construction.
- **Ranking.** By ``|r|`` (largest first; equal to 12 decimals counts as
  equal), then the p-value (smallest), then ``n`` (largest), then the
  columns' order in the input.
- **Methods.** ``pearson``: the linear correlation coefficient, from masked
  sums (four matrix products over all columns, each column centred first).
  ``spearman``: Pearson's of the ranks (ties share their mean rank), the
  ranks taken over the pair's shared rows — as ``pandas.DataFrame.corr``
  does: columns with the same missing-value pattern form a group and each
  pair of groups is one NaN-free block. Past :data:`MAX_EXACT_GROUPS`
  patterns, each column is ranked once over all its own values (an
  approximation where the two columns miss different exposures).
- **p-value.** Two-sided, for "no correlation", from Fisher's transformation
  ``z = atanh(r)·√((n − 3)/c)`` with ``c = 1`` (Pearson) or 1.06 (Spearman,
  Fieller et al. 1957) and the normal distribution: good for ``n ≥ 10``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from openefd.analysis.summaries import ExposureSummaries, summarize
from openefd.analysis.summaries_config import SummaryConfig
from openefd.errors import QueryError, UnknownFieldError
from openefd.store.duckdb_store import Store
from openefd.timeinput import to_tai_ns

__all__ = [
    "DEFAULT_MIN_PAIRS",
    "MAX_EXACT_GROUPS",
    "CorrelationReport",
    "correlate",
    "correlate_store",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Method = Literal["pearson", "spearman"]

DEFAULT_MIN_PAIRS = 10
MAX_EXACT_GROUPS = 40
ID_COLUMNS = ("instrument", "exposure_id", "obs_id", "day_obs")
_SPEARMAN_C = 1.06
_CONSTANT_RTOL = 1e-12  # a variance this small against the sum of squares is zero
_R_DECIMALS = 12  # |r| equal to this many decimals ranks as equal
_ELEMENT_RE = re.compile(r"^(.*?)(\d+)$")
_PAIR_COLUMNS = [
    "rank",
    "x",
    "y",
    "r",
    "abs_r",
    "n",
    "p_value",
    "x_topic",
    "x_sal_index",
    "x_field",
    "x_function",
    "y_topic",
    "y_sal_index",
    "y_field",
    "y_function",
    "same_field",
]


@dataclass(frozen=True)
class CorrelationReport:
    """Pairs of per-exposure columns ranked by the strength of their correlation.

    - ``pairs``: one row per ranked pair — ``rank`` (1 = strongest), ``x``,
      ``y`` (column names), ``r``, ``abs_r``, ``n`` (exposures with both
      values), ``p_value``, ``x_topic``, ``x_sal_index``, ``x_field``,
      ``x_function`` (and ``y_…``; None for a column without summary
      metadata), ``same_field``;
    - ``dropped``: ``column``, ``reason`` for columns left out;
    - ``values``: the columns correlated, one row per exposure (float64, NaN
      missing) — what the scatter plots draw.

    See the module docstring for the rules.
    """

    pairs: pd.DataFrame
    dropped: pd.DataFrame
    values: pd.DataFrame
    method: Method
    min_pairs: int

    def png(self, top: int = 9) -> bytes:
        """Scatter plots of the ``top`` strongest pairs, in a grid (PNG)."""
        from openefd.analysis.investigations.corr_plot import pairs_png

        return pairs_png(self, top)


def _column_info(summaries: ExposureSummaries | None, names: list[str]) -> pd.DataFrame:
    """Per column: topic, sal_index, field (an element as ``field3``), function."""
    meta: dict[str, Any] = {}
    if summaries is not None and len(summaries.columns):
        meta = {str(row["column"]): row for _, row in summaries.columns.iterrows()}
    rows = []
    for name in names:
        row, element = meta.get(name), None
        if row is None and (m := _ELEMENT_RE.match(name)) and m.group(1) in meta:
            row, element = meta[m.group(1)], int(m.group(2))
        if row is None:
            rows.append({"topic": None, "sal_index": None, "field": name, "function": None})
            continue
        field = str(row["field"]) if element is None else f"{row['field']}{element}"
        sal = row.get("sal_index")
        rows.append(
            {
                "topic": row["topic"],
                "sal_index": None if sal is None or pd.isna(sal) else str(sal),
                "field": field,
                "function": row["function"],
            }
        )
    return pd.DataFrame(rows, index=names, columns=["topic", "sal_index", "field", "function"])


def _numeric(frame: pd.DataFrame, columns: Sequence[str] | None) -> tuple[pd.DataFrame, list[str]]:
    """The numeric candidate columns as float64 (inf → NaN), and the non-numeric left out."""
    if columns is not None:
        wanted = list(columns)
        if missing := [c for c in wanted if c not in frame.columns]:
            raise UnknownFieldError(f"no column {', '.join(map(repr, missing))} in the summaries")
    else:
        wanted = [c for c in frame.columns if c not in ID_COLUMNS]
    keep, text = [], []
    for c in wanted:
        dtype = frame[c].dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            keep.append(c)
        else:
            text.append(str(c))
    data = frame[keep].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    data[~np.isfinite(data)] = np.nan
    return pd.DataFrame(data, columns=[str(c) for c in keep], index=frame.index), text


def _usable(values: pd.DataFrame) -> tuple[list[str], list[tuple[str, str]]]:
    x = values.to_numpy()
    mask = np.isfinite(x)
    count = mask.sum(axis=0)
    span = np.where(mask, x, -np.inf).max(axis=0, initial=-np.inf) - np.where(mask, x, np.inf).min(
        axis=0, initial=np.inf
    )
    kept, dropped = [], []
    for name, c, s in zip(values.columns, count, span, strict=True):
        if c < 2:
            dropped.append((name, "no values" if c == 0 else "fewer than 2 values"))
        elif not s > 0:
            dropped.append((name, "constant"))
        else:
            kept.append(name)
    return kept, dropped


def _ranks(block: FloatArray) -> FloatArray:
    """Column-wise ranks (ties averaged) of a block; NaN stays NaN."""
    ranked = pd.DataFrame(block).rank(axis=0, method="average", na_option="keep")
    return np.asarray(ranked.to_numpy(dtype=np.float64), dtype=np.float64)


def _unit_columns(block: FloatArray) -> FloatArray:
    """Columns centred and scaled to unit length (NaN for a constant column)."""
    centred = block - block.mean(axis=0)
    norm = np.sqrt((centred * centred).sum(axis=0))
    varies = block.max(axis=0) > block.min(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(varies, centred / norm, np.nan), dtype=np.float64)


def _by_groups(
    x: FloatArray, mask: BoolArray, groups: list[npt.NDArray[np.intp]], spearman: bool
) -> FloatArray:
    """Exact pairwise-complete correlations, one NaN-free block per pair of mask groups."""
    k = x.shape[1]
    r = np.full((k, k), np.nan)
    for a, cols_a in enumerate(groups):
        for cols_b in groups[a:]:
            rows = mask[:, cols_a[0]] & mask[:, cols_b[0]]
            if rows.sum() < 2:
                continue
            same = cols_b is cols_a
            both = cols_a if same else np.concatenate([cols_a, cols_b])
            block = x[np.ix_(rows, both)]
            unit = _unit_columns(_ranks(block) if spearman else block)
            ua = unit[:, : len(cols_a)]
            sub = ua.T @ (ua if same else unit[:, len(cols_a) :])
            r[np.ix_(cols_a, cols_b)] = sub
            r[np.ix_(cols_b, cols_a)] = sub.T
    return r


def _masked(x: FloatArray, mask: BoolArray, spearman: bool) -> FloatArray:
    """Pairwise-complete correlations from masked sums (many missing-value patterns)."""
    data = _ranks(x) if spearman else x
    w = mask.astype(np.float64)
    centred = np.where(mask, data - np.nanmean(data, axis=0), 0.0)
    n = w.T @ w
    sx = centred.T @ w  # sx[i, j]: sum of column i over rows where j has a value too
    sxx = (centred * centred).T @ w
    sxy = centred.T @ centred
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var = sxx - sx * sx / n
        # Constant on the shared rows: what is left of the variance is rounding error.
        var[var <= _CONSTANT_RTOL * sxx] = np.nan
        r = cov / np.sqrt(var * var.T)
    return np.asarray(np.clip(r, -1.0, 1.0), dtype=np.float64)


def _pairwise(x: FloatArray, method: Method) -> tuple[FloatArray, FloatArray]:
    """Correlation and number of shared values of every pair of columns."""
    mask = np.isfinite(x)
    w = mask.astype(np.float64)
    n = w.T @ w
    if x.shape[1] < 2:
        return np.full(n.shape, np.nan), n
    if method == "pearson":
        return _masked(x, mask, spearman=False), n
    patterns: dict[bytes, list[int]] = {}
    for col, packed in enumerate(np.packbits(mask, axis=0).T):
        patterns.setdefault(packed.tobytes(), []).append(col)
    if len(patterns) > MAX_EXACT_GROUPS:
        return _masked(x, mask, spearman=True), n
    groups = [np.asarray(cols, dtype=np.intp) for cols in patterns.values()]
    return np.clip(_by_groups(x, mask, groups, spearman=True), -1.0, 1.0), n


def _p_values(r: FloatArray, n: FloatArray, method: Method) -> FloatArray:
    c = _SPEARMAN_C if method == "spearman" else 1.0
    rr = np.clip(np.abs(r), 0.0, 1.0 - 1e-16)
    z = np.arctanh(rr) * np.sqrt(np.maximum(n - 3.0, 0.0) / c)
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return np.asarray(erfc(z / math.sqrt(2.0)), dtype=np.float64)


def correlate(
    summaries: ExposureSummaries | pd.DataFrame,
    *,
    method: Method = "pearson",
    min_pairs: int = DEFAULT_MIN_PAIRS,
    exclude_same_field: bool = True,
    columns: Sequence[str] | None = None,
    top: int | None = None,
) -> CorrelationReport:
    """Every column of ``summaries`` against every other, ranked by ``|r|`` (module rules).

    ``summaries``: an :class:`ExposureSummaries` (its ``wide`` form; its
    ``columns`` give each column's topic and field) or a DataFrame, one row
    per exposure. ``columns``: only these. ``top``: keep the strongest ``top``
    pairs.
    """
    if method not in ("pearson", "spearman"):
        raise QueryError(f"unknown method {method!r}; use 'pearson' or 'spearman'")
    if isinstance(min_pairs, bool) or not isinstance(min_pairs, int) or min_pairs < 3:
        raise QueryError(f"min_pairs must be an integer ≥ 3, got {min_pairs!r}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise QueryError(f"top must be a positive integer, got {top!r}")
    frame = summaries.wide if isinstance(summaries, ExposureSummaries) else summaries
    if not isinstance(frame, pd.DataFrame):
        raise QueryError(f"give ExposureSummaries or a DataFrame, not {type(summaries).__name__}")
    if frame.columns.duplicated().any():
        raise QueryError("the summaries repeat a column name; give each column once")
    if len(frame) < min_pairs:
        raise QueryError(
            f"{len(frame)} exposure(s): correlations need at least min_pairs={min_pairs}; "
            "choose a longer range or lower min_pairs"
        )
    numeric, text = _numeric(frame, columns)
    kept, dropped = _usable(numeric)
    dropped += [(c, "not numeric") for c in text]
    values = numeric[kept]
    info = _column_info(summaries if isinstance(summaries, ExposureSummaries) else None, kept)
    x = values.to_numpy(dtype=np.float64)
    r, n = _pairwise(x, method)
    i, j = np.triu_indices(len(kept), k=1)
    r, n = r[i, j], n[i, j]
    same = _same_field(info, i, j)
    keep = np.isfinite(r) & (n >= min_pairs)
    if exclude_same_field:
        keep &= ~same
    i, j, r, n, same = i[keep], j[keep], r[keep], n[keep], same[keep]
    p = _p_values(r, n, method)
    names = np.asarray(kept, dtype=object)
    order = np.lexsort((j, i, -n, p, -np.round(np.abs(r), _R_DECIMALS)))
    if top is not None:
        order = order[:top]
    i, j, r, n, p, same = i[order], j[order], r[order], n[order], p[order], same[order]
    pairs = pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1, dtype=np.int64),
            "x": names[i],
            "y": names[j],
            "r": r,
            "abs_r": np.abs(r),
            "n": n.astype(np.int64),
            "p_value": p,
        }
    )
    for side, pos in (("x", i), ("y", j)):
        for col in ("topic", "sal_index", "field", "function"):
            pairs[f"{side}_{col}"] = info[col].to_numpy(dtype=object)[pos]
    pairs["same_field"] = same
    return CorrelationReport(
        pairs=pairs[_PAIR_COLUMNS],
        dropped=pd.DataFrame(dropped, columns=["column", "reason"]),
        values=values,
        method=method,
        min_pairs=min_pairs,
    )


def _same_field(info: pd.DataFrame, i: npt.NDArray[np.intp], j: npt.NDArray[np.intp]) -> BoolArray:
    """Whether both sides summarise the same field (topic, salIndex, field and element)."""
    codes: dict[tuple[object, ...], int] = {}
    key = np.empty(len(info), dtype=np.int64)
    for pos, (topic, sal, field) in enumerate(
        zip(info["topic"], info["sal_index"], info["field"], strict=True)
    ):
        key[pos] = -1 - pos if topic is None else codes.setdefault((topic, sal, field), pos)
    return np.asarray(key[i] == key[j], dtype=np.bool_)


def correlate_store(
    store: Store,
    config: SummaryConfig | None = None,
    *,
    day_obs: int | str | None = None,
    begin: Any = None,
    end: Any = None,
    instrument: str | None = None,
    **options: Any,
) -> CorrelationReport:
    """:func:`correlate` the summaries (``config``: the shipped default when None) of the
    exposures of ``day_obs`` and/or overlapping ``[begin, end)``; ``options`` as for it."""
    if day_obs is None and (begin is None or end is None):
        raise QueryError("give day_obs, or begin and end, to choose the exposures")
    if (
        begin is not None
        and end is not None
        and to_tai_ns(begin, "begin") >= to_tai_ns(end, "end")
    ):
        raise QueryError(f"begin must be before end; got an empty range ({begin!r} → {end!r})")
    result = summarize(store, config, day_obs=day_obs, begin=begin, end=end, instrument=instrument)
    if result.wide.empty:
        where = f"day_obs {day_obs}" if day_obs is not None else f"[{begin}, {end})"
        raise QueryError(
            f"the exposure registry holds no exposure for {where}; "
            "'openefd exposures' lists the nights it holds"
        )
    return correlate(result, **options)
