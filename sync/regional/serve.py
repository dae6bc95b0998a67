"""Running ``simpul regional serve``: one waitress process, or N gunicorn workers on one port.

Why gunicorn for ``workers > 1`` (docs/architecture.md): it is a supervisor as
well as a pre-fork server: a worker that dies or hangs is replaced, SIGTERM
drains requests in flight, and every worker accepts on the one listening
socket the master bound. Waitress-per-process behind ``SO_REUSEPORT`` would
need all of that written here. Each gunicorn worker builds its own app and
store after the fork (no database connection crosses a fork); every piece of
shared state (request counters, sessions, login throttle, sealing epochs) is
in the database, so it does not matter which worker a request reaches.
Several processes on one SQLite file would queue on its single write lock
(and throttle and sessions would still be correct, but slower than one
process), so ``workers > 1`` is refused there.
"""

from __future__ import annotations

from typing import Any

from gateway.config.loader import Config
from gateway.i18n import N_
from sync.regional.engines import engine_of

THREADS = 8
WORKERS_SQLITE = N_("regional.workers = %(workers)d needs PostgreSQL: set regional.database_url "
                    "(postgresql://…) or use workers = 1 with the SQLite file.")
WORKERS_BAD = N_("regional.workers must be at least 1 (got %(workers)d).")


def workers_problem(config: Config) -> str | None:
    """The msgid of why these workers cannot start, or None."""
    workers = config["regional.workers"]
    if workers < 1:
        return WORKERS_BAD
    if workers > 1 and engine_of(config) == "sqlite":
        return WORKERS_SQLITE
    return None


def single(config: Config, store: Any, host: str, port: int) -> None:
    import waitress

    from gateway.web.proxy import waitress_options
    from sync.regional.app import create_regional_app

    app = create_regional_app(config, store)
    waitress.serve(app, host=host, port=port, threads=THREADS, ident="simpul-regional", _quiet=True,
                   **waitress_options(config["regional.trusted_proxy"]))


def behind_proxy(app: Any, proxy: str) -> Any:
    """WSGI wrapper for gunicorn with waitress's rule (gateway.web.proxy): forwarding headers are
    believed only from ``proxy`` (one hop) and dropped from anyone else, so a client cannot pick
    its own address for the login throttle or claim HTTPS."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    trusted = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)
    proxy = (proxy or "").strip()

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        if proxy and environ.get("REMOTE_ADDR") == proxy:
            return trusted(environ, start_response)
        for key in [k for k in environ if k.startswith("HTTP_X_FORWARDED_")]:
            del environ[key]
        return app(environ, start_response)

    return wrapped


def prefork(config: Config, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class RegionalServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": f"{host}:{port}", "workers": workers, "threads": THREADS,
                               "worker_class": "gthread", "loglevel": "warning", "accesslog": None,
                               "timeout": 120, "graceful_timeout": 20, "preload_app": False,
                               "proc_name": "simpul-regional",
                               "secure_scheme_headers": {}}.items():  # behind_proxy decides, as waitress does
                self.cfg.set(key, value)

        def load(self) -> Any:
            from sync.regional.app import create_regional_app

            return behind_proxy(create_regional_app(config), config["regional.trusted_proxy"])

    RegionalServer().run()
