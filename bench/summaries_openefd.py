"""(a) of the summaries benchmark, timed end to end in a process of its own.

``.venv/bin/python -m bench.summaries_openefd STORE CONFIG DAY_OBS [--out FILE]``
imports openefd (not timed), then times what ``openefd summarize --day-obs``
does: read the YAML configuration, open the store read-only, compute every
summary of the night's exposures and build the wide and long frames, close
the store. It prints one JSON line: the seconds, the process's peak RSS
before and after (``resource.getrusage``; the process is fresh, so the peak
is the summaries' own plus the interpreter's and the libraries'), and the
shape of the answer. ``--out`` writes the long frame to Parquet (after the
clock stops) for comparing answers.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from openefd.analysis.summaries import summarize
from openefd.analysis.summaries_config import load_config
from openefd.store.duckdb_store import Store

__all__ = ["main"]


def _peak_rss_mb() -> float:
    """This process's peak RSS, MB: ``VmHWM``, else ``getrusage``.

    On Linux ``ru_maxrss`` keeps the high-water mark of the process that
    forked this one (it survives ``exec``): the benchmark's, with the whole
    night in memory. ``VmHWM`` belongs to this process's own memory map.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.summaries_openefd")
    parser.add_argument("store", type=Path)
    parser.add_argument("config", type=Path)
    parser.add_argument("day_obs", type=int)
    parser.add_argument("--out", type=Path, default=None, help="long frame to this Parquet file")
    args = parser.parse_args(argv)
    rss_before = _peak_rss_mb()
    t0 = time.perf_counter()
    config = load_config(args.config)
    with Store(args.store, read_only=True) as store:
        result = summarize(store, config, day_obs=args.day_obs)
    seconds = time.perf_counter() - t0
    rss_peak = _peak_rss_mb()
    if args.out is not None:
        result.long.to_parquet(args.out, index=False)
    summary_columns = len(result.wide.columns) - sum(
        c in result.wide.columns for c in ("instrument", "exposure_id", "obs_id", "day_obs")
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_before_mb": rss_before,
                "rss_peak_mb": rss_peak,
                "exposures": len(result.wide),
                "configured_columns": len(result.columns),
                "wide_columns": summary_columns,
                "long_rows": len(result.long),
                "values_per_exposure": int(result.columns["elements"].clip(lower=1).sum()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
