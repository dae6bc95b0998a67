import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.privacy import sealing
from gateway.privacy.sealing import SealError

FAST = {"time_cost": 1, "memory_kib": 8 * 1024}  # tests only; production uses gateway.privacy.keys.OFFICER_KDF


@pytest.fixture(scope="module")
def keys():
    return X25519PrivateKey.generate(), X25519PrivateKey.generate(), X25519PrivateKey.generate()


def test_each_recipient_opens_outsider_cannot(keys):
    node, regional, outsider = keys
    blob = sealing.seal(b'{"nik":"3201011708900001"}', [node.public_key(), regional.public_key()], b"req-1")
    assert b"3201011708900001" not in blob
    assert sealing.open_sealed(blob, node, b"req-1") == b'{"nik":"3201011708900001"}'
    assert sealing.open_sealed(blob, regional, b"req-1") == b'{"nik":"3201011708900001"}'
    with pytest.raises(SealError):
        sealing.open_sealed(blob, outsider, b"req-1")


def test_blob_bound_to_its_record(keys):
    node = keys[0]
    blob = sealing.seal(b"Siti", [node.public_key()], b"req-1")
    with pytest.raises(SealError):
        sealing.open_sealed(blob, node, b"req-2")


def test_same_plaintext_seals_differently(keys):
    node = keys[0]
    assert sealing.seal(b"x", [node.public_key()], b"a") != sealing.seal(b"x", [node.public_key()], b"a")


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0, max_value=10_000), flip=st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_is_refused(keys, position, flip):
    node = keys[0]
    blob = bytearray(sealing.seal(b"Dusun Krajan RT 02/03", [node.public_key()], b"r"))
    position %= len(blob)
    blob[position] ^= flip
    with pytest.raises(SealError):
        sealing.open_sealed(bytes(blob), node, b"r")


def test_truncated_and_junk_blobs_are_refused(keys):
    node = keys[0]
    blob = sealing.seal(b"abc", [node.public_key()], b"r")
    for junk in (b"", b"\x01", blob[:40], blob[:-1], b"\x02" + blob[1:]):
        with pytest.raises(SealError):
            sealing.open_sealed(junk, node, b"r")


def test_key_slots_per_officer(keys):
    node = keys[0]
    slot = sealing.make_slot(node, "kata-sandi-panjang", officer="ani", **FAST)
    opened = sealing.open_slot(slot, "kata-sandi-panjang", officer="ani")
    assert sealing.private_bytes(opened) == sealing.private_bytes(node)
    with pytest.raises(SealError):
        sealing.open_slot(slot, "salah-sandi", officer="ani")
    with pytest.raises(SealError):  # a slot copied to another officer's row does not open
        sealing.open_slot(slot, "kata-sandi-panjang", officer="budi")
    assert sealing.private_bytes(node) not in slot.wrapped


def test_blind_index_is_keyed_and_separates_kinds():
    a = sealing.blind_index(b"k" * 32, "nik", "3201011708900001")
    assert a == sealing.blind_index(b"k" * 32, "nik", "3201011708900001")
    assert a != sealing.blind_index(b"j" * 32, "nik", "3201011708900001")
    assert a != sealing.blind_index(b"k" * 32, "phone", "3201011708900001")
    assert "3201011708900001" not in a
