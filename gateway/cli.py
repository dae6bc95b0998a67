"""The ``simpul`` command line.

Every command takes ``--config PATH`` (else env ``SIMPUL_CONFIG``, else
``./config.toml``). Exit codes: 0 done, 1 not found / not completed, 2 bad
input or config. Messages are in the node's default locale.
Parts (``gateway.parts``) add their commands through ``register_commands(cli)``.
"""

from __future__ import annotations

import json
import sys

import click

from gateway import parts
from gateway.cases import actions
from gateway.cases import records as cases
from gateway.config.loader import Config, load_config
from gateway.errors import ConfigError, NoteTooLong, SimpulError, StatusError
from gateway.i18n import Message, gettext
from gateway.intake import codes
from gateway.intake.catalog import check_text, read_catalog_text
from gateway.intake.pipeline import ASSISTED_CHANNEL, Submission
from gateway.node import Node
from gateway.terminal import printable


class ConfigProblem(click.ClickException, SimpulError):
    """A bad config stops the command with exit 2, as docs/cli.md promises (click's default is 1)."""

    exit_code = 2


class Context:
    """Lazily built config and node, shared by the commands of one run."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config: Config | None = None
        self._node: Node | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                raise ConfigProblem(f"config: {exc}") from None
        return self._config

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node = Node(self.config)
        return self._node

    @property
    def locale(self) -> str:
        return self.config["node.default_locale"]

    def _(self, msgid: str, **params: object) -> str:
        return gettext(self.locale, msgid, **params)

    def close(self) -> None:
        if self._node is not None:
            self._node.close()


pass_ctx = click.make_pass_decorator(Context)


def fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: $SIMPUL_CONFIG, else ./config.toml).")
@click.pass_context
def main(click_ctx: click.Context, config_path: str | None) -> None:
    """Simpul: offline-first access gateway for village public services."""
    click_ctx.obj = Context(config_path)
    click_ctx.call_on_close(click_ctx.obj.close)


@main.command("init-db")
@pass_ctx
def init_db(ctx: Context) -> None:
    """Create the database or migrate it to the current schema."""
    ctx.node.store  # noqa: B018 - opening migrates (and, on a fresh node, creates its keys)
    database_ready(ctx.config["storage.path"], ctx.locale)
    show_recovery_code(ctx)


def database_ready(path: str, locale: str) -> None:
    click.echo(Message("Database ready: %(path)s", path=path).render(locale))


def show_recovery_code(ctx: Context) -> None:
    """Show a just-made recovery code, once, on the operator's terminal (never a log)."""
    print_recovery_code(ctx.node.new_recovery_code, ctx.locale)


def print_recovery_code(code: str | None, locale: str) -> None:
    """The recovery code on stderr with what it is for (also used by `simpul node join`)."""
    if code:
        click.echo(Message("This node's sealing key was created. Recovery code (shown once, write it down "
                           "and keep it offline; it opens sealed personal data if every officer password "
                           "is lost):").render(locale), err=True)
        click.echo(f"\n    {code}\n", err=True)


@main.command()
@click.option("--host", default=None, help="Override http.host.")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Override http.port.")
@click.option("--no-jobs", is_flag=True, help="Do not start background jobs (outbound SMS, sync).")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None, no_jobs: bool) -> None:
    """Serve the node (SMS/USSD webhooks, kiosk, portal) with waitress."""
    from gateway import serving

    config = ctx.config
    if host:
        config["http.host"] = host
    if port:
        config["http.port"] = port
    if no_jobs:
        config["jobs.enabled"] = False
    serving.run(ctx, fail)


@main.command()
@click.argument("service")
@click.argument("values", nargs=-1)
@click.option("--phone", default=None, help="The citizen's phone number (any common form).")
@click.option("--locale", default=None, help="Language for replies to this citizen (id, en, jv, su).")
@pass_ctx
def submit(ctx: Context, service: str, values: tuple[str, ...], phone: str | None, locale: str | None) -> None:
    """Submit a request: SERVICE FIELD=VALUE ... ; prints the tracking code."""
    fields: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(ctx._("%(item)s: expected FIELD=VALUE", item=item), 2)
        fields[name.strip()] = value
    receipt = ctx.node.pipeline.submit(
        Submission(channel=ASSISTED_CHANNEL, service=service, values=fields, sender=phone, locale=locale or ctx.locale,
                   assisted=True)
    )
    if not receipt.ok:
        lines = receipt.render_problems(ctx.locale)
        if receipt.service is not None:
            names = " ".join(f"{f.name}=…" for f in receipt.service.fields)
            lines.append(ctx._("Expected: %(usage)s", usage=f"simpul submit {receipt.service.code} {names}"))
        fail("\n".join(lines), 2)
    click.echo(receipt.tracking_code)


