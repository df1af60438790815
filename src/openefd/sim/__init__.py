"""A deterministic simulated observatory night, for demos, tests and benchmarks.

The same seed and configuration give the same rows, whatever the chunk
length. Topic definitions come from the real SAL XML (ts_xml); every table
has exactly the fields of its topic, SAL's private block set as SAL sets it
(:mod:`openefd.sim.stamps`), arrays as list columns. Times are TAI ns,
intervals half-open.

What a night holds (details in each module, and in ``docs/simulator.md``):

- the plan (:mod:`~openefd.sim.plan`): start-up, calibrations (bias, dark,
  flat), 30 s science visits every ~34 s with slews between them, filter
  changes of ~2 minutes (the first 26 minutes in);
- telemetry at realistic rates: M1M3 forces at 50 Hz
  (:mod:`~openefd.sim.m1m3`), mount and dome axes
  (:mod:`~openefd.sim.mount`), ESS temperatures, wind, humidity,
  pressure, DIMM seeing (:mod:`~openefd.sim.environment`), camera
  housekeeping; every other field a plausible value by type and units
  (:mod:`~openefd.sim.generic`);
- events and commands: heartbeats (1 Hz), summary states and a fault with
  its recovery, motion states, error bursts (:mod:`~openefd.sim.events`),
  camera events per exposure (:mod:`~openefd.sim.camera`), commands with
  ``ackcmd`` (:mod:`~openefd.sim.commands`);
- LSSTCam exposures (:mod:`~openefd.sim.exposures`) and the arrival of
  all 205 detectors' images (:mod:`~openefd.sim.arrivals`);
- three planted anomalies at fixed offsets from the start
  (:mod:`~openefd.sim.anomalies`): a temperature excursion (20–30 min),
  slow transfers (35–50 min), a stuck detector (always);
- two profiles (:mod:`~openefd.sim.profiles`): ``DEMO`` and ``EFD``.

Example::

    sim = NightSimulator(SimConfig(schemas=Path("ts_xml/sal_interfaces"), hours=1.0))
    for chunk in sim.chunks(seconds=60.0):
        for topic, table in chunk.tables.items():
            ...
"""

from openefd.sim.config import Anomaly, Profile, SimChunk, SimConfig
from openefd.sim.simulator import NightSimulator

__all__ = ["Anomaly", "NightSimulator", "Profile", "SimChunk", "SimConfig"]
