"""Conditions on one telemetry field, and the small language that writes them.

Two kinds (pure logic, no I/O):

- :class:`Threshold` — the value compared with a limit: ``> 25``, ``>= 25``,
  ``< -3.5``, ``<= 1e3``;
- :class:`AngularRange` — an angle (degrees) within an arc of the circle,
  wrapping at 360: ``within 90±45`` (centre ± half-width, also written
  ``90+-45`` or ``90+/-45``) or ``within 45..135`` (from 45° increasing to
  135°; ``within 350..10`` crosses north). Both ends are inside; a
  half-width runs from 0 to 180 (180: the whole circle). Values may be
  given in any turn (−90 and 270 are the same direction).

A field condition names the field first: ``temperatureItem[3] > 25`` (element
3 of the array ``temperatureItem``; ``temperatureItem3``, the EFD's flattened
name, is the same), ``positionActual within 90±45``. Numbers may carry a
``°`` sign. Any text that is not such a condition raises
:class:`~openefd.errors.QueryError` saying what was expected.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from openefd.errors import QueryError

__all__ = [
    "AngularRange",
    "Condition",
    "FieldCondition",
    "Threshold",
    "parse_condition",
    "parse_field",
    "parse_field_condition",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Operator = Literal[">", ">=", "<", "<="]

_MAX_TEXT = 500
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DEG = r"\s*(?:°|deg\b)?"
_FIELD = r"(?P<field>[A-Za-z_][A-Za-z0-9_]*)(?:\s*\[\s*(?P<element>\d+)\s*\])?"
_THRESHOLD_RE = re.compile(rf"^(?P<op>>=|<=|>|<)\s*(?P<limit>{_NUMBER}){_DEG}$", re.ASCII)
_PLUS_MINUS_RE = re.compile(
    rf"^within\s+(?P<center>{_NUMBER}){_DEG}\s*(?:±|\+-|\+/-)\s*(?P<half>{_NUMBER}){_DEG}$",
    re.IGNORECASE | re.ASCII,
)
_SPAN_RE = re.compile(
    rf"^within\s+(?P<start>{_NUMBER}){_DEG}\s*\.\.\s*(?P<stop>{_NUMBER}){_DEG}$",
    re.IGNORECASE | re.ASCII,
)
_FIELD_ONLY_RE = re.compile(rf"^\s*{_FIELD}\s*$", re.ASCII)
_FIELD_RE = re.compile(
    rf"^\s*{_FIELD}\s*(?P<rest>(?:>|<|within\b).*)$", re.IGNORECASE | re.DOTALL | re.ASCII
)
_OPERATORS: dict[str, Operator] = {">": ">", ">=": ">=", "<": "<", "<=": "<="}
_EXAMPLES = "e.g. '> 25', '<= -3.5', 'within 90±45' or 'within 350..10'"


def _text(value: float) -> str:
    """A number as short as it can be written and read back the same."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


@dataclass(frozen=True, slots=True)
class Threshold:
    """The value compared with ``limit`` by ``op``; NaN never holds."""

    op: Operator
    limit: float

    def __post_init__(self) -> None:
        if self.op not in (">", ">=", "<", "<="):
            raise QueryError(f"unknown comparison {self.op!r}; use >, >=, < or <=")
        if not math.isfinite(self.limit):
            raise QueryError(f"the limit must be a finite number, got {self.limit!r}")

    def holds(self, values: npt.ArrayLike) -> BoolArray:
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if self.op == ">":
                out = v > self.limit
            elif self.op == ">=":
                out = v >= self.limit
            elif self.op == "<":
                out = v < self.limit
            else:
                out = v <= self.limit
        return np.asarray(out, dtype=np.bool_)

    @property
    def angular(self) -> bool:
        return False

    def __str__(self) -> str:
        return f"{self.op} {_text(self.limit)}"


