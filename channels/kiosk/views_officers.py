"""Admins see the officer accounts and can switch one off (and on again).

Accounts are created from the node's shell (``simpul officer add``) so a
password never travels through the kiosk; switching an account off ends its
sessions at once, e.g. when an officer leaves or a password may be known, and
removes their key slot: switching it on again does not give the key back
(``simpul officer add NAME --reset`` does). The list shows who holds the
node key; "Grant key" hands it, from the admin's own session, to an officer
still waiting for it.
"""

from __future__ import annotations

import sqlite3

from flask import abort, current_app, g, redirect, render_template, request, url_for

from channels.kiosk import officer_keys, sessions
from channels.kiosk.blueprint import blueprint, session_keys
from gateway import clock
from gateway.app import node_of
from gateway.privacy import audit
from gateway.web.ui import _


def _admin_only() -> None:
    if g.officer["role"] != "admin":
        abort(403)


@blueprint.get("/officers")
def officers():
    _admin_only()
    db = node_of(current_app).store.read()
    rows = list(db.query(
        "SELECT o.username, o.role, o.active, o.created_at, o.key_revoked, "
        "(SELECT count(*) FROM kiosk_sessions s WHERE s.username = o.username) AS sessions "
        "FROM officers o ORDER BY o.username"))
    state = officer_keys.key_state(db)
    for row in rows:
        row["key"] = state.get(row["username"], "none")
    return render_template("kiosk/officers.html", rows=rows, error=request.args.get("error"),
                           can_grant=officer_keys.holds_current(db, session_keys()),
                           granted=request.args.get("granted"))


@blueprint.post("/officers/grant")
def officer_grant():
    """Grant the node key from this admin's session to every officer waiting for it."""
    _admin_only()
    node_keys = session_keys()
    actor = g.officer["username"]
    granted = node_of(current_app).store.write(lambda db: officer_keys.grant_waiting(db, node_keys, actor=actor))
    return redirect(url_for("kiosk.officers", granted=len(granted)), 303)


@blueprint.post("/officers/<username>/active")
def officer_active(username: str):
    _admin_only()
    active = request.form.get("active") == "1"
    if username == g.officer["username"] and not active:
        return redirect(url_for("kiosk.officers", error="self"), 303)

    def apply(db):
        found = db.execute("UPDATE officers SET active = ?, updated_at = ? WHERE username = ?",
                           [1 if active else 0, clock.utcnow(), username]).rowcount
        if found and not active:
            sessions.table().end_user_in(db, username)
            officer_keys.revoke(db, username, actor=g.officer["username"])
        if found:
            audit.append(db, actor=g.officer["username"],
                         action=audit.OFFICER_ENABLED if active else audit.OFFICER_DISABLED, subject=username)
        return found

    if not node_of(current_app).store.write(apply):
        abort(404)
    officer_keys.sweep(node_of(current_app))  # the ended sessions' keys leave memory now
    current_app.logger.info("kiosk officer %s %s by %s", username, "enabled" if active else "disabled",
                            g.officer["username"])
    return redirect(url_for("kiosk.officers"), 303)


@blueprint.errorhandler(403)
def _forbidden(_error):
    return render_template("kiosk/message.html", title=_("Not allowed"),
                           message=_("Only an administrator can open this page.")), 403


@blueprint.errorhandler(404)
def _not_found(_error):
    return render_template("kiosk/message.html", title=_("Not found"),
                           message=_("This page or request does not exist.")), 404


@blueprint.errorhandler(sqlite3.Error)
def _not_saved(error):
    # A full or failing disk: the officer must not hand over a receipt for an unsaved request.
    current_app.logger.error("kiosk: the database refused a write: %s", error)
    return render_template("kiosk/message.html", title=_("Not saved"),
                           message=_("The database could not save this (is the disk full?). Nothing was "
                                     "recorded; do not give the citizen a receipt. Try again later.")), 503
