"""``simpul keys ...``: the node's sealing keys from the node's shell.

Every command that needs the node key asks for it the way a person holds it:
an officer's password (``--officer NAME``) or the recovery code (env
``SIMPUL_RECOVERY_CODE``, else a hidden prompt). Nothing secret is ever put
on the command line (shell history, ``ps``) or printed, except a *new*
recovery code, once, on the terminal that asked for it.
"""

from __future__ import annotations

import os
import sys

import click

from gateway.privacy import audit, keys, rotation
from gateway.terminal import printable


def register(group: click.Group) -> None:
    group.add_command(keys_group)


@click.group("keys")
def keys_group() -> None:
    """The node's sealing keys: status, grants, rotation, recovery code."""


def _ctx():  # noqa: ANN202 - gateway.cli.Context (imported late: cli imports this module)
    from gateway.cli import Context

    return click.get_current_context().find_object(Context)


def held_keys(officer: str | None, password_stdin: bool) -> tuple[keys.NodeKeys, str]:
    """(node keys, actor) from an officer's password or the recovery code; exits 2 if they do not open."""
    from gateway.cli import fail

    ctx = _ctx()
    db = ctx.node.store.read()
    try:
        if officer:
            if password_stdin:
                secret = sys.stdin.readline().rstrip("\r\n")
            else:
                secret = click.prompt(ctx._("Password of %(name)s", name=officer), hide_input=True, err=True)
            held = keys.unlock(db, officer.strip().lower(), secret)
            actor = officer.strip().lower()
        else:
            secret = os.environ.get("SIMPUL_RECOVERY_CODE") or (
                sys.stdin.readline().rstrip("\r\n") if password_stdin
                else click.prompt(ctx._("Recovery code"), hide_input=True, err=True))
            held = keys.recover(db, secret)
            actor = "recovery"
    except keys.KeyAccessError:
        fail(ctx._("That does not open the node key."), 2)
    current = keys.current_key(db)
    if not current or current[0] not in held:
        fail(ctx._("That does not open the node key."), 2)
    return held, actor


_OFFICER = click.option("--officer", default=None, help="Unlock with this officer's password (default: the recovery code).")
_STDIN = click.option("--password-stdin", is_flag=True, help="Read the password or recovery code from stdin.")


@keys_group.command("status")
def keys_status() -> None:
    """Show the node key id, who holds it, and what waits for indexing (no secrets)."""
    ctx = _ctx()
    db = ctx.node.store.read()
    info = keys.status(db)
    click.echo(ctx._("Node key: %(kid)s", kid=info["node_key"] or "-"))
    for h in info["holders"]:
        mark = ctx._("granted") if h["granted"] else ctx._("waiting for a grant")
        click.echo(f"  {printable(h['name']):<24} {mark}")
    if info["retired_keys"]:
        click.echo(ctx._("Retired keys: %(ids)s", ids=", ".join(info["retired_keys"])))
    unindexed = db.execute("SELECT count(*) FROM requests WHERE index_key IS NULL").fetchone()[0]
    click.echo(ctx._("Requests waiting for the blind index: %(n)d", n=unindexed))
    click.echo(ctx._("Regional key: %(state)s",
                     state=ctx._("set") if ctx.config.get("sync.regional_key") else ctx._("not set")))


@keys_group.command("grant")
@click.argument("officer")
@_OFFICER
@_STDIN
def keys_grant(officer: str, **auth: object) -> None:
    """Give OFFICER the node key now (else they get it when a key holder next logs in)."""
    from gateway.cli import fail

    ctx = _ctx()
    held, actor = held_keys(auth["officer"], auth["password_stdin"])  # type: ignore[arg-type]
    name = officer.strip().lower()

    def write(db):  # noqa: ANN001, ANN202
        current = keys.current_key(db)
        n = keys.grant(db, name, {current[0]: held[current[0]]})
        audit.append(db, actor=actor, action=audit.KEY_GRANTED, subject=name, details={"key": current[0]})
        return n

    try:
        ctx.node.store.write(write)
    except keys.KeyAccessError:
        fail(ctx._("%(name)s has no key holder: add the officer first.", name=name), 1)
    click.echo(ctx._("%(name)s now holds the node key.", name=name))


@keys_group.command("rotate")
@_OFFICER
@_STDIN
def keys_rotate(**auth: object) -> None:
    """Make a new node key, re-seal every node copy to it, and forget the old one."""
    ctx = _ctx()
    held, actor = held_keys(auth["officer"], auth["password_stdin"])  # type: ignore[arg-type]
    result = rotation.rotate(ctx.node, held, actor)
    click.echo(ctx._("Node key rotated: %(old)s -> %(new)s; %(n)d sealed records re-sealed.",
                     old=", ".join(result.old), new=result.new, n=result.resealed))
    if result.unreadable:
        click.echo(ctx._("%(n)d sealed records could not be opened; the old key is kept until they are dealt with.",
                         n=result.unreadable), err=True)
        sys.exit(1)


@keys_group.command("recovery-code")
@_OFFICER
@_STDIN
def keys_recovery_code(**auth: object) -> None:
    """Replace the recovery code (the old one stops working); the new one is shown once."""
    ctx = _ctx()
    held, actor = held_keys(auth["officer"], auth["password_stdin"])  # type: ignore[arg-type]
    code = keys.new_recovery_code()

    def write(db):  # noqa: ANN001, ANN202
        keys.add_holder(db, keys.RECOVERY, code)
        current = keys.current_key(db)
        keys.grant(db, keys.RECOVERY, {current[0]: held[current[0]]})
        audit.append(db, actor=actor, action=audit.RECOVERY_CODE_CHANGED, subject=keys.RECOVERY, details={})

    ctx.node.store.write(write)
    click.echo(ctx._("New recovery code (shown once; the old one no longer works):"), err=True)
    click.echo(f"\n    {code}\n", err=True)
