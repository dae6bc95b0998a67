"""Commands for running a box: ``doctor``, ``backup``, ``restore``, ``install-service``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gateway.i18n import Message


def _ctx():  # noqa: ANN202 - gateway.cli.Context (imported late: gateway.cli imports this module)
    from gateway.cli import Context

    return click.get_current_context().find_object(Context)


def _safe_locale() -> str:
    """The config's locale, or the default when the config itself is what is broken."""
    from gateway.cli import ConfigProblem

    try:
        return _ctx().locale
    except ConfigProblem:
        return "id"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(as_json: bool) -> None:
    """Check this node: config, database, disk, permissions, clock, keys, lock, sync, SMS, queue."""
    from gateway.cli import ConfigProblem
    from gateway.errors import ConfigError
    from gateway.ops import doctor as doc

    ctx = _ctx()

    def load():  # noqa: ANN202
        try:
            return ctx.config
        except ConfigProblem as exc:
            raise ConfigError(exc.message.removeprefix("config: ")) from None

    checks = doc.run(load)
    locale = _safe_locale()
    if as_json:
        click.echo(json.dumps({"status": doc.worst(checks), "checks": [c.as_dict(locale) for c in checks]},
                              indent=2, ensure_ascii=False))
    else:
        for line in doc.render_lines(checks, locale):
            click.echo(line)
    sys.exit(doc.status_of(checks))


@click.command()
@click.argument("dest", type=click.Path(file_okay=True, dir_okay=True))
def backup(dest: str) -> None:
    """Copy the database to DEST (a file, or a folder for a dated file); works while serving."""
    from gateway.ops.backup import BackupError
    from gateway.ops.backup import backup as do_backup

    ctx = _ctx()
    try:
        target = do_backup(ctx.config["storage.path"], dest)
    except BackupError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(Message("Backup written: %(file)s (personal data stays sealed; keep the recovery "
                       "code apart from it).", file=str(target)).render(ctx.locale))


@click.command()
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
def restore(src: str) -> None:
    """Replace this node's database with the backup SRC (refused while `simpul serve` runs)."""
    from gateway.errors import SimpulError
    from gateway.ops.backup import restore as do_restore

    ctx = _ctx()
    try:
        kept = do_restore(src, ctx.config["storage.path"])
    except SimpulError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(Message("Restored %(src)s into %(db)s.", src=src, db=ctx.config["storage.path"]).render(ctx.locale))
    if kept:
        click.echo(Message("The replaced database is kept as %(file)s.", file=str(kept)).render(ctx.locale))


@click.command("install-service")
@click.option("--regional", is_flag=True, help="Install the regional server's unit instead of the node's.")
@click.option("--root", "root", type=click.Path(file_okay=False), default="/", show_default=True,
              help="Install below this folder (an image being prepared); no user is created then.")
def install_service(regional: bool, root: str) -> None:
    """Install the systemd units, create the `simpul` user and its 0700 state folder; print next steps."""
    from gateway.ops import service

    try:
        done = service.install(Path(root), regional, service.simpul_executable())
    except (service.ServiceError, OSError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    for line in done:
        click.echo(line)
    click.echo(Message("Next steps:").render(_safe_locale()))
    for step in service.next_steps(regional):
        click.echo(f"  {step}")


def register(group: click.Group) -> None:
    for command in (doctor, backup, restore, install_service):
        group.add_command(command)
