"""The ``openefd`` command: one sub-command per task, each with ``--help``."""

from __future__ import annotations

from typing import Annotated

import typer

from openefd.cli import (
    demo_cmd,
    import_cmds,
    investigate_cmds,
    investigate_env_cmds,
    latency_cmd,
    query_cmds,
    serve_cmd,
    sim_cmd,
    store_cmds,
    summaries_cmd,
    tier_cmds,
    token_cmds,
)
from openefd.settings import settings_markdown

__all__ = ["app", "main"]

app = typer.Typer(
    name="openefd",
    help=(
        "openefd — an observatory engineering database.\n\n"
        "Telemetry, events and commands in an embedded store, read with the "
        "lsst-efd-client API. Settings come from OPENEFD_* environment variables "
        "(see 'openefd settings')."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command()(store_cmds.init)
app.command()(store_cmds.load)
app.command()(store_cmds.info)
app.command()(query_cmds.topics)
app.command()(query_cmds.fields)
app.command()(query_cmds.schema)
app.command()(query_cmds.get)
app.command()(query_cmds.asof)
app.command()(store_cmds.aggregate)
app.command()(demo_cmd.demo)
app.command()(sim_cmd.simulate)
app.command()(tier_cmds.export)
app.command()(tier_cmds.retention)
app.command("load-exposures")(latency_cmd.load_exposures)
app.command("import-butler")(import_cmds.import_butler)
app.command("import-s3")(import_cmds.import_s3)
app.command("import-events")(import_cmds.import_events)
app.command()(latency_cmd.exposures)
app.command()(latency_cmd.arrivals)
app.command()(latency_cmd.latency)
app.command("summarize")(summaries_cmd.summarize)
app.command()(investigate_env_cmds.wind)
app.command()(investigate_env_cmds.seeing)
app.command()(investigate_cmds.correlate)
app.command()(investigate_cmds.excursions)
app.command()(serve_cmd.serve)
app.add_typer(token_cmds.app, name="token")


@app.command()
def settings(
    markdown: Annotated[bool, typer.Option(help="Print the reference table as Markdown.")] = False,
) -> None:
    """Show every setting, its environment variable, default and meaning."""
    from openefd.cli.common import console, settings_for

    if markdown:
        print(settings_markdown(), end="")
        return
    current = settings_for()
    for name, info in type(current).model_fields.items():
        console.print(
            f"[bold]OPENEFD_{name.upper()}[/bold] = {getattr(current, name)!s}", highlight=False
        )
        console.print(f"    {info.description}", style="dim", highlight=False)


def main() -> None:
    """Entry point of the ``openefd`` script."""
    app()
