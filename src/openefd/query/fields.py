"""Resolving the field names users ask for into SQL expressions.

Users name fields as the EFD shows them: scalars by name, array elements
flattened (``zForce12`` is element 12 of ``zForce``, ``"zForce"[13]`` in SQL),
``*`` for every field, and a bare array name for all of its elements.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from openefd.errors import QueryError, UnknownFieldError
from openefd.schema.model import FieldSchema, TopicSchema
from openefd.store.columns import output_duckdb_type
from openefd.store.registry import quote_ident

__all__ = ["ColumnRef", "flat_fields", "normalize_field_list", "resolve_fields"]

_ELEMENT_RE = re.compile(r"^(.+?)(\d+)$")


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """One output column: its EFD name and the SQL that computes it."""

    name: str
    sql: str
    field: FieldSchema
    element: int | None = None  # index into the array field, for flattened elements


def normalize_field_list(fields: str | bytes | Sequence[str]) -> list[str]:
    """A list of field names from a name, bytes or a sequence, as lsst-efd-client accepts."""
    if isinstance(fields, bytes):
        fields = fields.decode()
    if isinstance(fields, str):
        fields = [fields]
    out = [f.strip().strip('"') for f in fields]
    if not out:
        raise QueryError("no fields asked for; give field names or '*'")
    return out


def _element(f: FieldSchema, i: int) -> ColumnRef:
    cast = output_duckdb_type(f.type)
    return ColumnRef(f"{f.name}{i}", f"CAST({quote_ident(f.name)}[{i + 1}] AS {cast})", f, i)


def _scalar(f: FieldSchema) -> ColumnRef:
    cast = output_duckdb_type(f.type)
    return ColumnRef(f.name, f"CAST({quote_ident(f.name)} AS {cast})", f)


def _expand(f: FieldSchema, array_lengths: dict[str, int]) -> list[ColumnRef]:
    if not f.is_array:
        return [_scalar(f)]
    length = f.count if f.count > 0 else array_lengths.get(f.name, 0)
    return [_element(f, i) for i in range(length)]


def flat_fields(layout: TopicSchema, array_lengths: dict[str, int] | None = None) -> list[str]:
    """Every field as EFD users see it (arrays flattened), sorted as InfluxDB sorts keys."""
    lengths = array_lengths or {}
    return sorted(ref.name for f in layout.fields for ref in _expand(f, lengths))


def resolve_fields(
    layout: TopicSchema, fields: Sequence[str], array_lengths: dict[str, int] | None = None
) -> list[ColumnRef]:
    """Column references for ``fields``, in the order asked; ``*`` is every field, sorted."""
    lengths = array_lengths or {}
    refs: list[ColumnRef] = []
    for name in fields:
        if name == "*":
            every = [ref for f in layout.fields for ref in _expand(f, lengths)]
            refs.extend(sorted(every, key=lambda r: r.name))
            continue
        spec = layout.field(name)
        if spec is not None:
            refs.extend(_expand(spec, lengths))
            continue
        match = _ELEMENT_RE.match(name)
        base = layout.field(match.group(1)) if match else None
        if match and base is not None and base.is_array:
            index = int(match.group(2))
            length = base.count if base.count > 0 else lengths.get(base.name, index + 1)
            if index < length:
                refs.append(_element(base, index))
                continue
        hint = difflib.get_close_matches(name, flat_fields(layout, lengths), n=3)
        raise UnknownFieldError(
            f"topic {layout.name!r} has no field {name!r}"
            + (f"; did you mean {', '.join(hint)}?" if hint else "")
        )
    return refs
