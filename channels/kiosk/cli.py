"""``simpul officer add``: create kiosk accounts (and their key slots) from the node's shell.

The password never appears on the command line (it would land in shell
history and ``ps``): it is read from stdin with ``--password-stdin`` (for
scripts), or prompted twice with hidden input. The same password wraps the
officer's key slot. Granting them the node key needs the node key itself:
the recovery code from env ``SIMPUL_RECOVERY_CODE``, or typed at a hidden
prompt (Enter skips). Without it the officer is added ungranted and gets the
grant when an officer who holds the key next logs in.
"""

from __future__ import annotations

import os
import sys

import click

from channels.kiosk import accounts
from channels.kiosk.errors import AccountError
from gateway.privacy import keys
from gateway.privacy.keys import NodeKeys

RECOVERY_ENV = "SIMPUL_RECOVERY_CODE"


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
@click.option("--reset", is_flag=True, help="Replace the password (and role) of an existing officer; "
              "their old key slot and grants end.")
def officer_add(username: str, role: str, password_stdin: bool, reset: bool) -> None:
    """Create an officer account and key slot (password: at least 8 characters).

    The node key is granted when the recovery code is given (env
    SIMPUL_RECOVERY_CODE, or the prompt); otherwise at the next login of an
    officer who holds it.
    """
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
    node_keys = _recovery_keys(ctx, interactive=not password_stdin)
    try:
        result = ctx.node.store.write(lambda db: accounts.add_officer(db, name, password, role, replace=reset,
                                                                      grant_with=node_keys))
    except AccountError as exc:
        fail(ctx._("Cannot add officer: %(reason)s", reason=str(exc)), 2)
    click.echo(ctx._("Officer %(name)s added (%(role)s).", name=name, role=role))
    if result["granted"]:
        click.echo(ctx._("%(name)s holds the node key and can open personal data.", name=name))
    else:
        click.echo(ctx._("%(name)s does not hold the node key yet: personal data stays sealed for them until "
                         "an officer who holds it logs in at the kiosk (or give the recovery code).", name=name))


def _recovery_keys(ctx, *, interactive: bool) -> NodeKeys | None:  # noqa: ANN001 - gateway.cli.Context
    """The node keys opened with the recovery code, if one is given; a wrong code stops here."""
    from gateway.cli import fail, show_recovery_code

    ctx.node.store  # noqa: B018 - opening a fresh node creates its key and recovery code
    if ctx.node.new_recovery_code:  # the first officer on a fresh node: the key is at hand
        show_recovery_code(ctx)
        return keys.recover(ctx.node.store.read(), ctx.node.new_recovery_code)
    code = os.environ.get(RECOVERY_ENV, "").strip()
    if not code and interactive:
        try:
            code = click.prompt(ctx._("Recovery code to grant the node key (Enter skips)"), default="",
                                show_default=False, hide_input=True, err=True).strip()
        except click.exceptions.Abort:  # stdin closed: same as Enter
            code = ""
    if not code:
        return None
    try:
        return keys.recover(ctx.node.store.read(), code)
    except keys.KeyAccessError:
        fail(ctx._("The recovery code does not open the node key; nothing was changed."), 2)
    return None
