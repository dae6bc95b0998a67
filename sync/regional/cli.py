"""``simpul regional ...``: serve the regional server, manage its nodes, users, keys and cases.

The commands read only the ``[regional]`` section of the config file and never
open the node's database.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from gateway.i18n import gettext
from gateway.terminal import printable
from sync.errors import AlreadyExists, RegionalError, SyncError


def _ctx() -> Any:
    from gateway.cli import Context

    return click.get_current_context().find_object(Context)


def _(msgid: str, **params: Any) -> str:
    return gettext(_ctx().locale, msgid, **params)


def _keys() -> Any:
    from sync.regional.sealkeys import load_keys

    try:
        return load_keys(_ctx().config)
    except SyncError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _store() -> Any:
    from sync.regional.engines import open_store

    ctx = _ctx()
    if getattr(ctx, "_regional_store", None) is None:
        try:
            ctx._regional_store = open_store(ctx.config, _keys())
        except RegionalError as exc:  # the database cannot be reached: say so, no traceback
            click.echo(str(exc), err=True)
            sys.exit(2)
        click.get_current_context().call_on_close(ctx._regional_store.close)
    return ctx._regional_store


def seal_problem_label(problem: str | None, locale: str) -> str:
    from sync.regional.sealkeys import PROBLEMS

    return gettext(locale, PROBLEMS[problem]) if problem in PROBLEMS else str(problem)


@click.group()
def regional() -> None:
    """The regional server: serve nodes and case workers, manage nodes, users and cases."""


@regional.command("serve")
@click.option("--host", default=None, help="Override regional.host.")
@click.option("--port", type=int, default=None, help="Override regional.port.")
def regional_serve(host: str | None, port: int | None) -> None:
    """Serve the sync API, the case workers' web view and /healthz (regional.workers processes)."""
    from gateway.ops import logs
    from sync.regional import serve

    logs.setup()
    config = _ctx().config
    host = host or config["regional.host"]
    port = port or config["regional.port"]
    workers = config["regional.workers"]
    problem = serve.workers_problem(config)
    if problem is not None:
        click.echo(_(problem, workers=workers), err=True)
        sys.exit(2)
    store = _store()  # migrations run here, once, before any worker starts
    click.echo(_("Simpul regional server on http://%(host)s:%(port)s", host=host, port=port))
    if workers == 1:
        serve.single(config, store, host, port)
    else:
        store.close()
        serve.prefork(config, host, port, workers)


@regional.command("add-node")
@click.argument("node_id")
@click.option("--rotate", is_flag=True, help="Issue a new secret for a node already registered.")
@click.option("--name", default=None, help="The village office's name, shown in the fleet view.")
def regional_add_node(node_id: str, rotate: bool, name: str | None) -> None:
    """Register a node; prints its new secret alone on one line (give it to the node).

    The line for the node's config with this server's public sealing key goes
    to stderr, so ``export SIMPUL_SYNC_SECRET=$(simpul regional add-node ...)`` keeps working.
    """
    try:
        secret = _store().add_node(node_id, rotate=rotate, name=name)
    except SyncError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1 if isinstance(exc, AlreadyExists) else 2)
    click.echo(secret)
    click.echo(_("For the node's config.toml (this line before the first [section], or "
                 "regional_key = \"...\" under [sync]):"), err=True)
    click.echo(f'sync.regional_key = "{_store().keys.public_b64()}"', err=True)


@regional.command("seal-key")
@click.option("--rotate", is_flag=True, help="Make a new key pair first in the key file (old keys stay).")
def regional_seal_key(rotate: bool) -> None:
    """Print this server's public sealing key (base64) for nodes' sync.regional_key."""
    from sync.regional.sealkeys import rotate as rotate_keys

    if rotate:
        try:
            keys = rotate_keys(_ctx().config)
        except SyncError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        click.echo(keys.public_b64())
        click.echo(_("New sealing key made; %(n)d older keys kept so records sealed to them still open. "
                     "Give nodes the new key (sync.regional_key) and restart the regional server.",
                     n=len(keys.keys) - 1), err=True)
        return
    click.echo(_keys().public_b64())


@regional.command("requests")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--node", default=None, help="Only this node.")
@click.option("--status", default=None, help="Only this status.")
@click.option("--limit", type=int, default=None, help="At most this many (newest first).")
@click.option("--fields", "with_fields", is_flag=True,
              help="Open and show each request's fields, personal ones included (NIK, name...).")
