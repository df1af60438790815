"""Two-system result tables: openefd, the reference, their ratio, target and verdict.

Sections are appended to ``bench/RESULTS.md`` (:data:`bench.results.RESULTS`,
created with its header when missing), never rewritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.results import RESULTS, append_markdown

__all__ = ["Row", "Section", "append_section", "print_rows", "speed_ratio", "time_ratio"]


@dataclass(frozen=True, slots=True)
class Row:
    """One metric on both systems; ``target``/``passed`` None for context rows."""

    name: str
    openefd: str
    reference: str
    ratio: str
    target: str | None = None
    passed: bool | None = None
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "—"
        return "PASS" if self.passed else "MISS"


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    utc: dt.datetime
    commit: str
    command: str
    machine: str
    software: str
    facts: list[str]
    rows: list[Row]
    notes: list[str]


def time_ratio(openefd: float, reference: float) -> str:
    """openefd / reference for durations, with how many times faster or slower."""
    r = openefd / reference
    if r <= 1:
        return f"{r:.3g} ({1 / r:.1f}× faster)"
    return f"{r:.3g} ({r:.1f}× slower)"


def speed_ratio(openefd: float, reference: float) -> str:
    """openefd / reference for rates (higher is better)."""
    r = openefd / reference
    return f"{r:.3g} ({r:.1f}× faster)" if r >= 1 else f"{r:.3g} ({1 / r:.1f}× slower)"


def _render(s: Section) -> str:
    lines = [
        f"## {s.utc:%Y-%m-%d %H:%M} UTC — {s.title} — commit {s.commit}",
        "",
        f"- command: `{s.command}`",
        f"- machine: {s.machine}",
        f"- software: {s.software}",
        *(f"- {fact}" for fact in s.facts),
        "",
        "| metric | openefd | InfluxDB | ratio openefd/InfluxDB | target | result | detail |",
        "| --- | ---: | ---: | --- | --- | --- | --- |",
    ]
    for r in s.rows:
        lines.append(
            f"| {r.name} | {r.openefd} | {r.reference} | {r.ratio} | {r.target or '—'} "
            f"| {r.verdict} | {r.detail} |"
        )
    if s.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in s.notes)
    return "\n".join(lines) + "\n"


def append_section(section: Section, path: Path = RESULTS) -> Path:
    return append_markdown(_render(section), section.machine, path)


def print_rows(title: str, rows: list[Row]) -> None:
    table = Table(title=title)
    for name in ("metric", "openefd", "InfluxDB", "ratio", "target", "result"):
        table.add_column(name, justify="right" if name in ("openefd", "InfluxDB") else "left")
    for r in rows:
        style = {"PASS": "green", "MISS": "bold red"}.get(r.verdict, "")
        table.add_row(
            r.name,
            r.openefd,
            r.reference,
            r.ratio,
            r.target or "—",
            f"[{style}]{r.verdict}[/]" if style else "—",
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=180)
    console.print(table)