@dataclass(frozen=True, slots=True)
class AngularRange:
    """An angle (degrees) within ``half_width_deg`` of ``center_deg``, wrapping at 360.

    Both ends are inside; NaN never holds. ``center_deg`` is kept in [0, 360).
    """

    center_deg: float
    half_width_deg: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.center_deg) and math.isfinite(self.half_width_deg)):
            raise QueryError("an angular range needs finite numbers (degrees)")
        if not 0.0 <= self.half_width_deg <= 180.0:
            raise QueryError(
                f"half-width {self.half_width_deg:g}° is outside [0, 180]: 180 is the whole circle"
            )
        center = float(np.mod(self.center_deg, 360.0))
        object.__setattr__(self, "center_deg", 0.0 if center == 360.0 else center)

    @classmethod
    def between(cls, start_deg: float, stop_deg: float) -> AngularRange:
        """The arc from ``start_deg`` increasing to ``stop_deg`` (``350..10`` crosses 0).

        Equal ends give the single direction; ends a whole number of turns
        apart (``0..360``) give the whole circle.
        """
        if not math.isfinite(stop_deg - start_deg):
            raise QueryError("an angular range needs finite numbers (degrees)")
        width = float(np.mod(stop_deg - start_deg, 360.0))
        if width == 0.0 and stop_deg != start_deg:
            width = 360.0
        return cls(start_deg + width / 2.0, width / 2.0)

    def offset_deg(self, values: npt.ArrayLike) -> FloatArray:
        """Signed angle from the centre to each value, in [−180, 180)."""
        v = np.asarray(values, dtype=np.float64)
        return np.asarray(np.mod(v - self.center_deg + 180.0, 360.0) - 180.0, dtype=np.float64)

    def holds(self, values: npt.ArrayLike) -> BoolArray:
        with np.errstate(invalid="ignore"):
            out = np.abs(self.offset_deg(values)) <= self.half_width_deg
        return np.asarray(out, dtype=np.bool_)

    @property
    def angular(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"within {_text(self.center_deg)}±{_text(self.half_width_deg)}"


Condition = Threshold | AngularRange


@dataclass(frozen=True, slots=True)
class FieldCondition:
    """A condition on one field: ``field`` as written, optionally one array ``element``."""

    field: str
    element: int | None
    condition: Condition

    @property
    def field_name(self) -> str:
        """The field as the EFD flattens it: ``temperatureItem3``."""
        return self.field if self.element is None else f"{self.field}{self.element}"

    def __str__(self) -> str:
        where = self.field if self.element is None else f"{self.field}[{self.element}]"
        return f"{where} {self.condition}"


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise QueryError(f"the number {text!r} is too large")
    return value


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise QueryError(f"{what} must be text, got {type(text).__name__}")
    if len(text) > _MAX_TEXT:
        raise QueryError(f"{what} is longer than {_MAX_TEXT} characters")
    return text


def parse_condition(text: str) -> Condition:
    """A condition without its field: ``> 25``, ``within 90±45``, ``within 350..10``."""
    body = " ".join(_check_text(text, "the condition").split())
    if m := _THRESHOLD_RE.match(body):
        return Threshold(_OPERATORS[m.group("op")], _number(m.group("limit")))
    if m := _PLUS_MINUS_RE.match(body):
        return AngularRange(_number(m.group("center")), _number(m.group("half")))
    if m := _SPAN_RE.match(body):
        return AngularRange.between(_number(m.group("start")), _number(m.group("stop")))
    if body.lower().startswith("within"):
        raise QueryError(
            f"cannot read the angular range {text!r}: write 'within CENTER±HALF' "
            "(e.g. 'within 90±45') or 'within START..STOP' (e.g. 'within 350..10'), in degrees"
        )
    raise QueryError(
        f"cannot read the condition {text!r}: expected a comparison or range, {_EXAMPLES}"
    )


def _element(text: str | None) -> int | None:
    index = None if text is None else int(text)
    if index is not None and index > 1_000_000:
        raise QueryError(f"array element {index} is out of range")
    return index


def parse_field(text: str) -> tuple[str, int | None]:
    """``positionActual`` → (``positionActual``, None); ``temperatureItem[3]`` → (…, 3)."""
    m = _FIELD_ONLY_RE.match(_check_text(text, "the field"))
    if m is None:
        raise QueryError(
            f"cannot read the field {text!r}: expected a name, or an array element such as "
            "'temperatureItem[3]'"
        )
    return m.group("field"), _element(m.group("element"))


def parse_field_condition(text: str) -> FieldCondition:
    """A field and its condition: ``temperatureItem[3] > 25``, ``positionActual within 90±45``."""
    body = _check_text(text, "the condition")
    m = _FIELD_RE.match(body)
    if m is None:
        raise QueryError(
            f"cannot read the condition {text!r}: expected FIELD then a comparison or range, "
            "e.g. 'temperatureItem[3] > 25' or 'positionActual within 90±45'"
        )
    element = _element(m.group("element"))
    return FieldCondition(m.group("field"), element, parse_condition(m.group("rest")))
