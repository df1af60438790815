"""What a simulated night is asked for, and the shapes it is returned in.

Times are TAI nanoseconds since 1970-01-01T00:00:00 TAI (openefd's canonical
scale) unless a name says otherwise; intervals are half-open ``[start, end)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa

from openefd.errors import ConfigurationError
from openefd.timeinput import to_tai_ns
from openefd.timescales import NS_PER_S

__all__ = ["Anomaly", "Profile", "SimChunk", "SimConfig"]


class Profile(StrEnum):
    """Which observatory the simulator plays.

    ``DEMO``: the main telescope's busiest and best-known topics (M1M3 forces
    at 50 Hz, mount, dome, environment, seeing, camera), about a dozen CSCs.
    ``EFD``: shaped like the published Rubin EFD: about 65 CSC instances,
    ~1.6 MB/s of Avro-sized messages on average, M1M3 ≈ 84 % of the volume.
    """

    DEMO = "demo"
    EFD = "efd"


@dataclass(frozen=True, slots=True)
class SimConfig:
    """One simulated night.

    ``schemas`` is a ts_xml ``sal_interfaces`` folder; ``start_utc`` the first
    simulated instant (ISO 8601, UTC unless it carries an offset, or a
    tz-aware ``datetime``); ``hours`` the duration; the same ``seed`` and
    configuration give identical output.
    """

    schemas: Path
    start_utc: str | dt.datetime = "2024-05-01T23:30:00Z"
    hours: float = 1.0
    seed: int = 1
    profile: Profile = Profile.DEMO

    def __post_init__(self) -> None:
        if not self.hours > 0:
            raise ConfigurationError(f"hours must be positive, got {self.hours!r}")
        if self.hours > 48:
            raise ConfigurationError(f"hours must be at most 48 (one night), got {self.hours!r}")
        object.__setattr__(self, "schemas", Path(self.schemas))
        object.__setattr__(self, "profile", Profile(self.profile))

    @property
    def start_tai_ns(self) -> int:
        """The first simulated instant, TAI ns."""
        return to_tai_ns(self.start_utc, what="start_utc")

    @property
    def end_tai_ns(self) -> int:
        """The end of the simulated span (excluded), TAI ns."""
        return self.start_tai_ns + round(self.hours * 3600 * NS_PER_S)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A planted oddity: what, when (TAI ns, half-open), where, and its parameters.

    ``topic_or_table`` is an EFD topic name (``lsst.sal.ESS.temperature``) or
    ``arrivals`` for the image-arrival table.
    """

    name: str
    description: str
    start_tai_ns: int
    end_tai_ns: int
    topic_or_table: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "start_tai_ns": self.start_tai_ns,
            "end_tai_ns": self.end_tai_ns,
            "topic_or_table": self.topic_or_table,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class SimChunk:
    """The rows of ``[start_tai_ns, end_tai_ns)``: one Arrow table per topic that has any.

    Rows are those whose ``private_sndStamp`` (TAI) falls in the slice, in
    time order within each table.
    """

    start_tai_ns: int
    end_tai_ns: int
    tables: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())
