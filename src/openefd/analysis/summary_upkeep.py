"""Per-exposure summaries kept up to date as data arrives: seconds after an exposure ends.

A :class:`SummaryUpkeep` attached to a writable store listens to its writes:

- an exposure recorded (or re-recorded) with both ends of its timespan is
  summarised once the transaction that recorded it commits;
- rows of a summarised topic that land inside an already recorded
  exposure's reach — its padded window, or up to the longest look-back of
  the topic's as-of functions before it — mark that exposure for
  recomputation (late or out-of-order data, telemetry loaded after the
  exposures).

After every commit the marked exposures are summarised again from the raw
rows (one query per configured topic for all of them,
:func:`~openefd.analysis.summaries.summarize_exposures`) and their stored
summaries replaced as a whole (:mod:`openefd.analysis.summaries_stored`), in
a transaction of their own. So the stored summary of an exposure always
equals a from-scratch computation over the rows committed so far.

Configured topics the store does not define are left out (they hold no
rows), and so are configured fields a topic lacks. A failure to summarise
is logged and kept in :attr:`errors`; it never fails the write that
triggered it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from openefd.analysis.summaries import summarize_exposures
from openefd.analysis.summaries_config import AsOf, MostRecent, SummaryConfig, load_config
from openefd.analysis.summaries_stored import save_summaries
from openefd.errors import OpenEfdError
from openefd.schema.model import SAL_INDEX_FIELD, FieldType
from openefd.store.columns import TIME_COLUMN
from openefd.store.duckdb_store import Store
from openefd.store.exposure_tables import EXPOSURES, table_exists
from openefd.store.exposures import exposures as registry_exposures
from openefd.timescales import now_tai_ns

__all__ = ["SummaryUpkeep", "attach_summaries"]

log = logging.getLogger(__name__)

_NS = 1_000_000_000
_GAP_NS = 600 * _NS  # rows further apart than this mark separate time ranges
_MAX_RANGES = 64  # per topic and commit; more are merged into coarser ranges


@dataclass(frozen=True, slots=True)
class _Reach:
    """How far from an exposure's timespan a topic's rows can change its summaries."""

    before_ns: int  # pre-padding or look-back before the begin
    after_ns: int  # post-padding after the end (the end itself counts: as-of at end)


def _reach(config: SummaryConfig) -> dict[str, _Reach]:
    reach: dict[str, _Reach] = {}
    for spec in config.topics:
        backs = [
            c.function.lookback_s
            for c in spec.columns
            if isinstance(c.function, AsOf | MostRecent)
        ]
        before = max(spec.pre_ns, round(max(backs, default=0.0) * _NS))
        old = reach.get(spec.topic, _Reach(0, 0))
        reach[spec.topic] = _Reach(max(old.before_ns, before), max(old.after_ns, spec.post_ns))
    return reach


def _spans(times: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` spans of ``times``, split where rows are far apart."""
    if len(times) == 0:
        return []
    t = np.sort(times)
    cut = np.flatnonzero(np.diff(t) > _GAP_NS)
    starts = np.concatenate([[0], cut + 1])
    ends = np.concatenate([cut, [len(t) - 1]])
    return list(zip(t[starts].tolist(), t[ends].tolist(), strict=True))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans = sorted(spans)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a <= out[-1][1] + _GAP_NS:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    while len(out) > _MAX_RANGES:  # coarser: join the closest neighbours pairwise
        out = [(out[i][0], out[min(i + 1, len(out) - 1)][1]) for i in range(0, len(out), 2)]
    return out


