"""``/kiosk/poster``: the A4 poster for the office wall, printed from the kiosk's browser.

The page is the one ``simpul poster`` writes (``gateway.outreach.poster``),
with the stylesheet linked instead of inlined (the kiosk's CSP allows no
inline style) and a language bar that does not print.
"""

from __future__ import annotations

from flask import current_app, url_for

from channels.kiosk.blueprint import blueprint
from gateway.app import node_of
from gateway.i18n import LANGUAGE_NAMES, LOCALES
from gateway.outreach import poster
from gateway.web.ui import locale


@blueprint.get("/poster")
def poster_page():
    node = node_of(current_app)
    content = poster.build(node.config, node.catalog, locale())
    languages = [(code, LANGUAGE_NAMES[code], url_for("kiosk.poster_page", lang=code)) for code in LOCALES]
    return poster.render(content, stylesheet_url=url_for("ui.static", filename=poster.STYLESHEET),
                         languages=languages, back_url=url_for("kiosk.home"))
