"""Officer login and logout, with throttling of attempts per (user, address).

The throttle (``gateway.web.throttle``) reserves each attempt before the
password is checked; a username that is no officer is throttled in the one
shared unknown bucket of its client and audited as ``<unknown>``, so
whatever was typed into the username box (a password, escape sequences)
never reaches the audit chain.
"""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for

from channels.kiosk import accounts, officer_keys, sessions, training
from channels.kiosk.blueprint import blueprint, current_session, officer_sessions
from gateway.app import node_of
from gateway.privacy import audit, lookup
from gateway.privacy.vault import merge_clear_personal
from gateway.web import csrf
from gateway.web.proxy import client_address, cookie_secure
from gateway.web.redirects import local_path
from gateway.web.sessions import hash_id, new_row
from gateway.web.throttle import UNKNOWN, Policy, SqlPairs, Throttle, bucket
from gateway.web.ui import _, wait_message


def login_policy() -> Policy:
    config = node_of(current_app).config
    return Policy(free=config["kiosk.login_free_attempts"], max_delay=config["kiosk.login_max_delay_seconds"])


def login_throttle() -> Throttle:
    """The kiosk's throttle: its ``login_failures`` table in the node's store."""
    return Throttle(SqlPairs(node_of(current_app).store), login_policy())


def _safe_next(target: str | None) -> str:
    """Only our own kiosk pages: no open redirect through ?next=."""
    return local_path(target, "/kiosk/") or url_for("kiosk.home")


def _page(error: str | None = None, username: str = "", status: int = 200):
    notice = None
    if request.args.get("expired") == "1" or g.get("kiosk_session_expired"):
        notice = _("Your session ended after a period without activity. Please log in again.")
    elif request.args.get("relogin") == "1" or g.get("kiosk_session_relogin"):
        notice = _("The node was restarted. Please log in again: your password opens the personal data.")
    elif request.args.get("bye") == "1":
        notice = _("You have logged out.")
    return render_template("kiosk/login.html", error=error, notice=notice, username=username,
                           next=_safe_next(request.values.get("next")),
                           csrf_token=csrf.token(csrf.anon_binding())), status


@blueprint.get("/login")
def login():
    if current_session() is not None:
        return redirect(_safe_next(request.args.get("next")), 303)
    return _page()


@blueprint.post("/login")
def login_submit():
    if not csrf.valid(csrf.sent_anon_binding(), request.form.get(csrf.FIELD)):
        return _page(_("The login form expired. Please try again."), status=400)
    store = node_of(current_app).store
    username = accounts.normalize_username(request.form.get("username", ""))[:64]
    password = request.form.get("password", "")
    client = client_address()
    if not username or not password:
        return _page(_("Enter your username and password."), username, 400)
    officer = accounts.get_officer(store.read(), username)
    key = bucket(username, officer is not None)
    throttle = login_throttle()
    attempt = throttle.reserve(key, client)
    if not attempt.allowed:
        return _page(wait_message(attempt.wait), username, 429)
    if not accounts.verify(officer, password):
        actor = username if officer is not None else UNKNOWN
        store.write(lambda db: audit.append(db, actor=actor, action=audit.LOGIN_FAILED, details={"client": client}))
        if attempt.wait:
            return _page(wait_message(attempt.wait), username, 429)
        return _page(_("Wrong username or password."), username, 401)
    old = request.cookies.get(sessions.COOKIE)
    old_hash = hash_id(old) if old and len(old) <= 100 and old.isascii() else None
    node = node_of(current_app)
    # The password just verified also opens the officer's key slot (None: no usable slot yet).
    opened = officer_keys.open_for_login(store.read(), username, password)
    session_id, row = new_row(username)
    table = sessions.table()

    def start(db):
        if old_hash:
            table.delete_in(db, old_hash)
        if accounts.needs_rehash(officer):
            accounts.rehash(db, username, password)
        audit.append(db, actor=username, action=audit.LOGIN, details={"client": client})
        if opened is None:  # an officer from before sealing: a slot from this password, ungranted
            officer_keys.holder_at_login(db, username, password)
        table.insert_in(db, row)

    store.write(start)
    throttle.succeeded(key, client)
    throttle.forget_old()
    officer_sessions().purge_expired()  # sessions nobody came back to
    node_keys = opened or {}
    node.keyring.put(row["id_hash"], node_keys)
    if old_hash:
        node.keyring.drop(old_hash)
    officer_keys.sweep(node)  # sessions purged above take their keys with them
    if officer_keys.holds_current(store.read(), node_keys):
        granted = store.write(lambda db: officer_keys.grant_waiting(db, node_keys, actor=username))
        if granted:
            current_app.logger.info("kiosk: node key granted to %d officer(s) by %s", len(granted), username)
        opener = node.vault.opener(node_keys)
        merge_clear_personal(store, node.vault, opener, node.catalog)  # before indexing: it re-seals
        lookup.catch_up(store, opener)
    current_app.logger.info("kiosk login: %s", username)
    response = redirect(_safe_next(request.form.get("next")), 303)
    response.set_cookie(sessions.COOKIE, session_id, path="/kiosk", httponly=True, samesite="Strict",
                        secure=cookie_secure())
    return response


@blueprint.post("/logout")
def logout():
    session = g.kiosk_session
    table = sessions.table()

    def end(db):
        audit.append(db, actor=session["username"], action=audit.LOGOUT)
        table.delete_in(db, session["id_hash"])

    training.of(current_app).end(session["id_hash"], training.LOGGED_OUT)
    node_of(current_app).store.write(end)
    node_of(current_app).keyring.drop(session["id_hash"])
    response = redirect(url_for("kiosk.login", bye=1), 303)
    response.delete_cookie(sessions.COOKIE, path="/kiosk")
    return response