class SummaryUpkeep:
    """Stored per-exposure summaries of one writable store, kept up to date; see the module."""

    def __init__(self, store: Store, config: SummaryConfig | None = None) -> None:
        if store.read_only:
            raise OpenEfdError("summaries are kept only in a store opened for writing")
        self._store = store
        self.config = (
            config if config is not None else load_config(store.settings.summaries_config)
        )
        self._reach = _reach(self.config)
        self._active: tuple[int, SummaryConfig] | None = None
        self._tx_spans: dict[str, list[tuple[int, int]]] = {}
        self._tx_exposures: list[pa.Table] = []
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._exposures: list[pa.Table] = []
        self._busy = False
        self.runs = 0  # recomputations done
        self.summarised = 0  # exposures summarised, counting repeats
        self.busy_s = 0.0  # wall time spent summarising
        self.errors: list[str] = []
        store.insert_listeners.append(self._touched)
        store.record_listeners.append(self._recorded)
        store.commit_listeners.append(self._committed)
        store.rollback_listeners.append(self._rolled_back)

    def detach(self) -> None:
        """Stop listening to the store (what is pending is dropped)."""
        store = self._store
        store.insert_listeners.remove(self._touched)
        store.record_listeners.remove(self._recorded)
        store.commit_listeners.remove(self._committed)
        store.rollback_listeners.remove(self._rolled_back)

    # -- what changed -----------------------------------------------------------
    def _touched(self, topic: str, rows: pa.Table) -> None:
        if topic in self._reach and rows.num_rows:
            times = np.asarray(rows[TIME_COLUMN].to_numpy(), dtype=np.int64)
            self._tx_spans.setdefault(topic, []).extend(_spans(times))

    def _recorded(self, table: str, rows: pa.Table) -> None:
        if table == EXPOSURES.name and rows.num_rows:
            self._tx_exposures.append(rows.select(["instrument", "exposure_id"]))

    def _rolled_back(self) -> None:
        self._tx_spans.clear()
        self._tx_exposures.clear()

    def _committed(self) -> None:
        for topic, spans in self._tx_spans.items():
            self._spans.setdefault(topic, []).extend(spans)
        self._exposures.extend(self._tx_exposures)
        self._rolled_back()
        if not self._busy and (self._spans or self._exposures):
            self.run_pending()

    # -- recomputing ------------------------------------------------------------
    def run_pending(self) -> int:
        """Summarise the exposures marked since the last run; how many were summarised."""
        self._busy = True
        started = time.perf_counter()
        try:
            frame = self._affected()
            self._spans.clear()
            self._exposures.clear()
            if frame.empty:
                return 0
            config = self._active_config()
            if not config.topics:
                return 0
            now = now_tai_ns()
            for _, group in frame.groupby("instrument", sort=True):
                group = group.reset_index(drop=True)
                result = summarize_exposures(self._store, group, config)
                save_summaries(self._store, group, result, config, computed_tai_ns=now)
            self.runs += 1
            self.summarised += len(frame)
            return len(frame)
        except Exception as exc:
            message = f"per-exposure summaries not updated: {type(exc).__name__}: {exc}"
            log.warning(message, exc_info=not isinstance(exc, OpenEfdError | duckdb.Error))
            self.errors.append(message)
            return 0
        finally:
            self._busy = False
            self.busy_s += time.perf_counter() - started

    def _active_config(self) -> SummaryConfig:
        """The configuration without what the store does not define: unknown topics, and
        fields a topic lacks (a topic made by extend-mode writes holds only the fields
        written so far)."""
        generation = self._store.registry.generation
        if self._active is None or self._active[0] != generation:
            topics = []
            for spec in self.config.topics:
                layout = self._store.registry.layout(spec.topic)
                if layout is None:
                    continue
                if spec.sal_indices is not None and layout.field(SAL_INDEX_FIELD) is None:
                    continue
                columns = [
                    c
                    for c in spec.columns
                    if (f := layout.field(c.field)) is not None and f.type != FieldType.STRING
                ]
                if columns:
                    topics.append(spec.model_copy(update={"columns": columns}))
            self._active = (generation, self.config.model_copy(update={"topics": topics}))
        return self._active[1]

    def _affected(self) -> pd.DataFrame:
        """The recorded exposures (with a timespan) whose summaries may have changed."""
        con = self._store.cursor()
        if not table_exists(con, EXPOSURES):
            return pd.DataFrame()
        where: list[str] = []
        params: list[object] = []
        if self._exposures:
            named = pa.concat_tables(self._exposures)
            for instrument in sorted(set(named["instrument"].to_pylist())):
                mask = pc.equal(named["instrument"], instrument)
                ids = named["exposure_id"].filter(mask).to_pylist()
                where.append("(instrument = ? AND list_contains(?::BIGINT[], exposure_id))")
                params += [instrument, ids]
        for topic, spans in self._spans.items():
            reach = self._reach[topic]
            for lo, hi in _merged(spans):
                where.append("(timespan_begin_tai_ns - ? <= ? AND timespan_end_tai_ns + ? >= ?)")
                params += [reach.before_ns, hi, reach.after_ns, lo]
        if not where:
            return pd.DataFrame()
        found = con.execute(
            f"SELECT instrument, exposure_id FROM {EXPOSURES.name} "
            "WHERE timespan_begin_tai_ns IS NOT NULL AND timespan_end_tai_ns IS NOT NULL "
            f"AND ({' OR '.join(where)})",
            params,
        ).fetchall()
        if not found:
            return pd.DataFrame()
        frames = []
        for instrument in sorted({i for i, _ in found}):
            ids = [e for i, e in found if i == instrument]
            frames.append(registry_exposures(self._store, instrument=instrument, exposure_ids=ids))
        return pd.concat(frames, ignore_index=True)


def attach_summaries(store: Store) -> SummaryUpkeep | None:
    """Keep ``store``'s summaries up to date when the settings ask for it (and it is writable)."""
    if store.read_only or not store.settings.summaries_auto:
        return None
    return SummaryUpkeep(store)