def regional_requests(as_json: bool, node: str | None, status: str | None, limit: int | None,
                      with_fields: bool) -> None:
    """List received requests, newest first; personal fields only with --fields.

    A request whose sealed personal fields this server cannot open is marked
    UNOPENABLE with the reason (stored anyway; ask the node to check its sync.regional_key).
    """
    store = _store()
    rows = store.list_requests(node_id=node, status=status, limit=limit)
    if with_fields:
        for r in rows:
            opened = store.get_request(r["id"])
            r["fields"], r["seal_problem"] = opened["fields"], opened["seal_problem"]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    locale = _ctx().locale
    for r in rows:
        line = f"{r['tracking_code']}  {r['node_id']:<12} {r['service']:<9} {r['status']:<12} {r['received_at']}"
        if r["seal_problem"]:
            line += "  " + _("UNOPENABLE: %(reason)s", reason=seal_problem_label(r["seal_problem"], locale))
        if with_fields:
            line += "  " + json.dumps(r["fields"], ensure_ascii=False, sort_keys=True)
        click.echo(printable(line))  # service, codes and fields come from nodes


@regional.command("set-status")
@click.argument("tracking_code")
@click.argument("status")
@click.option("--note", default=None, help="A note; on 'rejected' it is the reason. Reaches the citizen "
              "by SMS (sent by the node) unless --internal.")
@click.option("--internal", is_flag=True, help="Keep the note for the offices (never sent or shown to the "
              "citizen). Not possible for a rejection's reason.")
@click.option("--reopen", is_flag=True, help="Allow moving a closed case back to in_progress (recorded as a reopen).")
@click.option("--reason", "reason", default=None, metavar="CODE",
              help="With 'rejected': the category (one of the service's reject_reasons codes) for the analytics.")
@click.option("--node", default=None, help="The node, when two nodes used the same code.")
@click.option("--actor", default="cli", show_default=True, help="Who made the change (history).")
def regional_set_status(tracking_code: str, status: str, note: str | None, internal: bool, reopen: bool,
                        reason: str | None, node: str | None, actor: str) -> None:
    """Move a case by the node's transitions table; the node gets it, and texts the citizen, at its next sync.

    Exit 2: malformed code, refused move (a closed case needs --reopen), a
    note that makes the citizen's SMS longer than 3 segments, or a --reason
    that is not one of the service's categories; exit 1: unknown code.
    """
    from gateway.errors import NoteTooLong, StatusError
    from gateway.intake import codes
    from sync.errors import MoveRefused
    from sync.regional import casework

    try:
        code = codes.normalize(tracking_code)
    except codes.CodeError:
        click.echo(_("%(code)s is not a valid tracking code: check the code and try again.", code=tracking_code),
                   err=True)
        sys.exit(2)
    matches = [r for r in _store().by_code(code) if node is None or r["node_id"] == node]
    if not matches:
        click.echo(_("No request with code %(code)s.", code=code), err=True)
        sys.exit(1)
    if len(matches) > 1:
        click.echo(_("Code %(code)s is used on several nodes (%(nodes)s): add --node.", code=code,
                     nodes=", ".join(r["node_id"] for r in matches)), err=True)
        sys.exit(2)
    catalog = _catalog()
    if reason is not None:
        service = catalog.service(matches[0]["service"]) if catalog else None
        if service is None or service.reject_reason(status, reason) is None:
            offered = ", ".join(r.code for r in service.reject_reasons) if service else ""
            click.echo(_("--reason needs status rejected and one of this service's categories: %(codes)s.",
                         codes=offered or "-"), err=True)
            sys.exit(2)
    try:
        counted = casework.check(catalog, matches[0], status, note=note, internal=internal, reopen=reopen)
        event = _store().set_status(matches[0]["id"], status, actor=actor, note=note, internal=internal,
                                    reopen=reopen, reason=reason)
    except NoteTooLong as exc:
        click.echo(_("The note is too long: the SMS would take %(n)d segments (at most %(max)d). "
                     "Shorten it or use --internal.", n=exc.segments, max=exc.limit), err=True)
        sys.exit(2)
    except (StatusError, MoveRefused) as exc:
        click.echo(_("Refused: %(reason)s.", reason=str(exc)), err=True)
        sys.exit(2)
    except SyncError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    line = f"{code}  {event['status']}  {event['id']}"
    if event["reopen"]:
        line += "  " + _("reopened")
    if counted is not None:
        line += "  " + _("SMS to the citizen: %(n)d segment(s)", n=counted.parts)
    click.echo(line)


