"""The pure menu state machine and screen helpers, without a server."""

from __future__ import annotations

import pytest

from channels.ussd import menu, screens
from channels.ussd.fields import accepts_navigation, field_value
from channels.ussd.state import State
from gateway.intake.catalog import load_catalog
from gateway.intake.validators import Invalid
from tests.conftest import NIK


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def walk(catalog, state: State, *entries: str) -> menu.Step:
    step = menu.Step(state)
    for entry in entries:
        step = menu.step(step.state, entry, catalog)
    return step


def test_main_menu_choices(catalog):
    start = State(locale="id")
    assert walk(catalog, start, "1").state.screen == "services"
    assert walk(catalog, start, "1").state.purpose == "submit"
    assert walk(catalog, start, "2").state.screen == "status_entry"
    assert walk(catalog, start, "3").state.purpose == "info"
    assert walk(catalog, start, "4").state.screen == "language"
    for junk in ("0", "00", "98", "5", "", "abc"):
        step = walk(catalog, start, junk)
        assert step.state.screen == "main" and step.state.notice is not None


def test_nik_is_never_navigation_and_nav_tokens_never_values(catalog):
    nik = catalog.service("DOMISILI").fields[0]
    name = catalog.service("DOMISILI").fields[1]
    for f in (nik, name):
        assert accepts_navigation(f, "id")
        for token in ("0", "00"):
            with pytest.raises(Invalid):
                field_value(f, token, "id")
    assert field_value(nik, "3201 0117 0890 0001", "id") == NIK
    assert field_value(name, "98", "id") == "98"
    s = walk(catalog, State(locale="id"), "1", "1", NIK).state
    assert s.values == {"nik": NIK} and s.index == 1
    s = walk(catalog, s, "00 Siti").state  # starts like navigation, is a name
    assert s.values["name"] == "00 Siti"


def test_back_and_home_from_fields(catalog):
    s = walk(catalog, State(locale="id"), "1", "1", NIK).state
    back = menu.step(s, "0", catalog)
    assert back.state.screen == "field" and back.state.index == 0 and not back.drop_draft
    first = menu.step(back.state, "0", catalog)
    assert first.state.screen == "services" and first.drop_draft
    home = menu.step(s, "00", catalog)
    assert home.state.screen == "main" and home.drop_draft


def test_confirm_send_cancel_back(catalog):
    # ADUAN: the message, then its optional category (5 skips it), then confirm.
    s = walk(catalog, State(locale="en"), "1", "5", "jalan rusak", "5").state
    assert s.screen == "confirm" and s.values == {"message": "jalan rusak"}
    assert isinstance(menu.step(s, "1", catalog).effect, menu.Submit)
    cancel = menu.step(s, "2", catalog)
    assert cancel.state.screen == "cancelled" and cancel.state.ended and cancel.drop_draft
    back = menu.step(s, "0", catalog)
    assert back.state.screen == "field" and back.state.values == {"message": "jalan rusak"}
    assert catalog.service("ADUAN").fields[back.state.index].name == "category"
    chosen = walk(catalog, back.state, "1").state
    assert chosen.screen == "confirm" and chosen.values == {"message": "jalan rusak", "category": "roads"}


def test_optional_category_step_offers_skip_and_refuses_junk(catalog):
    s = walk(catalog, State(locale="id"), "1", "5", "jalan rusak").state
    assert s.screen == "field" and s.values == {"message": "jalan rusak"}
    for loc in ("id", "en", "jv", "su"):
        _, text = screens.render(State(locale=loc, screen="field", service="ADUAN", index=1), catalog)
        assert len(text) <= screens.LIMIT and "4 " in text and "\n5 " in text, (loc, text)
    _, text = screens.render(s, catalog)
    assert "5 Lewati" in text and "4 Lainnya" in text
    for junk in ("6", "-1", "99", "abc", "1 2", "5 5", "Lewati", "*", "0 1"):
        step = walk(catalog, s, junk)
        assert step.state.screen == "field" and step.state.index == s.index, junk
        assert step.state.values == {"message": "jalan rusak"} and step.state.notice == [menu.PICK_OPTION, {}]
        assert step.effect is None and not step.drop_draft
        _, shown = screens.render(step.state, catalog)
        assert shown.startswith("Pilih salah satu nomor di daftar.") and len(shown) <= screens.LIMIT
    # A label or code is as good as its number; empty skips like the skip number.
    assert walk(catalog, s, "air/listrik").state.values["category"] == "utilities"
    assert walk(catalog, s, "").state.screen == "confirm"
    assert walk(catalog, s, "0").state.index == 0  # back to the message


