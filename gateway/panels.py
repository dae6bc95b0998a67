"""Kiosk panels: pages a part adds to the officers' kiosk (hook ``kiosk_panels()``).

The kiosk (a part) collects every part's panels and mounts each at
``/kiosk/<id>``: behind the officer login (and the admin role when
``admin_only``), CSRF-checked on POST, never cached, linked from the kiosk's
navigation. The contributing part names no kiosk module: it gives a Jinja
*fragment* (rendered inside the kiosk page, with the kiosk's ``_``, ``when``
filter and ``csrf_token``; its form posts to ``panel_url``) and plain
functions for the data. This is why the contract lives in the core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PanelRequest:
    """What a panel's functions get: the app (``gateway.app.node_of(app)`` is the node),
    the page's locale, the logged-in officer's row and, for a POST, the form."""

    app: Any  # flask.Flask
    locale: str
    officer: Mapping[str, Any]
    form: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    id: str  # URL /kiosk/<id>; also the endpoint "kiosk.panel_<id>"
    title: str  # msgid (mark it with gateway.i18n.N_): nav link and page title
    template: str  # Jinja fragment, e.g. "sync_panel.html", found in ``templates``
    templates: Path  # folder holding the fragment (added to the app's template search path)
    view: Callable[[PanelRequest], dict[str, Any]]  # GET: the fragment's variables
    action: Callable[[PanelRequest], dict[str, Any]] | None = None  # POST: do it, return more variables
    admin_only: bool = False
    order: int = 100  # place in the navigation (lower first)
