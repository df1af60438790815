"""parse_units over the SAL spellings of units."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import astropy.units as u
import pytest
from astropy.units import imperial

from openefd.schema import parse_units

SAL_INTERFACES = Path(__file__).resolve().parents[3] / "shared" / "ts_xml" / "sal_interfaces"


def _ts_xml_units() -> set[str]:
    found: set[str] = set()
    for path in SAL_INTERFACES.rglob("*.xml"):
        text = path.read_text(encoding="utf-8")
        found.update(m.strip() for m in re.findall(r"<Units>([^<]*)</Units>", text))
    return found


def test_every_ts_xml_units_string() -> None:
    spellings = _ts_xml_units()
    assert len(spellings) > 100
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = {s: parse_units(s) for s in spellings}
    assert caught == []
    assert all(unit is None or isinstance(unit, u.UnitBase) for unit in parsed.values())
    unparsed = sorted(s for s, unit in parsed.items() if unit is None)
    assert len(unparsed) / len(spellings) < 0.03, unparsed
    assert "in. H₂O" in unparsed  # no inch of water in astropy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deg/s^2", u.deg / u.s**2),
        ("deg/s2", u.deg / u.s**2),
        ("N m", u.N * u.m),
        ("newton*meter", u.N * u.m),
        ("second", u.s),
        ("deg", u.deg),
        ("m/s", u.m / u.s),
        ("Pa", u.Pa),
        ("%", u.percent),
        ("pct", u.percent),
        ("Celsius", u.deg_C),
        ("deg C", u.deg_C),
        ("C", u.deg_C),
        ("Volt", u.V),
        ("VA", u.V * u.A),
        ("arcsec / second", u.arcsec / u.s),
        ("unitless", u.dimensionless_unscaled),
        ("dimensionless", u.dimensionless_unscaled),
        ("am", u.dimensionless_unscaled),
        ("psia", imperial.psi),
        ("gal/min", imperial.gallon / u.min),
        ("gallon/min", imperial.gallon / u.min),
        ("rpm", u.cycle / u.min),
        ("  mm  ", u.mm),
    ],
)
def test_units_by_value(text: str, expected: u.UnitBase) -> None:
    unit = parse_units(text)
    assert unit is not None
    assert unit == expected


def test_standard_gravity() -> None:
    unit = parse_units("g0")
    assert unit is not None
    assert unit.to(u.m / u.s**2) == pytest.approx(9.80665)


@pytest.mark.parametrize("text", [None, "", "   ", "in. H₂O", "furlongs per fortnight"])
def test_not_a_unit(text: str | None) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parse_units(text) is None
    assert caught == []


def test_astropy_warnings_are_suppressed() -> None:
    # astropy parses "m/s/s" but warns about the two slashes.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        unit = parse_units("m/s/s")
    assert caught == []
    assert unit == u.m / u.s**2
