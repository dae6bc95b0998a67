"""CSRF tokens and one-time form tokens, HMAC-bound to a browser or a session.

A CSRF token is HMAC(secret, binding): the binding is the officer session's
secret on the kiosk, or a random HttpOnly SameSite=Strict cookie for
anonymous forms (the portal and the login page). A forged cross-site POST
has neither the cookie nor a token that matches it.

A form token makes a submission idempotent: each rendered form carries a
fresh nonce signed for the same binding; the nonce becomes the pipeline's
``channel_message_id``, so a double click or a reload of the POST returns the
first request instead of creating a second one, and a token cannot be
forged or borrowed from another browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app, g, request
from werkzeug.wrappers import Response

from gateway.web.compare import same
from gateway.web.proxy import cookie_secure

ANON_COOKIE = "simpul_csrf"
FIELD = "csrf_token"
FORM_FIELD = "form_token"


def _mac(purpose: str, binding: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"{purpose}:{binding}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token(binding: str) -> str:
    return _mac("csrf", binding)


def valid(binding: str | None, sent: str | None) -> bool:
    if not binding or not sent:
        return False
    return same(token(binding), sent)


def new_form_token(binding: str) -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac('form', f'{binding}:{nonce}')}"


def form_nonce(binding: str | None, sent: str | None) -> str | None:
    """The nonce of a genuine form token for this binding, else None."""
    if not binding or not sent or sent.count(".") != 1 or len(sent) > 200:
        return None
    nonce, mac = sent.split(".")
    if nonce and same(_mac("form", f"{binding}:{nonce}"), mac):
        return nonce
    return None


def anon_binding() -> str:
    """The browser's anonymous CSRF cookie value (created on first use)."""
    if "anon_csrf" not in g:
        value = request.cookies.get(ANON_COOKIE)
        if not value or len(value) > 100 or not value.isascii():
            value = secrets.token_urlsafe(24)
            g.anon_csrf_new = True
        g.anon_csrf = value
    return g.anon_csrf


def sent_anon_binding() -> str | None:
    """The cookie the browser sent, if any (a POST never mints one)."""
    value = request.cookies.get(ANON_COOKIE)
    return value if value and len(value) <= 100 and value.isascii() else None


def set_anon_cookie(response: Response) -> Response:
    if g.get("anon_csrf_new"):
        response.set_cookie(ANON_COOKIE, g.anon_csrf, httponly=True, samesite="Strict",
                            secure=cookie_secure())
    return response
