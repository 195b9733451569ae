"""What to look for and where: the parameters shared by `pii scan` and the `pii-redact` operation."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, field_validator

PiiType = Literal["email", "phone", "credit_card", "iban", "ip", "national_id", "person", "location"]
PII_TYPES: tuple[PiiType, ...] = ("email", "phone", "credit_card", "iban", "ip", "national_id", "person",
                                  "location")
NAME_TYPES = frozenset({"person", "location"})
NationalId = Literal["us_ssn", "uk_nino"]
NATIONAL_IDS: tuple[NationalId, ...] = ("us_ssn", "uk_nino")
RedactMode = Literal["mask", "hash", "pseudonymise", "drop"]


class PiiConfig(BaseModel):
    """Which kinds of personal data to find, in which fields."""

    types: list[PiiType] = Field(default_factory=lambda: list(PII_TYPES), min_length=1,
                                 description="Kinds of personal data to find.")
    fields: list[str] | None = Field(default=None, description="String columns to scan (default: every "
                                     "string column except id).")
    national_ids: list[NationalId] = Field(default_factory=lambda: list(NATIONAL_IDS),
                                           description="Built-in national id formats, each with its validity "
                                           "rules (US SSN without never-issued ranges, UK NINO).")
    id_patterns: dict[str, str] = Field(default_factory=dict, description="More national id formats: name -> "
                                        "Python regular expression (matched as a whole token).")
    phone_regions: list[str] = Field(default_factory=lambda: ["US", "GB"], min_length=1,
                                     description="Countries whose national phone formats count (numbers "
                                     "written with + are checked in their own country).")

    @field_validator("id_patterns")
    @classmethod
    def _compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
        for name, pattern in patterns.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"id pattern name {name!r} must be lower-case letters, digits and _")
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"id pattern {name!r} is not a valid regular expression: {exc}") from None
            if compiled.groups:
                raise ValueError(f"id pattern {name!r} must not have capturing groups (use (?:...))")
        return patterns

    @field_validator("phone_regions")
    @classmethod
    def _regions_known(cls, regions: list[str]) -> list[str]:
        import phonenumbers

        unknown = [r for r in regions if r.upper() not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone region(s) {', '.join(unknown)} (use ISO 3166 codes such as US, GB)")
        return [r.upper() for r in regions]


class RedactParams(PiiConfig):
    """`pii-redact`: replace (or drop) what a scan finds."""

    mode: RedactMode = Field(default="mask", description="mask: [EMAIL]; hash: [EMAIL:keyed hash]; "
                             "pseudonymise: a realistic surrogate, the same for the same value in this "
                             "workspace; drop: remove records holding any.")
    _key: bytes = PrivateAttr(default=b"")

    @property
    def key(self) -> bytes:
        """The workspace's HMAC key, set by the operation before it runs (never serialised with the
        parameters, so never stored in the lineage)."""
        return self._key

    @key.setter
    def key(self, value: bytes) -> None:
        self._key = value
