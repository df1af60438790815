"""Selected rows before they become a DataFrame.

:func:`openefd.query.select.select_rows` answers a select as :class:`Rows`:
the rows' canonical TAI ns times and one numpy array per output column.
:meth:`Rows.frame` is the DataFrame the in-process client returns; the native
HTTP server sends the arrays themselves as Arrow (no DataFrame built and taken
apart again on the server), and the HTTP client builds that same DataFrame
from them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from openefd.timeinput import tai_ns_to_index

__all__ = ["Rows"]


def _widened(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """float32 values (a float field read as stored) as the float64 the EFD returns."""
    return values.astype(np.float64) if values.dtype == np.float32 else values


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows of one topic: ``times_tai_ns`` (TAI ns, int64) and ``columns`` (output
    name → values, in the order asked), one value per time.

    A float field stored as float32 is float32 here, every value exact;
    :meth:`frame` widens it to float64 as the EFD returns it (no other column
    is float32). Nulls are as DuckDB returns them (``numpy.ma`` masked arrays,
    NaN or None). ``time_scale`` is the scale of the DataFrame's index:
    ``"utc"`` (tz-aware UTC) or ``"tai"`` (naive TAI named ``time_tai``); any
    other makes :meth:`frame` raise ``TimeValueError``.
    """

    times_tai_ns: npt.NDArray[np.int64]
    columns: dict[str, np.ndarray[Any, Any]]
    time_scale: str

    def __len__(self) -> int:
        return int(self.times_tai_ns.shape[0])

    def frame(self) -> pd.DataFrame:
        """The rows as the in-process client returns them: indexed by time."""
        columns = {name: _widened(values) for name, values in self.columns.items()}
        index = tai_ns_to_index(self.times_tai_ns, self.time_scale)
        return pd.DataFrame(columns, index=index, copy=False)