def test_optional_field_can_be_skipped():
    from gateway.intake.catalog import parse_catalog

    catalog, errors = parse_catalog({"version": 1, "services": [{
        "code": "X", "name": "x", "description": "x",
        "fields": [{"name": "a", "type": "text", "required": False, "label": "A", "prompt": "A?"},
                   {"name": "b", "type": "text", "label": "B", "prompt": "B?"}]}]})
    assert not errors
    s = walk(catalog, State(locale="id"), "1", "1", "").state
    assert s.index == 1 and s.values == {}
    s = walk(catalog, s, "").state
    assert s.index == 1 and s.notice == ["required", {}]


def test_status_entry_navigation_and_lookup(catalog):
    s = walk(catalog, State(locale="id"), "2").state
    assert menu.step(s, "0", catalog).state.screen == "main"
    step = menu.step(s, "abcde-12345", catalog)
    assert step.effect == menu.Lookup("abcde-12345")


def test_language_choice(catalog):
    step = walk(catalog, State(locale="id"), "4", "2")
    assert step.effect == menu.SetLanguage("en") and step.state.locale == "en"
    assert step.state.screen == "main"


def test_resume_position_skips_nothing_required(catalog):
    draft = menu.Draft("SKTM", {"nik": NIK, "purpose": "sekolah"}, 3)
    s = menu.start("id", draft, catalog)
    assert s.screen == "resume" and s.index == 1  # the name is still missing
    assert menu.step(s, "1", catalog).state.screen == "field"
    assert menu.start("id", menu.Draft("GONE", {"a": "b"}, 1), catalog).screen == "main"
    assert menu.start("id", menu.Draft("SKTM", {"zzz": "b"}, 1), catalog).screen == "main"
    partial = menu.start("id", menu.Draft("ADUAN", {"message": "x"}, 1), catalog)
    assert menu.step(partial, "1", catalog).state.screen == "field" and partial.index == 1  # the category
    full = menu.start("id", menu.Draft("ADUAN", {"message": "x"}, 2), catalog)
    assert menu.step(full, "1", catalog).state.screen == "confirm"  # the optional category was skipped


def test_paginate_keeps_every_item_once_and_fits():
    items = [f"{i} " + "x" * (i * 3 % 50) for i in range(1, 40)]
    pages = screens.paginate(items, 20, ("98 More\n0 Back", "0 Back"))
    assert [i for page in pages for i in page] == list(range(len(items)))
    for n, page in enumerate(pages):
        footer = "98 More\n0 Back" if n + 1 < len(pages) else "0 Back"
        assert 20 + 1 + sum(len(items[i]) + 1 for i in page) + len(footer) <= screens.LIMIT


def test_chunks_prefer_whole_lines():
    text = "Title\n" + "word " * 60 + "\nFee: Free\nTime: 1 day"
    pages = screens._chunks(text, 100)
    assert all(len(p) <= 100 for p in pages)
    assert " ".join(pages).split() == text.split()
    assert pages[-1].endswith("Fee: Free\nTime: 1 day")


def test_state_round_trip():
    s = State(locale="en", screen="field", service="KTP", values={"nik": NIK}, index=1,
              notice=["must be 16 digits", {}])
    assert State.from_json(s.to_json()) == s


def test_superscript_digits_are_an_invalid_choice_not_a_crash(catalog):
    """'³'.isdigit() is True but int('³') raises: found by bench/soak_fuzz.py (10,000 examples)."""
    services = walk(catalog, State(locale="id"), "1")
    for junk in ("³", "²", "¹", "1²"):
        step = menu.step(services.state, junk, catalog)
        assert step.state.screen == "services" and step.state.notice is not None
    assert menu.step(services.state, "٣", catalog).state.screen == "field"  # Arabic-Indic 3 is a decimal digit
