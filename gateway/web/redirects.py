"""``next=`` targets after a login: only ever a path on this site.

Browsers drop tabs and newlines from URLs and read a backslash as a slash,
so ``/%09/evil.example`` arrives as ``"/\\t/evil.example"`` and becomes
``//evil.example``, another site. A target is kept only when it is a plain
absolute path under ``prefix`` with no control characters, whitespace or
backslashes, no ``//`` at the start and no scheme or host once parsed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_TARGET = 2000


def local_path(target: str | None, prefix: str = "/") -> str | None:
    """``target`` when it is safe to redirect to, else None."""
    if not target or len(target) > MAX_TARGET or not target.startswith(prefix) or target.startswith("//"):
        return None
    if any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target.rstrip("?")
