"""An officer changes their own password at the kiosk.

The admin's ``simpul officer add NAME --reset`` hands out a password the admin
knows and ends the officer's key grants; this page is how the officer then
makes it their own, or replaces one that may have been seen, *keeping* the node
key: their key slot is re-wrapped under the new password (``officer_keys.rewrap``).
The current password is asked for (a kiosk left logged in must not let a
passer-by take the account over) and wrong guesses are throttled like logins.
Their other sessions end; this one stays.
"""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for

from channels.kiosk import accounts, officer_keys
from channels.kiosk.auth import login_throttle
from channels.kiosk.blueprint import blueprint
from channels.kiosk.errors import AccountError
from gateway.app import node_of
from gateway.privacy import audit
from gateway.web.proxy import client_address
from gateway.web.ui import _, new_password_problem, wait_message


def _page(error: str | None = None, status: int = 200):
    return render_template("kiosk/password.html", error=error, done=request.args.get("done") == "1",
                           min_length=accounts.MIN_PASSWORD_LENGTH), status


@blueprint.get("/password")
def password_form():
    return _page()


@blueprint.post("/password")
def password_submit():
    node = node_of(current_app)
    store = node.store
    username = g.officer["username"]
    client = client_address()
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    confirm = request.form.get("confirm_password", "")
    if not current or not new:
        return _page(_("Enter your current password and the new one."), 400)
    throttle = login_throttle()
    attempt = throttle.reserve(username, client)
    if not attempt.allowed:
        return _page(wait_message(attempt.wait), 429)
    if not accounts.verify(accounts.get_officer(store.read(), username), current):
        store.write(lambda db: audit.append(db, actor=username, action=audit.LOGIN_FAILED,
                                            details={"client": client, "form": "password"}))
        return (_page(wait_message(attempt.wait), 429) if attempt.wait
                else _page(_("Your current password is not correct."), 401))
    problem = new_password_problem(current, new, confirm)
    if problem:
        return _page(problem, 400)
    keep = g.officer["id_hash"]

    throttle.succeeded(username, client)
    try:
        result = store.write(lambda db: accounts.change_password(db, username, current, new, keep_session=keep))
    except AccountError:  # switched off between the guard and this write
        return _page(_("Your password could not be changed. Please log in again."), 409)
    officer_keys.sweep(node)  # the officer's other sessions ended: their keys leave memory
    current_app.logger.info("kiosk: %s changed their password (key slot %s)", username, result["slot"])
    return redirect(url_for("kiosk.password_form", done=1), 303)
