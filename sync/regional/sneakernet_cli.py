"""``simpul regional import DIR`` and ``simpul regional export-for NODE DIR`` (sync.regional.sneakernet)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.errors import CatalogError
from gateway.i18n import Message
from gateway.storage.files import StorageError
from sync.protocol.parcel import ParcelError


def _app():  # noqa: ANN202 - the regional Flask app over this config's store
    from sync.regional.app import create_regional_app
    from sync.regional.cli import _ctx, _store

    try:
        return create_regional_app(_ctx().config, _store())
    except CatalogError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _folder(folder: Path, locale: str) -> None:
    if not folder.is_dir():
        click.echo(Message("%(dir)s is not a folder: plug in the stick and give the folder on it",
                           dir=str(folder)).render(locale), err=True)
        sys.exit(2)


@click.command("import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def import_command(folder: Path) -> None:
    """Apply the files nodes wrote with `simpul sync export` from FOLDER, as their HTTP pushes would be."""
    from sync.regional import sneakernet
    from sync.regional.cli import _ctx

    locale = _ctx().locale
    _folder(folder, locale)
    report = sneakernet.import_dir(_app(), folder)
    done = report.applied
    click.echo(Message("Applied %(files)d files: %(requests)d new requests, %(events)d new status events, "
                       "%(audit)d audit entries; %(conflicts)d conflicts recorded; %(already)d files were "
                       "already imported.", files=done["files"], requests=done["requests"], events=done["events"],
                       audit=done["audit"], conflicts=done["conflicts"], already=report.already).render(locale))
    if done["flagged"]:
        click.echo(Message("An audit trail did not continue the copy held here: the node is flagged "
                           "(simpul regional flags).").render(locale), err=True)
    for name, why in report.refused:
        click.echo(Message("Refused %(file)s: %(reason)s", file=name, reason=why.render(locale)).render(locale),
                   err=True)
    if report.refused:
        sys.exit(1)


@click.command("export-for")
@click.argument("node_id")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def export_for_command(node_id: str, folder: Path) -> None:
    """Write what NODE_ID would pull (status updates, catalog, confirmations) into FOLDER for `simpul sync import`."""
    from sync.regional import sneakernet
    from sync.regional.cli import _ctx

    locale = _ctx().locale
    _folder(folder, locale)
    try:
        report = sneakernet.export_for(_app(), node_id, folder)
    except ParcelError as exc:
        click.echo(exc.message.render(locale), err=True)
        sys.exit(2)
    except StorageError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(Message("Wrote %(files)d files for %(node)s to %(dir)s: %(updates)d status updates.",
                       files=len(report.files), node=node_id, dir=str(folder),
                       updates=report.updates).render(locale))
    if report.catalog_version is not None:
        click.echo(Message("They carry catalog version %(version)d.", version=report.catalog_version).render(locale))
