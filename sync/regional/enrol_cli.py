"""``simpul regional enrol-node``: print one enrolment token (stdout), explanations on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.errors import CatalogError
from gateway.i18n import gettext
from gateway.storage.files import StorageError
from sync.errors import SyncError
from sync.protocol.enrolment import TokenError


@click.command("enrol-node")
@click.argument("node_id")
@click.option("--name", default=None, help="The village office's name (default: the node id).")
@click.option("--qr", "qr_file", type=click.Path(dir_okay=False), default=None,
              help="Also write the token as a QR code PNG (for printing).")
@click.option("--days", type=click.FloatRange(min=0.001, max=90), default=7.0, show_default=True,
              help="Days until the token expires.")
@click.option("--insecure", is_flag=True, help="Allow a plain http:// URL that is not this machine.")
def enrol_node(node_id: str, name: str | None, qr_file: str | None, days: float, insecure: bool) -> None:
    """Register NODE_ID if needed and print a one-time enrolment token for `simpul node join`."""
    from sync.regional import enrol
    from sync.regional.app import published_catalog
    from sync.regional.cli import _ctx, _keys, _store

    ctx = _ctx()
    config = ctx.config

    def _(msgid: str, **params: object) -> str:
        return gettext(ctx.locale, msgid, **params)

    url, guessed = enrol.regional_url(config)
    if guessed:
        click.echo(_("regional.public_url is empty: the token carries %(url)s; set [regional] public_url "
                     "to the address nodes reach.", url=url), err=True)
    if enrol.insecure(url) and not insecure:
        click.echo(_("%(url)s is plain http:// beyond this machine: set an https:// regional.public_url, "
                     "or add --insecure on a trusted network.", url=url), err=True)
        sys.exit(2)
    try:
        version, _text = published_catalog(config)
        keys = _keys()
        token = enrol.issue(_store(), node_id, name, url, keys_public(keys), version, days)
        line = token.encode()
    except (SyncError, TokenError, CatalogError, StorageError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(line)
    if qr_file:
        Path(qr_file).write_bytes(enrol.qr_png(line))
        click.echo(_("QR code written to %(file)s.", file=qr_file), err=True)
    click.echo(_("On the node, run: simpul node join TOKEN (valid %(days)s days, works once).",
                 days=f"{days:g}"), err=True)


def keys_public(keys: object) -> bytes:
    import base64

    return base64.b64decode(keys.public_b64())  # type: ignore[attr-defined]