@main.command("requests")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--status", type=click.Choice(cases.STATUSES), default=None, help="Only this status.")
@click.option("--service", default=None, help="Only this service code.")
@click.option("--limit", type=int, default=None, help="At most this many (newest first).")
@pass_ctx
def list_requests(ctx: Context, as_json: bool, status: str | None, service: str | None, limit: int | None) -> None:
    """List requests, newest first."""
    rows = cases.list_requests(ctx.node.store.read(), status=status, service=service, limit=limit)
    if as_json:
        click.echo(json.dumps([{k: r[k] for k in cases.PUBLIC_COLUMNS} for r in rows], indent=2))
        return
    for r in rows:
        sync_mark = "✓" if r["synced"] else "·"
        click.echo(f"{r['tracking_code']}  {r['created_at']}  {printable(r['service']):<9} {printable(r['channel']):<6} "
                   f"{cases.status_label(r['status'], ctx.locale):<14} {sync_mark}")


@main.command()
@click.argument("code")
@pass_ctx
def status(ctx: Context, code: str) -> None:
    """Show a request's status and history by tracking code."""
    try:
        row = cases.get_by_code(ctx.node.store.read(), code)
    except codes.CodeError:
        fail(ctx._("%(code)s is not a valid tracking code: check the code and try again.", code=code), 2)
    if row is None:
        fail(ctx._("No request with code %(code)s.", code=codes.normalize(code)), 1)
    click.echo(f"{row['tracking_code']}  {row['service']}  {cases.status_label(row['status'], ctx.locale)}")
    for event in cases.history(ctx.node.store.read(), row["id"]):
        note = f"  {printable(event['note'])}" if event["note"] else ""
        click.echo(f"  {event['at']}  {cases.status_label(event['status'], ctx.locale):<14} "
                   f"{printable(event['actor'])}{note}")


@main.command("set-status")
@click.argument("code")
@click.argument("new_status", metavar="STATUS", type=click.Choice(cases.STATUSES))
@click.option("--note", default=None, help="A note; on 'rejected' it is the reason. Reaches the citizen "
              "by SMS unless --internal.")
@click.option("--internal", is_flag=True, help="Keep the note internal (sealed; never sent or shown). "
              "Not possible for a rejection's reason.")
@click.option("--reopen", is_flag=True, help="Allow moving a closed request back to in_progress (audited).")
@click.option("--reason", "reason", default=None, metavar="CODE",
              help="With 'rejected': the category (one of the service's reject_reasons codes) for the analytics.")
@click.option("--actor", default="cli", show_default=True, help="Who made the change (audit log).")
@pass_ctx
def set_status(ctx: Context, code: str, new_status: str, note: str | None, internal: bool, reopen: bool,
               reason: str | None, actor: str) -> None:
    """Change a request's status the way the kiosk does; the citizen is told by SMS.

    Exit 2: malformed code, refused transition, a note too long for the SMS
    (3 segments) or a --reason that is not one of the service's categories;
    exit 1: unknown code.
    """
    node = ctx.node
    try:
        row = cases.get_by_code(node.store.read(), code)
    except codes.CodeError:
        fail(ctx._("%(code)s is not a valid tracking code: check the code and try again.", code=code), 2)
    if row is None:
        fail(ctx._("No request with code %(code)s.", code=codes.normalize(code)), 1)
    service = node.catalog.service(row["service"])
    if reason is not None and (service is None or service.reject_reason(new_status, reason) is None):
        offered = ", ".join(r.code for r in service.reject_reasons) if service else ""
        fail(ctx._("--reason needs status rejected and one of this service's categories: %(codes)s.",
                   codes=offered or "-"), 2)
    try:
        event = actions.set_status(node, row, new_status, actor=actor, note=note, internal=internal, reopen=reopen,
                                   reason=reason)
    except NoteTooLong as exc:
        fail(ctx._("The note is too long: the SMS would take %(n)d segments (at most %(max)d). "
                   "Shorten it or use --internal.", n=exc.segments, max=exc.limit), 2)
    except StatusError as exc:
        fail(ctx._("Refused: %(reason)s.", reason=str(exc)), 2)
    sms = ctx._("SMS queued for the citizen.") if event and event.get("notified") else ctx._("No SMS.")
    click.echo(f"{row['tracking_code']}  {cases.status_label(new_status, ctx.locale)}  {sms}")


@main.group()
def catalog() -> None:
    """Service catalog tools."""


@catalog.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@pass_ctx
def catalog_check(ctx: Context, path: str | None) -> None:
    """Validate a catalog (default: the configured one) and list every error."""
    try:
        source, text = read_catalog_text(path or ctx.config["catalog.path"] or None)
    except OSError as exc:
        fail(f"{path}: {exc.strerror}", 2)
    result, errors = check_text(text)
    if errors:
        for error in errors:
            click.echo(f"{source}: {error}", err=True)
        fail(ctx._("%(n)d error(s) in the catalog.", n=len(errors)), 2)
    click.echo(ctx._("Catalog OK: version %(version)d, %(n)d services.",
                     version=result.version, n=len(result.services)))


