"""The environment: ESS temperatures, wind, humidity, pressure, dew point; DIMM seeing.

- ``ESS.temperature`` (1 Hz per sensor): each channel has its own offset
  around the sensor's level and the whole night drifts down
  (``−2.5 °C·(1 − e^(−h/4))`` after ``h`` hours) with a slow random walk
  (σ 0.05 °C per 5 min) and 0.02 °C of noise; channels a sensor does not
  have are NaN. The planted excursion adds to salIndex 101, channel 3.
- ``ESS.airFlow`` (1 Hz, weather tower): wind ~5 m/s wandering (σ 0.4 m/s
  per minute), gusts in ``maxSpeed`` (1 sample in 20 gusts 4–10 m/s
  above the mean), direction around 260° (north-west-ish, wandering).
- ``ESS.relativeHumidity`` rising from ~22 % through the night,
  ``ESS.pressure`` ~743.2 hPa (Pa, first channel), ``ESS.dewPoint`` from
  temperature and humidity (Magnus formula).
- ``DIMM.logevent_dimmMeasurement`` about once a minute: the seeing
  (``fwhm``, arcsec) is a random walk kept within 0.6–1.5″ (a logistic of a
  Gaussian walk); ``r0`` follows from it at 500 nm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openefd.sim.anomalies import TEMPERATURE_CHANNEL, TEMPERATURE_SAL_INDEX, temperature_offset_c
from openefd.sim.generic import Column, Columns
from openefd.sim.world import World
from openefd.timescales import NS_PER_S

__all__ = [
    "EssSensor",
    "TemperatureModel",
    "WeatherModel",
    "dimm_measurements",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class EssSensor:
    """One ESS temperature sensor: its CSC index, name, place, channels and level (°C)."""

    sal_index: int
    name: str
    location: str
    channels: int
    level_c: float


def _strings(value: str, n: int) -> Column:
    return np.broadcast_to(np.array([value], dtype=object), (n,))


def outside_temperature_c(world: World, t_ns: I64) -> F64:
    """The noise-free outside air temperature."""
    h = world.hours(t_ns)
    return 9.0 - 2.5 * (1 - np.exp(-h / 4)) + world.walk("outside", t_ns, 300.0, 0.05)


def relative_humidity_pct(world: World, t_ns: I64) -> F64:
    h = world.hours(t_ns)
    walk = world.walk("humidity", t_ns, 300.0, 0.6)
    return np.asarray(np.clip(22 + 12 * (1 - np.exp(-h / 5)) + walk, 5.0, 99.0), dtype=np.float64)


class TemperatureModel:
    """``ESS.temperature`` of one sensor."""

    provides = frozenset({"temperatureItem", "numChannels", "sensorName", "location", "timestamp"})
    noise_width = 16

    def __init__(self, world: World, sensor: EssSensor) -> None:
        self.world = world
        self.sensor = sensor
        rng = world.rng("ess channels", sensor.sal_index)
        self.offsets = rng.normal(0.0, 0.4, 16)
        self.offsets[sensor.channels :] = np.nan

    def columns(self, t_ns: I64, noise: F32) -> Columns:
        s = self.sensor
        n = len(t_ns)
        level = outside_temperature_c(self.world, t_ns) + (s.level_c - 9.0)
        level += self.world.walk(("ess", s.sal_index), t_ns, 300.0, 0.05)
        values = level[:, None] + self.offsets + 0.02 * noise
        if s.sal_index == TEMPERATURE_SAL_INDEX:
            values[:, TEMPERATURE_CHANNEL] += temperature_offset_c(self.world.start_ns, t_ns)
        return {
            "temperatureItem": values,
            "numChannels": np.full(n, s.channels, dtype=np.int64),
            "sensorName": _strings(s.name, n),
            "location": _strings(s.location, n),
            "timestamp": (t_ns - 1_000_000) / NS_PER_S,
        }


_WEATHER_FIELDS = {
    "airFlow": ("direction", "directionStdDev", "speed", "speedStdDev", "maxSpeed"),
    "relativeHumidity": ("relativeHumidityItem",),
    "pressure": ("pressureItem", "numChannels"),
    "dewPoint": ("dewPointItem",),
}


class WeatherModel:
    """The weather tower's ``airFlow``, ``relativeHumidity``, ``pressure`` or ``dewPoint``."""

    noise_width = 4

    def __init__(self, world: World, topic: str, name: str, location: str) -> None:
        self.world = world
        self.topic = topic
        self.name = name
        self.location = location
        self.provides = frozenset({*_WEATHER_FIELDS[topic], "sensorName", "location", "timestamp"})

    def _values(self, t_ns: I64, noise: F32) -> Columns:
        w = self.world
        if self.topic == "airFlow":
            speed = np.clip(5.0 + w.walk("wind", t_ns, 60.0, 0.4), 0.3, None)
            speed = speed + 0.4 * np.abs(noise[:, 0])
            gust = np.where(noise[:, 1] > 1.645, 4.0 + 3.0 * np.abs(noise[:, 2]), 0.0)
            return {
                "speed": speed,
                "speedStdDev": 0.1 * speed + 0.05 * np.abs(noise[:, 3]),
                "maxSpeed": speed + 0.8 * np.abs(noise[:, 2]) + gust,
                "direction": np.mod(
                    260.0 + 25.0 * w.walk("wind dir", t_ns, 60.0, 0.2) + 4.0 * noise[:, 3], 360.0
                ),
                "directionStdDev": 8.0 + 2.0 * np.abs(noise[:, 1]),
            }
        if self.topic == "relativeHumidity":
            return {"relativeHumidityItem": relative_humidity_pct(w, t_ns) + 0.2 * noise[:, 0]}
        if self.topic == "pressure":
            values = np.full((len(t_ns), 8), np.nan)
            values[:, 0] = 74320.0 + w.walk("pressure", t_ns, 300.0, 4.0) + 2.0 * noise[:, 0]
            return {"pressureItem": values, "numChannels": np.ones(len(t_ns), dtype=np.int64)}
        temp = outside_temperature_c(w, t_ns)
        gamma = np.log(relative_humidity_pct(w, t_ns) / 100) + 17.62 * temp / (243.12 + temp)
        return {"dewPointItem": 243.12 * gamma / (17.62 - gamma) + 0.05 * noise[:, 0]}

    def columns(self, t_ns: I64, noise: F32) -> Columns:
        out = self._values(t_ns, noise)
        n = len(t_ns)
        out.update(
            {
                "sensorName": _strings(self.name, n),
                "location": _strings(self.location, n),
                "timestamp": (t_ns - 1_000_000) / NS_PER_S,
            }
        )
        return out


