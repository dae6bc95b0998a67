"""The compact plaintext sealed personal fields use: lossless, smaller, and refuses junk."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.privacy import compact
from gateway.privacy.vault import decode_personal, encode_personal
from tests.syncenv import citizen

values = st.one_of(st.text(max_size=80), st.from_regex(r"[0-9]{1,40}", fullmatch=True),
                   st.from_regex(r"0{0,5}[0-9]{6,30}( [0-9]{8,20})?", fullmatch=True))


@settings(max_examples=300)
@given(st.dictionaries(st.text(min_size=1, max_size=12), values, max_size=6))
def test_round_trip_any_fields(personal):
    packed = encode_personal(personal)
    assert decode_personal(packed) == personal
    plain = json.dumps(personal, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    assert len(packed) <= len(plain)


def test_leading_zeros_and_plain_json_records_still_open():
    personal = {"nik": "0000000000000123", "name": "Siti", "address": "RT 001/RW 002, 0812345678"}
    assert decode_personal(encode_personal(personal)) == personal
    legacy = json.dumps(personal).encode()  # sealed before the codec existed
    assert decode_personal(legacy) == personal


def test_typical_domisili_fields_shrink_by_a_third():
    people = [citizen(random.Random(i))[1] for i in range(500)]
    plain = sum(len(json.dumps(p, ensure_ascii=False, separators=(",", ":"))) for p in people)
    packed = sum(len(encode_personal(p)) for p in people)
    assert packed < plain * 0.66, (packed / 500, plain / 500)


@pytest.mark.parametrize("junk", [b"\x01", b"\x01\xff\xfe", b"\x01" + b"\x00" * 5])
def test_damaged_compact_text_is_refused(junk):
    with pytest.raises(compact.CompactError):
        compact.decode(junk)


def test_truncated_digit_run_is_refused():
    with pytest.raises(compact.CompactError):
        compact.unpack_digits(b'{"nik":"\x00\x10\x01')
