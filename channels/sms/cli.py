"""CLI of the SMS channel: ``simpul outbox`` and the ``simpul sms`` group.

``simpul sms gammu-receive FILE...`` is what gammu-smsd's ``RunOnReceive``
calls. Output never contains message bodies or NIKs (personal data); the
outbox listing shows bodies because an operator must see what was sent.
"""

from __future__ import annotations

import json
import sys

import click

from channels.sms import checkup, providers, sender
from channels.sms.errors import SmsError
from channels.sms.inbound import Handler
from channels.sms.providers import gammu
from gateway.i18n import Message, gettext
from gateway.outbox import delivery, states
from gateway.outbox import queue as outbound
from gateway.terminal import printable

OUTBOX_FIELDS = ("id", "to", "body", "status", "provider", "created_at", "updated_at", "attempts",
                 "last_error", "kind", "provider_id", "provider_status", "error_code", "sent_at",
                 "next_attempt_at", "request_id", "key", "segments", "locale")


def _ctx():
    from gateway.cli import Context

    return click.get_current_context().find_object(Context)


def _(msgid: str, **params: object) -> str:
    return gettext(_ctx().locale, msgid, **params)


def _send(node) -> sender.PassReport:
    try:
        return sender.send_due(node)
    except SmsError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("outbox")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--status", type=click.Choice(outbound.STATUSES), default=None, help="Only this status.")
@click.option("--limit", type=int, default=None, help="At most this many (newest first).")
def outbox(as_json: bool, status: str | None, limit: int | None) -> None:
    """List outbound SMS (newest first): queued, sent, delivered or failed, and sent but never reported."""
    rows = outbound.list_outbound(_ctx().node.store.read(), status=status, limit=limit)
    if as_json:
        click.echo(json.dumps([{**{k: r.get(k) for k in OUTBOX_FIELDS}, "stuck": states.stuck(r)} for r in rows],
                              indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(_("The outbox is empty."))
        return
    for r in rows:
        error = f"  ! {printable(r['last_error'])}" if r["last_error"] else ""
        if states.stuck(r):
            error += "  ! " + _(states.NO_REPORT)
        click.echo(f"{r['id']:>5}  {r['created_at']}  {r['status']:<11} {r['provider'] or '-':<7} "
                   f"x{r['attempts']}  {printable(r['to'])}  {printable(r['body'][:60])}{error}")


@click.group("sms")
def sms_group() -> None:
    """SMS channel tools (Gammu modem, outbound queue)."""


@sms_group.command("gammu-receive")
@click.argument("files", nargs=-1, required=True)
def gammu_receive(files: tuple[str, ...]) -> None:
    """Process Gammu SMSD inbox FILES (what RunOnReceive calls) and send the replies."""
    ctx = _ctx()
    node = ctx.node
    handler = Handler(node)
    found, problems = gammu.resolve(list(files), node.config["sms.gammu.inbox_path"], handler.seen_file)
    try:
        results = gammu.receive(handler, found)
    except FileNotFoundError as exc:
        problems.append(Message("%(name)s: vanished while reading (the sweep will retry)", name=exc.filename))
        results = []
    for message, outcome in results:
        suffix = f" {outcome.tracking_code}" if outcome.tracking_code else ""
        replay = " (duplicate)" if outcome.duplicate else ""
        click.echo(f"{message.files[0].name}: {outcome.kind}{suffix}{replay}")
    report = _send(node)
    if report.sent:
        click.echo(_("%(n)d SMS handed to the provider.", n=report.sent))
    for problem in problems:
        click.echo(problem.render(ctx.locale), err=True)
    if problems:
        sys.exit(1)


@sms_group.command("gammu-sweep")
def gammu_sweep() -> None:
    """Process every Gammu inbox file older than 30 s (also a background job)."""
    node = _ctx().node
    inbox = node.config["sms.gammu.inbox_path"]
    if not inbox:
        raise click.ClickException(_("sms.gammu.inbox_path is not set"))
    results = gammu.sweep(Handler(node), inbox)
    click.echo(_("%(n)d message(s) processed.", n=len(results)))
    _send(node)


@sms_group.command("send-queued")
def send_queued() -> None:
    """Send due outbound SMS now through the configured provider (one paced pass)."""
    node = _ctx().node
    if providers.build(node.config) is None:
        click.echo(_("No SMS provider configured (sms.provider): messages stay queued."))
        return
    report = _send(node)
    click.echo(_("sent %(sent)d, retry later %(retried)d, failed %(failed)d",
                 sent=report.sent, retried=report.retried, failed=report.failed))


@sms_group.command("requeue")
@click.argument("ids", type=int, nargs=-1, required=True)
def requeue(ids: tuple[int, ...]) -> None:
    """Queue failed/undelivered outbound SMS IDS again (an operator's explicit resend).

    A message whose text was already blanked (sent long ago, see
    ``delivery.forget_sent_bodies``) cannot be resent: it is reported.
    """
    node = _ctx().node
    missing = [i for i in ids if not node.store.write(lambda db, i=i: delivery.requeue(db, i))]
    if missing:
        click.echo(_("Not failed or undelivered (or its text is no longer kept): %(ids)s",
                     ids=", ".join(map(str, missing))), err=True)
        sys.exit(1)
    click.echo(_("%(n)d message(s) queued again.", n=len(ids)))


@sms_group.command("doctor")
def doctor() -> None:
    """Check the SMS set-up: provider settings, webhook secrets, the Android phone's TLS and health."""
    node = _ctx().node
    problems = checkup.problems(node)
    for problem in problems:
        click.echo("! " + problem.render(_ctx().locale))
    if problems:
        sys.exit(1)
    click.echo(_("SMS set-up looks right."))


def register(group: click.Group) -> None:
    """Add this part's commands to the ``simpul`` group."""
    group.add_command(outbox)
    group.add_command(sms_group)
