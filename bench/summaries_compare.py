"""Checking the summaries benchmark: do (a) and (b) agree, and how much did they summarise.

Pure functions over frames and arrays (no I/O), tested in
``tests/bench/test_summaries_bench.py``:

- :func:`results_from_long` turns openefd's key/value frame back into one
  array per configured column (exposures × elements), for given exposures;
- :func:`compare_results` compares two such answers value by value:
  equal when both are NaN, or when ``|a − b| ≤ rtol·|b| + atol·scale`` with
  ``scale`` the largest ``|b|`` of that column (so that a column of tiny
  values — a vacuum in Torr — is held to its own size, and a mean that
  cancels to ~0 is not failed on rounding);
- :func:`rows_config` makes, from a configuration, one that counts the rows
  in every exposure window of every topic entry (what was summarised);
- :func:`column_counts` counts configured columns and output values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from openefd.analysis.summaries_config import ColumnSpec, SummaryConfig, TopicSpec

__all__ = [
    "Comparison",
    "column_counts",
    "compare_results",
    "results_from_long",
    "rows_config",
]

FloatArray = npt.NDArray[np.float64]
Results = dict[str, FloatArray]

RTOL = 1e-6
ATOL_OF_SCALE = 1e-9


def results_from_long(
    long: pd.DataFrame, exposure_ids: npt.ArrayLike, widths: dict[str, int]
) -> Results:
    """Per column (``widths``: 0 for a scalar), the values of ``exposure_ids`` in that order.

    ``long`` has ``exposure_id``, ``column``, ``element`` (``<NA>`` for scalars)
    and ``value``, as :func:`openefd.analysis.summaries.summarize` returns it.
    A value missing from ``long`` is NaN.
    """
    ids = np.asarray(exposure_ids, dtype=np.int64)
    position = pd.Index(ids)
    out: Results = {
        name: np.full((len(ids), width) if width else len(ids), np.nan)
        for name, width in widths.items()
    }
    for name, group in long.groupby("column", sort=False):
        target = out.get(str(name))
        if target is None:
            continue
        rows = position.get_indexer(pd.Index(group["exposure_id"].to_numpy(dtype=np.int64)))
        keep = rows >= 0
        values = group["value"].to_numpy(dtype=np.float64)[keep]
        if target.ndim == 1:
            target[rows[keep]] = values
        else:
            element = group["element"].to_numpy(dtype=np.float64, na_value=-1.0)[keep]
            target[rows[keep], element.astype(np.int64)] = values
    return out


@dataclass(slots=True)
class Comparison:
    """Values compared, how many differ, and the worst ones."""

    values: int = 0
    both_nan: int = 0
    mismatches: int = 0
    nan_mismatches: int = 0  # NaN on one side only (counted in mismatches too)
    max_rel_diff: float = 0.0
    examples: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return self.mismatches == 0 and not self.missing_columns


def compare_results(
    a: Results, b: Results, rtol: float = RTOL, atol_of_scale: float = ATOL_OF_SCALE
) -> Comparison:
    """Compare answer ``a`` with reference ``b``, column by column; see the module docstring."""
    out = Comparison()
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            out.missing_columns.append(name)
            continue
        x, y = np.asarray(a[name], dtype=np.float64), np.asarray(b[name], dtype=np.float64)
        if x.shape != y.shape:
            out.missing_columns.append(f"{name} (shape {x.shape} vs {y.shape})")
            continue
        nan_x, nan_y = np.isnan(x), np.isnan(y)
        both = nan_x & nan_y
        one = nan_x ^ nan_y
        finite = ~(nan_x | nan_y)
        scale = float(np.max(np.abs(y[finite]))) if finite.any() else 0.0
        diff = np.abs(x[finite] - y[finite])
        bad = diff > rtol * np.abs(y[finite]) + atol_of_scale * scale
        out.values += x.size
        out.both_nan += int(both.sum())
        out.nan_mismatches += int(one.sum())
        out.mismatches += int(one.sum()) + int(bad.sum())
        if diff.size:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                rel = np.where(np.abs(y[finite]) > 0, diff / np.abs(y[finite]), diff)
            out.max_rel_diff = max(out.max_rel_diff, float(np.max(rel)))
        if (one.any() or bad.any()) and len(out.examples) < 5:
            where = np.flatnonzero(one) if one.any() else np.flatnonzero(finite)[bad]
            i = int(where[0])
            out.examples.append(f"{name}[{i}]: {x.flat[i]!r} vs {y.flat[i]!r}")
    return out


def rows_config(config: SummaryConfig) -> SummaryConfig:
    """A configuration counting the rows of every topic entry's windows (``rows_<n>``).

    Same topics, ``salIndex`` subsets and padding; one ``count`` of the entry's
    first field (its first element, for an array).
    """
    topics = []
    for n, spec in enumerate(config.topics):
        column = ColumnSpec(
            name=f"rows_{n}", field=spec.columns[0].field, function={"name": "count"}
        )
        topics.append(
            TopicSpec(
                topic=spec.topic,
                sal_index=spec.sal_index,
                padding_s=spec.padding_s,
                pre_padding_s=spec.pre_padding_s,
                post_padding_s=spec.post_padding_s,
                columns=[column],
            )
        )
    return SummaryConfig(topics=topics)


def column_counts(widths: dict[str, int]) -> tuple[int, int]:
    """Configured columns, and output values per exposure (an array's elements one by one)."""
    return len(widths), sum(max(w, 1) for w in widths.values())
