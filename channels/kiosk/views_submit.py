"""Assisted submission: the officer fills the catalog form for a citizen; the receipt."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for

from channels.kiosk import training
from channels.kiosk.blueprint import blueprint, form_binding
from gateway.cases import contacts
from gateway.cases import records as cases
from gateway.i18n import LOCALES, pick_locale
from gateway.intake import codes
from gateway.intake.catalog import Service
from gateway.web import csrf
from gateway.web.forms import check, inputs
from gateway.web.qr import qr_svg, track_url
from gateway.web.ui import _, locale, service_or_404


def _node():
    return training.work_node()  # the training node while the officer practises


@blueprint.get("/")
def home():
    return render_template("kiosk/home.html", services=_node().catalog.services)


def _form(service: Service, values: dict, errors: dict, *, phone: str = "", consent: bool = False,
          citizen_locale: str | None = None, form_token: str | None = None, status: int = 200):
    return render_template(
        "kiosk/new.html", service=service, inputs=inputs(service, locale(), values, errors), errors=errors,
        phone=phone, consent=consent, citizen_locale=citizen_locale or _node().config["node.default_locale"],
        form_token=form_token or csrf.new_form_token(form_binding()),
    ), status


@blueprint.get("/new/<code>")
def new_request(code: str):
    return _form(service_or_404(code), {}, {})


@blueprint.post("/new/<code>")
def new_request_submit(code: str):
    service = service_or_404(code)
    token = request.form.get(csrf.FORM_FIELD)
    nonce = csrf.form_nonce(form_binding(), token)
    if nonce is None:
        return render_template("kiosk/message.html", title=_("This form has expired"),
                               message=_("Please go back, reload the page and try again.")), 400
    citizen_locale = pick_locale(request.form.get("citizen_locale"), _node().config["node.default_locale"])
    checked = check(_node().pipeline, service, request.form, channel="kiosk", locale=citizen_locale,
                    ui_locale=locale(), render=_, channel_message_id=nonce, officer=g.officer["username"])
    if checked.errors:
        return _form(service, checked.values, checked.errors, phone=checked.phone,
                     consent=request.form.get("consent") == "yes", citizen_locale=citizen_locale,
                     form_token=token, status=422)
    receipt = _node().pipeline.submit(checked.submission, on_commit=contacts.remembering(citizen_locale))
    if not receipt.ok:
        errors = {p.field: p.message.render(locale()) for p in receipt.problems}
        return _form(service, checked.values, errors, phone=checked.phone, citizen_locale=citizen_locale,
                     status=422)
    return redirect(url_for("kiosk.receipt", code=receipt.tracking_code), 303)


@blueprint.get("/receipt/<code>")
def receipt(code: str):
    try:
        row = cases.get_by_code(_node().store.read(), code)
    except codes.CodeError:
        abort(404)
    if row is None:
        abort(404)
    service = _node().catalog.service(row["service"])
    if row["locale"] in LOCALES and request.args.get("lang") not in LOCALES:
        g.locale = row["locale"]  # the citizen keeps the receipt: print it in their language
    url = track_url(_node().config, row["tracking_code"], request.host_url)
    return render_template("kiosk/receipt.html", row=row, service=service, url=url,
                           qr=qr_svg(url, _("QR code of the tracking link")))
