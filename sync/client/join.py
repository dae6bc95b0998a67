"""``simpul node join TOKEN``: turn a blank box into an enrolled node.

Why this order: everything that can fail locally (damaged or expired token,
a config file that cannot be written) is checked before the one-time code is
spent, and nothing is written until the regional server has answered. The
node makes an X25519 key pair, sends only its public half with the code, and
receives its HMAC secret sealed to that key: the secret never crosses the
wire or the command line in clear, and lands only in a 0600 file.
"""

from __future__ import annotations

import base64
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import requests
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.config.loader import choose_path, load_config
from gateway.errors import ConfigError
from gateway.i18n import Message, gettext
from gateway.privacy.sealing import SealError, open_sealed, public_bytes
from gateway.storage.files import StorageError, write_private
from sync.client.transport import is_loopback
from sync.errors import SyncError
from sync.protocol.enrolment import ENROL_PATH, Token, TokenError, decode, secret_aad

TIMEOUT = (15, 60)
SECRET_NAME = "sync_secret"


class JoinError(SyncError):
    """Join cannot go on; ``message`` (translatable) says why and what to do (exit 2)."""

    def __init__(self, message: Message):
        super().__init__(message.render("en"))
        self.message = message


@dataclass
class Plan:
    """Where join will write: the config file and the secret file."""

    config_path: Path
    secret_path: Path
    text: str  # the config file's current text ('' when new)


def plan(token: Token, explicit: str | None) -> Plan:
    """Decide the files and check they can be written, before the code is spent."""
    config_path = choose_path(explicit) or Path("config.toml")
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    try:
        config = load_config(config_path if text else None, environ={}) if text else None
    except ConfigError as exc:
        raise JoinError(Message("%(file)s: %(problem)s", file=str(config_path), problem=str(exc))) from None
    if config is not None and config["sync.secret_file"]:
        secret_path = Path(config["sync.secret_file"])
    else:
        storage = config["storage.path"] if config is not None else "var/simpul.db"
        base = Path(storage) if Path(storage).is_absolute() else config_path.resolve().parent / storage
        secret_path = base.parent / SECRET_NAME
    folder = config_path.resolve().parent
    if not os.access(folder, os.W_OK) or (config_path.exists() and not os.access(config_path, os.W_OK)):
        raise JoinError(Message("cannot write %(file)s: run as the node's user or give --config a writable file",
                                file=str(config_path)))
    return Plan(config_path=config_path, secret_path=secret_path, text=text)


def already_joined(token: Token, target: Plan) -> bool:
    """Same node, same server, and a secret on disk: a second join changes nothing."""
    if not target.text or not target.secret_path.exists():
        return False
    config = load_config(target.config_path, environ={})
    return (config["node.id"] == token.node_id and config["sync.url"].rstrip("/") == token.url.rstrip("/")
            and bool(target.secret_path.read_text(encoding="utf-8").strip()))


