"""The regional server's Flask app: sync API for nodes, web view for case workers.

Its own app, store and database file: it shares only the config file format
(``[regional]`` section) and the catalog code with a node.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, jsonify

from gateway.config.loader import Config
from gateway.errors import CatalogError
from gateway.intake import catalog_format
from gateway.intake.catalog import CATALOG_FORMAT, Catalog, check_text, read_catalog_text
from gateway.storage.files import private_dir
from gateway.web.proxy import SECURE_COOKIES
from sync.regional import api, dashboards, enrol, web
from sync.regional.engines import open_store
from sync.regional.sealkeys import load_keys
from sync.regional.store import RegionalStore

MAX_BODY = 16 * 1024 * 1024


def published_catalog(config: Config) -> tuple[int, str]:
    """(version, TOML text) of the catalog this server hands to nodes; must be valid."""
    catalog, text = _published(config)
    return catalog.version, text


def _published(config: Config) -> tuple[Catalog, str]:
    source, text = read_catalog_text(config["regional.catalog"] or None)
    catalog, errors = check_text(text)
    if catalog is None:
        raise CatalogError([f"{source}: {e}" for e in errors])
    return catalog, text


def regional_secret_key(config: Config) -> str:
    """CSRF-signing key: env SIMPUL_SECRET_KEY, else a 0600 file next to the regional db."""
    if os.environ.get("SIMPUL_SECRET_KEY"):
        return os.environ["SIMPUL_SECRET_KEY"]
    path = Path(config["regional.db"]).resolve().parent / "regional_secret_key"
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)  # 0700 when made here (on PostgreSQL nothing else makes it)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def create_regional_app(config: Config, store: RegionalStore | None = None) -> Flask:
    app = Flask(__name__, static_folder=None,
                template_folder=str(Path(__file__).resolve().parent.parent / "templates"))
    app.config["SIMPUL"] = config
    app.config["SECRET_KEY"] = regional_secret_key(config)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config[SECURE_COOKIES] = config["regional.secure_cookies"]
    if store is None:  # the private sealing keys: env or the 0600 key file (made on first use)
        store = open_store(config, load_keys(config))
    elif store.keys is None:
        store.keys = load_keys(config)
    app.extensions["simpul_regional"] = store
    catalog, text = _published(config)
    app.extensions["simpul_regional_catalog"] = (catalog.version, text)
    app.extensions["simpul_regional_catalog_obj"] = catalog  # labels for the case workers' pages
    # One copy per catalog format, made (and checked) at start-up: a node is served the copy it can read.
    app.extensions["simpul_regional_catalog_formats"] = {
        fmt: catalog_format.text_for(text, fmt) for fmt in range(1, CATALOG_FORMAT + 1)}

    @app.get("/healthz")
    def healthz():
        version = app.extensions["simpul_regional_catalog"][0]
        return jsonify(status="ok", role="regional", catalog_version=version,
                       **api.store_of(app).stats())

    app.register_blueprint(api.bp)
    app.register_blueprint(enrol.bp)
    web.init_app(app)
    dashboards.init_app(app)
    return app
