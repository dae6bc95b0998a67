"""Request forms generated from the catalog, shared by the kiosk and the portal.

Inputs are named after the catalog's field names (``nik``, ``name``,
``address`` ...) plus ``phone`` and ``consent``; validation is the
pipeline's own, so the web says exactly what SMS and USSD would say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from gateway.i18n import N_
from gateway.intake.catalog import Field, Service
from gateway.intake.pipeline import Pipeline, Submission

CONSENT_REQUIRED = N_("Please confirm consent to process this personal data.")
MAX_INPUT = 2000  # characters kept from any one input before validation


@dataclass(frozen=True)
class InputView:
    """One form control, ready for the template."""

    name: str
    label: str
    hint: str
    kind: str  # text, textarea, select, date, numeric
    required: bool
    value: str
    error: str | None
    options: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None


def _kind(field: Field) -> str:
    if field.type == "choice":
        return "select"
    if field.type == "date":
        return "date"
    if field.type in ("nik", "integer"):
        return "numeric"
    if field.type == "phone":
        return "tel"
    return "textarea" if field.max_length > 160 else "text"


def inputs(service: Service, locale: str, values: dict[str, str], errors: dict[str, str]) -> list[InputView]:
    views = []
    for f in service.fields:
        views.append(InputView(
            name=f.name, label=f.text("label", locale), hint=f.text("prompt", locale), kind=_kind(f),
            required=f.required, value=values.get(f.name, ""), error=errors.get(f.name),
            options=tuple((o.code, o.label.get(locale) or o.label.get("id", o.code)) for o in f.options),
            max_length=f.max_length if f.type == "text" else (16 if f.type == "nik" else None),
        ))
    return views


def read_values(service: Service, form: MultiDict) -> dict[str, str]:
    return {f.name: form.get(f.name, "")[:MAX_INPUT].strip() for f in service.fields}


@dataclass
class Checked:
    submission: Submission
    values: dict[str, str]
    phone: str
    errors: dict[str, str]


def check(pipeline: Pipeline, service: Service, form: MultiDict, *, channel: str, locale: str,
          ui_locale: str, render: Any, channel_message_id: str | None, officer: str | None = None) -> Checked:
    """Validate a posted form; ``errors`` maps input name to a message in ``ui_locale``."""
    values = read_values(service, form)
    phone = form.get("phone", "")[:100].strip()
    sub = Submission(channel=channel, service=service.code, values=values, sender=phone or None,
                     locale=locale, channel_message_id=channel_message_id, officer=officer)
    receipt, _clean, _phone = pipeline.validate(sub)
    errors = {p.field: p.message.render(ui_locale) for p in receipt.problems}
    if form.get("consent") != "yes":
        errors["consent"] = render(CONSENT_REQUIRED)
    return Checked(sub, values, phone, errors)
