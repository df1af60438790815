"""``select_asof``: values as of given times, for ``EfdClientSync``.

The public method reads the users' times (one or many, any form) and the
``max_age`` duration; the canonical ``select_asof_tai`` answers at TAI ns from
the store (:func:`openefd.query.asof.run_asof`, one query for all times). The
HTTP client overrides the canonical method only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from openefd.client.arguments import is_single_time
from openefd.errors import QueryError
from openefd.query.asof import SAMPLE_TIME, run_asof
from openefd.query.fields import normalize_field_list
from openefd.store.duckdb_store import Store
from openefd.timeinput import duration_to_ns, tai_ns_to_index, to_tai_ns, to_tai_ns_array

__all__ = ["AsOfMethods"]


def _no_data_message(
    store: Store,
    topic: str,
    names: list[str],
    asked: np.ndarray,
    index: int | None,
    age: int | None,
) -> str:
    when = tai_ns_to_index(asked, "utc")[0].isoformat()
    newest = run_asof(store, topic, names, asked, index=index or None)
    if newest[SAMPLE_TIME].isna().all():
        return f"no data for {topic} at or before {when} (UTC): the topic has no earlier row"
    since = newest[SAMPLE_TIME].iloc[0].isoformat()
    limit = f" within max_age {age / 1e9:g} s" if age is not None else ""
    return f"no data for {topic} at {when} (UTC){limit}: no data since {since}"


class AsOfMethods:
    """Values as of given times, for ``EfdClientSync``."""

    store: Store

    def select_asof(
        self,
        topic_name: str,
        fields: str | Sequence[str],
        times: Any,
        *,
        max_age: Any = None,
        index: int | None = None,
        time_scale: str = "utc",
    ) -> pd.DataFrame:
        """The fields' values as of each time: the newest row at or before it.

        ``times`` is one time or many (astropy ``Time`` array, tz-aware
        ``DatetimeIndex``, a list); one query answers them all. The frame has a
        row per time, in the order given, and ``sample_time``, when the value
        was recorded. A time with no row at or before it, or only rows older
        than ``max_age`` (a duration), gets nulls; for a single time that is an
        error saying since when there has been no data.
        """
        single = is_single_time(times)
        asked = (
            np.array([to_tai_ns(times, "time")], dtype=np.int64)
            if single
            else to_tai_ns_array(times, "times")
        )
        age = duration_to_ns(max_age, "max_age") if max_age is not None else None
        return self.select_asof_tai(
            topic_name,
            normalize_field_list(fields),
            asked,
            single=single,
            max_age_ns=age,
            index=index,
            time_scale=time_scale,
        )

    def select_asof_tai(
        self,
        topic_name: str,
        fields: list[str],
        times_tai_ns: npt.NDArray[np.int64],
        *,
        single: bool = False,
        max_age_ns: int | None = None,
        index: int | None = None,
        time_scale: str = "utc",
    ) -> pd.DataFrame:
        """``select_asof`` at TAI ns times; ``single``: no data at the one time is an error."""
        frame = run_asof(
            self.store,
            topic_name,
            fields,
            times_tai_ns,
            max_age_ns=max_age_ns,
            index=index or None,
            time_scale=time_scale,
        )
        if single and frame[SAMPLE_TIME].isna().all():
            raise QueryError(
                _no_data_message(self.store, topic_name, fields, times_tai_ns, index, max_age_ns)
            )
        return frame
