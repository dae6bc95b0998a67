"""``simpul officer add``: create kiosk accounts from the node's shell.

The password never appears on the command line (it would land in shell
history and ``ps``): it is read from stdin with ``--password-stdin`` (for
scripts), or prompted twice with hidden input.
"""

from __future__ import annotations

import sys

import click

from channels.kiosk import accounts
from channels.kiosk.errors import AccountError


def register(group: click.Group) -> None:
    """Add this part's commands to the ``simpul`` group."""
    group.add_command(officer)


@click.group()
def officer() -> None:
    """Kiosk officer accounts."""


@officer.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(accounts.ROLES), default="officer", show_default=True,
              help="admin or officer.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (first line).")
@click.option("--reset", is_flag=True, help="Replace the password (and role) of an existing officer.")
def officer_add(username: str, role: str, password_stdin: bool, reset: bool) -> None:
    """Create an officer account (password: at least 8 characters)."""
    from gateway.cli import Context, fail

    ctx = click.get_current_context().find_object(Context)
    try:
        name = accounts.check_username(username)
    except AccountError as exc:
        fail(ctx._("Cannot add officer: %(reason)s", reason=str(exc)), 2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(ctx._("Password"), hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < accounts.MIN_PASSWORD_LENGTH:
        fail(ctx._("The password must be at least %(n)d characters.", n=accounts.MIN_PASSWORD_LENGTH), 2)
    try:
        ctx.node.store.write(lambda db: accounts.add_officer(db, name, password, role, replace=reset))
    except AccountError as exc:
        fail(ctx._("Cannot add officer: %(reason)s", reason=str(exc)), 2)
    click.echo(ctx._("Officer %(name)s added (%(role)s).", name=name, role=role))
