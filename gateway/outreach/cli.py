"""``simpul poster``: the A4 poster as one self-contained HTML file, ready to print."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.i18n import LOCALES, Message


@click.command("poster")
@click.option("--locale", type=click.Choice(LOCALES), default=None,
              help="Language of the poster (default: node.default_locale).")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the page to FILE (default: standard output).")
def poster_command(locale: str | None, out: str | None) -> None:
    """Write the printable A4 poster (services, SMS formats, USSD code, portal QR) as HTML."""
    from gateway.cli import Context, fail
    from gateway.outreach import poster

    ctx = click.get_current_context().find_object(Context)
    page = poster.render(poster.build(ctx.config, ctx.node.catalog, locale or ctx.locale))
    if out is None:
        click.echo(page, nl=False)
        return
    try:
        Path(out).write_text(page, encoding="utf-8")
    except OSError as exc:
        fail(Message("Cannot write %(path)s: %(reason)s", path=out, reason=exc.strerror).render(ctx.locale), 1)
    click.echo(Message("Poster written to %(path)s; print it on A4.", path=out).render(ctx.locale))


def register(cli: click.Group) -> None:
    cli.add_command(poster_command)
