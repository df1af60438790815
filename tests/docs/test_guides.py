"""Every ``>>>`` example in the guides runs, against the store the guides assume.

The examples are the ``python`` code blocks that hold ``>>>`` prompts, after the
set-up blocks (plain code that imports); a block after ``<!-- not run -->``
is shown only (it needs what is not installed here). They run in order, per guide, in a
directory holding the store of ``openefd demo --hours 0.25`` (``openefd-store``: the
first 15 minutes of the simulated night), as the guides say.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from openefd.cli.main import app
from openefd.client import EfdClientSync

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"(<!-- not run -->\n)?```python\n(.*?)```", re.DOTALL)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, sal_xml_dir: Path) -> Path:
    work = tmp_path_factory.mktemp("guide")
    store = work / "openefd-store"
    result = CliRunner().invoke(
        app, ["demo", "--store", str(store), "--schemas", str(sal_xml_dir), "--hours", "0.25"]
    )
    assert result.exit_code == 0, result.output
    return work


@pytest.mark.parametrize("guide", ["user-guide.md", "operator-guide.md"])
def test_guide_examples_run(guide: str, demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(demo_dir)
    blocks = [b for skip, b in BLOCK.findall((DOCS / guide).read_text()) if not skip]
    globs: dict[str, object] = {}
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
    attempted = 0
    try:
        attempted = _run_blocks(guide, blocks, globs, runner)
    finally:
        for value in globs.values():  # close clients and connections the guide opened
            if isinstance(value, EfdClientSync | duckdb.DuckDBPyConnection):
                value.close()
    assert attempted >= 3
    assert not failures, "\n\n".join(failures)


def _run_blocks(
    guide: str, blocks: list[str], globs: dict[str, object], runner: doctest.DocTestRunner
) -> int:
    attempted = 0
    for n, block in enumerate(blocks):
        if ">>>" not in block:
            # Set-up blocks (those that import) run; signature listings and notebook-only
            # async snippets are shown, not run.
            if re.search(r"^(from|import) ", block, re.MULTILINE) and "await " not in block:
                exec(compile(block, f"{guide} block {n}", "exec"), globs)
            continue
        test = doctest.DocTestParser().get_doctest(block, globs, guide, guide, 0)
        attempted += runner.run(test, out=lambda _: None, clear_globs=False).attempted
        globs.update(test.globs)  # DocTest works on a copy; later blocks build on it
    return attempted
