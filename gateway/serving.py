"""``simpul serve``: take the node lock, open the store, bind, then say so.

The order is the point. The lock comes first so a second node on the same
database stops before touching it; the socket is bound before any banner, so
"serving at" is never printed by a process that is about to fail on a busy
port. Every expected failure (lock held, folder unwritable, port busy) is one
line naming the path or port and what to do, and exit 2.
"""

from __future__ import annotations

import errno
import socket
import sys
from typing import Any

import click

from gateway.errors import ConfigError, SimpulError
from gateway.storage.lock import NodeLock

LOOPBACKS = ("127.", "::1", "localhost")


def lan_addresses() -> list[str]:
    """This box's non-loopback IPv4 addresses (best effort, no packet is sent)."""
    found: list[str] = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
        found.append(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(str(info[4][0]))
    except OSError:
        pass
    return sorted({a for a in found if not a.startswith(LOOPBACKS) and a != "0.0.0.0"})


def public_url_warning(config: Any, _: Any) -> str | None:
    """What to tell the operator when receipts would carry a loopback link; None when fine."""
    if config["node.public_url"]:
        return None
    port = config["http.port"]
    addresses = lan_addresses()
    listed = ", ".join(f"http://{a}:{port}" for a in addresses) or _("none found")
    return _("node.public_url is empty: receipts and QR codes may show a loopback address "
             "(http://127.0.0.1:%(port)s) that phones cannot open. This box's LAN addresses: %(list)s. "
             "Set [node] public_url to one of them and http.host = \"0.0.0.0\" (see docs/deploy.md).",
             port=port, list=listed)


def bind_problem(exc: OSError, host: str, port: int, _: Any) -> str:
    if exc.errno == errno.EADDRINUSE:
        return _("Port %(port)s on %(host)s is already in use: stop the other program or set http.port "
                 "(or --port) to a free port.", port=port, host=host)
    if exc.errno == errno.EACCES:
        return _("Not allowed to listen on port %(port)s: use a port above 1023 or a reverse proxy.",
                 port=port)
    return _("Cannot listen on %(host)s:%(port)s (%(reason)s): check http.host and http.port.",
             host=host, port=port, reason=exc.strerror or str(exc))


def run(ctx: Any, fail: Any) -> None:
    """Serve until stopped; ``ctx`` is the CLI context (config, node, gettext)."""
    import waitress

    from gateway.app import create_app
    from gateway.ops import logs
    from gateway.web.proxy import waitress_options

    logs.setup()
    config = ctx.config
    host, port = config["http.host"], config["http.port"]
    try:
        lock = NodeLock(config["storage.path"]).acquire()
        app = create_app(config=config, node=ctx.node)
    except SimpulError as exc:
        fail(str(exc), 2)
    try:
        server = waitress.create_server(app, host=host, port=port, threads=config["http.threads"],
                                        ident="simpul", **waitress_options(config["http.trusted_proxy"]))
    except OSError as exc:
        fail(bind_problem(exc, host, port, ctx._), 2)
    # Started on a fresh database without `simpul init-db`: the keys were made
    # just now, and this terminal is the only place the recovery code can go.
    from gateway.cli import show_recovery_code

    show_recovery_code(ctx)
    if config["jobs.enabled"]:
        from gateway.jobs import start_jobs

        try:
            app.extensions["simpul_scheduler"] = start_jobs(app)
        except ConfigError as exc:  # a job refuses a setting (e.g. sync.url without sync.regional_key)
            server.close()
            fail(f"config: {exc}", 2)
    warning = public_url_warning(config, ctx._)
    if warning:
        click.echo(warning, err=True)
    for part_warning in app.extensions.get("simpul_start_warnings", []):  # a part's unsafe or inert setting
        click.echo(ctx._("Warning: %(text)s", text=part_warning.render(ctx.locale)), err=True)
    click.echo(ctx._("Simpul node %(id)s on http://%(host)s:%(port)s",
                     id=config["node.id"], host=host, port=server.effective_port))
    sys.stdout.flush()
    try:
        server.run()
    finally:
        lock.release()
