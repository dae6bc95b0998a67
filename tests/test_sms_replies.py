"""Every SMS reply, in every shipped locale, fits its segment budget (GSM-7 where possible)."""

import pytest

from channels.sms import grammar, replies
from gateway.cases import records as cases
from gateway.i18n import LOCALES
from gateway.intake import codes
from gateway.intake.catalog import load_catalog
from gateway.outbox import segments

CATALOG = load_catalog()
LONGEST_KEYWORD = max(CATALOG.keywords(), key=len)
# Realistically bad input for every field: too long a name, a short NIK, a future/garbled date...
BAD_VALUES = {"nik": "32010117", "name": "Siti Aminah binti Haji Abdul Rahman " * 4, "address": "",
              "purpose": "", "reason": "hilang sekali", "child_name": "A" * 150, "birth_date": "31-02-2024",
              "mother_nik": "9901011708900001", "message": ""}


def all_replies(locale):
    """(name, text, allowed segments) for every template with realistic worst-case values."""
    code = codes.generate()
    for service in CATALOG.services:
        yield f"submitted {service.code}", replies.submitted(service, code, locale), 1
        _, problems = CATALOG.validate(service, {f.name: BAD_VALUES[f.name] for f in service.sms_fields()}, locale)
        assert problems
        yield f"rejected {service.code}", replies.rejected(service, problems, locale), 1
        yield f"rejected one {service.code}", replies.rejected(service, problems[:1], locale), 1
        yield f"format {service.code}", replies.format_hint(service, locale), 1
        yield f"info {service.code}", replies.info(service, locale), replies.INFO_MAX_PARTS
        for status in cases.STATUSES:
            yield (f"status {service.code} {status}",
                   replies.status(code, service.text("name", locale), cases.status_label(status, locale),
                                  "28-11-2026", locale), 1)
        yield f"did you mean {service.code}", replies.did_you_mean(CATALOG, service.keywords[0], service, locale), 1
        # The demo catalog must never lose the acknowledgement to its length (None: it did).
        yield f"sentence received {service.code}", replies.sentence_received(service, locale) or "", 1
    yield "question received", replies.question_received(locale), 1
    yield "unmatched received", replies.unmatched_received(CATALOG, locale) or "", 1
    yield "ask usage", replies.ask_usage(locale), 1
    yield "not found", replies.status_not_found(code, locale), 1
    yield "check code", replies.status_check_code(locale), 1
    yield "status usage", replies.status_usage(locale), 1
    yield "info usage", replies.info_usage(CATALOG, None, locale), 1
    yield "info suggestion", replies.info_usage(CATALOG, LONGEST_KEYWORD, locale), 1
    yield "help", replies.help_text(CATALOG, locale), 1
    yield "language set", replies.language_set(locale), 1
    yield "language usage", replies.language_usage(locale), 1
    yield "did you mean command", replies.did_you_mean(CATALOG, "STATUS", None, locale), 1


@pytest.mark.parametrize("locale", LOCALES)
def test_every_reply_fits_its_segments_in_gsm7(locale):
    too_long = []
    for name, text, allowed in all_replies(locale):
        assert text, name
        counted = segments.count(text)
        assert counted.encoding == "GSM-7", (name, text)
        if counted.parts > allowed:
            too_long.append((name, counted.units, text))
    assert not too_long


@pytest.mark.parametrize("locale", LOCALES)
def test_rejection_names_the_problem_and_the_exact_format(locale):
    service = CATALOG.by_keyword("DOMISILI")
    _, problems = CATALOG.validate(service, {"nik": "12345", "name": "Siti", "address": "Krajan"}, locale)
    text = replies.rejected(service, problems, locale)
    assert "NIK: " in text and ("16" in text)
    assert text.endswith(f"Format: {service.sms_format(locale)}")
    if locale == "id":
        assert text.endswith("Format: DOMISILI#NIK#NAMA#ALAMAT")


def test_replies_are_localized():
    service = CATALOG.by_keyword("SKD")
    assert "diterima" in replies.submitted(service, "ABCDE-12345", "id")
    assert "received" in replies.submitted(service, "ABCDE-12345", "en")
    assert replies.language_set("id").startswith("Bahasa diubah")
    assert replies.language_set("en").startswith("Language set to English")


def test_catalog_text_too_long_is_cut_to_budget_not_sent_long():
    from dataclasses import replace

    service = replace(CATALOG.by_keyword("LAHIR"),
                      requirements={"id": "Syarat sangat panjang " * 30, "en": "Very long requirements " * 30})
    text = replies.info(service, "id")
    assert segments.count(text).parts == 2 and text.endswith("...")


def test_segment_counter():
    assert segments.count("a" * 160) == segments.Segments("GSM-7", 160, 1)
    assert segments.count("a" * 161).parts == 2
    assert segments.count("a" * 306).parts == 2 and segments.count("a" * 307).parts == 3
    assert segments.count("[" * 80).units == 160  # extension chars count double
    assert segments.count("[" * 81).parts == 2
    assert segments.count("é" * 160).encoding == "GSM-7"  # é is in the basic table
    assert segments.count("’" + "a" * 69) == segments.Segments("UCS-2", 70, 1)
    assert segments.count("’" + "a" * 70).parts == 2
    assert segments.count("😀" * 35).units == 70  # an emoji is two UTF-16 units
    assert segments.count("😀" * 34 + "ab").parts == 1 and segments.count("😀" * 36).parts == 2
    assert segments.count("ä" * 67 * 2).parts == 1  # ä is GSM-7


def test_help_lists_every_service_keyword():
    text = replies.help_text(CATALOG, "id")
    for service in CATALOG.services:
        assert service.keywords[0] in text
    assert isinstance(grammar.parse("BANTUAN", CATALOG), grammar.Help)


def test_a_long_non_gsm_service_name_never_pushes_the_code_out():
    from dataclasses import replace

    long_name = "Surat Keterangan \u2019Domisili\u2019 untuk Warga Desa Sukamaju Kecamatan Cibeber Kabupaten Cianjur"
    service = replace(CATALOG.by_keyword("DOMISILI"), name={"id": long_name, "en": long_name})
    code = codes.generate()
    for locale in LOCALES:
        for text in (replies.submitted(service, code, locale),
                     replies.status(code, long_name, cases.status_label("ready", locale), "28-11-2026", locale,
                                    service_code=service.code)):
            assert code in text and segments.fits(text), text
            assert "DOMISILI" in text
        hint = replies.format_hint(service, locale)
        assert hint.startswith(("Untuk DOMISILI", "For DOMISILI", "Kanggo DOMISILI")) and segments.fits(hint)
