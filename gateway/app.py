"""The node's Flask app: one app serves webhooks, kiosk and portal.

``create_app(test_config=None)`` follows Flask's tutorial: defaults, then the
config file, then env, then the test dict. Parts (channels, sync, add-ons;
``gateway.parts``) hang themselves on the app through ``init_app(app)``; none
of them writes to the store except through the pipeline.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from gateway import parts
from gateway.cases import records as cases
from gateway.config.loader import Config, load_config, secret_key
from gateway.node import Node
from gateway.web.proxy import SECURE_COOKIES


def node_of(app: Flask) -> Node:
    return app.extensions["simpul"]


def create_app(test_config: dict[str, Any] | None = None, *, config: Config | None = None,
               node: Node | None = None) -> Flask:
    if config is None:
        config = node.config if node is not None else load_config(overrides=test_config)
    app = Flask(__name__, static_folder=None)
    app.config["SIMPUL"] = config
    app.config["SECRET_KEY"] = secret_key(config)
    app.config["TESTING"] = bool(test_config)
    app.config["MAX_CONTENT_LENGTH"] = 1 * 1024 * 1024
    app.config[SECURE_COOKIES] = config["http.secure_cookies"]
    app.extensions["simpul"] = node or Node(config)
    node_of(app).store  # noqa: B018 - migrate at start-up, not on the first request

    @app.get("/healthz")
    def healthz():
        stats = cases.queue_stats(node_of(app).store.read())
        return jsonify(status="ok", node_id=config["node.id"],
                       catalog_version=node_of(app).catalog.version, **stats)

    parts.call("init_app", app)
    return app
