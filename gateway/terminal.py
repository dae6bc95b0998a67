"""Text from the database made safe to print on an operator's terminal.

Values such as a username typed into a login form, a note or a node id can
hold escape sequences: printed raw by ``simpul audit list`` they could clear
the screen, rewrite earlier lines or hide entries. Every CLI listing passes
such values through :func:`printable`, which shows control and format
characters (and bidirectional overrides) as visible escapes instead.
JSON output needs nothing: ``json.dumps`` already escapes control characters.
"""

from __future__ import annotations


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """``value`` as text with every control or format character shown as ``\\xNN`` / ``\\uNNNN``."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(c if c == " " or c.isprintable() else _escape(c) for c in text)
