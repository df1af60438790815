"""LSSTCam's 205 detectors, named and numbered as the butler names them.

The focal plane is a 5 × 5 grid of rafts ``R{row}{column}``. The 21 science
rafts (all but the corners R00, R04, R40, R44) hold 9 sensors each,
``S{row}{column}`` with row and column 0–2: 189 science detectors, numbered
0–188 raft by raft (R01, R02, R03, R10, …, R43) and sensor by sensor
(S00, S01, …, S22), so ``R22_S11`` (the centre) is detector 94. Each corner
raft holds two guide sensors (SG0, SG1) and two wavefront sensors (SW0, SW1),
numbered 189–204 in the order R00, R04, R40, R44 and SG0, SG1, SW0, SW1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

__all__ = ["Detector", "detector_id", "lsstcam_detectors"]

_CORNERS = ("R00", "R04", "R40", "R44")
_CORNER_SENSORS = (
    ("SG0", "guider"),
    ("SG1", "guider"),
    ("SW0", "wavefront"),
    ("SW1", "wavefront"),
)


@dataclass(frozen=True, slots=True)
class Detector:
    """One detector: butler id, full name (``R22_S11``), raft, sensor and purpose."""

    id: int
    name: str
    raft: str
    sensor: str
    purpose: str  # "science", "wavefront" or "guider"


@cache
def lsstcam_detectors() -> tuple[Detector, ...]:
    """All 205 detectors, by id."""
    rafts = [f"R{r}{c}" for r in range(5) for c in range(5)]
    science = [raft for raft in rafts if raft not in _CORNERS]
    out: list[Detector] = []
    for raft in science:
        for s in range(9):
            sensor = f"S{s // 3}{s % 3}"
            out.append(Detector(len(out), f"{raft}_{sensor}", raft, sensor, "science"))
    for raft in _CORNERS:
        for sensor, purpose in _CORNER_SENSORS:
            out.append(Detector(len(out), f"{raft}_{sensor}", raft, sensor, purpose))
    return tuple(out)


def detector_id(name: str) -> int:
    """The id of the detector called ``name`` (``R22_S11`` → 94)."""
    for det in lsstcam_detectors():
        if det.name == name:
            return det.id
    raise KeyError(f"no LSSTCam detector named {name!r}")
