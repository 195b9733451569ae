"""Replacements for found values: a type tag, a keyed hash, or a realistic surrogate.

All are computed from HMAC-SHA256(key, type + NUL + normalised value), so they are deterministic within a
workspace and irreversible without its key. Surrogates keep the kind's shape and are chosen from ranges
that belong to no one: names from a fixed list, `example.com`/`.org`/`.net` emails, 555-01xx phone numbers,
card numbers on the 4000 0000 test prefix (Luhn-valid), IBANs with a recomputed check, documentation and
private IP ranges, US SSNs in the never-issued 9xx area.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re

from datatrainer.pii.validators import digits

_FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Robin", "Avery", "Quinn",
          "Drew", "Kim", "Lee", "Noa", "Ari", "Sasha", "Toni", "Remy", "Jules")
_LAST = ("Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright", "Green", "Hall", "Wood",
         "Clarke", "Hughes", "Baker", "Turner", "Parker", "Cooper", "Ward", "Moore", "King")
_PLACES = ("Northfield", "Eastbrook", "Westmere", "Southport", "Lakeside", "Hillcrest", "Riverton",
           "Oakdale", "Fairhaven", "Brookville", "Maplewood", "Stonebridge", "Ashford", "Greenvale",
           "Kingsmoor", "Clearwater")
_DOMAINS = ("example.com", "example.org", "example.net")
_WS = re.compile(r"\s+")


def digest(key: bytes, kind: str, value: str) -> bytes:
    """HMAC-SHA256 of the kind and the value (whitespace collapsed; case folded except for names)."""
    normal = _WS.sub(" ", value.strip())
    if kind not in ("person", "location"):
        normal = normal.casefold().replace(" ", "").replace("-", "")
    return hmac.new(key, f"{kind}\x00{normal}".encode(), hashlib.sha256).digest()


def mask(kind: str) -> str:
    return f"[{kind.upper()}]"


def hashed(key: bytes, kind: str, value: str) -> str:
    return f"[{kind.upper()}:{digest(key, kind, value).hex()[:16]}]"


def _number(d: bytes, length: int) -> str:
    return str(int.from_bytes(d, "big") % 10**length).zfill(length)


def _luhn_complete(partial: str) -> str:
    from datatrainer.pii.validators import luhn_valid

    return next(partial + str(c) for c in range(10) if luhn_valid(partial + str(c)))


def _same_shape(template: str, replacement_digits: str) -> str:
    """`replacement_digits` laid into the digit positions of `template`, keeping its separators."""
    it = iter(replacement_digits)
    return "".join(next(it) if c.isdigit() else c for c in template)


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """A realistic stand-in for `value` of this kind, the same for the same value under the same key."""
    d = digest(key, kind, value)
    if kind == "person":
        return f"{_FIRST[d[0] % len(_FIRST)]} {_LAST[d[1] % len(_LAST)]}"
    if kind == "location":
        return _PLACES[d[0] % len(_PLACES)]
    if kind == "email":
        return f"{_FIRST[d[0] % len(_FIRST)].lower()}.{_LAST[d[1] % len(_LAST)].lower()}{_number(d[2:6], 4)}" \
               f"@{_DOMAINS[d[6] % len(_DOMAINS)]}"
    if kind == "phone":
        count = len(digits(value))
        fake = ("1" + _number(d[:4], 3) + "55501" + _number(d[4:8], 2)).rjust(count, "0")[-count:]
        return _same_shape(value, fake)
    if kind == "credit_card":
        count = len(digits(value))
        return _same_shape(value, _luhn_complete(("40000000" + _number(d[:12], 20))[:count - 1]))
    if kind == "iban":
        compact = value.replace(" ", "").upper()
        bban = _number(d[:16], len(compact) - 4)
        check = 98 - int("".join(str(int(c, 36)) for c in bban + compact[:2] + "00")) % 97
        fake = f"{compact[:2]}{check:02d}{bban}"
        return " ".join(fake[i:i + 4] for i in range(0, len(fake), 4)) if " " in value else fake
    if kind == "ip":
        if ":" in value:
            return str(ipaddress.IPv6Address(b"\x20\x01\x0d\xb8" + d[:12]))  # 2001:db8::/32, documentation
        return str(ipaddress.IPv4Address(b"\x0a" + d[:3]))  # 10.0.0.0/8, private
    if kind == "national_id":
        count = len(digits(value))
        fake = "9" + _number(d[:8], max(count - 1, 0)) if count else ""
        letters = iter("".join(chr(65 + b % 26) for b in d[8:16]))
        return "".join(next(letters) if c.isalpha() else c for c in _same_shape(value, fake))
    return hashed(key, kind, value)


def replace_spans(text: str, spans: list[tuple[int, int, str]], key: bytes, mode: str) -> str:
    """`text` with each (start, end, type) span replaced as `mode` says (mask, hash, pseudonymise)."""
    parts, last = [], 0
    for start, end, kind in spans:
        value = text[start:end]
        if mode == "mask":
            new = mask(kind)
        elif mode == "hash":
            new = hashed(key, kind, value)
        else:
            new = pseudonym(key, kind, value)
        parts += [text[last:start], new]
        last = end
    parts.append(text[last:])
    return "".join(parts)
