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


@click.command("export")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def export_command(folder: Path) -> None:
    """Write the batches not yet confirmed by the regional server into FOLDER (a USB stick), signed and sealed.

    Take them to the district office for `simpul regional import`; nothing is
    marked synced until the files it sends back are imported here.
    """
    from sync.client import sneakernet

    ctx = _ctx()
    locale = ctx.locale
    try:
        result = sneakernet.export(ctx.node, folder)
    except ParcelError as exc:
        _fail(exc.message, locale)
    except NotConfigured as exc:
        _fail(describe_error(exc, locale), locale)
    except StorageError as exc:
        _fail(str(exc), locale)
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

    ctx = _ctx()
    locale = ctx.locale
    try:
        result = sneakernet.import_dir(ctx.node, folder)
    except ParcelError as exc:
        _fail(exc.message, locale)
    except NotConfigured as exc:
        _fail(describe_error(exc, locale), locale)
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
