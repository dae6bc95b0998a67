"""Admin page for the right of access (UU 27/2022): one person's data, printable.

The NIK or phone travels only in a CSRF-protected POST body (a GET would put
it in server logs and browser history); the page is never cached, and the
audit log records that an access happened and by which kind of key, never
the key itself.
"""

from __future__ import annotations

from flask import current_app, g, render_template, request

from channels.kiosk import officer_keys
from channels.kiosk.blueprint import blueprint, session_opener
from channels.kiosk.views_officers import _admin_only
from gateway import clock
from gateway.app import node_of
from gateway.cases import records as cases
from gateway.intake import validators
from gateway.intake.catalog import labelled_fields
from gateway.privacy import access, audit, lookup
from gateway.web.ui import _, locale


@blueprint.get("/access")
def access_form():
    _admin_only()
    return render_template("kiosk/access.html", report=None, error=None, by="nik", value="",
                           lookups=audit.data_access_log(node_of(current_app).store.read()))


@blueprint.post("/access")
def access_report():
    _admin_only()
    node = node_of(current_app)
    by = "phone" if request.form.get("by") == "phone" else "nik"
    typed = request.form.get("value", "")[:40]
    try:
        value = validators.phone(typed) if by == "phone" else validators.nik(typed)
    except validators.Invalid as problem:
        label = _("Phone number") if by == "phone" else _("NIK")
        return render_template("kiosk/access.html", report=None, by=by, value=typed,
                               error=f"{label}: {problem.message.render(locale())}"), 422
    opener = session_opener()
    if opener is None or not officer_keys.holds_current(node.store.read(), opener.node_keys):
        return render_template("kiosk/access.html", report=None, by=by, value=typed,
                               error=_("Finding a person's data needs the node key, and your session does "
                                       "not hold it. Ask an officer who holds the node key to log in "
                                       "(or grant it to you).")), 409
    lookup.catch_up(node.store, opener)  # requests received since login become findable
    report = access.gather(node.store.read(), node.catalog, opener, **{by: value})
    actor = g.officer["username"]
    node.store.write(lambda db: audit.record_access(db, actor=actor, via=audit.VIA_ACCESS_PAGE, by=by))
    current_app.logger.info("kiosk: data access by %s (%s)", actor, by)
    catalog = node.catalog
    for row in report.requests:
        service = catalog.service(row["service"])
        row["service_name"] = service.text("name", locale()) if service else row["service"]
        row["labelled"] = labelled_fields(service, row["fields"] or {}, locale())
    return render_template("kiosk/access.html", report=report, error=None, by=by, value=value,
                           retention_days=node.config["retention.days"], now=clock.utcnow(),
                           codes={r["id"]: r["tracking_code"] for r in report.requests},
                           status_label=lambda s: cases.status_label(s, locale()))
