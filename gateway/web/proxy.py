"""The real client behind a trusted reverse proxy, and the Secure flag on cookies.

Behind Caddy or nginx, waitress sees the proxy's address and plain HTTP, so
``request.remote_addr`` would be one bucket for every client's login throttle
and ``request.is_secure`` would be false: cookies would go out without
``Secure``. Waitress can rewrite both from ``X-Forwarded-For`` and
``X-Forwarded-Proto``, but only for requests that come from the address named
in ``[http] trusted_proxy`` (or ``[regional] trusted_proxy``); the same
headers from anyone else are dropped. Off by default: a node reached directly
must not believe a header any client can send.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

FORWARDED_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"})
SECURE_COOKIES = "SIMPUL_SECURE_COOKIES"  # app.config key: always send cookies with Secure


def waitress_options(trusted_proxy: str) -> dict[str, Any]:
    """Keyword arguments for ``waitress.serve``: none when no proxy is trusted.

    ``trusted_proxy`` is the proxy's address as waitress sees it (``127.0.0.1``
    for a proxy on the same machine). Untrusted forwarding headers are cleared,
    so the app never reads a spoofed one.
    """
    proxy = (trusted_proxy or "").strip()
    if not proxy:
        return {"clear_untrusted_proxy_headers": True}
    return {"trusted_proxy": proxy, "trusted_proxy_count": 1,
            "trusted_proxy_headers": set(FORWARDED_HEADERS), "clear_untrusted_proxy_headers": True}


def cookie_secure() -> bool:
    """Secure flag for a cookie set now: HTTPS as seen through the proxy, or forced by config."""
    return request.is_secure or bool(current_app.config.get(SECURE_COOKIES))


def client_address() -> str:
    """The client's address for throttles and audit ('?' when the server does not know it)."""
    return request.remote_addr or "?"
