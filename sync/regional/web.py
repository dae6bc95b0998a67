"""The case workers' web view: login, list and filter, detail, status change, conflicts, nodes.

Server-rendered HTML only. Every page but the login needs a session; every
form carries a CSRF token bound to the session; responses carry strict
security headers and personal pages are never cached.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, g, redirect, render_template, request, session, url_for

from gateway import clock
from gateway.cases.records import STATUSES, status_label
from gateway.i18n import LOCALES, gettext, pick_locale
from sync.errors import RegionalError
from sync.regional import fleet
from sync.regional.audit_chain import PROBLEMS
from sync.regional.sealkeys import PROBLEMS as SEAL_PROBLEMS
from sync.regional.store import CASE_STATUSES, RegionalStore

HASHER = PasswordHasher()  # argon2id with the library's current defaults
PAGE = 50
MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
# A hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = HASHER.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password(store: RegionalStore, username: str, password: str) -> bool:
    stored = store.password_hash(username)
    try:
        HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if HASHER.check_needs_rehash(stored):
        store.set_password_hash(username, HASHER.hash(password))
    return True


class LoginThrottle:
    """Slow down password guessing: after MAX_FAILURES failed logins for a username
    within LOCKOUT_SECONDS, refuse further attempts for that username until the window passes.
    In memory: a restart forgets, which is fine for a brake on online guessing."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, username: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(username, []) if now - t < LOCKOUT_SECONDS]
        self._failures[username] = times
        return times

    def locked(self, username: str) -> bool:
        with self._lock:
            return len(self._recent(username, time.monotonic())) >= MAX_FAILURES

    def failed(self, username: str) -> None:
        with self._lock:
            self._recent(username, time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


def _store() -> RegionalStore:
    from flask import current_app

    return current_app.extensions["simpul_regional"]


def _(msgid: str, **params: Any) -> str:
    return gettext(g.locale, msgid, **params)


def login_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not session.get("user"):
            return redirect(url_for("login", next=request.path))
        return view(*args, **kwargs)
    return wrapped


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(400, description="CSRF")


def init_app(app: Flask) -> None:
    app.extensions["simpul_login_throttle"] = LoginThrottle()

    @app.before_request
    def _locale() -> None:
        wanted = request.args.get("lang") or request.cookies.get("lang")
        best = request.accept_languages.best_match(LOCALES)
        g.locale = pick_locale(wanted or best, "id")
        if request.method == "POST" and not request.path.startswith("/sync/"):
            _check_csrf()

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"_": _, "csrf_token": csrf_token, "status_label": lambda s: status_label(s, g.locale),
                "seal_problem_label": lambda p: _(SEAL_PROBLEMS[p]) if p in SEAL_PROBLEMS else str(p),
                "user": session.get("user"), "locale": g.locale}

    @app.after_request
    def _headers(resp):
        resp.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'self'; form-action 'self'; "
                                                   "frame-ancestors 'none'; base-uri 'none'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if resp.mimetype == "text/html":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.get("/style.css")
    def style():
        return render_template("regional/style.css"), 200, {"Content-Type": "text/css"}

    @app.route("/login", methods=["GET", "POST"])
    def login():
        error = None
        throttle: LoginThrottle = app.extensions["simpul_login_throttle"]
        if request.method == "POST":
            username = request.form.get("username", "").strip()
            if throttle.locked(username):
                error = _("Too many failed attempts. Try again in 15 minutes.")
                return render_template("regional/login.html", error=error), 429
            if check_password(_store(), username, request.form.get("password", "")):
                throttle.succeeded(username)
                session.clear()
                session["user"] = username
                session["csrf"] = secrets.token_urlsafe(32)
                target = request.args.get("next", "")
                return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
            throttle.failed(username)
            error = _("Wrong username or password.")
        return render_template("regional/login.html", error=error), 401 if error else 200

    @app.post("/logout")
    def logout():
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    @login_required
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
    @login_required
    def detail(request_id: str):
        row = _store().get_request(request_id)
        if row is None:
            abort(404)
        return render_template("regional/detail.html", r=row, history=_store().history(request_id),
                               conflicts=_store().conflicts(request_id=request_id),
                               case_statuses=CASE_STATUSES, message=request.args.get("msg"))

    @app.post("/requests/<request_id>/status")
    @login_required
    def change(request_id: str):
        if _store().get_request(request_id) is None:
            abort(404)
        try:
            _store().set_status(request_id, request.form.get("status", ""), actor=session["user"],
                                note=request.form.get("note", "").strip() or None)
        except RegionalError:
            return redirect(url_for("detail", request_id=request_id, msg="error"))
        return redirect(url_for("detail", request_id=request_id, msg="saved"))

    @app.get("/conflicts")
    @login_required
    def conflicts():
        return render_template("regional/conflicts.html", rows=_store().conflicts())

    @app.get("/nodes")
    @login_required
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
    @login_required
    def resolve_flag(flag_id: int):
        if not _store().resolve_flag(flag_id, actor=session["user"]):
            abort(404)
        return redirect(url_for("nodes"))

    @app.post("/conflicts/<int:conflict_id>/resolve")
    @login_required
    def resolve(conflict_id: int):
        if not _store().resolve_conflict(conflict_id, actor=session["user"]):
            abort(404)
        return redirect(url_for("conflicts"))
