"""Recording benchmark results: the machine, the commit, and ``bench/RESULTS.md``.

Results are appended, never rewritten: each run adds a dated section with
what it measured, next to its target and PASS/MISS.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Metric", "Run", "append_results", "git_commit", "machine"]

RESULTS = Path(__file__).with_name("RESULTS.md")
REPO = Path(__file__).resolve().parent.parent

HEADER = """\
# Benchmark results

Appended by `scripts/bench` (`.venv/bin/python -m bench.core`), one dated
section per full run; see `bench/README.md` for what is measured. Do not
edit sections by hand: every number below was measured as shown.

Machine (when this file was created): {machine}.

The targets are absolute, from issue 2, because issue 2 has no reference
system to compare against. Later issues add InfluxDB 1.6.7, run on the same
machine and data set, and report ratios next to these numbers.
"""


@dataclass(frozen=True, slots=True)
class Metric:
    """One measured number; ``target`` and ``passed`` are None for context rows."""

    name: str
    value: str
    detail: str = ""
    target: str | None = None
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "—"
        return "PASS" if self.passed else "MISS"


@dataclass(frozen=True, slots=True)
class Run:
    """One benchmark run: when, on what, with which data, and what it measured."""

    utc: dt.datetime
    commit: str
    machine: str
    software: str
    command: str
    dataset: str
    metrics: list[Metric]
    notes: list[str]


def machine() -> str:
    """CPU model, cores and RAM of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "? GiB"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB RAM"
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores (nproc), {ram}, Linux {platform.release()}"


def git_commit() -> str:
    """Short HEAD commit, marked ``+modified`` when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+modified" if status else head


def _section(run: Run) -> str:
    lines = [
        f"## {run.utc:%Y-%m-%d %H:%M} UTC — commit {run.commit}",
        "",
        f"- command: `{run.command}`",
        f"- machine: {run.machine}",
        f"- software: {run.software}",
        f"- data set: {run.dataset}",
        "",
        "| metric | measured | detail | target | result |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for m in run.metrics:
        lines.append(f"| {m.name} | {m.value} | {m.detail} | {m.target or '—'} | {m.verdict} |")
    if run.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in run.notes)
    return "\n".join(lines) + "\n"


def append_markdown(text: str, machine: str, path: Path = RESULTS) -> Path:
    """Append a section to ``path``, creating it with its header when missing."""
    if not path.exists():
        path.write_text(HEADER.format(machine=machine))
    with path.open("a") as out:
        out.write("\n" + text)
    return path


def append_results(run: Run, path: Path = RESULTS) -> Path:
    """Append ``run`` as a section of ``path`` (created with its header when missing)."""
    return append_markdown(_section(run), run.machine, path)
