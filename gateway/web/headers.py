"""Security headers on every response a Simpul web app sends.

One policy for the node (kiosk, portal, webhooks) and the regional server:
no inline script or style, no framing, no referrer, and pages that can hold
personal data are never stored by the browser or a cache on a shared screen.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
STATIC_ENDPOINTS = frozenset({"ui.static"})


def secure_headers(response: Response) -> Response:
    """Headers on every response (webhooks and JSON included)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint in STATIC_ENDPOINTS:
        headers["Cache-Control"] = "public, max-age=3600"
    else:
        # Pages show tracking codes, names, NIKs: nothing is kept by the
        # browser or an intermediate cache on a shared kiosk.
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    if response.mimetype == "text/html":
        headers.add("Vary", "Cookie")
    return response


def install_headers(app: Flask) -> None:
    """Idempotent: several parts of one app may ask for it."""
    if app.extensions.get("simpul_headers"):
        return
    app.extensions["simpul_headers"] = True
    app.after_request(secure_headers)
