"""Checksums and rules that turn a regex candidate into a finding (or reject it).

Each takes the candidate text as written (with spaces or dashes) and answers whether it is a real value of
its kind. They are the reason a 16-digit order number is not a card and a 3-2-4 digit group is not always
a US social security number.
"""

from __future__ import annotations

import ipaddress
import re

_NOT_DIGIT = re.compile(r"\D")
_SPACES = re.compile(r"[\s-]")

#: IBAN length per country (ISO 13616 registry, the SEPA countries and the most common others).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}

#: Issuer prefixes and lengths of the major card networks: a Luhn-valid number outside them is far more
#: likely an order or tracking number than a card.
_CARD_NETWORKS = re.compile(
    r"4\d{12}(?:\d{3}){0,2}"  # Visa: 13, 16, 19 digits
    r"|(?:5[1-5]\d{2}|222[1-9]|22[3-9]\d|2[3-6]\d{2}|27[01]\d|2720)\d{12}"  # Mastercard
    r"|3[47]\d{13}"  # American Express
    r"|3(?:0[0-5]|[689]\d)\d{11,16}"  # Diners Club
    r"|(?:6011|65\d{2}|64[4-9]\d)\d{12,15}"  # Discover
    r"|35(?:2[89]|[3-8]\d)\d{12,15}"  # JCB
    r"|62\d{14,17}"  # UnionPay
    r"|(?:5018|5020|5038|5893|6304|6759|676[1-3])\d{8,15}"  # Maestro
)


def digits(text: str) -> str:
    return _NOT_DIGIT.sub("", text)


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check of ISO/IEC 7812 over the digits of `number`."""
    values = [int(c) for c in digits(number)]
    if len(values) < 2:
        return False
    odd = sum(values[-1::-2])
    even = sum(sum(divmod(2 * d, 10)) for d in values[-2::-2])
    return (odd + even) % 10 == 0


def credit_card_valid(candidate: str) -> bool:
    number = digits(candidate)
    return 13 <= len(number) <= 19 and _CARD_NETWORKS.fullmatch(number) is not None and luhn_valid(number)


def iban_valid(candidate: str) -> bool:
    """ISO 13616: the country's length, then the ISO 7064 mod 97-10 check over the rearranged number."""
    iban = _SPACES.sub("", candidate).upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def ip_valid(candidate: str) -> bool:
    """A real IPv4 or IPv6 address (no leading zeros in IPv4 parts, no bare `::`)."""
    try:
        ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return False
    return candidate != "::"


# US Social Security numbers never issued: area 000, 666 or 900-999, group 00, serial 0000, and the
# numbers published in advertising (Woolworth's wallet card and the like).
_SSN_PUBLISHED = {"078051120", "219099999", "457555462", "123456789"}


def us_ssn_valid(candidate: str) -> bool:
    number = digits(candidate)
    if len(number) != 9 or number in _SSN_PUBLISHED:
        return False
    area, group, serial = number[:3], number[3:5], number[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


_NINO = re.compile(r"([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z])(\d{6})([A-D])")
_NINO_UNUSED_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def uk_nino_valid(candidate: str) -> bool:
    """A UK National Insurance number: allowed prefix letters, six digits, suffix A-D."""
    compact = _SPACES.sub("", candidate).upper()
    found = _NINO.fullmatch(compact)
    return found is not None and found.group(1) not in _NINO_UNUSED_PREFIXES


def phone_valid(candidate: str, regions: tuple[str, ...]) -> bool:
    """A number libphonenumber knows as valid: in its own country when written with `+`, else in one of
    `regions` (national formats such as 020 7946 0958 or (212) 555-0187)."""
    import phonenumbers

    number_digits = digits(candidate)
    if not 7 <= len(number_digits) <= 15:
        return False
    tries = (None,) if candidate.lstrip().startswith("+") else regions
    for region in tries:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return True
    return False
