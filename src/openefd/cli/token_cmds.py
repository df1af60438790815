"""``openefd token create|list|revoke``: the access tokens of a store's server."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openefd.cli.common import StoreOption, console, guarded, settings_for
from openefd.server.efdauth import efdauth_entry, server_url, write_efdauth
from openefd.server.state import Scope
from openefd.server.tokens import TokenBook

__all__ = ["app"]

app = typer.Typer(
    name="token",
    help=(
        "Access tokens for 'openefd serve', kept hashed in tokens.json in the store "
        "directory; changes take effect on a running server at once."
    ),
    no_args_is_help=True,
)


class ScopeChoice(StrEnum):
    """What a token allows; admin implies write, write implies read."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@app.command()
@guarded
def create(
    name: Annotated[str, typer.Argument(help="Token name (shown in access logs).")],
    scope: Annotated[
        list[ScopeChoice],
        typer.Option("--scope", help="read, write or admin; repeat for more."),
    ],
    store: StoreOption = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="User name that InfluxDB basic auth (or u=) must give with this token.",
            show_default=False,
        ),
    ] = None,
    efdauth_file: Annotated[
        Path | None,
        typer.Option(
            "--efdauth-file",
            help="Also write this server's credentials, with the new secret, to this "
            "$EFDAUTH file for lsst-efd-client (added to an existing file; mode 0600).",
            show_default=False,
        ),
    ] = None,
    alias: Annotated[str, typer.Option(help="Alias in the --efdauth-file.")] = "openefd",
    url: Annotated[
        str | None,
        typer.Option(
            help="Server URL for --efdauth-file (default: from the server settings).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Make a token and print its secret, once (only its hash is kept)."""
    settings = settings_for(store)
    book = TokenBook.for_store(settings.store)
    record, secret = book.create(name, [Scope(s.value) for s in scope], user=user)
    scopes = ", ".join(sorted(s.value for s in record.scopes))
    console.print(
        f"token [bold]{record.name}[/bold] ({scopes}) created; its secret, shown only now:",
        highlight=False,
    )
    print(secret)
    if efdauth_file is not None:
        entry = efdauth_entry(
            settings, url=url or server_url(settings), username=user or name, password=secret
        )
        write_efdauth(efdauth_file, alias, entry)
        console.print(
            f"wrote alias {alias!r} to {efdauth_file}: export EFDAUTH={efdauth_file}",
            highlight=False,
        )


@app.command("list")
@guarded
def list_tokens(store: StoreOption = None) -> None:
    """Show the tokens: name, scopes, user, created (never secrets)."""
    settings = settings_for(store)
    records = TokenBook.for_store(settings.store).records()
    if not records:
        console.print(f"no tokens in {settings.store} (the server is open to local callers)")
        return
    table = Table("name", "scopes", "user", "created (UTC)")
    for r in records:
        scopes = ", ".join(sorted(s.value for s in r.scopes))
        table.add_row(r.name, scopes, r.user or "", r.created)
    console.print(table)


@app.command()
@guarded
def revoke(
    name: Annotated[str, typer.Argument(help="Token name.")],
    store: StoreOption = None,
) -> None:
    """Remove a token; a running server refuses it from the next request on."""
    settings = settings_for(store)
    TokenBook.for_store(settings.store).revoke(name)
    console.print(f"token {name!r} revoked", highlight=False)
