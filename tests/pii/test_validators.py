"""The checksums against python-stdnum, an independent implementation, on random and corrupted numbers,
and the standards' worked examples."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.pii.validators import IBAN_LENGTHS, credit_card_valid, iban_valid, luhn_valid, us_ssn_valid

stdnum_luhn = pytest.importorskip("stdnum.luhn")
stdnum_iban = pytest.importorskip("stdnum.iban")
stdnum_ssn = pytest.importorskip("stdnum.us.ssn")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=string.digits, min_size=2, max_size=19))
def test_luhn_agrees_with_stdnum(number: str) -> None:
    assert luhn_valid(number) == stdnum_luhn.is_valid(number)


def test_luhn_worked_examples() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")  # ISO/IEC 7812 annex example
    assert credit_card_valid("4111 1111 1111 1111") and credit_card_valid("3782-822463-10005")
    assert not credit_card_valid("4111 1111 1111 1112")  # fails Luhn
    assert not credit_card_valid("9111 1111 1111 1110") and luhn_valid("9111 1111 1111 1110")  # no network


# Countries whose account numbers (BBAN) are all digits, so a digit changed keeps stdnum's structure check
# passing and only the IBAN checksum decides (national account checksums are not ours to check).
DIGIT_COUNTRIES = ("AT", "BE", "CH", "CZ", "DE", "DK", "EE", "ES", "FI", "HR", "HU", "LT", "NO", "PL", "PT", "RS",
                   "SE", "SI", "SK", "TN")


def _random_iban(rng: random.Random) -> str:
    country = rng.choice(DIGIT_COUNTRIES)
    bban = "".join(rng.choice(string.digits) for _ in range(IBAN_LENGTHS[country] - 4))
    return country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban


def test_iban_agrees_with_stdnum_on_valid_and_corrupted_numbers() -> None:
    rng = random.Random(7)
    checked = 0
    for _ in range(600):
        iban = _random_iban(rng)
        position = rng.randrange(4, len(iban))
        corrupted = iban[:position] + rng.choice(string.digits) + iban[position + 1:]
        assert stdnum_iban.is_valid(iban, check_country=False) and iban_valid(iban), iban
        assert iban_valid(corrupted) == stdnum_iban.is_valid(corrupted, check_country=False), corrupted
        checked += corrupted != iban and not iban_valid(corrupted)
    assert checked > 450  # most corruptions change the number and are caught


def test_iban_worked_examples() -> None:
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and iban_valid("DE89370400440532013000")  # ECBS examples
    assert not iban_valid("GB82 WEST 1234 5698 7654 33") and not iban_valid("DE8937040044053201300")


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 999), st.integers(0, 99), st.integers(0, 9999))
def test_ssn_agrees_with_stdnum(area: int, group: int, serial: int) -> None:
    number = f"{area:03d}-{group:02d}-{serial:04d}"
    if number == "123-45-6789":  # a published specimen we refuse and stdnum accepts
        assert not us_ssn_valid(number)
        return
    assert us_ssn_valid(number) == stdnum_ssn.is_valid(number), number