@main.group("config")
def config_group() -> None:
    """Configuration tools."""


@config_group.command("defaults")
@click.option("--markdown", is_flag=True, help="A Markdown table instead of TOML.")
def config_defaults(markdown: bool) -> None:
    """Print every setting with its default and help (the shipped config.toml)."""
    from gateway.config.doc import defaults_toml, settings_markdown

    click.echo(settings_markdown() if markdown else defaults_toml(), nl=False)


@config_group.command("check")
@pass_ctx
def config_check(ctx: Context) -> None:
    """Load the config and report the first problem, naming the key."""
    ctx.config  # noqa: B018 - loading validates
    click.echo(ctx._("Config OK."))


@main.group("audit")
def audit_group() -> None:
    """Tamper-evident audit trail."""


@audit_group.command("verify")
@pass_ctx
def audit_verify(ctx: Context) -> None:
    """Recompute the hash chain; exit 1 at the first entry that does not fit."""
    from gateway.privacy import audit

    verdict = audit.verify(ctx.node.store.read())
    if not verdict.ok:
        fail(ctx._("Audit chain BROKEN at entry %(seq)d: %(reason)s (%(n)d entries before it are intact).",
                   seq=verdict.broken_at, reason=ctx._(verdict.reason), n=verdict.entries), 1)
    click.echo(ctx._("Audit chain intact: %(n)d entries, head %(head)s.", n=verdict.entries, head=verdict.head))


@audit_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--limit", type=int, default=50, help="Newest N entries.")
@pass_ctx
def audit_list(ctx: Context, as_json: bool, limit: int) -> None:
    """Show the newest audit entries (no personal data is ever recorded there)."""
    rows = list(ctx.node.store.read().query(
        "SELECT seq, at, actor, action, subject, details, hash FROM audit_log ORDER BY seq DESC LIMIT ?", [limit]))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['seq']:>6}  {r['at']}  {printable(r['actor']):<12} {printable(r['action']):<14} "
                   f"{printable(r['subject'])}  {printable(r['details'])}")


@audit_group.command("breach-report")
@click.option("--since", required=True, help="Start of the window to examine (YYYY-MM-DD or ISO-8601, UTC).")
@click.option("--until", default=None, help="End of the window (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (no template).")
@pass_ctx
def audit_breach_report(ctx: Context, since: str, until: str | None, as_json: bool) -> None:
    """What a breach notice needs (UU 27/2022 Pasal 46): data held, accesses, sealing, a template."""
    from gateway import clock
    from gateway.privacy import breach

    bounds = []
    for name, value, end_of_day in (("--since", since, False), ("--until", until, True)):
        try:
            bounds.append(clock.parse_day_or_instant(value, end_of_day=end_of_day) if value else clock.utcnow())
        except ValueError:
            fail(ctx._("%(option)s: not a date (YYYY-MM-DD) or ISO-8601 time: %(value)s",
                       option=name, value=value), 2)
    start, end = bounds
    report = breach.gather(ctx.node.store.read(), ctx.node.catalog, start, end)
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "disk_exposes": report.disk_exposes}, indent=2))
        return
    click.echo(breach.render(report, ctx.locale, office=ctx.config["node.name"], node_id=ctx.config["node.id"]))


@main.group("retention")
def retention_group() -> None:
    """Personal data retention (UU 27/2022)."""


@retention_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what is due.")
@pass_ctx
def retention_purge(ctx: Context, dry_run: bool) -> None:
    """Purge personal fields of requests closed and synced more than retention.days ago."""
    from gateway.privacy import retention

    node, days = ctx.node, ctx.config["retention.days"]
    if dry_run:
        count = len(retention.due(node.store.read(), days))
    else:
        count = node.store.write(lambda db: retention.purge(db, node.catalog, days))
    click.echo(ctx._("%(n)d request(s) due for purge (retention %(days)d days).", n=count, days=days)
               if dry_run else ctx._("%(n)d request(s) purged.", n=count))


def _register_parts() -> parts.PartError | None:
    """Add the parts' commands; a part that fails to load is reported by ``run``, naming it
    (raised here, at import, it would be a bare traceback)."""
    from gateway.inbox import cli as inbox_cli
    from gateway.ops import cli as ops_cli
    from gateway.outreach import cli as outreach_cli
    from gateway.privacy import keys_cli

    keys_cli.register(main)
    inbox_cli.register(main)
    ops_cli.register(main)
    outreach_cli.register(main)
    try:
        parts.call("register_commands", main)
    except parts.PartError as exc:
        return exc
    return None


_BROKEN_PART = _register_parts()


def run() -> None:
    if _BROKEN_PART is not None:
        fail(str(_BROKEN_PART), 2)
    try:
        main(standalone_mode=True)
    except SimpulError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
