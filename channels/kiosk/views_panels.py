"""Panels other parts add to the kiosk (hook ``kiosk_panels()``, contract in ``gateway/panels.py``).

One route serves them all, ``/kiosk/<id>``, so the kiosk's guard (login,
CSRF on every POST) covers each panel exactly as it covers the kiosk's own
pages; the kiosk's own routes are matched first, and an id that clashes with
one is refused at start-up.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, g, render_template, request, url_for

from channels.kiosk.blueprint import blueprint
from channels.kiosk.views_officers import _admin_only
from gateway import parts
from gateway.errors import ConfigError
from gateway.panels import Panel, PanelRequest
from gateway.web.ui import locale

EXTENSION = "simpul_kiosk_panels"


def install(app: Flask) -> None:
    """Collect the parts' panels (in part order, then ``order``) and make their fragments findable."""
    found: dict[str, Panel] = {}
    for result in parts.call("kiosk_panels"):
        for panel in result or ():
            if not isinstance(panel, Panel):
                raise ConfigError(f"kiosk panel {panel!r} is not a gateway.panels.Panel")
            taken = panel.id in found or any(
                rule.rule == f"/kiosk/{panel.id}" for rule in app.url_map.iter_rules())
            if taken or not panel.id.isidentifier():
                raise ConfigError(f"kiosk panel id {panel.id!r} is taken or not a plain name")
            found[panel.id] = panel
            app.register_blueprint(Blueprint(f"kiosk_panel_{panel.id}", __name__,
                                             template_folder=str(panel.templates)))
    app.extensions[EXTENSION] = sorted(found.values(), key=lambda p: p.order)


def installed() -> list[Panel]:
    return current_app.extensions.get(EXTENSION, [])


@blueprint.context_processor
def _panels_context() -> dict:
    officer = g.get("officer") or {}
    return {"kiosk_panels": [p for p in installed() if not p.admin_only or officer.get("role") == "admin"]}


@blueprint.route("/<panel_id>", methods=["GET", "POST"])
def panel(panel_id: str):
    chosen = next((p for p in installed() if p.id == panel_id), None)
    if chosen is None or (request.method == "POST" and chosen.action is None):
        abort(404 if chosen is None else 405)
    if chosen.admin_only:
        _admin_only()
    asked = PanelRequest(current_app._get_current_object(), locale(), g.officer,  # type: ignore[attr-defined]
                         request.form.to_dict() if request.method == "POST" else {})
    values = chosen.view(asked)
    if request.method == "POST":
        values = {**values, **chosen.action(asked)}  # type: ignore[misc]
    return render_template("kiosk/panel.html", panel=chosen, panel_url=url_for("kiosk.panel", panel_id=chosen.id),
                           **values)
