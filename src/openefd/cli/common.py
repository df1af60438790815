"""What every command shares: the store option, settings, error reporting."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

from openefd.analysis.summary_upkeep import attach_summaries
from openefd.errors import OpenEfdError
from openefd.settings import Settings
from openefd.store.duckdb_store import Store

__all__ = [
    "StoreOption",
    "console",
    "err_console",
    "fail_on_errors",
    "guarded",
    "open_for_writing",
    "settings_for",
]

console = Console()
err_console = Console(stderr=True)

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        "-s",
        help="Store directory (default: $OPENEFD_STORE, else ./openefd-store).",
        show_default=False,
    ),
]


def settings_for(store: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with command-line values on top."""
    try:
        settings = Settings()
    except (ValidationError, SettingsError) as exc:
        err_console.print(f"[red]error:[/red] invalid OPENEFD_ setting: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    values = {k: v for k, v in overrides.items() if v is not None}
    if store is not None:
        values["store"] = store
    return settings.model_copy(update=values) if values else settings


def open_for_writing(settings: Settings) -> Store:
    """The store opened for writing, its per-exposure summaries kept up to date as data
    arrives (unless ``OPENEFD_SUMMARIES_AUTO=false``)."""
    store = Store(settings.store, settings=settings)
    try:
        attach_summaries(store)
    except BaseException:
        store.close()
        raise
    return store


@contextmanager
def fail_on_errors() -> Iterator[None]:
    """Print openefd's own errors as one clear line and exit 1, without a traceback."""
    try:
        yield
    except OpenEfdError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(130) from None


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator form of :func:`fail_on_errors` for command functions."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with fail_on_errors():
            return func(*args, **kwargs)

    return wrapper


def is_interactive() -> bool:
    return sys.stderr.isatty()
