"""``simpul sync export DIR`` and ``simpul sync import DIR``: sync by USB stick (sync.client.sneakernet)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.i18n import Message
from gateway.storage.files import StorageError
from sync.client.messages import describe_error
from sync.errors import NotConfigured
from sync.protocol.parcel import ParcelError


def _ctx():  # noqa: ANN202 - gateway.cli.Context
    from gateway.cli import Context

    return click.get_current_context().find_object(Context)


def _fail(message: Message | str, locale: str, code: int = 2) -> None:
    click.echo(message.render(locale) if isinstance(message, Message) else message, err=True)
    sys.exit(code)


def _run(step, folder: Path, locale: str, **kwargs):  # noqa: ANN001, ANN003, ANN202 - sneakernet steps
    """Run one sneakernet step on this node; every refusal is one clear line on stderr and exit 2, never a traceback."""
    try:
        return step(_ctx().node, folder, **kwargs)
    except ParcelError as exc:
        _fail(exc.message, locale)
    except NotConfigured as exc:
        _fail(describe_error(exc, locale), locale)
    except StorageError as exc:
        _fail(str(exc), locale)


def _folder_bytes(folder: Path) -> int:
    try:
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    except OSError:
        return 0


class _ExportProgress:
    """Progress for a backlog worth watching (the threshold of `simpul sync --once`); bytes are what reached the stick."""

    def __init__(self, locale: str, folder: Path) -> None:
        self.locale, self.folder, self.shown = locale, folder, None

    def planned(self, records: int) -> None:
        from sync.client.cli import PROGRESS_THRESHOLD
        from sync.client.progress import Progress

        if records >= PROGRESS_THRESHOLD:
            self.shown = Progress(self.locale, {"export": records}, lambda: _folder_bytes(self.folder),
                                  tty=sys.stderr.isatty())

    def __call__(self, stage: str, records: int) -> None:
        if self.shown is not None:
            self.shown(stage, records)

    def close(self) -> None:
        if self.shown is not None:
            self.shown.close()


@click.command("export")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def export_command(folder: Path) -> None:
    """Write the batches not yet confirmed by the regional server into FOLDER (a USB stick), signed and sealed.

    Take them to the district office for `simpul regional import`; nothing is
    marked synced until the files it sends back are imported here.
    """
    from sync.client import sneakernet

    locale = _ctx().locale
    progress = _ExportProgress(locale, folder)
    try:
        result = _run(sneakernet.export, folder, locale, progress=progress, planned=progress.planned)
    finally:
        progress.close()
    click.echo(Message("Wrote %(files)d files to %(dir)s: %(requests)d requests, %(events)d status events and "
                       "%(audit)d audit entries the regional server has not confirmed yet.",
                       files=len(result.files), dir=str(folder), requests=result.moved["requests"],
                       events=result.moved["events"], audit=result.moved["audit"]).render(locale))
    if result.awaiting_seal:
        click.echo(Message("%(n)d requests wait for an officer login to be sealed for the region",
                           n=result.awaiting_seal).render(locale), err=True)


@click.command("import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def import_command(folder: Path) -> None:
    """Apply the files the regional server wrote for this node (`simpul regional export-for`) from FOLDER."""
    from sync.client import sneakernet

    locale = _ctx().locale
    result = _run(sneakernet.import_dir, folder, locale)
    moved = result.moved
    click.echo(Message("Confirmed by the regional server: %(requests)d requests, %(events)d status events, "
                       "%(audit)d audit entries. Applied %(pulled)d updates (%(notified)d SMS queued); "
                       "catalog version %(version)d.", requests=result.acked["requests"],
                       events=result.acked["events"], audit=result.acked["audit"],
                       pulled=moved.get("pulled", 0), notified=moved.get("notified", 0),
                       version=moved.get("catalog_version", 0)).render(locale))
    if result.other_nodes:
        click.echo(Message("Left alone: files for other nodes (%(nodes)s).",
                           nodes=", ".join(sorted(result.other_nodes))).render(locale))
    for name, why in result.refused:
        click.echo(Message("Refused %(file)s: %(reason)s", file=name or folder.name,
                           reason=why.render(locale)).render(locale), err=True)
    if result.refused:
        sys.exit(1)
