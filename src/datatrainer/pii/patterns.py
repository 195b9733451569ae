"""Regex candidates for the structured kinds, combined into one compiled pattern per configuration.

Each alternative is a named group `<type>__<check>`; `check` names the validator (`validators`) a candidate
must pass. The alternatives are ordered most specific first (an IBAN before a card, a card before a phone
number), and none can match a NUL, so a whole batch's texts joined with NUL are searched in one pass.

`PREFILTER` is an RE2 pattern (pyarrow.compute runs it over a whole column at C++ speed) that every
candidate contains; rows without it are never searched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from datatrainer.pii import validators as v
from datatrainer.pii.config import PiiConfig

EMAIL = (r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
         r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9])")
# Written in groups of four (the print format) or run together.
IBAN = r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?|[A-Z0-9]{11,30})(?![A-Za-z0-9])"
CARD = r"(?<![\d.,-])(?<!\d[ -])\d(?:[ -]?\d){12,18}(?![\d]|[ .,-]\d)"
US_SSN = r"(?<![\d-])(?:\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4})(?![\d]|-\d)"
UK_NINO = r"(?<![A-Za-z0-9])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)"
IPV6 = r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)"
# A phone number is never part of a longer run of digit groups (tracking, gift card and invoice numbers).
PHONE = (r"(?<![\w+.-])(?<!\d[ .-])(?:\+\d{7,14}|(?:\+\d{1,3}[ .-]?\(?\d{1,5}\)?|\(\d{1,5}\)|\d{2,5})"
         r"(?:[ .-]\d{2,8}){1,4})(?![\w]|[ .-]\d)")

#: Every candidate holds one of these (RE2 syntax, for pyarrow.compute.match_substring_regex).
PREFILTER = r"@|\d[\d ().+-]{5,}\d|[0-9A-Fa-f]?::?[0-9A-Fa-f]|[A-Z]{2} ?\d{2}"

# A dotted number right after these words is a version, not an address.
_VERSION_CONTEXT = re.compile(r"(?:\b(?:version|ver|release|build|firmware|v)\.?\s*|\bv)$", re.IGNORECASE)


@dataclass(frozen=True)
class Alternative:
    """One candidate pattern: the type it reports and the check a candidate must pass."""

    type: str
    check: str
    pattern: str


def _ipv4_check(text: str, start: int, candidate: str) -> bool:
    return v.ip_valid(candidate) and not _VERSION_CONTEXT.search(text, max(0, start - 12), start)


def alternatives(config: PiiConfig) -> list[Alternative]:
    """The candidate patterns for the configured types, most specific first."""
    wanted = set(config.types)
    found: list[Alternative] = []
    if "email" in wanted:
        found.append(Alternative("email", "none", EMAIL))
    if "iban" in wanted:
        found.append(Alternative("iban", "iban", IBAN))
    if "credit_card" in wanted:
        found.append(Alternative("credit_card", "card", CARD))
    if "national_id" in wanted:
        if "us_ssn" in config.national_ids:
            found.append(Alternative("national_id", "us_ssn", US_SSN))
        if "uk_nino" in config.national_ids:
            found.append(Alternative("national_id", "uk_nino", UK_NINO))
        found += [Alternative("national_id", f"custom_{name}", rf"(?<!\w)(?:{pattern})(?!\w)")
                  for name, pattern in sorted(config.id_patterns.items())]
    if "ip" in wanted:
        found += [Alternative("ip", "ipv4", IPV4), Alternative("ip", "ip", IPV6)]
    if "phone" in wanted:
        found.append(Alternative("phone", "phone", PHONE))
    return found


Check = Callable[[str, int, str], bool]


@dataclass(frozen=True)
class CompiledPatterns:
    """The combined pattern, each alternative alone (to retry a position whose first match failed its
    check), and the checks by group name."""

    combined: re.Pattern[str] | None
    alone: tuple[tuple[str, re.Pattern[str]], ...]
    checks: dict[str, Check]
    types: dict[str, str]
    prefilter: str | None


def _checks(config: PiiConfig) -> dict[str, Check]:
    regions = tuple(config.phone_regions)
    return {
        "none": lambda text, start, candidate: True,
        "iban": lambda text, start, candidate: v.iban_valid(candidate),
        "card": lambda text, start, candidate: v.credit_card_valid(candidate),
        "us_ssn": lambda text, start, candidate: v.us_ssn_valid(candidate),
        "uk_nino": lambda text, start, candidate: v.uk_nino_valid(candidate),
        "ipv4": _ipv4_check,
        "ip": lambda text, start, candidate: v.ip_valid(candidate),
        "phone": lambda text, start, candidate: v.phone_valid(candidate, regions),
    }


@lru_cache(maxsize=16)
def _compile(config_json: str) -> CompiledPatterns:
    config = PiiConfig.model_validate_json(config_json)
    alts = alternatives(config)
    names = [f"g{i}" for i in range(len(alts))]
    combined = re.compile("|".join(f"(?P<{n}>{a.pattern})" for n, a in zip(names, alts, strict=True))) if alts else None
    known = _checks(config)
    checks = {n: known.get(a.check, known["none"]) for n, a in zip(names, alts, strict=True)}
    alone = tuple((n, re.compile(a.pattern)) for n, a in zip(names, alts, strict=True))
    # Custom id patterns can match anything: then every row is searched.
    prefilter = None if config.id_patterns else PREFILTER
    return CompiledPatterns(combined, alone, checks, {n: a.type for n, a in zip(names, alts, strict=True)},
                            prefilter)


def compiled(config: PiiConfig) -> CompiledPatterns:
    """The patterns of a configuration, compiled once per process."""
    return _compile(config.model_dump_json(include={"types", "national_ids", "id_patterns", "phone_regions"}))


def _refine_iban(candidate: str) -> int | None:
    """A grouped IBAN candidate may have swallowed a following code (`... 00 EUR`): the longest valid
    prefix made of whole groups, as a length, or None."""
    parts = candidate.split(" ")
    while len(parts) > 2:
        parts.pop()
        if v.iban_valid(" ".join(parts)):
            return len(" ".join(parts))
    return None


def search(patterns: CompiledPatterns, text: str) -> list[tuple[int, int, str]]:
    """(start, end, type) of every validated candidate in `text`, left to right, not overlapping.

    A position whose first (most specific) candidate fails its check is retried with the other
    alternatives, then the search moves on by one character, so a failed candidate never hides a valid one
    starting inside it.
    """
    if patterns.combined is None:
        return []
    found: list[tuple[int, int, str]] = []
    pos = 0
    search_at = patterns.combined.search
    while (match := search_at(text, pos)) is not None:
        start = match.start()
        hit = _validated(patterns, text, match)
        if hit is None:
            pos = start + 1
            continue
        found.append(hit)
        pos = hit[1]
    return found


def _validated(patterns: CompiledPatterns, text: str, match: re.Match[str]) -> tuple[int, int, str] | None:
    start, group = match.start(), match.lastgroup
    assert group is not None
    if patterns.checks[group](text, start, match.group()):
        return start, match.end(), patterns.types[group]
    if patterns.types[group] == "iban" and (length := _refine_iban(match.group())) is not None:
        return start, start + length, "iban"
    later = False
    for name, alone in patterns.alone:
        later = later or name == group
        if not later or name == group:
            continue
        other = alone.match(text, start)
        if other is not None and patterns.checks[name](text, start, other.group()):
            return start, other.end(), patterns.types[name]
    return None
