"""Start and end a practice session (``POST /kiosk/training/start`` and ``/end``).

See ``channels/kiosk/training.py`` for what practising changes. Both are
plain CSRF-checked POSTs (the blueprint's guard); they go back to the new
request page, where the banner shows the mode at once.
"""

from __future__ import annotations

from flask import current_app, g, redirect, url_for

from channels.kiosk import training
from channels.kiosk.blueprint import blueprint


@blueprint.post("/training/start")
def training_start():
    training.of(current_app).start(g.officer["id_hash"], g.officer["username"])
    return redirect(url_for("kiosk.home"), 303)


@blueprint.post("/training/end")
def training_end():
    training.of(current_app).end(g.officer["id_hash"], training.ENDED)
    return redirect(url_for("kiosk.home"), 303)
