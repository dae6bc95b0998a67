"""The USSD channel's per-process key: sealing, binding, the text hash and its prefix search."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.ussd.cipher import ProcessCipher, Unreadable


def test_sealed_values_open_only_here_and_only_for_their_row():
    cipher = ProcessCipher()
    blob = cipher.seal("3201011708900001 Siti Aminah", "ussd_sessions|state|A")
    assert b"Siti" not in blob and b"3201011708900001" not in blob
    assert cipher.open(blob, "ussd_sessions|state|A") == "3201011708900001 Siti Aminah"
    assert cipher.seal("x", "a") != cipher.seal("x", "a")  # random nonce
    with pytest.raises(Unreadable):
        cipher.open(blob, "ussd_sessions|state|B")  # moved to another session
    with pytest.raises(Unreadable):
        cipher.open(blob, "ussd_sessions|reply|A")  # or another column
    with pytest.raises(Unreadable):
        ProcessCipher().open(blob, "ussd_sessions|state|A")  # a restart: a new key
    with pytest.raises(Unreadable):
        cipher.open(blob[:-1] + bytes([blob[-1] ^ 1]), "ussd_sessions|state|A")  # tampered
    for junk in (None, "plain text from an old row", b"", b"short"):
        with pytest.raises(Unreadable):
            cipher.open(junk, "ussd_sessions|state|A")


def test_digest_is_keyed_and_scoped():
    a, b = ProcessCipher(), ProcessCipher()
    assert a.digest("s1", "1*3201011708900001") == a.digest("s1", "1*3201011708900001")
    assert a.digest("s1", "1*3201011708900001") != b.digest("s1", "1*3201011708900001")
    assert a.digest("s1", "1") != a.digest("s2", "1")
    assert "3201011708900001" not in a.digest("s1", "3201011708900001")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="12*#aZ ", max_size=6), min_size=1, max_size=8),
       st.text(alphabet="12*#aZ ", max_size=6))
def test_find_prefix_finds_exactly_the_stored_text(parts, entry):
    cipher = ProcessCipher()
    last = "*".join(parts)
    text = f"{last}*{entry}"
    at = cipher.find_prefix("sid", text, cipher.digest("sid", last))
    assert at == len(last) and text[at + 1:] == entry
    assert cipher.find_prefix("sid", last, cipher.digest("sid", last)) is None  # not followed by '*'
    assert cipher.find_prefix("other", text, cipher.digest("sid", last)) is None
