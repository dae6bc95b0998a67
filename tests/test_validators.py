import datetime as dt

import pytest

from gateway.intake import validators
from gateway.intake.validators import Invalid

GOOD_NIKS = [
    "3201011708900001",  # man, 17-08-1990
    "3201015708900001",  # woman: day 17 + 40
    "1101010101000001",  # Aceh, 01-01-00
    "9601012902000001",  # 29 Feb (leap-compatible two-digit year)
    "3201 0117 0890 0001",  # spaces typed by a person
]
BAD_NIKS = {
    "320101170890001": "must be 16 digits",
    "32010117089000012": "must be 16 digits",
    "32010117089O0001": "must be 16 digits",
    "2001011708900001": "province",  # 20 is not a province
    "9901011708900001": "province",
    "3201013208900001": "birth date",  # day 32
    "3201017208900001": "birth date",  # woman day 32 (72)
    "3201011713900001": "birth date",  # month 13
    "3201013102900001": "birth date",  # 31 Feb
    "3201011708900000": "0000",
}


@pytest.mark.parametrize("value", GOOD_NIKS)
def test_good_niks(value):
    assert validators.nik(value) == value.replace(" ", "")


@pytest.mark.parametrize("value,why", BAD_NIKS.items())
def test_bad_niks(value, why):
    with pytest.raises(Invalid) as err:
        validators.nik(value)
    assert why in err.value.message.msgid


def test_every_province_code_accepted_and_others_refused():
    accepted = {p for p in range(10, 100) if _nik_ok(f"{p}01011708900001")}
    assert accepted == set(validators.PROVINCE_CODES)
    assert {11, 21, 31, 36, 51, 53, 61, 65, 71, 76, 81, 82, 91, 96} <= accepted
    assert not accepted & {10, 20, 22, 30, 37, 50, 54, 60, 66, 70, 77, 80, 83, 90, 97}


def _nik_ok(value):
    try:
        validators.nik(value)
        return True
    except Invalid:
        return False


@pytest.mark.parametrize("value", ["17-08-1990", "17/08/1990", "1990-08-17", "7-8-1990"])
def test_dates_in_every_accepted_form(value):
    assert validators.date(value) in ("1990-08-17", "1990-08-07")


@pytest.mark.parametrize("value,why", [
    ("31-02-2020", "does not exist"), ("29-02-2023", "does not exist"), ("2020-13-01", "does not exist"),
    ("17.08.1990", "DD-MM-YYYY"), ("tomorrow", "DD-MM-YYYY"), ("", "DD-MM-YYYY"),
])
def test_bad_dates(value, why):
    with pytest.raises(Invalid) as err:
        validators.date(value)
    assert why in err.value.message.msgid


def test_future_dates_refused_when_asked():
    with pytest.raises(Invalid):
        validators.date("02-01-2030", not_future=True, today=dt.date(2030, 1, 1))
    assert validators.date("29-02-2024") == "2024-02-29"


@pytest.mark.parametrize("value", ["081234567890", "6281234567890", "+6281234567890", "0812-3456-7890", "+62 812 3456 7890"])
def test_phone_forms_are_one_number(value):
    assert validators.phone(value) == "+6281234567890"


@pytest.mark.parametrize("value", ["12345", "hello", "+62 000", "0812"])
def test_bad_phones(value):
    with pytest.raises(Invalid):
        validators.phone(value)


def test_choice_by_number_code_or_label():
    options = [("new", ["Baru", "New"]), ("lost", ["Hilang", "Lost"])]
    assert validators.choice("2", options) == "lost"
    assert validators.choice("HILANG", options) == "lost"
    assert validators.choice("new", options) == "new"
    with pytest.raises(Invalid):
        validators.choice("3", options)
    for junk in ("²", "¹", "1²"):  # str.isdigit() is True for these, int() refuses them
        with pytest.raises(Invalid):
            validators.choice(junk, options)


def test_text_and_integer_limits():
    assert validators.text("  Siti   Aminah ") == "Siti Aminah"
    with pytest.raises(Invalid):
        validators.text("x" * 481, max_length=480)
    with pytest.raises(Invalid):
        validators.text("   ")
    assert validators.integer(" 7 ", minimum=1, maximum=9) == 7
    for bad in ("0", "10", "seven"):
        with pytest.raises(Invalid):
            validators.integer(bad, minimum=1, maximum=9)
