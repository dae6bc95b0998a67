"""Officer login and logout, with throttling of failed attempts per (user, address)."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for

from channels.kiosk import accounts, officer_keys, sessions, throttle
from channels.kiosk.blueprint import blueprint, current_session, timeouts
from channels.web import csrf
from channels.web.ui import _
from gateway.app import node_of
from gateway.privacy import audit, lookup
from gateway.privacy.vault import merge_clear_personal


def login_policy() -> throttle.Policy:
    config = node_of(current_app).config
    return throttle.Policy(free=config["kiosk.login_free_attempts"],
                           max_delay=config["kiosk.login_max_delay_seconds"])


def _safe_next(target: str | None) -> str:
    """Only our own kiosk pages: no open redirect through ?next=."""
    if target and target.startswith("/kiosk/") and not target.startswith("//") and "\\" not in target:
        return target.rstrip("?")
    return url_for("kiosk.home")


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


def wait_message(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    if seconds <= 90:
        return _("Too many failed attempts. Wait %(n)d seconds and try again.", n=seconds)
    return _("Too many failed attempts. Wait %(n)d minutes and try again.", n=minutes)


@blueprint.post("/login")
def login_submit():
    if not csrf.valid(csrf.sent_anon_binding(), request.form.get(csrf.FIELD)):
        return _page(_("The login form expired. Please try again."), status=400)
    store = node_of(current_app).store
    username = accounts.normalize_username(request.form.get("username", ""))[:64]
    password = request.form.get("password", "")
    client = request.remote_addr or "?"
    if not username or not password:
        return _page(_("Enter your username and password."), username, 400)
    wait = throttle.wait_seconds(store.read(), username, client)
    if wait:
        return _page(wait_message(wait), username, 429)
    officer = accounts.get_officer(store.read(), username)
    if not accounts.verify(officer, password):
        policy = login_policy()
        def failed(db):
            audit.append(db, actor=username, action=audit.LOGIN_FAILED, details={"client": client})
            return throttle.record_failure(db, username, client, policy)

        wait = store.write(failed)
        if wait:
            return _page(wait_message(wait), username, 429)
        return _page(_("Wrong username or password."), username, 401)
    old = request.cookies.get(sessions.COOKIE)
    node = node_of(current_app)
    # The password just verified also opens the officer's key slot (None: no usable slot yet).
    opened = officer_keys.open_for_login(store.read(), username, password)

    idle = timeouts()

    def start(db):
        sessions.purge_expired(db, idle)  # sessions nobody came back to
        throttle.forget_old(db)
        throttle.clear(db, username, client)
        if old:
            sessions.delete(db, sessions.hash_id(old))
        if accounts.needs_rehash(officer):
            accounts.rehash(db, username, password)
        audit.append(db, actor=username, action=audit.LOGIN, details={"client": client})
        if opened is None:  # an officer from before sealing: a slot from this password, ungranted
            officer_keys.holder_at_login(db, username, password)
        return sessions.create(db, username)

    session_id = store.write(start)
    node_keys = opened or {}
    node.keyring.put(sessions.hash_id(session_id), node_keys)
    if old:
        node.keyring.drop(sessions.hash_id(old))
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
                        secure=request.is_secure)
    return response


@blueprint.post("/logout")
def logout():
    session = g.kiosk_session
    def end(db):
        audit.append(db, actor=session["username"], action=audit.LOGOUT)
        sessions.delete(db, session["id_hash"])

    node_of(current_app).store.write(end)
    node_of(current_app).keyring.drop(session["id_hash"])
    response = redirect(url_for("kiosk.login", bye=1), 303)
    response.delete_cookie(sessions.COOKIE, path="/kiosk")
    return response
