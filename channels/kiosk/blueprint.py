"""The kiosk blueprint and its guard: every page but the login needs a live session.

The guard runs before each kiosk view: it loads the server-side session from
the cookie, ends it when idle or too old, refreshes its last-seen time and
checks the CSRF token of every POST before any view (and so any write) runs.

A session lives with its node keys in memory (``node.keyring``). After a
process restart the keyring is empty: a session without an entry is ended
and the officer logs in again, which re-opens the key from their password.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from channels.kiosk import officer_keys, sessions
from gateway.app import node_of
from gateway.inbox import threads
from gateway.web import csrf
from gateway.web.sessions import Sessions, Timeouts, hash_id
from gateway.web.ui import _

blueprint = Blueprint("kiosk", __name__, url_prefix="/kiosk")
OPEN_ENDPOINTS = {"kiosk.login", "kiosk.login_submit"}


def timeouts() -> Timeouts:
    return sessions.timeouts(node_of(current_app).config)


def officer_sessions() -> Sessions:
    node = node_of(current_app)
    return sessions.of(node.store, node.config)


def current_session() -> dict | None:
    """The live session of this request (expired ones are deleted), or None."""
    if "kiosk_session" in g:
        return g.kiosk_session
    node = node_of(current_app)
    cookie = request.cookies.get(sessions.COOKIE)
    live = officer_sessions()
    found, expired = live.current(cookie)
    g.kiosk_session_expired, g.kiosk_session_relogin = expired, False
    if expired:
        node.keyring.drop(hash_id(cookie))
    elif found is not None and node.keyring.get(found["id_hash"]) is None:
        # The process restarted (or the keys were swept): only the password reopens them.
        live.end(found)
        g.kiosk_session_relogin = True
        found = None
    elif found is None and cookie:
        officer_keys.sweep(node)  # a session ended elsewhere (reset from the shell): forget its keys
    g.kiosk_session = found
    return found


def _work_node():  # noqa: ANN202 - gateway.node.Node
    """The live node, or the training node while this session practises (channels/kiosk/training.py)."""
    from channels.kiosk.training import work_node

    return work_node()


def session_keys() -> dict:
    """The node keys of this request's session ({} when the officer holds none)."""
    session = g.get("kiosk_session")
    if session is None:
        return {}
    return _work_node().keyring.get(session["id_hash"]) or {}


def session_opener():
    """A ``vault.RequestOpener`` with the session's keys, or None without any."""
    node_keys = session_keys()
    return _work_node().vault.opener(node_keys) if node_keys else None


def form_binding() -> str:
    return g.kiosk_session["csrf_secret"]


@blueprint.before_request
def _guard():
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    session = current_session()
    if session is None:
        args = {"next": request.full_path if request.method == "GET" else url_for("kiosk.home")}
        if g.get("kiosk_session_expired"):
            args["expired"] = "1"
        elif g.get("kiosk_session_relogin"):
            args["relogin"] = "1"
        response = redirect(f"{url_for('kiosk.login')}?{urlencode(args)}", 303)
        response.delete_cookie(sessions.COOKIE, path="/kiosk")
        return response
    if request.method == "POST" and not csrf.valid(session["csrf_secret"], request.form.get(csrf.FIELD)):
        return render_template("kiosk/message.html", title=_("This form has expired"),
                               message=_("Please go back, reload the page and try again.")), 400
    officer_sessions().touch(session)
    g.officer = session
    return None


@blueprint.context_processor
def _kiosk_context():
    session = g.get("kiosk_session")
    context = {"officer": session, "idle_seconds": int(timeouts().idle.total_seconds())}
    if session:
        context["csrf_token"] = csrf.token(session["csrf_secret"])
        context["keys_sealed"] = not officer_keys.holds_current(_work_node().store.read(), session_keys())
        context["training"] = _work_node() is not node_of(current_app)
        context["inbox_open"] = threads.open_threads(_work_node().store.read())  # the menu's count
    return context
