"""Compact plaintext for sealed personal data: pure functions, no I/O.

Why: every request carries its personal fields sealed, and a sealed blob is
incompressible, so the sync batch (gzip over hundreds of records) can no
longer squeeze them; over a 2G link each byte counts (target: <= 120 bytes per
request on the wire). So the JSON is made small *before* sealing:

- digit runs of 8+ (NIKs, dates as digits) become ``\\x00``, their length, and
  the number in big-endian bytes (16 digits -> 9 bytes). JSON never holds a
  raw NUL (``json.dumps`` escapes control characters), so the marker is
  unambiguous;
- then raw DEFLATE with a preset dictionary of what every record repeats:
  the catalog's usual field names and Indonesian address words (never names
  of people).

Format: a leading ``{`` is plain JSON (records sealed before this codec); a
leading ``\\x01`` is version 1 of the above. A new dictionary would be ``\\x02``.
"""

from __future__ import annotations

import re
import zlib

from gateway.errors import SimpulError

V1 = b"\x01"
DICTIONARY_V1 = (
    b'Jl. Jalan Gang Gg. Dusun Desa Kampung Kp. Perumahan Blok Lingkungan Kelurahan Kel. Kecamatan Kec. '
    b'Kabupaten Kab. Kota No. 1, RT 0/RW 0'
    b'","birth_date":"20","child_name":"","message":"","mother_nik":"","purpose":"","reason":"'
    b'{"address":"","name":"","nik":"'
)
_DIGITS = re.compile(rb"[0-9]{8,64}")
_MAX_INFLATED = 1 << 20


class CompactError(SimpulError, ValueError):
    """Not a compact plaintext (damaged, or an unknown version)."""


def _width(digits: int) -> int:
    """Bytes that hold any number of ``digits`` decimal digits (ceil(digits * log2(10) / 8))."""
    return (digits * 3322 // 1000 + 8) // 8


def pack_digits(data: bytes) -> bytes:
    def packed(match: re.Match[bytes]) -> bytes:
        text = match.group()
        return b"\x00" + bytes([len(text)]) + int(text).to_bytes(_width(len(text)), "big")

    return _DIGITS.sub(packed, data)


def unpack_digits(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while (j := data.find(b"\x00", i)) >= 0:
        if j + 2 > len(data):
            raise CompactError("truncated digit run")
        digits = data[j + 1]
        end = j + 2 + _width(digits)
        if digits < 8 or end > len(data):
            raise CompactError("bad digit run")
        out += data[i:j] + str(int.from_bytes(data[j + 2:end], "big")).zfill(digits).encode()
        i = end
    return bytes(out + data[i:])


def encode(json_bytes: bytes) -> bytes:
    """Compact form of a JSON text (kept as is when that is not shorter)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict=DICTIONARY_V1)
    packed = V1 + deflater.compress(pack_digits(json_bytes)) + deflater.flush()
    return packed if len(packed) < len(json_bytes) else json_bytes


def decode(data: bytes) -> bytes:
    """The JSON text back from :func:`encode`'s output (or plain JSON)."""
    if data[:1] != V1:
        return data
    inflater = zlib.decompressobj(-15, zdict=DICTIONARY_V1)
    try:
        raw = inflater.decompress(data[1:], _MAX_INFLATED) + inflater.flush()
    except zlib.error as exc:
        raise CompactError(f"not a compact plaintext: {exc}") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise CompactError("compact plaintext is truncated or too large")
    return unpack_digits(raw)
