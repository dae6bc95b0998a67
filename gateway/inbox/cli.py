"""``simpul inbox``: the citizen inbox from the node's shell.

The texts are sealed: they are shown only when an officer's password
(``--officer NAME``, asked for or read with ``--password-stdin``) opens the
node key, as the ``keys`` commands do, and that opening is audited like any
look-up. Answering needs no key: the answer is typed, not read.
"""

from __future__ import annotations

import json

import click

from gateway.inbox import actions


def register(group: click.Group) -> None:
    group.add_command(inbox_group)


def _ctx():  # noqa: ANN202 - gateway.cli.Context (imported late: cli imports this module)
    from gateway.cli import Context

    return click.get_current_context().find_object(Context)


@click.group("inbox", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--open", "open_only", is_flag=True, help="Only questions not handled yet.")
@click.option("--officer", default=None, help="Show the texts: unlock with this officer's password.")
@click.option("--password-stdin", is_flag=True, help="Read the officer's password from stdin.")
@click.pass_context
def inbox_group(click_ctx: click.Context, as_json: bool, open_only: bool, officer: str | None,
                password_stdin: bool) -> None:
    """Questions citizens sent by SMS (TANYA, or text that is no command), newest first.

    Texts are masked unless --officer opens the node key.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    from gateway.privacy.keys_cli import held_keys

    ctx = _ctx()
    opener, actor = None, "cli"
    if officer:
        held, actor = held_keys(officer, password_stdin)
        opener = ctx.node.vault.opener(held)
    rows = actions.listed(ctx.node, opener, actor=actor, open_only=open_only)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        state = ctx._("handled") if r["handled"] else ctx._("open")
        click.echo(f"{r['id']:>6}  {r['received_at']}  {r['phone']:<16} {state:<10} {r['text']}")


@inbox_group.command("reply")
@click.argument("message_id", metavar="ID", type=int)
@click.argument("text")
@click.option("--actor", default="cli", show_default=True, help="Who answered (audit log).")
def inbox_reply(message_id: int, text: str, actor: str) -> None:
    """Queue TEXT as an SMS to the phone of question ID and mark its thread handled.

    Exit 2: unknown ID, or an empty answer or one over 3 SMS segments.
    """
    from gateway.cli import fail

    ctx = _ctx()
    try:
        actions.answer(ctx.node, message_id, text, officer=actor)
    except actions.UnknownMessage:
        fail(ctx._("No question with id %(id)d.", id=message_id), 2)
    except actions.AnswerError as exc:
        if not exc.segments:
            fail(ctx._("The answer is empty."), 2)
        fail(ctx._("The answer is too long: the SMS would take %(n)d segments (at most %(max)d).",
                   n=exc.segments, max=exc.limit), 2)
    click.echo(ctx._("Answer queued for %(phone)s; the thread is handled.",
                     phone=actions.question(ctx.node, message_id)["phone"]))