def redeem(token: Token) -> str:
    """Spend the one-time code; return the node's HMAC secret (opened here, never sent in clear)."""
    key = X25519PrivateKey.generate()
    body = {"node_id": token.node_id,
            "code": base64.urlsafe_b64encode(token.code).decode("ascii"),
            "public_key": base64.b64encode(public_bytes(key.public_key())).decode("ascii")}
    try:
        resp = requests.post(token.url.rstrip("/") + ENROL_PATH, json=body, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise JoinError(Message("regional server %(url)s unreachable (%(reason)s): check the network and try "
                                "again (the token stays valid until it expires)",
                                url=token.url, reason=exc.__class__.__name__)) from None
    try:
        answer: dict[str, Any] = resp.json()
    except ValueError:
        answer = {}
    if resp.status_code != 200:
        reason = answer.get("error") or f"HTTP {resp.status_code}"
        raise JoinError(Message("the regional server refused this token: %(reason)s. Ask for a new one "
                                "(`simpul regional enrol-node %(node)s`).", reason=reason, node=token.node_id))
    try:
        sealed = base64.b64decode(str(answer.get("sealed_secret", "")), validate=True)
        return open_sealed(sealed, key, secret_aad(token.node_id)).decode("utf-8")
    except (ValueError, SealError):
        raise JoinError(Message("the regional server's answer could not be opened: ask for a new token")) from None


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def update_config(target: Plan, token: Token) -> None:
    """Set [node] id/name and [sync] url/regional_key/secret_file, keeping comments and layout."""
    import tomlkit

    doc = tomlkit.parse(target.text) if target.text else tomlkit.document()
    values = {
        "node": {"id": token.node_id, "name": token.name or token.node_id},
        "sync": {"url": token.url, "regional_key": token.regional_key_b64,
                 "secret_file": _relative(target.secret_path, target.config_path.parent)},
    }
    parts = urlsplit(token.url)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        # The regional operator issued a plain-http token on purpose (--insecure): honour it.
        values["sync"]["allow_plain_http"] = True
    for section, keys in values.items():
        table = doc.get(section)
        if table is None:
            table = tomlkit.table()
            doc.add(section, table)
        for key, value in keys.items():
            if key == "name" and not token.name and key in table:
                continue
            table[key] = value
    text = tomlkit.dumps(doc)
    tmp = target.config_path.with_name(f".{target.config_path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target.config_path)


def join(token_text: str, explicit_config: str | None, locale: str, now: float | None = None) -> int:
    """The whole command; returns the exit code (0 joined or already joined, 1 first sync failed, 2 refused)."""
    from gateway.cli import database_ready, print_recovery_code
    from gateway.node import Node

    def _(msgid: str, **params: Any) -> str:
        return gettext(locale, msgid, **params)

    try:
        token = decode(token_text)
        if token.expires < (now if now is not None else time.time()):
            raise TokenError(Message("this enrolment token expired at %(at)s: ask for a new one "
                                     "(`simpul regional enrol-node %(node)s`)", node=token.node_id,
                                     at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(token.expires))))
        target = plan(token, explicit_config)
        if already_joined(token, target):
            click.echo(_("already joined: node %(node)s syncs with %(url)s (%(file)s); nothing changed",
                         node=token.node_id, url=token.url, file=str(target.config_path)))
            return 0
        secret = redeem(token)
        write_private(target.secret_path, secret + "\n")
        update_config(target, token)
    except (TokenError, JoinError) as exc:
        click.echo(exc.message.render(locale), err=True)
        return 2
    except (StorageError, ConfigError) as exc:
        click.echo(str(exc), err=True)
        return 2
    click.echo(_("Joined %(url)s as node %(node)s (%(name)s); wrote %(file)s and the secret %(secret)s (0600).",
                 url=token.url, node=token.node_id, name=token.name, file=str(target.config_path),
                 secret=str(target.secret_path)))
    config = load_config(target.config_path)
    node = Node(config)
    try:
        node.store  # noqa: B018 - initialise the database (and make the node's keys)
        database_ready(config["storage.path"], locale)
        print_recovery_code(node.new_recovery_code, locale)
        from sync.client.messages import describe_error
        from sync.client.runner import run_pass

        result = run_pass(node)
    finally:
        node.close()
    if not result.ok:
        click.echo(_("First sync did not complete (%(stage)s: %(reason)s); `simpul sync --once` retries.",
                     stage=str(result.stage), reason=describe_error(result.error, locale)), err=True)
        return 1
    click.echo(_("First sync done: catalog version %(version)d, %(bytes)d bytes in %(seconds)s s.",
                 version=result.moved.get("catalog_version", 0), bytes=result.bytes_up + result.bytes_down,
                 seconds=f"{result.seconds:.1f}"))
    return 0


@click.group("node")
def node_group() -> None:
    """This node's enrolment with a regional server."""


@node_group.command("join")
@click.argument("token")
def node_join(token: str) -> None:
    """Join a regional server with the one-line token from `simpul regional enrol-node` ('-': stdin)."""
    from gateway.cli import Context

    ctx = click.get_current_context().find_object(Context)
    explicit = ctx.config_path if ctx else None
    if token == "-":
        token = sys.stdin.readline()
    chosen = choose_path(explicit)
    # A blank box has no config file yet: the locale then comes from the defaults and env only.
    locale = (ctx.locale if ctx and chosen is not None and chosen.exists()
              else load_config(os.devnull)["node.default_locale"])
    sys.exit(join(token, explicit, locale))
