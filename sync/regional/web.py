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
from gateway.cases import transitions
from gateway.cases.records import STATUSES, status_label
from gateway.errors import NoteTooLong, StatusError
from gateway.intake.catalog import Catalog, labelled_fields
from gateway.web import csrf
from gateway.web.passwords import hash_password
from gateway.web.ui import Site, _, install_ui, locale
from sync.errors import RegionalError
from sync.regional import accounts, casework, fleet, login
from sync.regional.audit_chain import PROBLEMS
from sync.regional.dashboards import SOURCE_NOTES
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


def _detail(row: dict[str, Any], *, message: str | None = None, error: str | None = None,
            form: dict[str, Any] | None = None, status: int = 200) -> Any:
    """The request page; after a refused change, with the reason and what was typed."""
    request_id = row["id"]
    conflicts = _store().conflicts(request_id=request_id)
    for c in conflicts:
        if c["kind"] == "content" and c["detail"].get("fields"):
            c["labelled"] = _fields(row["service"], c["detail"]["fields"])
    offered = transitions.next_statuses(row["status"]) + (("in_progress",) if row["status"] == "closed" else ())
    catalog = _catalog()
    service = catalog.service(row["service"]) if catalog else None
    reasons = [(o.code, o.label.get(locale()) or o.label.get("id") or o.code)
               for o in (service.reject_reasons if service and "rejected" in offered else ())]
    return render_template("regional/detail.html", r=row, fields=_fields(row["service"], row["fields"]),
                           history=_store().history(request_id), conflicts=conflicts, offered=offered,
                           reasons=reasons, message=message, error=error, form=form or {}), status


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
        return _detail(row, message=request.args.get("msg"))

    @app.post("/requests/<request_id>/status")
    def change(request_id: str):
        """The node's rules: the transitions table, a confirmed reopen, the 3-segment SMS limit.

        A refused change re-renders the page with the case worker's input and
        says why (409; 422 with the segment count for a note too long), so
        nothing typed is lost and nothing is cut.
        """
        row = _store().get_request(request_id)
        if row is None:
            abort(404)
        wanted = request.form.get("status", "")
        note = request.form.get("note", "").strip() or None
        internal, reopen = request.form.get("internal") == "1", request.form.get("reopen") == "1"
        catalog = _catalog()
        service = catalog.service(row["service"]) if catalog else None
        reason = service.reject_reason(wanted, request.form.get("reason_code")) if service else None
        form = {"status": wanted, "note": note or "", "internal": internal, "reason_code": reason}
        if wanted not in CASE_STATUSES:
            return _detail(row, form=form, status=422, error=_("Choose one of the offered statuses."))
        if transitions.is_reopen(row["status"], wanted) and not reopen:
            return _detail(row, form=form, status=409,
                           error=_("This case is closed: tick the confirmation to reopen it."))
        try:
            casework.check(_catalog(), row, wanted, note=note, internal=internal, reopen=reopen)
            _store().set_status(request_id, wanted, actor=g.user, note=note, internal=internal, reopen=reopen,
                                reason=reason)
        except NoteTooLong as exc:
            return _detail(row, form=form, status=422, error=_(
                "The note is too long for the citizen's SMS: %(n)d segments, at most %(max)d. "
                "Shorten it or mark it internal.", n=exc.segments, max=exc.limit))
        except (StatusError, RegionalError):
            current = _store().get_request(request_id) or row
            return _detail(current, form=form, status=409, error=_(
                "This case is \u201c%(current)s\u201d; it cannot be changed to \u201c%(wanted)s\u201d.",
                current=status_label(current["status"], locale()), wanted=status_label(wanted, locale())))
        return redirect(url_for("detail", request_id=request_id, msg="saved"))

    @app.get("/conflicts")
    def conflicts():
        return render_template("regional/conflicts.html", rows=_store().conflicts())

    @app.get("/nodes")
    def nodes():
        sort, show, query = request.args.get("sort", "id"), request.args.get("show", "all"), request.args.get("q", "")
        descending = request.args.get("desc") == "1"
        # The fleet from the readers' database (the standby when configured); the flags
        # from the primary, so "Mark as checked" shows its effect on the next page.
        held, as_of, source = _store().fleet()
        rows = fleet.arrange(held, now=clock.now(), sort=sort, descending=descending, show=show,
                             query=query, silent_after_hours=float(app.config["SIMPUL"]["regional.silent_after_hours"]))
        return render_template("regional/nodes.html", nodes=rows, flags=_store().node_flags(), sort=sort,
                               desc=descending, show=show, q=query, as_of=as_of,
                               timezone=app.config["SIMPUL"]["regional.timezone"],
                               source_note=_(SOURCE_NOTES[source]) if source in SOURCE_NOTES else None,
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
