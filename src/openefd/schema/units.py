"""Turn the units strings of topic definitions into astropy units.

SAL XML and the EFD's Avro schemas spell units freely ("deg/s2", "N m",
"Celsius", "unitless", "psia"). Most of those spellings are astropy units as
written; a short table maps the SAL spellings that astropy reads differently
or not at all (``C`` is a temperature in ts_xml, not a coulomb; ``am`` is an
airmass, not an attometre; ``gal`` a US gallon, not a galileo).
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

import astropy.units as u
from astropy.units import imperial

__all__ = ["parse_units"]

_DIMENSIONLESS = ("unitless", "dimensionless", "none", "am", "airmass")

# SAL spellings astropy does not know or reads as another unit.
_ALIASES: dict[str, u.UnitBase] = {
    "C": u.deg_C,
    "deg C": u.deg_C,  # astropy would read coulomb times degree
    "VA": u.V * u.A,
    "rpm": u.cycle / u.min,
    "rpm/s": u.cycle / u.min / u.s,
    "psia": imperial.psi,  # absolute pressure; the unit is still psi
    "psig": imperial.psi,  # gauge pressure, relative to the atmosphere
    "g0": u.Unit(9.80665 * u.m / u.s**2),  # standard gravity
}
_GALLON = re.compile(r"\bgal\b")


def parse_units(text: str | None) -> u.UnitBase | None:
    """The astropy unit a definition's units string names, or ``None``.

    Parameters
    ----------
    text
        The units as the topic definition spells them. ``None``, empty text
        and strings that are no astropy unit give ``None``; "unitless" and
        "dimensionless" give `astropy.units.dimensionless_unscaled`.
        Leading and trailing whitespace is ignored.

    Returns
    -------
    astropy.units.UnitBase or None
        The unit; never emits a warning.
    """
    if text is None:
        return None
    return _parse(text.strip())


@lru_cache(maxsize=1024)
def _parse(text: str) -> u.UnitBase | None:
    if not text:
        return None
    if text.lower() in _DIMENSIONLESS:
        return u.dimensionless_unscaled
    alias = _ALIASES.get(text)
    if alias is not None:
        return alias
    text = _GALLON.sub("gallon", text)  # "gal/min": astropy's "gal" is a galileo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with u.add_enabled_units(imperial):
                unit = u.Unit(text, parse_strict="silent")
        except (ValueError, TypeError):
            return None
    if isinstance(unit, u.UnrecognizedUnit) or not isinstance(unit, u.UnitBase):
        return None
    return unit