def dimm_measurements(world: World, quiet: list[tuple[int, int]]) -> tuple[I64, Columns]:
    """DIMM seeing measurements about once a minute, none inside the ``quiet`` intervals."""
    rng = world.rng("dimm")
    span_s = (world.end_ns - world.start_ns) / NS_PER_S
    n = int(span_s // 60) + 1
    offsets_s = 20 + 60 * np.arange(n) + rng.uniform(-5, 5, n)
    t: I64 = world.start_ns + np.round(offsets_s * NS_PER_S).astype(np.int64)
    keep = t < world.end_ns
    for a, b in quiet:
        keep &= (t < a) | (t >= b)
    t = t[keep]
    m = len(t)
    w = world.walk("seeing", t, 120.0, 0.25) + float(rng.normal(0.0, 0.7))
    fwhm = 0.6 + 0.9 / (1 + np.exp(-w))
    jitter = rng.normal(0.0, 1.0, (5, m))
    stamp = (t - 3 * NS_PER_S) / NS_PER_S
    columns: Columns = {
        "timestamp": stamp,
        "expiresAt": stamp + 120.0,
        "expiresIn": np.full(m, 120.0),
        "hrNum": np.full(m, int(rng.choice([2326, 3685, 4534, 5340, 6879]))),
        "secz": 1.0 + np.abs(0.15 + 0.05 * jitter[0]),
        "fwhm": fwhm,
        "fwhmx": fwhm * (1 + 0.04 * jitter[1]),
        "fwhmy": fwhm * (1 + 0.04 * jitter[2]),
        "r0": 0.98 * 500e-9 / np.radians(fwhm / 3600) * 100,
        "nimg": rng.integers(800, 1200, m),
        "dx": 0.05 * jitter[3],
        "dy": 0.05 * jitter[4],
    }
    return t, columns
