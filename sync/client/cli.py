"""``simpul sync``: one pass with ``--once``, else a loop every ``sync.interval_seconds``.

The regional server's commands (``simpul regional ...``) live in
``sync.regional.cli``; this module only drives the node's client.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from gateway.i18n import Message, gettext
from sync.client.messages import audit_flag_warning, describe_error, summary
from sync.errors import Interrupted, NotConfigured

PROGRESS_THRESHOLD = 200


def _ctx() -> Any:
    from gateway.cli import Context

    return click.get_current_context().find_object(Context)


def _(msgid: str, **params: Any) -> str:
    return gettext(_ctx().locale, msgid, **params)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def sync_once(ctx: Any) -> int:
    from sync.client.progress import Progress
    from sync.client.runner import make_transport, pending_counts, run_pass
    from sync.client.stages import Stage
    from sync.errors import SyncError

    node = ctx.node
    counts = pending_counts(node)
    totals = {Stage.PUSH_REQUESTS: counts["requests"], Stage.PUSH_EVENTS: counts["events"],
              Stage.PUSH_AUDIT: counts["audit"]}
    try:
        transport = make_transport(node)
    except SyncError:
        transport = None  # run_pass reports the configuration problem
    progress = None
    # A short pass needs no progress; a backlog (a village offline for days) shows it moves.
    if transport is not None and sum(totals.values()) >= PROGRESS_THRESHOLD:
        progress = Progress(ctx.locale, totals, lambda: transport.bytes_up + transport.bytes_down,
                            tty=sys.stderr.isatty())
    try:
        result = run_pass(node, transport=transport, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    locale = ctx.locale
    click.echo(summary(result.moved, locale))
    if result.moved.get("conflicts"):
        click.echo(Message("The regional server recorded %(n)d conflicts for a case worker to check.",
                           n=result.moved["conflicts"]).render(locale))
    if result.audit_flag:
        click.echo(audit_flag_warning(result.audit_flag, locale), err=True)
    if result.ok:
        return 0
    click.echo(Message("Sync not completed at stage %(stage)s: %(reason)s",
                       stage=result.stage, reason=describe_error(result.error, locale)).render(locale), err=True)
    return 2 if isinstance(result.error, NotConfigured) else 1


@click.group("sync", invoke_without_command=True)
@click.option("--once", is_flag=True, help="Run one full pass (push, pull, catalog) and exit.")
@click.pass_context
def sync_command(click_ctx: click.Context, once: bool) -> None:
    """Sync with the regional server: one pass with --once, else every sync.interval_seconds.

    Subcommands carry batches on a USB stick instead (`sync export`, `sync import`).
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = _ctx()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    if once:
        sys.exit(sync_once(ctx))
    from sync.client.jobs import SyncLoop

    loop = SyncLoop(ctx.node)
    try:
        while True:
            result = loop.run()
            click.echo(summary(result.moved, ctx.locale) if result.ok else
                       describe_error(result.error, ctx.locale), err=not result.ok)
            if isinstance(result.error, Interrupted):
                break
            if isinstance(result.error, NotConfigured):
                sys.exit(2)
            loop.sleep()
    except KeyboardInterrupt:
        pass  # a clean stop between passes
