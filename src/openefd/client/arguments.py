"""Reading what users pass to a client: locations, time ranges, counts, schema units.

Shared by the in-process client and the HTTP client, so both read arguments
(and refuse bad ones) in exactly the same way before anything is queried or
sent. Times come out as canonical TAI ns.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from openefd.errors import ConfigurationError, QueryError
from openefd.schema.units import parse_units
from openefd.settings import Settings
from openefd.timeinput import duration_to_ns, to_tai_ns

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "check_top_n",
    "is_single_time",
    "resolve_location",
    "server_url",
    "time_range",
    "with_astropy_units",
]

DEFAULT_TIMEOUT_S = 120.0
"""Default longest wait for a server's answer (the server's own query limit is 60 s)."""


def server_url(location: str | Path, settings: Settings) -> str | None:
    """The server URL a location (or the site alias it is) names, or None for a store path."""
    text = str(location)
    text = settings.sites.get(text, text)
    return text if text.startswith(("http://", "https://")) else None


def resolve_location(location: str | Path, settings: Settings) -> Path:
    """The store directory for a path or a site alias; a server URL is not one."""
    url = server_url(location, settings)
    if url is not None:
        raise ConfigurationError(
            f"{url} is a server URL, not a store directory; EfdClientSync({url!r}) connects to it"
        )
    text = str(location)
    return Path(settings.sites.get(text, text)).expanduser()


def with_astropy_units(schema: pd.DataFrame) -> pd.DataFrame:
    """``schema_frame``'s columns with ``aunits`` (astropy unit or None) after ``units``."""
    out = schema.copy()
    out.insert(
        list(out.columns).index("units") + 1,
        "aunits",
        [parse_units(units) for units in schema["units"]],
    )
    return out


def check_top_n(num: Any) -> int:
    """``num`` of ``select_top_n``: a whole number ≥ 0."""
    if not isinstance(num, int) or num < 0:
        raise QueryError(f"num must be a whole number ≥ 0, got {num!r}")
    return num


def is_single_time(value: Any) -> bool:
    """True for one time (not an array or a list of times)."""
    from astropy.time import Time

    if isinstance(value, Time):
        return bool(value.isscalar)
    return isinstance(value, str | dt.datetime | pd.Timestamp)


def time_range(start: Any, end: Any, is_window: bool) -> tuple[int, int]:
    """TAI ns ``[begin, end]`` of ``start`` and ``end`` (a time or a duration after start);
    with ``is_window``, a duration ``end`` is a window centred on ``start``."""
    from astropy.time import TimeDelta

    begin = to_tai_ns(start, "start")
    if isinstance(end, TimeDelta | dt.timedelta | pd.Timedelta):
        span = duration_to_ns(end, "end")
        if is_window:
            return begin - span // 2, begin + span // 2
        return begin, begin + span
    return begin, to_tai_ns(end, "end")
