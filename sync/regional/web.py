"""The case workers' web view: list and filter, detail, status change, conflicts, nodes.

Server-rendered HTML on the shared web toolkit (``gateway.web``): the kiosk's
stylesheet and language switch, dates in ``[regional] timezone``, field
labels from the catalog in the case worker's language. Every page but the
login needs a server-side session (``sync.regional.login``); every POST
carries a CSRF token bound to it, checked before any view runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, current_app, g, redirect, render_template, request, url_for

from gateway import clock
from gateway.cases.records import STATUSES, status_label
from gateway.intake.catalog import Catalog, labelled_fields
from gateway.web import csrf
from gateway.web.passwords import hash_password
from gateway.web.ui import Site, _, install_ui, locale
from sync.errors import RegionalError
from sync.regional import accounts, fleet, login
from sync.regional.audit_chain import PROBLEMS
from sync.regional.sealkeys import PROBLEMS as SEAL_PROBLEMS
from sync.regional.store import CASE_STATUSES, RegionalStore

__all__ = ["hash_password", "init_app"]  # hash_password: what `simpul regional user add` stores
PAGE = 50
SITE = Site(default_locale="node.default_locale", timezone="regional.timezone", name="regional.name")
OPEN_ENDPOINTS = {"login", "login_submit", "healthz", "ui.static", "style", "transparency_page"}


def _store() -> RegionalStore:
    return current_app.extensions["simpul_regional"]


def _catalog() -> Catalog | None:
    return current_app.extensions.get("simpul_regional_catalog_obj")


def _guard() -> Any:
    """Every case-worker page: a live session, and a valid CSRF token on every POST."""
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None or request.path.startswith("/sync/"):
        return None
    session = login.current_session()
    if session is None:
        args = {"next": request.full_path.rstrip("?") if request.method == "GET" else "/"}
        if g.get("regional_session_expired"):
            args["expired"] = "1"
        response = redirect(f"{url_for('login')}?{urlencode(args)}", 302)
        response.delete_cookie(accounts.COOKIE, path="/")
        return response
    if request.method == "POST" and not csrf.valid(session["csrf_secret"], request.form.get(csrf.FIELD)):
        abort(400, description="CSRF")
    accounts.sessions(_store(), current_app.config["SIMPUL"]).touch(session)
    g.user = session["username"]
    return None


def _service_name(code: str) -> str:
    catalog = _catalog()
    service = catalog.service(code) if catalog else None
    return service.text("name", locale()) if service else code


def _fields(service_code: str, values: dict[str, Any]) -> list[tuple[str, Any]]:
    catalog = _catalog()
    return labelled_fields(catalog.service(service_code) if catalog else None, values or {}, locale())


def init_app(app: Flask) -> None:
    install_ui(app, SITE)
    app.before_request(_guard)
    login.register(app)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        session = g.get("regional_session")
        return {"csrf_token": csrf.token(session["csrf_secret"]) if session else "",
                "status_label": lambda s: status_label(s, locale()), "service_name": _service_name,
                "seal_problem_label": lambda p: _(SEAL_PROBLEMS[p]) if p in SEAL_PROBLEMS else str(p),
                "user": session["username"] if session else None}

    @app.get("/style.css")
    def style():  # the old stylesheet's address: pages now use the kiosk's (ui.static)
        return redirect(url_for("ui.static", filename="simpul.css"), 301)

    @app.get("/")
    def index():
        node = request.args.get("node") or None
        status = request.args.get("status") or None
        if status and status not in STATUSES:
            status = None
        page = max(1, request.args.get("page", 1, type=int) or 1)
        rows = _store().list_requests(node_id=node, status=status, limit=PAGE + 1, offset=(page - 1) * PAGE)
        return render_template("regional/list.html", rows=rows[:PAGE], more=len(rows) > PAGE, page=page,
                               node=node or "", status=status or "", statuses=STATUSES,
                               nodes=_store().nodes(), stats=_store().stats())

    @app.get("/requests/<request_id>")
    def detail(request_id: str):
        row = _store().get_request(request_id)
        if row is None:
            abort(404)
        conflicts = _store().conflicts(request_id=request_id)
        for c in conflicts:
            if c["kind"] == "content" and c["detail"].get("fields"):
                c["labelled"] = _fields(row["service"], c["detail"]["fields"])
        return render_template("regional/detail.html", r=row, fields=_fields(row["service"], row["fields"]),
                               history=_store().history(request_id), conflicts=conflicts,
                               case_statuses=CASE_STATUSES, message=request.args.get("msg"))

    @app.post("/requests/<request_id>/status")
    def change(request_id: str):
        if _store().get_request(request_id) is None:
            abort(404)
        try:
            _store().set_status(request_id, request.form.get("status", ""), actor=g.user,
                                note=request.form.get("note", "").strip()[:200] or None)
        except RegionalError:
            return redirect(url_for("detail", request_id=request_id, msg="error"))
        return redirect(url_for("detail", request_id=request_id, msg="saved"))

    @app.get("/conflicts")
    def conflicts():
        return render_template("regional/conflicts.html", rows=_store().conflicts())

    @app.get("/nodes")
    def nodes():
        sort, show, query = request.args.get("sort", "id"), request.args.get("show", "all"), request.args.get("q", "")
        descending = request.args.get("desc") == "1"
        rows = fleet.arrange(_store().nodes(), now=clock.now(), sort=sort, descending=descending, show=show,
                             query=query, silent_after_hours=float(app.config["SIMPUL"]["regional.silent_after_hours"]))
        return render_template("regional/nodes.html", nodes=rows, flags=_store().node_flags(), sort=sort,
                               desc=descending, show=show, q=query,
                               silent_hours=app.config["SIMPUL"]["regional.silent_after_hours"],
                               problem_label=lambda p: _(PROBLEMS[p]) if p in PROBLEMS else str(p))

    @app.post("/nodes/flags/<int:flag_id>/resolve")
    def resolve_flag(flag_id: int):
        if not _store().resolve_flag(flag_id, actor=g.user):
            abort(404)
        return redirect(url_for("nodes"))

    @app.post("/conflicts/<int:conflict_id>/resolve")
    def resolve(conflict_id: int):
        if not _store().resolve_conflict(conflict_id, actor=g.user):
            abort(404)
        return redirect(url_for("conflicts"))
