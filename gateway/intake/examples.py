"""Worked examples of a catalog service's SMS, for posters and help pages.

A poster that shows ``DOMISILI#NIK#NAMA#ALAMAT`` alone leaves a villager
guessing what a NIK or a date looks like; next to it the poster shows the
same message filled in. The example is made from the catalog (field types,
limits, choice options), never typed by hand, so it changes with the
catalog, and every example passes the catalog's own validation (tests check
that the SMS grammar reads it back as a valid submission).
"""

from __future__ import annotations

from gateway.intake.catalog import Field, Service

# A NIK whose digits follow the rules (province 32, birth date 17-08-90, serial 0001).
EXAMPLE_NIK = "3201011708900001"
EXAMPLE_DATE = "17-08-2020"  # DD-MM-YYYY, the form the validators and USSD prompts ask for
EXAMPLE_PHONE = "081234567890"


def field_example(field: Field, locale: str) -> str:
    """A value a citizen could send for ``field``: typed fields get a real-looking value.

    Free text gets the field's own label ("Nama", "Alamat"): the catalog has
    no sample text, and a made-up name would read as a real person's.
    """
    if field.type == "nik":
        return EXAMPLE_NIK
    if field.type == "date":
        return EXAMPLE_DATE
    if field.type == "phone":
        return EXAMPLE_PHONE
    if field.type == "integer":
        return str(field.minimum if field.minimum is not None else 1)
    if field.type == "choice":
        return "1"  # options are chosen by number on every channel
    label = field.text("label", locale)
    return label[: field.max_length] if len(label) >= field.min_length else label.ljust(field.min_length, ".")


def sms_example(service: Service, locale: str) -> str:
    """The service's SMS filled in, e.g. ``DOMISILI#3201011708900001#Nama#Alamat``."""
    return "#".join([service.keywords[0]] + [field_example(f, locale) for f in service.sms_fields()])
