"""The kiosk's health page (hook ``kiosk_panels``, admin only): the checks of ``simpul doctor``.

A village office often has nobody who opens a terminal. The admin officer
sees the very list ``simpul doctor`` prints (the core's checks and every
part's ``doctor_checks``, from :func:`gateway.ops.doctor.run`), each line ok,
warn or fail with its one-line fix, and the same overall verdict. The checks
show no personal data.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from gateway.app import node_of
from gateway.i18n import N_
from gateway.ops import doctor
from gateway.panels import Panel, PanelRequest

TITLE = N_("Health check")
VERDICTS = {doctor.OK: N_("Everything checked is fine."),
            doctor.WARN: N_("Something needs attention soon: see the lines marked warn."),
            doctor.FAIL: N_("Something is wrong: fix the lines marked fail first.")}
STATUS_LABELS = {doctor.OK: N_("ok"), doctor.WARN: N_("warn"), doctor.FAIL: N_("fail")}


def view(req: PanelRequest) -> dict[str, Any]:
    config = node_of(req.app).config
    checks = doctor.run(lambda: config)
    overall = doctor.worst(checks)
    return {"checks": [dict(c.as_dict(req.locale), status=c.status) for c in checks], "overall": overall,
            "verdict": VERDICTS[overall], "status_labels": STATUS_LABELS}


def panels() -> list[Panel]:
    templates = Path(str(resources.files("kiosk_ui") / "templates"))
    return [Panel(id="doctor", title=TITLE, template="kiosk/doctor_panel.html", templates=templates, view=view,
                  admin_only=True, order=90)]
