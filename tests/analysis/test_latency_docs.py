"""Every ``>>>`` example of ``docs/latency.md`` runs and shows what it says.

The examples assume the store of ``openefd demo`` (an hour from
2024-05-01T23:30Z, seed 1) in ``./openefd-store``; the latency examples read
only its exposure registry, so the fixture holds just that (the same
exposures and arrivals the demo loads). Blocks after ``<!-- not run -->``
need the demo's telemetry and are shown only.
"""

from __future__ import annotations

import doctest
import re
import shutil
from pathlib import Path

import pytest

from openefd.store.duckdb_store import Store

DOC = Path(__file__).resolve().parents[2] / "docs" / "latency.md"
BLOCK = re.compile(r"(<!-- not run -->\n)?```python\n(.*?)```", re.DOTALL)


def test_latency_doc_examples_run(
    night_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(night_store, tmp_path / "openefd-store")
    monkeypatch.chdir(tmp_path)
    blocks = [b for skip, b in BLOCK.findall(DOC.read_text()) if not skip and ">>>" in b]
    assert len(blocks) >= 5
    failures: list[str] = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    runner.report_failure = lambda out, t, ex, got: failures.append(  # type: ignore[method-assign]
        f"{ex.source.strip()}\nwant: {ex.want.strip()}\ngot:  {got.strip()}"
    )
    runner.report_unexpected_exception = (  # type: ignore[method-assign]
        lambda out, t, ex, info: failures.append(f"{ex.source.strip()}\nraised {info[1]!r}")
    )
    globs: dict[str, object] = {}
    attempted = 0
    try:
        for n, block in enumerate(blocks):
            test = doctest.DocTestParser().get_doctest(block, globs, f"latency.md:{n}", None, 0)
            attempted += runner.run(test, out=lambda _: None, clear_globs=False).attempted
            globs.update(test.globs)
    finally:
        for value in globs.values():
            if isinstance(value, Store):
                value.close()
    assert attempted >= 20
    assert not failures, "\n\n".join(failures)