def _catalog() -> Any:
    """The published catalog (service names for the SMS); exit 2 when it is not valid."""
    from gateway.errors import CatalogError
    from gateway.intake.catalog import check_text
    from sync.regional.app import published_catalog

    try:
        catalog, _errors = check_text(published_catalog(_ctx().config)[1])
    except (CatalogError, OSError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    return catalog


@regional.command("conflicts")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def regional_conflicts(as_json: bool) -> None:
    """List recorded conflicts (same request with different content, code clashes)."""
    rows = _store().conflicts()
    if as_json:
        click.echo(json.dumps([{k: v for k, v in r.items() if k != "detail"} for r in rows], indent=2))
        return
    for r in rows:
        click.echo(printable(f"{r['at']}  {r['kind']:<14} {r['node_id']:<12} {r['tracking_code'] or '-'}  "
                             f"{r['request_id']}"))


@regional.command("nodes")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def regional_nodes(as_json: bool) -> None:
    """List nodes: last seen, requests, audit chain head held, and whether the node is flagged."""
    store = _store()
    rows = store.nodes()
    flags: dict[str, list[dict[str, Any]]] = {}
    for f in store.node_flags():
        if f["resolved_at"] is None:
            flags.setdefault(f["node_id"], []).append(f)
    if as_json:
        click.echo(json.dumps([
            {"id": r["id"], "node_id": r["id"], "name": r["name"], "last_seen_at": r["last_seen_at"],
             "last_sync_at": r["last_sync_at"], "requests": r["requests"], "queue_depth": r["queue_depth"],
             "oldest_unsynced_age_s": r["oldest_unsynced_age_s"], "version": r["version"],
             "disk_free_mb": r["disk_free_mb"], "clock_offset_s": r["clock_offset_s"],
             "open_threads": r["open_threads"],
             "audit_seq": r["audit_seq"], "audit_head": r["audit_head"], "flagged": r["flagged"],
             "catalog_refused": r["catalog_refused"],
             "flags": [{"id": f["id"], "kind": f["kind"], "at": f["at"], **f["detail"]}
                       for f in flags.get(r["id"], [])]} for r in rows], indent=2))
        return
    from sync.regional.audit_chain import PROBLEMS

    locale = _ctx().locale
    for r in rows:
        state = _("FLAGGED") if r["flagged"] else _("ok")
        click.echo(f"{r['id']:<16} {r['last_seen_at'] or '-':<22} {r['requests']:>7}  "
                   f"audit {r['audit_seq']:>6} {r['audit_head'][:16]}  {state}")
        if r["catalog_refused"]:
            refused = r["catalog_refused"]
            click.echo(printable("    " + _("catalog %(version)s refused: %(fields)s (since %(at)s)",
                                          version=refused["version"], fields=", ".join(refused["fields"]),
                                          at=refused["at"])))
        for f in flags.get(r["id"], []):
            problem = f["detail"].get("problem")
            reason = gettext(locale, PROBLEMS[problem]) if problem in PROBLEMS else str(problem)
            click.echo("    " + _("%(at)s  entry %(seq)s: %(reason)s", at=f["at"], seq=f["detail"].get("seq"),
                                  reason=reason))


@regional.group("user")
def regional_user() -> None:
    """Case-worker accounts for the web view."""


@regional_user.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def regional_user_add(username: str, password_stdin: bool) -> None:
    """Add a case worker (password stored as an argon2id hash)."""
    from gateway.web.passwords import hash_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        click.echo(_("The password must have at least 8 characters."), err=True)
        sys.exit(2)
    try:
        _store().add_user(username, hash_password(password))
    except SyncError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(_("User %(name)s added.", name=username))


@regional_user.command("disable")
@click.argument("username")
def regional_user_disable(username: str) -> None:
    """Switch a case worker off: their sessions end at once and they can no longer log in."""
    from sync.regional import accounts

    if not accounts.disable(_store(), username):
        click.echo(_("No user %(name)s.", name=username), err=True)
        sys.exit(1)
    click.echo(_("User %(name)s disabled; their sessions have ended.", name=username))


@regional_user.command("enable")
@click.argument("username")
def regional_user_enable(username: str) -> None:
    """Let a disabled case worker log in again."""
    from sync.regional import accounts

    if not accounts.enable(_store(), username):
        click.echo(_("No user %(name)s.", name=username), err=True)
        sys.exit(1)
    click.echo(_("User %(name)s enabled.", name=username))
