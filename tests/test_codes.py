import random

import pytest

from gateway.intake import codes


def test_100k_codes_no_collision_and_all_valid():
    seen = {codes.generate() for _ in range(100_000)}
    assert len(seen) == 100_000
    for code in list(seen)[:2000]:
        assert codes.normalize(code) == code
        assert len(code.replace("-", "")) <= 10


def _samples(n=60):
    rng = random.Random(20261123)
    return [codes.generate(rng.getrandbits) for _ in range(n)]


@pytest.mark.parametrize("code", _samples())
def test_every_single_symbol_error_is_caught(code):
    symbols = code.replace("-", "")
    for pos in range(len(symbols)):
        for ch in codes.ALPHABET:
            if ch == symbols[pos]:
                continue
            typo = symbols[:pos] + ch + symbols[pos + 1:]
            with pytest.raises(codes.BadCheck):
                codes.normalize(typo)


@pytest.mark.parametrize("code", _samples())
def test_every_adjacent_swap_is_caught(code):
    symbols = code.replace("-", "")
    for pos in range(len(symbols) - 1):
        if symbols[pos] == symbols[pos + 1]:
            continue
        swapped = symbols[:pos] + symbols[pos + 1] + symbols[pos] + symbols[pos + 2:]
        with pytest.raises(codes.BadCheck):
            codes.normalize(swapped)


def test_reading_rules_case_hyphens_and_lookalikes():
    rng = random.Random(7)
    code = next(c for c in (codes.generate(rng.getrandbits) for _ in range(1000)) if "0" in c and "1" in c)
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert codes.normalize(typed) == code
    assert codes.normalize(code.replace("1", "I")) == code


@pytest.mark.parametrize("junk", ["", "ABC", "ABCDE-FGHJK-M", "U" * 10, "!!!!!-?????", "1234567890123"])
def test_malformed_codes(junk):
    with pytest.raises(codes.MalformedCode):
        codes.normalize(junk)
    assert not codes.looks_like_code(junk)


def test_check_symbol_is_within_alphabet_and_randomness_is_wide():
    # 9 random symbols minus the discarded check values: >= 35 bits.
    import math

    assert math.log2(32**codes.DATA_LEN * 32 / 37) >= 35
