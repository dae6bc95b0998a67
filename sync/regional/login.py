"""Case workers log in, out, and change their password on the regional server.

The kiosk's rules through the web toolkit: the attempt is reserved in the
throttle before argon2 runs (per user and client; invented names share one
bucket), a fresh server-side session per login, ``next=`` only ever a local
path, cookies HttpOnly, SameSite=Strict and Secure behind a trusted HTTPS
proxy. A password change ends the user's other sessions at once.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, redirect, render_template, request, url_for

from gateway.web import csrf, passwords
from gateway.web.proxy import client_address, cookie_secure
from gateway.web.redirects import local_path
from gateway.web.throttle import bucket
from gateway.web.ui import _, new_password_problem, wait_message
from sync.regional import accounts


def _store() -> Any:
    return current_app.extensions["simpul_regional"]


def _sessions():
    return accounts.sessions(_store(), current_app.config["SIMPUL"])


def current_session() -> dict[str, Any] | None:
    """This request's live session (an expired one is deleted), or None."""
    if "regional_session" not in g:
        found, expired = _sessions().current(request.cookies.get(accounts.COOKIE))
        g.regional_session, g.regional_session_expired = found, expired
    return g.regional_session


def _next() -> str:
    return local_path(request.values.get("next")) or url_for("index")


def _login_page(error: str | None = None, username: str = "", status: int = 200):
    notice = None
    if request.args.get("expired") == "1":
        notice = _("Your session ended after a period without activity. Please log in again.")
    elif request.args.get("bye") == "1":
        notice = _("You have logged out.")
    return render_template("regional/login.html", error=error, notice=notice, username=username, next=_next(),
                           csrf_token=csrf.token(csrf.anon_binding())), status


def login():
    if current_session() is not None:
        return redirect(_next(), 302)
    return _login_page()


def login_submit():
    if not csrf.valid(csrf.sent_anon_binding(), request.form.get(csrf.FIELD)):
        return _login_page(_("The login form expired. Please try again."), status=400)
    username = accounts.normalize(request.form.get("username", ""))
    password = request.form.get("password", "")
    if not username or not password:
        return _login_page(_("Enter your username and password."), username, 400)
    store, client = _store(), client_address()
    user = accounts.user(store, username)
    key = bucket(username, user is not None)
    throttle = accounts.throttle(store)
    attempt = throttle.reserve(key, client)
    if not attempt.allowed:
        return _login_page(wait_message(attempt.wait), username, 429)
    usable = user is not None and user["disabled_at"] is None
    if not passwords.verify(user["password_hash"] if usable else None, password):
        current_app.logger.info("regional: failed login for %s from %s", key, client)
        if attempt.wait:
            return _login_page(wait_message(attempt.wait), username, 429)
        return _login_page(_("Wrong username or password."), username, 401)
    throttle.succeeded(key, client)
    throttle.forget_old()
    if passwords.needs_rehash(user["password_hash"]):
        accounts.set_password(store, username, passwords.hash_password(password))
    live = _sessions()
    live.purge_expired()
    session_id = live.create(username, replaces=request.cookies.get(accounts.COOKIE))
    response = redirect(_next(), 302)
    response.set_cookie(accounts.COOKIE, session_id, path="/", httponly=True, samesite="Strict",
                        secure=cookie_secure())
    return response


def logout():
    session = g.regional_session
    _sessions().end(session)
    response = redirect(url_for("login", bye=1), 302)
    response.delete_cookie(accounts.COOKIE, path="/")
    return response


def _password_page(error: str | None = None, status: int = 200):
    return render_template("regional/password.html", error=error, done=request.args.get("done") == "1",
                           min_length=passwords.MIN_PASSWORD_LENGTH), status


def password_form():
    return _password_page()


def password_submit():
    store, username, client = _store(), g.user, client_address()
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    if not current or not new:
        return _password_page(_("Enter your current password and the new one."), 400)
    throttle = accounts.throttle(store)
    attempt = throttle.reserve(username, client)
    if not attempt.allowed:
        return _password_page(wait_message(attempt.wait), 429)
    user = accounts.user(store, username)
    if not passwords.verify(user["password_hash"] if user else None, current):
        return (_password_page(wait_message(attempt.wait), 429) if attempt.wait
                else _password_page(_("Your current password is not correct."), 401))
    throttle.succeeded(username, client)
    problem = new_password_problem(current, new, request.form.get("confirm_password", ""))
    if problem:
        return _password_page(problem, 400)
    accounts.set_password(store, username, passwords.hash_password(new), keep=g.regional_session["id_hash"])
    return redirect(url_for("password_form", done=1), 302)


def register(app: Flask) -> None:
    app.add_url_rule("/login", "login", login, methods=["GET"])
    app.add_url_rule("/login", "login_submit", login_submit, methods=["POST"])
    app.add_url_rule("/logout", "logout", logout, methods=["POST"])
    app.add_url_rule("/password", "password_form", password_form, methods=["GET"])
    app.add_url_rule("/password", "password_submit", password_submit, methods=["POST"])

