"""``openefd import-butler``, ``import-s3``, ``import-events``: a night's exposures and times.

``import-butler REPO --day-obs D`` reads the butler repository's exposure
records and raw datasets (:mod:`openefd.ingest.butler_import`);
``import-s3 BUCKET --day-obs D`` lists the night's raw objects
(:mod:`openefd.ingest.s3_arrivals`); ``import-events D`` derives the
night's exposures and OODS ingests from the camera's events already in the
store (:mod:`openefd.analysis.camera_events`). Each writes into the exposure
registry only the columns it knows, and can be run again at no cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from openefd.cli.common import StoreOption, console, guarded, open_for_writing, settings_for
from openefd.ingest.butler_import import import_butler as run_import_butler
from openefd.ingest.exposure_loader import LoadResult
from openefd.ingest.s3_arrivals import DEFAULT_PREFIX_TEMPLATE, import_s3_arrivals
from openefd.store.exposure_tables import UpsertCounts
from openefd.store.exposures import parse_day_obs

__all__ = ["import_butler", "import_events", "import_s3"]

DayObsOption = Annotated[
    str | None, typer.Option("--day-obs", help="Observing day, YYYYMMDD or YYYY-MM-DD.")
]
InstrumentOption = Annotated[str, typer.Option(help="Instrument, as the butler names it.")]


@contextmanager
def _counting(what: str) -> Iterator[Callable[[int], None]]:
    """A progress line counting ``what`` as the importer reports them (total unknown)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"0 {what}")

        def update(done: int) -> None:
            progress.update(task, description=f"{done:,} {what}")

        yield update


def _report(result: LoadResult) -> None:
    for name, counts in (("exposures", result.exposures), ("images", result.arrivals)):
        console.print(
            f"{name}: {counts.new:,} new, {counts.changed:,} changed, "
            f"{counts.unchanged:,} unchanged"
        )


@guarded
def import_butler(
    repo: Annotated[str, typer.Argument(help="Butler repository: path, URI or alias.")],
    day_obs: DayObsOption = None,
    collections: Annotated[
        list[str] | None,
        typer.Option(
            "--collections",
            "-c",
            help="Collections to search for raw (repeat; default INSTRUMENT/raw/all).",
        ),
    ] = None,
    instrument: InstrumentOption = "LSSTCam",
    store: StoreOption = None,
) -> None:
    """Import exposure records and raw ingest times from a butler repository."""
    settings = settings_for(store)
    with open_for_writing(settings) as st, _counting("raw datasets") as progress:
        result = run_import_butler(
            st,
            repo,
            instrument=instrument,
            day_obs=day_obs,
            collections=collections or None,
            progress=progress,
        )
    _report(result)
    if result == LoadResult(UpsertCounts(), UpsertCounts()):
        console.print("[yellow]nothing found[/yellow]: check --day-obs and --collections")


@guarded
def import_s3(
    bucket: Annotated[str, typer.Argument(help="Bucket holding the raw images.")],
    day_obs: Annotated[str, typer.Option("--day-obs", help="Observing day, YYYYMMDD.")],
    prefix_template: Annotated[
        str,
        typer.Option(help="Prefix of a night's objects; may use {instrument} and {day_obs}."),
    ] = DEFAULT_PREFIX_TEMPLATE,
    endpoint_url: Annotated[
        str | None, typer.Option(help="S3 endpoint (default: AWS, or $AWS_ENDPOINT_URL).")
    ] = None,
    instrument: InstrumentOption = "LSSTCam",
    store: StoreOption = None,
) -> None:
    """Import a night's S3 arrival times by listing the bucket (no HEAD per image)."""
    day = parse_day_obs(day_obs)
    settings = settings_for(store)
    with open_for_writing(settings) as st, _counting("objects listed") as progress:
        result = import_s3_arrivals(
            st,
            bucket,
            day_obs=day,
            instrument=instrument,
            prefix_template=prefix_template,
            endpoint_url=endpoint_url,
            progress=progress,
        )
    _report(result)
    if result.arrivals == UpsertCounts():
        prefix = prefix_template.format(instrument=instrument, day_obs=day)
        console.print(f"[yellow]no raw images[/yellow] under s3://{bucket}/{prefix}")


@guarded
def import_events(
    day_obs: Annotated[str, typer.Argument(help="Observing day, YYYYMMDD or YYYY-MM-DD.")],
    instrument: InstrumentOption = "LSSTCam",
    store: StoreOption = None,
) -> None:
    """A night's exposures and per-detector OODS ingests, from camera events in the store."""
    from openefd.analysis.camera_events import import_camera_events

    settings = settings_for(store)
    with _counting("events read"), open_for_writing(settings) as st:
        got = import_camera_events(st, parse_day_obs(day_obs), instrument=instrument)
    _report(got.load)
    console.print(
        f"from events: {got.images:,} images, {got.detector_files:,} detector files ingested"
        f", {got.failed_ingests:,} failed ingests, {got.unknown_detectors:,} unknown detectors"
    )
