"""The sneakernet file format (sync.protocol.parcel): what is refused, and why, before anything is read."""

from __future__ import annotations

import pytest

from sync.protocol import parcel
from sync.protocol.parcel import ParcelError

SECRET = "s3cret-of-desa-1"


def make(payload=None, **kw):
    args = dict(node="desa-1", direction="up", kind="requests", export="e1", seq=3, part=1, parts=2,
                at="2026-12-01T00:00:00Z", payload=payload if payload is not None else {"rows": [[1, "x"]]})
    args.update(kw)
    return parcel.make(SECRET, **args)


def test_a_parcel_opens_with_its_secret_and_shows_only_its_header():
    header, data = make({"note": "Siti Aminah, Jl. Mawar"})
    found = parcel.read(data)
    assert found.header == header and found.node == "desa-1" and found.file_id == header["id"]
    assert parcel.open_payload(found, SECRET) == {"note": "Siti Aminah, Jl. Mawar"}
    assert b"Siti" not in data and b"Mawar" not in data
    assert parcel.file_name(header) == "simpul-up-desa-1-000003-001-requests.parcel"


@pytest.mark.parametrize("damage", ["truncate", "flip_body", "flip_header", "flip_signature", "junk", "empty"])
def test_damaged_files_are_refused_with_a_reason(damage):
    _, data = make()
    if damage == "truncate":
        data = data[:-5]
    elif damage == "flip_body":
        data = data[:-3] + bytes([data[-3] ^ 1]) + data[-2:]
    elif damage == "flip_header":
        data = data.replace(b'"seq":3', b'"seq":4')
    elif damage == "flip_signature":
        head, sig, body = data.split(b"\n", 3)[1:]
        data = parcel.MAGIC + head + b"\n" + sig[:-1] + (b"0" if sig[-1:] != b"0" else b"1") + b"\n" + body
    elif damage == "junk":
        data = b"PK\x03\x04 a zip file"
    else:
        data = b""
    with pytest.raises(ParcelError) as caught:
        parcel.open_payload(parcel.read(data), SECRET)
    assert caught.value.message.msgid


def test_another_secret_is_refused():
    _, data = make()
    with pytest.raises(ParcelError, match="signature"):
        parcel.open_payload(parcel.read(data), "another-secret")


def test_bad_names_and_kinds_are_never_written():
    with pytest.raises(ValueError):
        make(node="../etc")
    with pytest.raises(ValueError):
        make(kind="updates")  # a node never writes the way back


def test_ranges_and_their_union():
    assert parcel.ranges([5, 1, 2, 3, 7, 8, 2]) == [[1, 3], [5, 5], [7, 8]]
    assert parcel.merge_ranges([[[1, 3], [7, 8]], [[4, 5]], []]) == [[1, 5], [7, 8]]


def test_an_export_with_a_missing_part_is_incomplete():
    h1, _ = make(part=1, parts=2)
    h2, _ = make(part=2, parts=2)
    assert parcel.incomplete({1: h1, 2: h2}) is None
    assert parcel.incomplete({1: h1}).params["missing"] == "2"
    h3, _ = make(part=2, parts=3)
    assert parcel.incomplete({1: h1, 2: h3}) is not None
