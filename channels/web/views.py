"""Portal pages: services, request forms, tracking and feedback."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from channels.web import feedback
from gateway.app import node_of
from gateway.cases import contacts
from gateway.cases import records as cases
from gateway.i18n import LOCALES
from gateway.intake import codes
from gateway.intake.catalog import Service
from gateway.privacy import vault
from gateway.web import csrf
from gateway.web.forms import check, inputs
from gateway.web.qr import qr_svg, track_url
from gateway.web.ui import LANG_COOKIE, _, locale, service_or_404

blueprint = Blueprint("portal", __name__)


def _node():
    return node_of(current_app)


@blueprint.get("/")
def index():
    return render_template("portal/index.html", services=_node().catalog.services)


@blueprint.get("/services/<code>")
def service_info(code: str):
    service = service_or_404(code)
    return render_template("portal/service.html", service=service, sms_format=service.sms_format(locale()))


def _form_page(service: Service, values: dict[str, str], errors: dict[str, str], phone: str = "",
               consent: bool = False, form_token: str | None = None, status: int = 200):
    binding = csrf.anon_binding()
    return render_template(
        "portal/apply.html", service=service, inputs=inputs(service, locale(), values, errors),
        errors=errors, phone=phone, consent=consent, csrf_token=csrf.token(binding),
        form_token=form_token or csrf.new_form_token(binding),
    ), status


@blueprint.get("/services/<code>/apply")
def apply_form(code: str):
    return _form_page(service_or_404(code), {}, {})


@blueprint.post("/services/<code>/apply")
def apply_submit(code: str):
    service = service_or_404(code)
    binding = csrf.sent_anon_binding()
    if not csrf.valid(binding, request.form.get(csrf.FIELD)):
        return _csrf_failed()
    nonce = csrf.form_nonce(binding, request.form.get(csrf.FORM_FIELD))
    if nonce is None:
        return _csrf_failed()
    checked = check(_node().pipeline, service, request.form, channel="web", locale=locale(),
                    ui_locale=locale(), render=_, channel_message_id=nonce)
    if checked.errors:
        return _form_page(service, checked.values, checked.errors, checked.phone,
                          request.form.get("consent") == "yes", request.form.get(csrf.FORM_FIELD), 422)
    # A citizen who switched the portal's language chose it: later SMS to their phone use it too.
    chosen = request.cookies.get(LANG_COOKIE) in LOCALES or request.args.get("lang") in LOCALES
    receipt = _node().pipeline.submit(checked.submission,
                                      on_commit=contacts.remembering(locale()) if chosen else None)
    if not receipt.ok:  # the catalog changed between check and submit
        errors = {p.field: p.message.render(locale()) for p in receipt.problems}
        return _form_page(service, checked.values, errors, checked.phone, True, None, 422)
    return redirect(url_for("portal.track", code=receipt.tracking_code, new=1), 303)


def _csrf_failed():
    return render_template("portal/message.html", title=_("This form has expired"),
                           message=_("Please open the form again and resend it.")), 400


@blueprint.get("/track")
def track_form():
    typed = request.args.get("code", "").strip()
    if not typed:
        return render_template("portal/track_form.html", typed="", error=None)
    try:
        code = codes.normalize(typed)
    except codes.BadCheck:
        error = _("Check the code: one character is wrong or two are swapped.")
    except codes.CodeError:
        error = _("A tracking code has 10 letters and digits, like ABCDE-12345.")
    else:
        return redirect(url_for("portal.track", code=code), 303)
    return render_template("portal/track_form.html", typed=typed[:40], error=error), 400


def _track_page(code: str, *, feedback_error: str | None = None, status: int = 200):
    try:
        row = cases.get_by_code(_node().store.read(), code)
    except codes.BadCheck:
        return render_template("portal/track_form.html", typed=code[:40],
                               error=_("Check the code: one character is wrong or two are swapped.")), 400
    except codes.CodeError:
        return render_template("portal/track_form.html", typed=code[:40],
                               error=_("A tracking code has 10 letters and digits, like ABCDE-12345.")), 400
    if row is None:
        return render_template("portal/track_form.html", typed=code[:40],
                               error=_("No request has this code. Check it and try again.")), 404
    if row["tracking_code"] != code:
        return redirect(url_for("portal.track", code=row["tracking_code"]), 301)
    db = _node().store.read()
    service = _node().catalog.service(row["service"])
    new = request.args.get("new") == "1"
    url = track_url(_node().config, row["tracking_code"], request.host_url)
    binding = csrf.anon_binding()
    return render_template(
        "portal/track.html", row=row, service=service, history=_public_history(db, row["id"]),
        reason=cases.citizen_note(db, row["id"], row["status"]),
        status_label=lambda s: cases.status_label(s, locale()), new=new,
        qr=qr_svg(url, _("QR code of the tracking link")) if new else "", url=url,
        feedback=feedback.get(db, row["id"]), feedback_error=feedback_error,
        csrf_token=csrf.token(binding), thanks=request.args.get("thanks") == "1",
    ), status


def _public_history(db, request_id: str) -> list[dict]:  # noqa: ANN001 - sqlite_utils.Database
    """The history with the notes meant for the citizen only: internal notes are never shown."""
    events = cases.history(db, request_id)
    for event in events:
        if event["internal"] or event["note"] == vault.SEALED:
            event["note"] = None
    return events


@blueprint.get("/track/<code>")
def track(code: str):
    return _track_page(code)


@blueprint.post("/track/<code>/feedback")
def give_feedback(code: str):
    if not csrf.valid(csrf.sent_anon_binding(), request.form.get(csrf.FIELD)):
        return _csrf_failed()
    try:
        row = cases.get_by_code(_node().store.read(), code)
    except codes.CodeError:
        abort(404)
    if row is None:
        abort(404)
    if row["status"] != "closed":
        return _track_page(code, feedback_error=_("Feedback opens once the request is closed."), status=409)
    rating, comment, problem = feedback.parse(request.form.get("rating"), request.form.get("comment"))
    if problem is not None:
        return _track_page(code, feedback_error=problem.render(locale()), status=422)
    assert rating is not None
    loc = locale()  # read here: the write job runs in the writer thread, outside the request
    sealed = feedback.seal_comment(_node().vault, row["id"], comment)  # free text: sealed before the write
    _node().store.write(lambda db: feedback.save(db, row["id"], rating, sealed, loc))
    return redirect(url_for("portal.track", code=row["tracking_code"], thanks=1), 303)


@blueprint.errorhandler(404)
def _not_found(_error):
    return render_template("portal/message.html", title=_("Not found"),
                           message=_("This page does not exist.")), 404


@blueprint.errorhandler(sqlite3.Error)
def _not_saved(error):
    # A full or failing disk: say so and answer 503, never a redirect to a code that was not stored.
    current_app.logger.error("portal: the database refused a write: %s", error)
    return render_template("portal/message.html", title=_("Not saved"),
                           message=_("The office computer could not save this. Nothing was recorded; "
                                     "please try again in a few minutes.")), 503
