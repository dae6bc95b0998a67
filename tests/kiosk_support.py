"""Helpers shared by the kiosk, portal and browser tests (not a test module)."""

from __future__ import annotations

import re

import qrcode

from channels.kiosk import accounts

PASSWORD = "kata-sandi-rahasia"
HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


def hidden(html: str) -> dict[str, str]:
    """The hidden inputs (csrf_token, form_token, next) of the first form that has them."""
    out: dict[str, str] = {}
    for name, value in HIDDEN.findall(html):
        out.setdefault(name, value)
    return out


def add_officer(node, username: str = "siti", password: str = PASSWORD, role: str = "officer",
                *, grant: bool = True) -> dict:
    """An officer with a key holder; ``grant`` gives them the node key (via the recovery code)."""
    from tests.conftest import node_keys_of

    grant_with = node_keys_of(node) if grant else None
    return node.store.write(lambda db: accounts.add_officer(db, username, password, role, grant_with=grant_with))


def login(client, username: str = "siti", password: str = PASSWORD, **environ):
    page = client.get("/kiosk/login", environ_base=environ)
    data = hidden(page.get_data(as_text=True))
    data.update(username=username, password=password)
    return client.post("/kiosk/login", data=data, environ_base=environ)


def qr_modules(svg: str) -> set[tuple[int, int]]:
    """Dark modules of an SvgPathImage QR: one ``Mx,yH..`` square each."""
    path = re.search(r'<path d="([^"]+)"', svg).group(1)
    return {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", path)}


def expected_modules(data: str) -> set[tuple[int, int]]:
    """Dark modules of ``data`` encoded independently with the qrcode library."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    return {(x, y) for y, row in enumerate(qr.get_matrix()) for x, dark in enumerate(row) if dark}


def inline_svg(html: str, css_class: str = "qr") -> str:
    match = re.search(rf'<svg class="{css_class}".*?</svg>', html, re.S)
    assert match, f"no inline <svg class={css_class}>"
    return match.group(0)
