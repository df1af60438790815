"""The declarative configuration of per-exposure summaries, read from YAML.

A configuration lists topics; under each, the output columns: which field,
which function, and what the column means (units, description, UCD)::

    version: 1
    topics:
      - topic: lsst.sal.ESS.airFlow
        sal_index: 301              # optional: only rows of these salIndex values
        padding_s: 0.0              # optional: widen every window on both sides
        columns:
          - name: wind_speed_mean
            field: speed
            function: mean
            ucd: phys.veloc;meta.modelled
          - name: wind_speed_std
            field: speed
            function: {name: stddev, ddof: 1}

A function is a name or a mapping with ``name`` and its parameters. Every
problem is reported as one :class:`~openefd.errors.ConfigurationError` naming
the file, the line and the key path (``topics[0].columns[1].function``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml  # no types-PyYAML in the environment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from openefd.errors import ConfigurationError

__all__ = [
    "DEFAULT_AT_LOOKBACK_S",
    "DEFAULT_CONFIG",
    "DEFAULT_RECENT_LOOKBACK_S",
    "ColumnSpec",
    "FunctionSpec",
    "SummaryConfig",
    "TopicSpec",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG = Path(__file__).with_name("default_summaries.yaml")
DEFAULT_AT_LOOKBACK_S = 60.0  # at_start / at_end: as-of search back this far
DEFAULT_RECENT_LOOKBACK_S = 3600.0  # most_recent_value: sparse events


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Plain(_Strict):
    """Functions of the rows in the window without parameters.

    ``circular_mean``: the mean of angles in degrees (wind direction), wrapping at 360°.
    """

    name: Literal["mean", "min", "max", "median", "first", "last", "count", "circular_mean"]


class Stddev(_Strict):
    """Standard deviation of the rows in the window (``ddof`` as numpy's)."""

    name: Literal["stddev"]
    ddof: int = Field(default=0, ge=0)


class AsOf(_Strict):
    """Value as of exposure start / end, and their difference (``delta`` = end − start).

    As of a time T: the newest row with time ≤ T, no older than ``lookback_s``.
    """

    name: Literal["at_start", "at_end", "delta"]
    lookback_s: float = Field(default=DEFAULT_AT_LOOKBACK_S, gt=0)


class MostRecent(_Strict):
    """Newest row at or before exposure start within ``lookback_s`` (sparse events)."""

    name: Literal["most_recent_value"]
    lookback_s: float = Field(default=DEFAULT_RECENT_LOOKBACK_S, gt=0)


class PolyRms(_Strict):
    """RMS of the residuals of a polynomial fit over the window's rows.

    ``basis``: ``time`` (seconds from the window start) or ``index`` (row number).
    """

    name: Literal["rms_from_polynomial_fit"]
    degree: int = Field(default=1, ge=0, le=10)
    basis: Literal["time", "index"] = "time"


FunctionSpec = Annotated[Plain | Stddev | AsOf | MostRecent | PolyRms, Field(discriminator="name")]


class ColumnSpec(_Strict):
    """One output column: a field of the topic reduced by a function over each exposure.

    An array field (``zForce``) is summarised element by element: the
    key/value output has one row per element; ``flatten: true`` also adds
    ``name0 … nameN`` columns to the one-row-per-exposure output. ``units``
    and ``description`` default to the field's (``delta``, ``stddev`` keep
    the field's units; ``count`` has none).
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    field: str = Field(min_length=1)
    function: FunctionSpec
    units: str | None = None
    description: str | None = None
    ucd: str | None = None
    flatten: bool = False

    @model_validator(mode="before")
    @classmethod
    def _function_by_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("function"), str):
            return {**data, "function": {"name": data["function"]}}
        return data


class TopicSpec(_Strict):
    """A topic, the rows to use (``sal_index``), the window padding, and its columns.

    The window of an exposure is ``[begin − pre_padding_s, end + post_padding_s)``
    (TAI); ``padding_s`` sets both.
    """

    topic: str = Field(min_length=1)
    sal_index: int | list[int] | None = None
    padding_s: float | None = Field(default=None, ge=0)
    pre_padding_s: float = Field(default=0.0, ge=0)
    post_padding_s: float = Field(default=0.0, ge=0)
    columns: list[ColumnSpec] = Field(min_length=1)

    @property
    def pre_ns(self) -> int:
        return round((self.padding_s if self.padding_s is not None else self.pre_padding_s) * 1e9)

    @property
    def post_ns(self) -> int:
        return round((self.padding_s if self.padding_s is not None else self.post_padding_s) * 1e9)

    @property
    def sal_indices(self) -> list[int] | None:
        if self.sal_index is None:
            return None
        return [self.sal_index] if isinstance(self.sal_index, int) else list(self.sal_index)


class SummaryConfig(_Strict):
    """The whole configuration: output column names are unique across topics."""

    version: Literal[1] = 1
    topics: list[TopicSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> SummaryConfig:
        seen: set[str] = set()
        for t in self.topics:
            for c in t.columns:
                if c.name in seen:
                    raise ValueError(f"output column {c.name!r} is defined twice")
                seen.add(c.name)
        return self

    def all_columns(self) -> Iterator[tuple[TopicSpec, ColumnSpec]]:
        for t in self.topics:
            for c in t.columns:
                yield t, c


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: Any, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest YAML node along ``loc``."""
    line: int | None = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
            if node is None:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            break
    if node is not None:
        line = node.start_mark.line + 1
    return line


# libyaml's safe loader when PyYAML was built with it (several times faster), else Python's.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_config(text: str, source: str = "<string>") -> SummaryConfig:
    """A configuration from YAML text; errors name ``source``, the line and the key."""
    try:
        data = yaml.load(text, Loader=_FAST_LOADER)  # a safe loader (CSafeLoader or SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: expected a mapping with 'topics:' at the top")
    try:
        return SummaryConfig.model_validate(data)
    except ValidationError as exc:
        node = yaml.compose(text, Loader=yaml.SafeLoader)  # positions, for the message only
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
            line = _line_of(node, loc)
            where = f"line {line}, " if line else ""
            problems.append(f"{source}: {where}{_path(loc) or 'top level'}: {err['msg']}")
        raise ConfigurationError("; ".join(problems)) from None


def _is_union_tag(part: int | str) -> bool:
    # pydantic inserts the discriminator's value ("stddev") into the error location
    return isinstance(part, str) and part in {
        "mean", "min", "max", "median", "first", "last", "count", "circular_mean", "stddev",
        "at_start", "at_end", "delta", "most_recent_value", "rms_from_polynomial_fit",
    }  # fmt: skip


def load_config(path: Path | str | None = None) -> SummaryConfig:
    """The configuration in ``path``; the shipped default when None."""
    file = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read summaries configuration {file}: {exc}") from exc
    return parse_config(text, str(file))
